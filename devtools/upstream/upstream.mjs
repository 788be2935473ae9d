// Local upstream OpenID Providers: panva's oidc-provider (OpenID Certified), one per issuer,
// each on its own loopback port, for `make dev` and the federation tests.
//
// Environment:
//   UPSTREAM_ISSUERS   "<id>=<port>,<id>=<port>"; each id becomes http://127.0.0.1:<port>
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
import { generateKeyPairSync, randomBytes } from "node:crypto";

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
  .map(([id, port]) => ({ id, port: Number(port) }));
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

async function start({ id, port }) {
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
  return { id, issuer };
}

const started = await Promise.all(issuers.map(start));
for (const { id, issuer } of started) {
  console.log(`upstream ${id} ${issuer}`);
}
