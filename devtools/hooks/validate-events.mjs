// Checks trigger events against the Cognito schemas of Powertools for AWS Lambda's parser
// (TypeScript, zod), an implementation independent of this project's.
//
// Usage: node validate-events.mjs < events.jsonl
// Prints one line per event: "ok <triggerSource>" or "invalid <triggerSource> <issues>".
import {
  CustomMessageTriggerSchema,
  MigrateUserTriggerSchema,
  PostConfirmationTriggerSchema,
  PreSignupTriggerSchema,
  PreTokenGenerationTriggerSchemaV2AndV3,
} from "@aws-lambda-powertools/parser/schemas/cognito";
import { createInterface } from "node:readline";

function schemaFor(event) {
  const source = event.triggerSource ?? "";
  if (source === "PreSignUp_SignUp") return PreSignupTriggerSchema;
  if (source === "PostConfirmation_ConfirmSignUp") return PostConfirmationTriggerSchema;
  if (source.startsWith("TokenGeneration_")) return PreTokenGenerationTriggerSchemaV2AndV3;
  if (source === "UserMigration_Authentication") return MigrateUserTriggerSchema;
  if (source.startsWith("CustomMessage_")) return CustomMessageTriggerSchema;
  return null;
}

const lines = createInterface({ input: process.stdin });
let failed = false;
for await (const line of lines) {
  if (!line.trim()) continue;
  const event = JSON.parse(line);
  const schema = schemaFor(event);
  if (schema === null) {
    console.log(`unchecked ${event.triggerSource}`);
    continue;
  }
  const result = schema.safeParse(event);
  if (result.success) {
    console.log(`ok ${event.triggerSource}`);
  } else {
    failed = true;
    console.log(`invalid ${event.triggerSource} ${JSON.stringify(result.error.issues)}`);
  }
}
process.exit(failed ? 1 : 0);
