// The Lambda Runtime API loop for a Node.js handler file under the local emulator: what the
// managed nodejs runtime does, for `local-api --hook TRIGGER=file.mjs`.
//
// Usage: node runtime.mjs HANDLER_FILE  (calls its exported `handler`: async, or with a callback)

import { pathToFileURL } from "node:url";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;

async function post(path, document) {
  await fetch(api + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(document === undefined ? null : document),
  });
}

function errorDocument(error) {
  return {
    errorType: error?.name ?? "Error",
    errorMessage: error?.message ?? String(error),
    stackTrace: String(error?.stack ?? "").split("\n"),
  };
}

function call(handler, event, context) {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) =>
      handler(event, context, (error, result) => (error ? reject(error) : resolve(result))),
    );
  }
  return Promise.resolve(handler(event, context));
}

let handler;
try {
  const module = await import(pathToFileURL(process.argv[2]).href);
  handler = module.handler ?? module.default?.handler;
  if (typeof handler !== "function") throw new Error(`${process.argv[2]} exports no handler`);
} catch (error) {
  await post("/init/error", errorDocument(error));
  throw error;
}

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const requestId = next.headers.get("lambda-runtime-aws-request-id");
  const deadline = Number(next.headers.get("lambda-runtime-deadline-ms") ?? 0);
  const event = await next.json();
  const context = {
    awsRequestId: requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    invokedFunctionArn: next.headers.get("lambda-runtime-invoked-function-arn"),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await call(handler, event, context);
    await post(`/invocation/${requestId}/response`, result);
  } catch (error) {
    await post(`/invocation/${requestId}/error`, errorDocument(error));
  }
}
