// A pre token generation hook for the live tests, whose behaviour the username picks:
// overreach* tries every change the rules forbid, raise* throws, slow* outlasts the timeout,
// garbage* answers something that is not the event, anything else changes nothing.
export const handler = async (event) => {
  const name = event.userName;
  if (name.startsWith("raise")) {
    throw new Error("connection to billing-db failed: password=hunter2");
  }
  if (name.startsWith("slow")) {
    await new Promise((resolve) => setTimeout(resolve, 4000));
    return event;
  }
  if (name.startsWith("garbage")) {
    return "not an event";
  }
  if (name.startsWith("overreach")) {
    event.response.claimsAndScopeOverrideDetails = {
      accessTokenGeneration: {
        claimsToAddOrOverride: { sub: "someone-else", exp: 9999999999, ver: 99, scope: "users:admin", kept: true },
        claimsToSuppress: ["sid", "amr"],
        scopesToAdd: ["users:admin", "products:write"],
        scopesToSuppress: [],
      },
      idTokenGeneration: { claimsToAddOrOverride: { nonce: "forged", aud: "other-app" } },
      groupOverrideDetails: { groupsToOverride: ["admin"] },
    };
  }
  return event;
};
