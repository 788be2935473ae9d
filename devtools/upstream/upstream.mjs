// Local upstream OpenID Providers: panva's oidc-provider (OpenID Certified), one per issuer,
// each on its own loopback port, for `make dev` and the federation tests.
//
// Environment:
//   UPSTREAM_ISSUERS   "<id>=<port>,<id>=<port>"; each id becomes http://127.0.0.1:<port>;
//                      "<id>=<port>:github" plays GitHub instead: plain OAuth 2 (no id_token)
//                      at /login/oauth/authorize and /login/oauth/access_token, the user at
//                      GET /user and their addresses at GET /user/emails, as GitHub's API.
//   UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET, UPSTREAM_REDIRECT_URI: the client each
//                      issuer knows (this project's login function); each also knows
//                      "other-app", the same but for its client id.
//
// Anyone signs in by typing a login (the development login page; any password):
//   "ada"                              sub "ada", ada@example.com, email_verified true
//   "mallory|victim@example.com|unverified"
//                                      sub "mallory|victim@example.com|unverified",
//                                      that address, email_verified false
// Consent is given at once. Prints "upstream <id> <issuer>" per issuer once all listen.
import Provider from "oidc-provider";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`upstream: ${name} is required`);
    process.exit(2);
  }
  return value;
};

const issuers = required("UPSTREAM_ISSUERS")
  .split(",")
  .map((pair) => pair.split("="))
  .map(([id, spec]) => {
    const [port, mode] = spec.split(":");
    return { id, port: Number(port), github: mode === "github" };
  });
const client = {
  client_id: required("UPSTREAM_CLIENT_ID"),
  client_secret: required("UPSTREAM_CLIENT_SECRET"),
  redirect_uris: [required("UPSTREAM_REDIRECT_URI")],
  response_types: ["code"],
  grant_types: ["authorization_code"],
  token_endpoint_auth_method: "client_secret_post",
};
// Another application at the same provider (same secret and redirect URI): its id_tokens
// name another audience, which the tests use.
const otherApp = { ...client, client_id: "other-app" };

function claimsOf(login) {
  const [sub, email, verified] = login.split("|");
  const name = sub.charAt(0).toUpperCase() + sub.slice(1);
  return {
    sub: login,
    email: email || `${sub}@example.com`,
    email_verified: verified !== "unverified",
    name,
    preferred_username: sub,
  };
}

function signingKey() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), use: "sig", alg: "RS256", kid: randomBytes(8).toString("hex") };
}

/** Reads a request's body (a form or nothing). */
async function formOf(request) {
  let body = "";
  for await (const chunk of request) body += chunk;
  return new URLSearchParams(body);
}

function json(response, status, value) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(value));
}

/** A GitHub-like plain OAuth 2 provider: numeric user ids, verified flags on addresses. */
async function startGithub({ id, port }) {
  const issuer = `http://127.0.0.1:${port}`;
  const codes = new Map();
  const tokens = new Map();
  const ids = new Map();
  const userOf = (login) => {
    if (!ids.has(login)) ids.set(login, 1000 + ids.size);
    const claims = claimsOf(login);
    return { id: ids.get(login), login: claims.preferred_username, name: claims.name, email: claims.email, verified: claims.email_verified };
  };
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, issuer);
    if (url.pathname === "/login/oauth/authorize" && request.method === "GET") {
      const ok = url.searchParams.get("client_id") === client.client_id
        && url.searchParams.get("redirect_uri") === client.redirect_uris[0]
        && url.searchParams.get("code_challenge_method") === "S256";
      if (!ok) return json(response, 400, { error: "invalid_request" });
      response.writeHead(200, { "content-type": "text/html" });
      return response.end(`<!doctype html><title>Sign in to GitHub</title><h1>Sign-in</h1>
<form method="post" action="${issuer}/login/oauth/authorize?${url.searchParams}">
<input type="hidden" name="prompt" value="login"><input required type="text" name="login">
<input required type="password" name="password"><button type="submit">Sign-in</button></form>`);
    }
    if (url.pathname === "/login/oauth/authorize" && request.method === "POST") {
      const form = await formOf(request);
      const code = randomBytes(16).toString("hex");
      codes.set(code, { login: form.get("login"), challenge: url.searchParams.get("code_challenge") });
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      response.writeHead(302, { location: back.toString() });
      return response.end();
    }
    if (url.pathname === "/login/oauth/access_token" && request.method === "POST") {
      const form = await formOf(request);
      const pending = codes.get(form.get("code"));
      codes.delete(form.get("code"));
      const verifier = form.get("code_verifier") ?? "";
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      // GitHub answers errors with 200 and an `error` field.
      if (!pending || challenge !== pending.challenge || form.get("client_secret") !== client.client_secret) {
        return json(response, 200, { error: "bad_verification_code" });
      }
      const token = randomBytes(16).toString("hex");
      tokens.set(token, pending.login);
      return json(response, 200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
    }
    const login = tokens.get((request.headers.authorization ?? "").replace(/^Bearer /, ""));
    if (!login) return json(response, 401, { message: "Bad credentials" });
    const user = userOf(login);
    if (url.pathname === "/user") return json(response, 200, { id: user.id, login: user.login, name: user.name });
    if (url.pathname === "/user/emails") {
      return json(response, 200, [
        { email: `unverified-${user.login}@example.net`, primary: false, verified: false },
        { email: user.email, primary: true, verified: user.verified },
      ]);
    }
    return json(response, 404, { message: "Not Found" });
  });
  await new Promise((resolve, reject) => {
    server.listen(port, "127.0.0.1", resolve);
    server.on("error", reject);
  });
  return { id, issuer, github: true };
}

async function start({ id, port, github }) {
  if (github) return startGithub({ id, port });
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [client, otherApp],
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    conformIdTokenClaims: false,
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username"],
    },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    async findAccount(ctx, accountId) {
      return { accountId, claims: async () => claimsOf(accountId) };
    },
    async loadExistingGrant(ctx) {
      const grantId =
        ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        return ctx.oidc.provider.Grant.find(grantId);
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  provider.on("server_error", (ctx, error) => console.error(`upstream ${id}:`, error));
  await new Promise((resolve, reject) => {
    const server = provider.listen(port, "127.0.0.1", resolve);
    server.on("error", reject);
  });
  return { id, issuer, github: false };
}

const started = await Promise.all(issuers.map(start));
for (const { id, issuer, github } of started) {
  console.log(`upstream ${id} ${issuer}${github ? " github" : ""}`);
}
