// Sign-in through other providers in a real browser: Debian's Chromium drives the example
// single-page app (oidc-client-ts) against the local API, with two local upstream providers
// (panva's oidc-provider, `make dev`'s "Local provider" and a second one). It signs up
// through the first provider with one click on the hosted sign-in page, signs out, signs in
// again through it (the same account), then links the second provider from the signed-in
// session and sees both identities. Screenshots of each step go to <artifact dir>; any
// Content Security Policy violation fails the walk.
// Usage: node federation-walkthrough.mjs <example app url> <issuer> <artifact dir>
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [appUrl, issuer, artifacts] = process.argv.slice(2);
if (!appUrl || !issuer || !artifacts) {
  console.error("usage: node federation-walkthrough.mjs <example app url> <issuer> <artifact dir>");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const login = `ada${process.pid}`;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const shot = (page, name) => page.screenshot({ path: `${artifacts}/federation-${name}.png`, fullPage: true });
let page;
const refusals = [];

try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1100 } });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on("console", (message) => {
    if (message.type() === "error") refusals.push(message.text());
  });

  /** Signs in on the provider's own page (any name and password sign in there). */
  async function atProvider(name, step) {
    await page.locator('input[name="login"]').waitFor();
    await shot(page, step);
    await page.locator('input[name="login"]').fill(name);
    await page.locator('input[name="password"]').fill("any password");
    await page.getByRole("button", { name: "Sign-in" }).click();
  }

  /** Waits for the app's signed-in view; who it says and how. */
  async function signedIn(step) {
    await page.locator("#signed-in").waitFor({ state: "visible" });
    check(page.url() === appUrl, `${step}: the app is at ${page.url()}`);
    await page.locator("#userinfo").filter({ hasText: "preferred_username" }).waitFor();
    await page.locator("#identities li").first().waitFor();
    await shot(page, step);
    return {
      username: await page.locator("#username").innerText(),
      methods: await page.locator("#methods").innerText(),
      sub: JSON.parse(await page.locator("#userinfo").innerText()).sub,
    };
  }

  // 1. Sign up through the first provider: one click on the hosted sign-in page.
  await page.goto(appUrl);
  await page.locator("#sign-in").click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize`));
  await shot(page, "1-sign-in-page");
  await page.getByRole("link", { name: "Continue with Local provider", exact: true }).click();
  await atProvider(login, "2-provider-sign-in");
  const first = await signedIn("3-signed-up-through-the-provider");
  check(first.username === login, `the new account is named ${first.username}`);
  check(first.methods === "fed", `the sign-in's amr: ${first.methods}`);
  // No password to confirm changes with: the app does not ask for one.
  check(!(await page.locator("#current-password").isVisible()), "the app asks an account without a password for one");

  // 2. Sign out, then sign in again through the provider: the same account.
  const loggedOut = page.waitForResponse((response) => response.url().startsWith(`${issuer}/logout`));
  await page.locator("#sign-out").click();
  check((await loggedOut).status() === 302, "RP-initiated logout");
  await page.locator("#signed-out").waitFor({ state: "visible" });
  await page.locator("#sign-in").click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize`));
  await page.getByRole("link", { name: "Continue with Local provider", exact: true }).click();
  // The provider remembers the browser: it answers at once, with no page.
  const again = await signedIn("4-signed-in-again-through-the-provider");
  check(again.sub === first.sub, `signed in again to ${again.sub}, not ${first.sub}`);

  // 3. Link the second provider from the signed-in session.
  await page.getByRole("button", { name: "Link Local provider 2" }).click();
  await atProvider(`${login}-elsewhere`, "5-second-provider-sign-in");
  // This service asks before it links anything.
  await page.getByRole("heading", { name: "Link Local provider 2?" }).waitFor();
  await shot(page, "6-confirm-the-link");
  await page.getByRole("button", { name: "Link", exact: true }).click();
  const linked = await signedIn("7-second-provider-linked");
  check(linked.sub === first.sub, `the link kept the account: ${linked.sub}`);
  const identities = await page.locator("#identities li").allInnerTexts();
  check(identities.length === 2, `the app lists ${JSON.stringify(identities)}`);

  const cspErrors = refusals.filter((text) => text.includes("Content Security Policy"));
  check(cspErrors.length === 0, `the pages broke their own policy: ${cspErrors.join("; ")}`);
  console.log(
    `federation walkthrough: ${login} signed up through the local provider (amr ${first.methods}), signed in again to the same account, and linked a second provider (${identities.length} identities); screenshots in ${artifacts}`,
  );
} catch (error) {
  if (page) await shot(page, "failure").catch(() => {});
  throw error;
} finally {
  await browser.close();
}
