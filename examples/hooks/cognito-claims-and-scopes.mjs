// A pre token generation hook written for Amazon Cognito (version 2 event, Node.js), as its
// developer guide shows them: it adds a tenant and the user's groups as claims, keeps the
// email out of id_tokens, gives editors the `reports:read` scope and takes `account` from
// everyone else. It runs here unchanged.
export const handler = async (event) => {
  const groups = event.request.groupConfiguration.groupsToOverride ?? [];
  const editor = groups.includes("editor");
  event.response = {
    claimsAndScopeOverrideDetails: {
      idTokenGeneration: {
        claimsToAddOrOverride: { tenant: "acme", groups },
        claimsToSuppress: ["email"],
      },
      accessTokenGeneration: {
        claimsToAddOrOverride: {
          tenant: "acme",
          username: event.userName,
          email_known: event.request.userAttributes.email_verified === "true",
        },
        claimsToSuppress: [],
        scopesToAdd: editor ? ["reports:read"] : [],
        scopesToSuppress: editor ? [] : ["account"],
      },
    },
  };
  return event;
};
