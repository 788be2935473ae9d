// The first-use walkthrough of /docs in a real browser, as a newcomer does it: sign up with
// "Try it out", "Authorize" with the OAuth2 password flow, call GET /users/me and see their
// own username in the response panel; then check that the browser's storage keeps no
// credential. Usage: node docs-walkthrough.mjs <api url> <screenshot>
// Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) runs headless; nothing is fetched from
// the internet.
import { chromium } from "playwright-core";

const [apiUrl, screenshot] = process.argv.slice(2);
if (!apiUrl || !screenshot) {
  console.error("usage: node docs-walkthrough.mjs <api url> <screenshot.png>");
  process.exit(2);
}
const username = `walker${process.pid}`;
const password = `a walk in the docs ${process.pid}`;

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
const external = [];

/** Turns on "Try it out" for an operation unless it already is (tryItOutEnabled). */
async function tryItOut(operation) {
  const button = operation.locator(".try-out__btn");
  if ((await button.count()) > 0 && (await button.innerText()).includes("Try it out")) {
    await button.click();
  }
}
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  page.setDefaultTimeout(15000);
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["127.0.0.1", "localhost"].includes(url.hostname) && url.protocol !== "data:") {
      external.push(request.url());
    }
  });

  await page.goto(`${apiUrl}/docs`);
  await page.locator(".swagger-ui .info .title").waitFor();

  // 1. Sign up through "Try it out".
  const signup = page.locator("#operations-accounts-signup");
  await signup.locator(".opblock-summary").click();
  await tryItOut(signup);
  await signup
    .locator("textarea.body-param__text")
    .fill(JSON.stringify({ username, password }));
  await signup.locator(".execute").click();
  await signup.locator(".live-responses-table tbody .response-col_status").first().waitFor();
  const signupStatus = (
    await signup.locator(".live-responses-table tbody .response-col_status").first().innerText()
  ).trim();
  if (!signupStatus.startsWith("201")) {
    throw new Error(`sign-up answered ${signupStatus}`);
  }

  // 2. Authorize with the password flow, as on the FastAPI app.
  await page.locator(".auth-wrapper .authorize").first().click();
  // The dialog lists each scheme in its own container, in the description's order: the
  // password flow first, then machine clients' client credentials.
  const modal = page.locator(".dialog-ux .modal-ux");
  const passwordFlow = modal.locator(".auth-container").filter({ hasText: "Flow: password" });
  await passwordFlow.locator("#oauth_username").fill(username);
  await passwordFlow.locator("#oauth_password").fill(password);
  await passwordFlow.locator(".auth-btn-wrapper .authorize").click();
  await passwordFlow.locator(".auth-btn-wrapper .logout, .auth-btn-wrapper button:has-text('Logout')").first().waitFor();
  await modal.locator(".auth-btn-wrapper .btn-done, .close-modal").first().click();

  // 3. Call the protected route and read the caller's own record.
  const me = page.locator("#operations-resources-me");
  await me.locator(".opblock-summary").click();
  await tryItOut(me);
  await me.locator(".execute").click();
  const body = me.locator(".live-responses-table tbody .response-col_description pre").first();
  await body.waitFor();
  const text = await body.innerText();
  const status = (
    await me.locator(".live-responses-table tbody .response-col_status").first().innerText()
  ).trim();
  await page.screenshot({ path: screenshot, fullPage: true });
  if (!status.startsWith("200") || !text.includes(`"username": "${username}"`)) {
    throw new Error(`GET /users/me answered ${status}: ${text}`);
  }
  if (external.length > 0) {
    throw new Error(`the page loaded from the internet: ${external.join(", ")}`);
  }

  // 4. Nothing the page keeps across visits holds a credential: not the password, and no
  // refresh or access token (a shared or stolen browser profile must not sign anyone in).
  const stored = await page.evaluate(() => {
    const dump = (storage) =>
      Array.from({ length: storage.length }, (_, i) => storage.key(i))
        .map((key) => `${key}=${storage.getItem(key)}`)
        .join("\n");
    return `${dump(window.localStorage)}\n${dump(window.sessionStorage)}`;
  });
  for (const [what, needle] of [
    ["the password", password],
    ["a refresh token", "refresh_token"],
    ["an access token", "access_token"],
    ["a bearer token", "eyJ"],
  ]) {
    if (stored.includes(needle)) {
      throw new Error(`the page's storage holds ${what} after Authorize: ${stored.length} characters stored`);
    }
  }
  // Authorize again in a fresh page, with the authorization code flow and PKCE as the demo
  // client: the hosted sign-in page opens in a popup and returns to oauth2-redirect.html.
  const codePage = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  codePage.setDefaultTimeout(15000);
  await codePage.goto(`${apiUrl}/docs`);
  await codePage.locator(".swagger-ui .info .title").waitFor();
  await codePage.locator(".auth-wrapper .authorize").first().click();
  const codeModal = codePage.locator(".dialog-ux .modal-ux");
  const codeFlow = codeModal.locator(".auth-container").filter({ hasText: "authorizationCode" });
  const [popup] = await Promise.all([
    codePage.waitForEvent("popup"),
    codeFlow.locator(".auth-btn-wrapper .authorize").click(),
  ]);
  await popup.waitForLoadState();
  await popup.screenshot({ path: screenshot.replace(/\.png$/, "-code-flow-popup.png") });
  await popup.getByLabel("Username").fill(username);
  await popup.getByLabel("Password").fill(password);
  await Promise.all([
    popup.waitForEvent("close"),
    popup.getByRole("button", { name: "Sign in", exact: true }).click(),
  ]);
  await codeFlow.locator(".auth-btn-wrapper button:has-text('Logout')").waitFor();
  await codeModal.locator(".auth-btn-wrapper .btn-done, .close-modal").first().click();
  const codeMe = codePage.locator("#operations-resources-me");
  await codeMe.locator(".opblock-summary").click();
  await tryItOut(codeMe);
  await codeMe.locator(".execute").click();
  const codeBody = codeMe.locator(".live-responses-table tbody .response-col_description pre").first();
  await codeBody.waitFor();
  const codeStatus = (
    await codeMe.locator(".live-responses-table tbody .response-col_status").first().innerText()
  ).trim();
  const codeText = await codeBody.innerText();
  await codePage.screenshot({ path: screenshot.replace(/\.png$/, "-code-flow.png"), fullPage: true });
  if (!codeStatus.startsWith("200") || !codeText.includes(`"username": "${username}"`)) {
    throw new Error(`GET /users/me after the code flow answered ${codeStatus}: ${codeText}`);
  }
  console.log(`docs walkthrough: signed up, authorized with the password and with the code flow, and saw ${username}; screenshot ${screenshot}`);
} catch (error) {
  const pages = browser.contexts().flatMap((context) => context.pages());
  if (pages.length > 0) {
    await pages[0].screenshot({ path: screenshot, fullPage: true });
  }
  throw error;
} finally {
  await browser.close();
}
