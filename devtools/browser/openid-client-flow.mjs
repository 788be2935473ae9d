// The OpenID Provider judged by Node's openid-client (panva), a certified relying-party
// library: discovery, the authorization code flow with PKCE, state and nonce through the
// hosted pages over HTTP (fetch the form, post it with its CSRF token and the cookies, follow
// the redirect by hand), the id_token's validation, UserInfo, a refresh, and RP-initiated
// logout. Usage: node openid-client-flow.mjs <api url> <client id>
import * as client from "openid-client";

const [apiUrl, clientId] = process.argv.slice(2);
if (!apiUrl || !clientId) {
  console.error("usage: node openid-client-flow.mjs <api url> <client id>");
  process.exit(2);
}
const port = 40000 + (process.pid % 20000);
const redirectUri = `http://127.0.0.1:${port}/callback`;
const afterLogout = `http://127.0.0.1:${port}/`;
const username = `relying${process.pid}`;
const password = `an openid client ${process.pid}`;

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** A browser's cookies, kept by hand across requests that are never followed. */
const cookies = new Map();
async function browse(url, init = {}) {
  const headers = { ...(init.headers ?? {}), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") };
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    if (value === "") cookies.delete(name);
    else cookies.set(name, value);
  }
  return response;
}

function unescape(text) {
  return text
    .replaceAll("&#43;", "+")
    .replaceAll("&#61;", "=")
    .replaceAll("&#x2f;", "/")
    .replaceAll("&#47;", "/")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");
}

/** The first form of a hosted page: its action and hidden fields. */
function formOf(page) {
  const html = page.slice(page.indexOf("<form"), page.indexOf("</form>"));
  const action = html.match(/<form method="post" action="([^"]*)"/)[1];
  const fields = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.append(match[1], unescape(match[2]));
  }
  return { action, fields };
}

const signup = await fetch(`${apiUrl}/signup`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username, password }),
});
check(signup.status === 201, `sign-up: ${signup.status}`);

// http: the local API; a deployment's issuer is https.
const config = await client.discovery(new URL(apiUrl), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
check(config.serverMetadata().issuer === apiUrl, "the discovered issuer is the API's URL");

const codeVerifier = client.randomPKCECodeVerifier();
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
const state = client.randomState();
const nonce = client.randomNonce();
const authorize = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid profile offline_access",
  code_challenge: codeChallenge,
  code_challenge_method: "S256",
  state,
  nonce,
});

const page = await browse(authorize);
check(page.status === 200, `the sign-in page: ${page.status}`);
const { action, fields } = formOf(await page.text());
fields.append("username", username);
fields.append("password", password);
const answer = await browse(new URL(action, apiUrl), {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: fields.toString(),
});
check(answer.status === 302, `the sign-in answer: ${answer.status} ${await answer.text()}`);
const callback = new URL(answer.headers.get("location"));
check(callback.origin + callback.pathname === redirectUri, `back to ${callback}`);

const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
check(claims.preferred_username === username, `id_token: ${JSON.stringify(claims)}`);
check(claims.aud === clientId && claims.nonce === nonce, "aud and nonce");
check(Array.isArray(claims.amr) && claims.amr.includes("pwd"), "amr");

const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
check(userinfo.preferred_username === username, `userinfo: ${JSON.stringify(userinfo)}`);

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
check(typeof refreshed.access_token === "string", "a refresh");

const replay = await client
  .authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
  })
  .then(
    () => "accepted",
    (error) => error.error ?? error.code ?? String(error),
  );
check(replay === "invalid_grant", `a replayed code: ${replay}`);

const logout = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: afterLogout,
  state: "bye",
});
const signedOut = await browse(logout);
check(signedOut.status === 302, `logout: ${signedOut.status} ${await signedOut.text()}`);
check(signedOut.headers.get("location") === `${afterLogout}?state=bye`, "back with the state");
const again = await browse(authorize);
check(again.status === 200, "signed out: the sign-in page again");

console.log(`openid-client: ${username} signed in, verified, refreshed and signed out`);
