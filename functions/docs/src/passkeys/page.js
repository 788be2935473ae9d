// The passkeys demo: every call goes to this API's documented routes, relative to the page
// (/{stage}/docs/passkeys), so it works on any stage or custom domain. Tokens live in this
// page's memory only.
"use strict";

const api = (path) => new URL(`../${path}`, window.location.href).toString();
const state = { access: null, refresh: null, mfaToken: null };
const $ = (id) => document.getElementById(id);

function show(label, value, isError = false) {
  const output = $("output");
  output.textContent = `${label}\n${typeof value === "string" ? value : JSON.stringify(value, null, 2)}`;
  output.className = isError ? "error" : "";
}

// WebAuthn's JSON forms use base64url for binary fields. Browsers with WebAuthn Level 3
// parse and serialise them natively; the helpers cover older ones.
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
function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64Url(json.challenge),
    user: { ...json.user, id: fromBase64Url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64Url(c.id) })),
  };
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
  for (const field of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (credential.response[field]) response[field] = toBase64Url(credential.response[field]);
  }
  if (credential.response.getTransports) response.transports = credential.response.getTransports();
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

async function call(method, path, { json, form, auth } = {}) {
  const headers = {};
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (form !== undefined) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  if (auth && state.access) headers.Authorization = `Bearer ${state.access}`;
  const response = await fetch(api(path), { method, headers, body });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

function claims(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

async function signedIn(tokens, how) {
  state.access = tokens.access_token;
  state.refresh = tokens.refresh_token;
  state.mfaToken = null;
  $("second-factor").hidden = true;
  const me = await call("GET", "users/me", { auth: true });
  $("signed-in-as").textContent = me.body && me.body.username ? me.body.username : "unknown";
  $("amr").textContent = `(amr: ${claims(tokens.access_token).amr.join(" ")})`;
  show(`Signed in ${how}.`, me.body);
  await listPasskeys();
}

async function tokenRequest(form, how) {
  const answer = await call("POST", "token", { form });
  if (answer.status === 200) return signedIn(answer.body, how);
  if (answer.status === 403 && answer.body.error === "mfa_required") {
    state.mfaToken = answer.body.mfa_token;
    $("second-factor").hidden = false;
    return show("Password right; the second factor is next.", answer.body);
  }
  show(`POST /token answered ${answer.status}`, answer.body, true);
}

async function listPasskeys() {
  const list = $("passkeys");
  list.replaceChildren();
  if (!state.access) return;
  const answer = await call("GET", "users/me/passkeys", { auth: true });
  if (answer.status !== 200) return;
  for (const passkey of answer.body.passkeys) {
    const item = document.createElement("li");
    item.dataset.id = passkey.id;
    item.textContent = `${passkey.name} — added ${passkey.created_at}, last used ${passkey.last_used_at || "never"} `;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.addEventListener("click", async () => {
      const deleted = await call("DELETE", `users/me/passkeys/${encodeURIComponent(passkey.id)}`, { auth: true });
      show(`DELETE answered ${deleted.status}`, deleted.body || "deleted");
      await listPasskeys();
    });
    item.append(remove);
    list.append(item);
  }
}

async function assertion(body) {
  const options = await call("POST", "passkeys/authentication-options", { json: body });
  if (options.status !== 200) {
    show(`POST /passkeys/authentication-options answered ${options.status}`, options.body, true);
    return null;
  }
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options.body.publicKey) });
  return JSON.stringify(credentialJson(credential));
}

function guarded(handler) {
  return async (event) => {
    event.preventDefault();
    try {
      await handler();
    } catch (error) {
      show("Failed", String(error), true);
    }
  };
}

$("signup").addEventListener("click", guarded(async () => {
  const answer = await call("POST", "signup", {
    json: { username: $("username").value, password: $("password").value },
  });
  show(`POST /signup answered ${answer.status}`, answer.body, answer.status !== 201);
}));

$("account-form").addEventListener("submit", guarded(() =>
  tokenRequest({ grant_type: "password", username: $("username").value, password: $("password").value }, "with the password")));

$("second-factor").addEventListener("submit", guarded(() =>
  tokenRequest({
    grant_type: "urn:lambda-auth:params:oauth:grant-type:mfa",
    mfa_token: state.mfaToken,
    otp: $("otp").value,
  }, "with the password and a code")));

$("passkey-second-factor").addEventListener("click", guarded(async () => {
  const passkey = await assertion({ mfa_token: state.mfaToken });
  if (passkey) {
    await tokenRequest({
      grant_type: "urn:lambda-auth:params:oauth:grant-type:mfa",
      mfa_token: state.mfaToken,
      passkey,
    }, "with the password and a passkey");
  }
}));

$("register-form").addEventListener("submit", guarded(async () => {
  if (!state.access) return show("Log in first.", "", true);
  // Adding a passkey asks what a password change asks: the password, and a code with TOTP on.
  const proof = { current_password: $("password").value };
  if ($("register-otp").value) proof.otp = $("register-otp").value;
  const options = await call("POST", "users/me/passkeys/registration-options", { json: proof, auth: true });
  if (options.status !== 200) {
    return show(`Registration options answered ${options.status}`, options.body, true);
  }
  const credential = await navigator.credentials.create({ publicKey: creationOptions(options.body.publicKey) });
  const answer = await call("POST", "users/me/passkeys", {
    json: { name: $("passkey-name").value, credential: credentialJson(credential) },
    auth: true,
  });
  show(`POST /users/me/passkeys answered ${answer.status}`, answer.body, answer.status !== 201);
  await listPasskeys();
}));

$("logout").addEventListener("click", guarded(async () => {
  if (state.refresh) await call("POST", "revoke", { form: { token: state.refresh } });
  Object.assign(state, { access: null, refresh: null, mfaToken: null });
  $("signed-in-as").textContent = "nobody";
  $("amr").textContent = "";
  await listPasskeys();
  show("Logged out.", "the refresh token is revoked; the access token is forgotten");
}));

$("passkey-sign-in").addEventListener("click", guarded(async () => {
  const credential = await assertion({});
  if (credential) {
    await tokenRequest({ grant_type: "urn:lambda-auth:params:oauth:grant-type:passkey", credential }, "with a passkey");
  }
}));

$("call-me").addEventListener("click", guarded(async () => {
  const answer = await call("GET", "users/me", { auth: true });
  show(`GET /users/me answered ${answer.status}`, answer.body, answer.status !== 200);
}));

if (!window.PublicKeyCredential) {
  $("unsupported").hidden = false;
}
