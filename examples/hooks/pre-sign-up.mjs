// A pre sign-up hook written for Amazon Cognito (Node.js): names starting with "admin" are
// refused (the error's message is what the user sees), and addresses at example.org, which
// the operator vouches for, are verified without a code. It runs here unchanged.
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
