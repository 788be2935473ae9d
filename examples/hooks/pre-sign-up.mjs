// A pre sign-up hook written for Amazon Cognito (Node.js): names starting with "admin" are
// refused, and so are addresses outside the company's domain; the error's message is what the
// user sees. It runs here unchanged.
//
// autoVerifyEmail is left alone on purpose: anyone can type any address, so a rule on the
// address's text proves nothing. Set it only when the hook itself knows the address is the
// user's (an invitation it sent there, say).
export const handler = async (event) => {
  if (event.userName.toLowerCase().startsWith("admin")) {
    throw new Error("Names starting with admin are reserved.");
  }
  const email = event.request.userAttributes.email;
  if (email !== undefined && !email.toLowerCase().endsWith("@example.org")) {
    throw new Error("Sign up with your example.org address.");
  }
  return event;
};
