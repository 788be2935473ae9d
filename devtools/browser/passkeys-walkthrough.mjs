// The passkeys demo page in a real browser: Debian's Chromium with a CDP virtual
// authenticator (CTAP2, resident keys, user verification) signs up, logs in with the
// password, registers a passkey, logs out, signs in with the passkey alone and calls
// GET /users/me. Usage: node passkeys-walkthrough.mjs <api url> <screenshot>
// The page is opened at localhost (the relying party `make dev` configures), not 127.0.0.1.
import { chromium } from "playwright-core";

const [apiUrl, screenshot] = process.argv.slice(2);
if (!apiUrl || !screenshot) {
  console.error("usage: node passkeys-walkthrough.mjs <api url> <screenshot.png>");
  process.exit(2);
}
const origin = apiUrl.replace("://127.0.0.1", "://localhost");
const username = `passkeyuser${process.pid}`;
const password = `a passkey walk ${process.pid}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

/** Waits until the status panel starts with `prefix`; fails with what it says otherwise. */
async function outputStartsWith(page, prefix) {
  const output = page.locator("#output");
  try {
    await page.waitForFunction(
      (expected) => document.getElementById("output").textContent.startsWith(expected),
      prefix,
    );
  } catch (error) {
    throw new Error(`expected "${prefix}", the page says: ${await output.innerText()}`);
  }
  return output.innerText();
}

try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1500 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
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

  await page.goto(`${origin}/docs/passkeys`);
  await page.locator("#username").fill(username);
  await page.locator("#password").fill(password);

  await page.locator("#signup").click();
  await outputStartsWith(page, "POST /signup answered 201");

  await page.locator("#login").click();
  await outputStartsWith(page, "Signed in with the password");

  await page.locator("#register-passkey").click();
  await outputStartsWith(page, "POST /users/me/passkeys answered 201");
  await page.locator("#passkeys li").first().waitFor();
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    throw new Error(`the authenticator holds ${JSON.stringify(credentials)}`);
  }

  await page.locator("#logout").click();
  await outputStartsWith(page, "Logged out.");
  await page.locator("#call-me").click();
  await outputStartsWith(page, "GET /users/me answered 401");

  // Nothing typed: the passkey alone names the account.
  await page.locator("#username").fill("");
  await page.locator("#password").fill("");
  await page.locator("#passkey-sign-in").click();
  await outputStartsWith(page, "Signed in with a passkey");
  const amr = await page.locator("#amr").innerText();
  if (!amr.includes("hwk")) {
    throw new Error(`the passkey sign-in's token says ${amr}`);
  }

  await page.locator("#call-me").click();
  const me = await outputStartsWith(page, "GET /users/me answered 200");
  await page.screenshot({ path: screenshot, fullPage: true });
  if (!me.includes(`"username": "${username}"`)) {
    throw new Error(`GET /users/me after the passkey sign-in: ${me}`);
  }
  const signCount = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0].signCount;
  console.log(
    `passkeys walkthrough: ${username} signed up, registered a passkey, signed in with it alone (sign count ${signCount}); screenshot ${screenshot}`,
  );
} catch (error) {
  const pages = browser.contexts().flatMap((context) => context.pages());
  if (pages.length > 0) {
    await pages[0].screenshot({ path: screenshot, fullPage: true });
  }
  throw error;
} finally {
  await browser.close();
}
