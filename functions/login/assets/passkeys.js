// Passkeys on the hosted sign-in pages. Each form marked `data-passkey-options` asks that
// URL (this API's POST /passkeys/authentication-options) for a challenge, lets the browser's
// authenticator answer it, and posts the answer in the form's `passkey` field. Without
// WebAuthn (or without script) the forms stay hidden and the password forms work alone.
"use strict";

function fromBase64Url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "===".slice((base64.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toBase64Url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64Url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: fromBase64Url(c.id) })),
  };
}

function credentialJson(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const response = {};
  for (const field of ["clientDataJSON", "authenticatorData", "signature", "userHandle"]) {
    if (credential.response[field]) response[field] = toBase64Url(credential.response[field]);
  }
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

async function answerWithPasskey(form, status) {
  status.textContent = "";
  const mfaToken = form.elements.namedItem("mfa_token");
  const body = mfaToken ? { mfa_token: mfaToken.value } : {};
  try {
    const response = await fetch(form.dataset.passkeyOptions, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    });
    const answer = await response.json();
    if (!response.ok) {
      throw new Error(answer.message || "The passkey challenge was refused.");
    }
    const credential = await navigator.credentials.get({ publicKey: requestOptions(answer.publicKey) });
    form.elements.namedItem("passkey").value = JSON.stringify(credentialJson(credential));
    form.submit();
  } catch (error) {
    status.textContent =
      error.name === "NotAllowedError"
        ? "No passkey was used. Try again, or use the form above."
        : error.message;
  }
}

if (window.PublicKeyCredential) {
  for (const form of document.querySelectorAll("form[data-passkey-options]")) {
    const status = document.getElementById(form.dataset.passkeyStatus);
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      if (form.elements.namedItem("passkey").value === "") {
        event.preventDefault();
        answerWithPasskey(form, status);
      }
    });
  }
}
