// The example app: oidc-client-ts (the global `oidc`) does the OpenID Connect part, the
// authorization code flow with PKCE against the issuer in /config.json; the rest calls the
// API with the access token. Tokens stay in this tab's sessionStorage.
"use strict";

const $ = (id) => document.getElementById(id);
const here = window.location.origin;

function say(message) {
  $("status").textContent = message;
}

/** Calls the API at `path` with the signed-in user's access token; the JSON answer. */
async function api(config, user, method, path, body) {
  const response = await fetch(`${config.authority}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${user.access_token}`,
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${method} ${path} answered ${response.status}: ${answer.message ?? answer.error ?? ""}`);
  }
  return answer;
}

function showSignedIn(config, manager, user) {
  $("signed-in").hidden = false;
  $("username").textContent = user.profile.preferred_username ?? user.profile.sub;
  $("methods").textContent = (user.profile.amr ?? []).join(" ");
  $("passkeys-page").href = `${config.authority}/docs/passkeys`;
  api(config, user, "GET", "/userinfo")
    .then((userinfo) => {
      $("userinfo").textContent = JSON.stringify(userinfo, null, 2);
    })
    .catch((error) => say(error.message));
  api(config, user, "GET", "/users/me")
    .then((me) => {
      if (me.two_factor?.enabled) {
        $("totp-start").hidden = true;
        $("totp-on").hidden = false;
      }
      if (me.has_password === false) {
        // An account made through another provider: its recent sign-in there is the proof.
        $("current-password-label").style.display = "none";
        $("current-password").style.display = "none";
        $("current-password").required = false;
      }
      for (const identity of me.identities ?? []) {
        const item = document.createElement("li");
        item.textContent = `${identity.issuer} · ${identity.email ?? identity.subject}`;
        $("identities").append(item);
      }
      if ((me.identities ?? []).length === 0) {
        const item = document.createElement("li");
        item.textContent = "none yet";
        $("identities").append(item);
      }
    })
    .catch((error) => say(error.message));

  // Linking goes through the sign-in service: the request names the provider to link.
  for (const provider of config.providers ?? []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = `Link ${provider.name}`;
    button.addEventListener("click", () =>
      manager.signinRedirect({ extraQueryParams: { link_provider: provider.id } }),
    );
    $("link-buttons").append(button);
  }

  $("sign-out").addEventListener("click", () => manager.signoutRedirect());

  $("totp-start").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    try {
      const password = $("current-password").value;
      const enrolment = await api(
        config,
        user,
        "POST",
        "/users/me/mfa/totp",
        $("current-password").required ? { current_password: password } : {},
      );
      $("totp-qr").src = enrolment.qr_code;
      $("totp-secret").textContent = enrolment.secret;
      $("totp-start").hidden = true;
      $("totp-confirm").hidden = false;
    } catch (error) {
      say(error.message);
    }
  });

  $("totp-confirm").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    try {
      const confirmed = await api(config, user, "POST", "/users/me/mfa/totp/confirm", {
        otp: $("totp-code").value,
      });
      $("recovery-codes").textContent = (confirmed.recovery_codes ?? []).join("\n");
      $("totp-confirm").hidden = true;
      $("recovery").hidden = false;
    } catch (error) {
      say(error.message);
    }
  });
}

async function main() {
  const config = await (await fetch("/config.json")).json();
  const manager = new oidc.UserManager({
    authority: config.authority,
    client_id: config.client_id,
    redirect_uri: `${here}/callback`,
    post_logout_redirect_uri: `${here}/`,
    response_type: "code",
    scope: "openid profile email offline_access account",
    // Keep amr and auth_time in the profile: the page shows how the user signed in.
    filterProtocolClaims: false,
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  });

  if (window.location.pathname === "/callback") {
    try {
      await manager.signinRedirectCallback();
    } catch (error) {
      say(`The sign-in did not complete: ${error.message}`);
    }
    window.history.replaceState({}, "", "/");
  }

  $("sign-in").addEventListener("click", () => manager.signinRedirect());
  $("sign-up").addEventListener("click", () => manager.signinRedirect({ prompt: "create" }));

  const user = await manager.getUser();
  if (user && !user.expired) {
    showSignedIn(config, manager, user);
  } else {
    $("signed-out").hidden = false;
  }
}

main().catch((error) => say(error.message));
