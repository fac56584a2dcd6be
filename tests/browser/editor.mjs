// Drives Debian's Chromium through the editor for tests/browser.rs: setup link → admin
// created → sign out and in → write a statement → preview → publish → public page → edit →
// retract. It talks to the Rust test over stdio: it prints `READY`, `PUBLISHED <url>`,
// `EDITED`, `DONE` and waits for a `GO` line after READY (the test's follower follows then).
// Screenshots go to $SHOTS.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import assert from "node:assert/strict";

const { BROADSIDE_BROWSER_DIR: dir, BASE: base, SETUP: setup, SHOTS: shots } = process.env;
// playwright-core is installed in the work dir, not beside this file.
const require = createRequire(path.join(dir, "package.json"));
const { chromium } = require("playwright-core");

const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));
const say = (line) => process.stdout.write(line + "\n");

const LOGIN = "admin@example.org";
const PASSWORD = "correct horse battery staple";
const TITLE = "We stand with the strikers";

mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(path.join(tmpdir(), "broadside-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(15000);
const shot = (page, name) => page.screenshot({ path: path.join(shots, name), fullPage: true });

try {
  const page = context.pages()[0] ?? (await context.newPage());

  // The setup link: create the admin and the organization account.
  await page.goto(setup);
  await page.getByLabel("Login").fill(LOGIN);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Password again").fill(PASSWORD);
  await page.getByLabel("Username").fill("isg");
  await page.getByLabel("Display name").fill("Institute for Social Good");
  await page.getByLabel("Bio").fill("Research and advocacy for *fair work*.");
  await shot(page, "setup.png");
  await page.getByRole("button", { name: "Create and sign in" }).click();
  await page.waitForURL(/\/editor\?done=setup$/);
  await page.getByText("The instance is set up").waitFor();

  // Sign out, and in again with the new admin login.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login$/);
  await page.getByLabel("Login").fill(LOGIN);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("The login or the password is wrong.").waitFor();
  await shot(page, "login-refused.png");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/editor$/);

  say("READY");
  assert.equal(await nextLine(), "GO");
  await page.reload();
  await page.getByText("@alice@").first().waitFor();
  await shot(page, "dashboard.png");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "dashboard-phone.png");
  await page.setViewportSize({ width: 1280, height: 900 });

  // Write a statement; the live preview follows the typing.
  await page.getByRole("link", { name: "Write a post" }).click();
  await page.waitForURL(/\/editor\/posts\/new/);
  await page.locator("#title").fill(TITLE);
  await page.locator("#summary").fill("Our statement on this week's strike.");
  await page
    .locator("#body")
    .fill("The **strike** is about fair pay.\n\nWe call on both sides to talk. #strike");
  await page.locator("#preview-body .post-title", { hasText: TITLE }).waitFor();
  // The Preview button works as a plain form submit too.
  await page.getByRole("button", { name: "Preview" }).click();
  await page.waitForURL(/\/editor\/posts$/);
  await page.locator("#preview-body").getByText("How Mastodon shows it").waitFor();
  assert.equal(await page.locator("#title").inputValue(), TITLE);
  await shot(page, "writing-with-preview.png");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "writing-phone.png");
  await page.setViewportSize({ width: 1280, height: 900 });

  // Publish, then see it on the public page.
  await page.getByRole("button", { name: "Publish now" }).click();
  await page.waitForURL(/\/editor\/posts\/\d+\?done=published$/);
  const url = await page.getByRole("link", { name: "public page" }).getAttribute("href");
  say(`PUBLISHED ${url}`);
  const post = await context.newPage();
  const response = await post.goto(url);
  assert.equal(response.status(), 200);
  await post.getByRole("heading", { level: 1, name: TITLE }).waitFor();
  await shot(post, "public-post.png");

  // Correct it.
  await page.locator("#body").fill("The **strike** is about fair pay and safety.\n\n#strike");
  await page.getByRole("button", { name: "Save correction" }).click();
  await page.waitForURL(/\?done=corrected$/);
  await post.reload();
  await post.getByText("fair pay and safety").waitFor();
  say("EDITED");

  // Retract it, after the confirmation page.
  await page.getByRole("link", { name: "Retract…" }).click();
  await page.getByRole("heading", { name: /Retract/ }).waitFor();
  await shot(page, "retract-confirmation.png");
  await page.getByRole("button", { name: "Retract the post" }).click();
  await page.waitForURL(/\/editor\?done=deleted$/);
  // A reload revalidates; a plain visit could be answered from the browser's cache.
  const gone = await post.reload();
  assert.equal(gone.status(), 410);
  await post.getByText("retracted", { exact: false }).first().waitFor();
  await shot(post, "retracted.png");
  say("DONE");
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  lines.close();
}
