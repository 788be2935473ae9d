// A pre sign-up hook for the live tests, written as for Amazon Cognito (Node.js): names
// starting with "admin" are refused (the error's message is what the user sees), and addresses
// at example.org are verified without a code (vouched: they link no provider's identity).
export const handler = async (event) => {
  if (event.userName.toLowerCase().startsWith("admin")) {
    throw new Error("Names starting with admin are reserved.");
  }
  const email = event.request.userAttributes.email ?? "";
  if (email.endsWith("@example.org")) {
    event.response.autoVerifyEmail = true;
  }
  return event;
};
