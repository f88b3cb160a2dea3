import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import * as path from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { REPO_ROOT } from "../processes.js";

/** Debian's Chromium; CI installs it (`apt-get install -y chromium`). */
const CHROMIUM = "/usr/bin/chromium";

/**
 * Whether the page tests run: where Chromium is installed, and always in CI (`.ci/run` sets
 * IMAGEN_REQUIRE_BROWSER=1), where a missing browser then fails `launchChromium` instead of
 * skipping. A machine with only Node and npm skips them, with a warning, so `npm test` stays one
 * command there.
 */
export function browserTestsRun(): boolean {
  if (existsSync(CHROMIUM) || process.env.IMAGEN_REQUIRE_BROWSER === "1") return true;
  console.warn(`web page tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  return false;
}

// Headless and quiet: no GPU, no first-run UI, and no traffic of Chromium's own beyond loopback.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Screenshots the web page tests leave for a person to look at (not compared by the tests). */
const WEB_ARTIFACTS = path.join(REPO_ROOT, "test-artifacts", "web");

/**
 * Launches headless Chromium; fails where it is missing (see `browserTestsRun`), so that CI cannot
 * pass without running the page. Playwright gives each launch a fresh temporary profile (user data
 * dir), removed on close; each `newContext()` then has empty storage.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The web page tests need Chromium at ${CHROMIUM}: install it with apt-get install -y chromium`);
  }
  await mkdir(WEB_ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(WEB_ARTIFACTS, `${name}.png`), fullPage: true });
}

interface DroppedFile {
  name: string;
  type: string;
  bytes: Buffer;
}

/**
 * Drops `files` on `selector` as a person dragging them from a file manager would: a `drop`
 * event whose DataTransfer holds the files. (The test's TypeScript has no DOM types, so the page
 * side is a script.)
 */
export async function dropFiles(page: Page, selector: string, files: DroppedFile[]): Promise<void> {
  const encoded = files.map((f) => ({ name: f.name, type: f.type, data: f.bytes.toString("base64") }));
  await page.evaluate(`(() => {
    const transfer = new DataTransfer();
    for (const f of ${JSON.stringify(encoded)}) {
      const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const target = document.querySelector(${JSON.stringify(selector)});
    target.dispatchEvent(new DragEvent("dragover", { bubbles: true, cancelable: true, dataTransfer: transfer }));
    target.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: transfer }));
  })()`);
}

interface ImageElement {
  naturalWidth: number;
  naturalHeight: number;
  complete: boolean;
  currentSrc: string;
}

/** The intrinsic size of a loaded `<img>`, and where it was loaded from. */
export async function imageOf(img: Locator): Promise<{ width: number; height: number; src: string }> {
  await img.page().waitForFunction((el: ImageElement) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  return img.evaluate((el: ImageElement) => ({ width: el.naturalWidth, height: el.naturalHeight, src: el.currentSrc }));
}

interface StyledElement {
  ownerDocument: { defaultView: { getComputedStyle(el: unknown): Record<string, string> } };
}

/** One computed CSS property of an element (`color`, `background-image`). */
export async function cssOf(locator: Locator, property: string): Promise<string> {
  return locator.evaluate(
    (el: StyledElement, name) => el.ownerDocument.defaultView.getComputedStyle(el)[name] ?? "",
    property,
  );
}
