// A custom message hook written for Amazon Cognito (Node.js): the operator's own subject and
// body for the sign-up code, an address change's code and the password-reset code. Cognito
// replaces {####} (codeParameter) with the code; so does this service. Other messages keep
// the service's own text (the event comes back unchanged). It runs here unchanged.
export const handler = async (event) => {
  const code = event.request.codeParameter;
  switch (event.triggerSource) {
    case "CustomMessage_SignUp":
    case "CustomMessage_UpdateUserAttribute":
      event.response.emailSubject = "Welcome to Acme: confirm your address";
      event.response.emailMessage = `<p>Hello ${event.userName},</p><p>Your Acme code is ${code}</p>`;
      break;
    case "CustomMessage_ForgotPassword":
      event.response.emailSubject = "Your Acme password reset";
      event.response.emailMessage = `<p>Your Acme reset code is ${code}</p>`;
      break;
  }
  return event;
};
