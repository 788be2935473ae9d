// The example single-page app (examples/spa, oidc-client-ts) in a real browser: Debian's
// Chromium with a CDP virtual authenticator. It walks a newcomer's first visit: create an
// account on the hosted sign-up page, see the userinfo, add a passkey (on the API's passkeys
// page, at the address passkeys are bound to), turn on two-step verification (codes from
// pyotp, an independent TOTP implementation), sign out through RP-initiated logout, sign in
// with the password and a code, sign out, and sign in with the passkey alone. Screenshots of
// each step go to <artifact dir>.
// Usage: node example-app-walkthrough.mjs <example app url> <issuer> <artifact dir>
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

const [appUrl, issuer, artifacts] = process.argv.slice(2);
if (!appUrl || !issuer || !artifacts) {
  console.error("usage: node example-app-walkthrough.mjs <example app url> <issuer> <artifact dir>");
  process.exit(2);
}
const python = process.env.PYOTP_PYTHON;
if (!python) {
  console.error("PYOTP_PYTHON is not set: a Python with pyotp (make test sets it; `make tools` installs it)");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const username = `newcomer${process.pid}`;
const password = `a newcomer's passphrase ${process.pid}`;

/** pyotp's code for `secret`, `steps` time steps from now. */
function totp(secret, steps) {
  return execFileSync(python, [
    "-c",
    "import pyotp, sys, time; print(pyotp.TOTP(sys.argv[1]).at(time.time() + 30 * int(sys.argv[2])))",
    secret,
    String(steps),
  ])
    .toString()
    .trim();
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const shot = (page, name) => page.screenshot({ path: `${artifacts}/example-app-${name}.png`, fullPage: true });
let page;
const refusals = [];

try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on("console", (message) => {
    if (message.type() === "error") refusals.push(message.text());
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  /** Waits for the app's signed-in view; the methods its id_token says. */
  async function signedIn(step) {
    await page.locator("#signed-in").waitFor({ state: "visible" });
    check(page.url() === appUrl, `${step}: the app is at ${page.url()}`);
    await page.locator("#userinfo").filter({ hasText: "preferred_username" }).waitFor();
    const shown = await page.locator("#username").innerText();
    check(shown === username, `${step}: the app says signed in as ${shown}`);
    const userinfo = JSON.parse(await page.locator("#userinfo").innerText());
    check(userinfo.preferred_username === username, `${step}: /userinfo says ${JSON.stringify(userinfo)}`);
    await shot(page, step);
    return page.locator("#methods").innerText();
  }

  async function signOut(step) {
    const loggedOut = page.waitForResponse((response) => response.url().startsWith(`${issuer}/logout`));
    await page.locator("#sign-out").click();
    const answer = await loggedOut;
    check(answer.status() === 302, `GET /logout answered ${answer.status()}`);
    await page.locator("#signed-out").waitFor({ state: "visible" });
    await shot(page, step);
  }

  // 1. Create an account on the hosted sign-up page (prompt=create).
  await page.goto(appUrl);
  await page.locator("#sign-up").click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize`));
  await page.getByRole("heading", { name: "Create an account" }).waitFor();
  await shot(page, "1-sign-up-page");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  const first = await signedIn("2-signed-up");
  check(first === "pwd", `the new account signed in with ${first}`);

  // 2. Add a passkey on the API's passkeys page (password sign-in, no second factor yet).
  const passkeysUrl = await page.locator("#passkeys-page").getAttribute("href");
  check(passkeysUrl === `${issuer}/docs/passkeys`, `the passkeys link is ${passkeysUrl}`);
  // The same tab: the virtual authenticator belongs to it, and the app's session storage
  // is still there when the tab comes back.
  await page.goto(passkeysUrl);
  await page.locator("#username").fill(username);
  await page.locator("#password").fill(password);
  await page.locator("#login").click();
  await page.waitForFunction(() => document.getElementById("output").textContent.startsWith("Signed in with the password"));
  await page.locator("#register-passkey").click();
  await page.waitForFunction(() => document.getElementById("output").textContent.startsWith("POST /users/me/passkeys answered 201"));
  await shot(page, "3-passkey-added");
  await page.goto(appUrl);
  await page.locator("#signed-in").waitFor({ state: "visible" });
  const held = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  check(held.length === 1 && held[0].isResidentCredential, `the authenticator holds ${JSON.stringify(held)}`);

  // 3. Turn on two-step verification in the app.
  await page.locator("#current-password").fill(password);
  await page.getByRole("button", { name: "Turn on two-step verification" }).click();
  await page.locator("#totp-confirm").waitFor({ state: "visible" });
  const secret = await page.locator("#totp-secret").innerText();
  await page.locator("#totp-code").fill(totp(secret, 0));
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.locator("#recovery").waitFor({ state: "visible" });
  const codes = (await page.locator("#recovery-codes").innerText()).split("\n").filter(Boolean);
  check(codes.length === 10, `recovery codes shown: ${codes.length}`);
  await shot(page, "4-two-step-on");

  // 4. Sign out (RP-initiated logout ends the login session), then sign in with a code.
  await signOut("5-signed-out");
  await page.locator("#sign-in").click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize`));
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
  await shot(page, "6-second-factor-page");
  await page.getByLabel("Authenticator code").fill(totp(secret, 1));
  await page.getByRole("button", { name: "Verify" }).click();
  const withCode = await signedIn("7-signed-in-with-a-code");
  check(withCode.includes("otp") && withCode.includes("pwd"), `the code sign-in's amr: ${withCode}`);
  await page.locator("#totp-on").waitFor({ state: "visible" });

  // 5. Sign out, then sign in with the passkey alone: nothing typed.
  await signOut("8-signed-out-again");
  await page.locator("#sign-in").click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize`));
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  const withPasskey = await signedIn("9-signed-in-with-a-passkey");
  check(withPasskey.includes("hwk"), `the passkey sign-in's amr: ${withPasskey}`);
  const signCount = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0].signCount;
  check(signCount >= 1, `the passkey signed ${signCount} times`);
  const cspErrors = refusals.filter((text) => text.includes("Content Security Policy"));
  check(cspErrors.length === 0, `the pages broke their own policy: ${cspErrors.join("; ")}`);
  console.log(
    `example app walkthrough: ${username} signed up on the hosted page, added a passkey, turned on TOTP, signed in with password and code (${withCode}) and with the passkey alone (${withPasskey}); screenshots in ${artifacts}`,
  );
} catch (error) {
  if (page) await shot(page, "failure").catch(() => {});
  throw error;
} finally {
  await browser.close();
}
