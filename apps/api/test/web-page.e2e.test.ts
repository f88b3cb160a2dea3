import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { probeImage } from "@imagen/catalogue";
import { patternImage } from "@imagen/testing/images";
import { writeTestModels, type SlowUpscaleSpec } from "@imagen/testing/stack";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { browserTestsRun, cssOf, dropFiles, imageOf, launchChromium, screenshot } from "./browser/chromium.js";
import {
  API_MAIN,
  freePort,
  reportOutput,
  startProcess,
  stopProcess,
  waitUntilReady,
  type Running,
} from "./processes.js";

const built = existsSync(API_MAIN);
const KEY = "web-test-secret";
const RED = "rgb(176, 0, 32)";

// The page at `/` in headless Chromium against the built API with its embedded worker (`npm start`),
// on the tiny test models. `npm test` builds first; a bare `vitest run` before any build skips.
describe.runIf(built && browserTestsRun())("web page", () => {
  let browser: Browser;
  let dir: string;
  const running: Running[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    dir = await mkdtemp(path.join(tmpdir(), "imagen-web-"));
  });
  afterEach(async ({ task }) => {
    reportOutput(task.result?.state === "fail", running);
    for (const context of contexts.splice(0)) await context.close();
  });
  afterAll(async () => {
    await browser?.close();
    for (const proc of running.splice(0)) await stopProcess(proc, "SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `npm start` on its own data dir: the API with an embedded worker running every op. */
  async function startApi(
    name: string,
    options: { env?: Record<string, string>; slowUpscale?: SlowUpscaleSpec } = {},
  ): Promise<string> {
    const models = await writeTestModels(path.join(dir, name), { slowUpscale: options.slowUpscale });
    const port = await freePort();
    const api = startProcess(API_MAIN, {
      PORT: String(port),
      HOST: "127.0.0.1",
      IMAGEN_DATA_DIR: path.join(dir, name, "data"),
      IMAGEN_EMBEDDED_WORKER: "true",
      IMAGEN_WORKER_OPS: "upscale,enhance,comic,background-removal",
      IMAGEN_MODEL_DIR: models.modelDir,
      IMAGEN_MODEL_MANIFEST: models.manifestPath,
      QUEUE_POLL_INTERVAL_MS: "50",
      WORKER_PROGRESS_INTERVAL_MS: "0",
      RATE_LIMIT_PER_MIN: "0",
      ...options.env,
    });
    running.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitUntilReady(`${base}/readyz`, api);
    return base;
  }

  /** The page, once it has the ops (unless the server refuses them without a key). */
  async function openPage(
    base: string,
    { viewport = { width: 1280, height: 900 }, opsLoad = true } = {},
  ): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    if (opsLoad) await page.locator("#op:not([disabled])").waitFor();
    return page;
  }

  const jpeg = (width: number, height: number) => patternImage({ width, height, format: "jpeg" });
  const badge = (page: Page) => page.locator("#result-badge");
  /** Waits until the selected job's result (not its input, shown while it runs) is in the viewer. */
  const resultShown = (page: Page) => page.locator("#compare:not(.pending):not([hidden])").waitFor();

  describe("without API keys", () => {
    let base: string;
    beforeAll(async () => {
      base = await startApi("open");
    });

    it("takes a dropped image through an option, live status and a before/after comparison to a named download", async () => {
      const page = await openPage(base);
      await dropFiles(page, "#dropzone", [{ name: "photo.jpg", type: "image/jpeg", bytes: await jpeg(150, 100) }]);
      await expect
        .poll(() => page.locator("#picked li").allTextContents())
        .toEqual([expect.stringContaining("photo.jpg")]);
      await page.getByLabel("Operation").selectOption("upscale");
      await page.getByText("More options").click();
      // A jpeg in, a png out: the option the person chose is the one the job ran with.
      await page.getByLabel("Format").selectOption("png");
      await page.getByRole("button", { name: "Process image" }).click();

      await badge(page).filter({ hasText: "Done" }).waitFor();
      await resultShown(page);
      await expect.poll(() => page.locator("#result-status").textContent()).toMatch(/^photo\.jpg: done/);
      const before = page.locator(".compare-before");
      const after = page.locator(".compare-after");
      expect(await imageOf(before)).toMatchObject({ width: 150, height: 100 });
      expect(await imageOf(after)).toMatchObject({
        width: 600,
        height: 400,
        src: expect.stringMatching(/^blob:/) as string,
      });
      const [beforeBox, afterBox] = [await before.boundingBox(), await after.boundingBox()];
      expect(beforeBox).toEqual(afterBox);
      expect(afterBox?.width).toBeGreaterThan(300);
      expect(await cssOf(after, "backgroundImage")).toContain("conic-gradient");
      // The split moves with the keyboard.
      await page.getByLabel("Before and after split").focus();
      await page.keyboard.press("ArrowRight");
      expect(await page.getByLabel("Before and after split").inputValue()).toBe("51");
      await screenshot(page, "desktop-result");

      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "Download" }).click(),
      ]);
      expect(download.suggestedFilename()).toBe("photo-upscale-x4.png");
      const image = await probeImage(await readFile(await download.path()), { maxInputPixels: 1e7 });
      expect(image).toMatchObject({ format: "png", width: 600, height: 400 });

      const card = page.locator("#jobs li");
      await expect.poll(() => card.locator(".badge").allTextContents()).toEqual(["Done"]);
      expect(await card.locator(".job-sub").textContent()).toContain("Upscale · x4");
      expect(await card.locator(".job-thumb").getAttribute("src")).toMatch(/^data:image\//);
    });

    it("refuses a file that is not an image with the API's UNSUPPORTED_IMAGE, in red", async () => {
      const page = await openPage(base);
      await page
        .locator("#file")
        .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
      await page.getByRole("button", { name: "Process image" }).click();
      const error = page.getByRole("alert").filter({ hasText: "UNSUPPORTED_IMAGE" });
      await error.waitFor();
      expect(await error.textContent()).toMatch(/^notes\.txt — UNSUPPORTED_IMAGE: Expected a jpeg, png/);
      expect(await cssOf(error, "color")).toBe(RED);
      expect(await page.locator("#jobs li").count()).toBe(0);
      await screenshot(page, "desktop-error");
    });

    it("runs one job per dropped image with the chosen colour, and lists them after a reload", async () => {
      const page = await openPage(base);
      await page.getByLabel("Operation").selectOption("background-removal");
      expect(await page.getByLabel("Background").isVisible()).toBe(false);
      await page.getByLabel("Output").selectOption("color");
      await page.getByLabel("Background").fill("#ff8800");
      await dropFiles(page, "#dropzone", [
        { name: "a.png", type: "image/png", bytes: await patternImage({ width: 64, height: 48 }) },
        { name: "b.png", type: "image/png", bytes: await patternImage({ width: 48, height: 64 }) },
      ]);
      await page.getByRole("button", { name: "Process 2 images" }).click();
      const cards = page.locator("#jobs li");
      await expect.poll(() => cards.locator(".badge").allTextContents(), { timeout: 20_000 }).toEqual(["Done", "Done"]);
      expect(await cards.locator(".job-title").allTextContents()).toEqual(["b.png", "a.png"]);
      const ids = await cards.evaluateAll((els: { dataset: { id: string } }[]) => els.map((el) => el.dataset.id));
      for (const id of ids) {
        const job = (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as { options: Record<string, unknown> };
        expect(job.options).toMatchObject({ output: "color", background: "#ff8800" });
      }

      await page.reload();
      await expect.poll(() => cards.locator(".job-title").allTextContents()).toEqual(["b.png", "a.png"]);
      expect(await cards.locator(".badge").allTextContents()).toEqual(["Done", "Done"]);
      await cards.last().getByRole("button", { name: "View a.png" }).click();
      await resultShown(page);
      expect(await imageOf(page.locator(".compare-after"))).toMatchObject({ width: 64, height: 48 });
      expect(await imageOf(page.locator(".compare-before"))).toMatchObject({ width: 64, height: 48 });
    });

    it("follows the job over its events stream rather than by polling", async () => {
      const page = await openPage(base);
      const requests: string[] = [];
      page.on("request", (request) => requests.push(new URL(request.url()).pathname));
      await page
        .locator("#file")
        .setInputFiles({ name: "live.jpg", mimeType: "image/jpeg", buffer: await jpeg(64, 64) });
      await page.getByRole("button", { name: "Process image" }).click();
      await badge(page).filter({ hasText: "Done" }).waitFor();
      const jobRequests = requests.filter((url) => url.startsWith("/v1/jobs/"));
      expect(jobRequests.filter((url) => url.endsWith("/events"))).toHaveLength(1);
      expect(jobRequests.filter((url) => /^\/v1\/jobs\/[^/]+$/.test(url))).toEqual([]);
    });

    it("falls back to polling the job when its events stream cannot be read", async () => {
      const page = await openPage(base);
      await page.route("**/v1/jobs/*/events", (route) => route.abort("connectionreset"));
      await page
        .locator("#file")
        .setInputFiles({ name: "poll.jpg", mimeType: "image/jpeg", buffer: await jpeg(64, 64) });
      await page.getByRole("button", { name: "Process image" }).click();
      await badge(page).filter({ hasText: "Done" }).waitFor();
      await resultShown(page);
      expect(await imageOf(page.locator(".compare-after"))).toMatchObject({ width: 256, height: 256 });
    });

    it("parses Server-Sent Events split anywhere across chunks", async () => {
      const page = await openPage(base);
      const chunks = [
        ": hello\r\n\r",
        '\nid: 1\nevent: status\ndata: {"a"',
        ":1}\n\nevent: progress\r\ndata:",
        " x\ndata: y\r\r",
        "id: 2\ndata: tail",
      ];
      const events = await page.evaluate(`import("/sse.js").then(({ createParser }) => {
        const state = { lastEventId: "" };
        const parser = createParser(state);
        return ${JSON.stringify(chunks)}.flatMap((chunk) => parser.push(chunk)).concat([{ lastEventId: state.lastEventId }]);
      })`);
      expect(events).toEqual([
        { type: "status", data: '{"a":1}', id: "1" },
        { type: "progress", data: "x\ny", id: "1" },
        { lastEventId: "2" },
      ]);
    });

    it("fits a phone screen and works from the keyboard alone", async () => {
      const page = await openPage(base, { viewport: { width: 390, height: 844 } });
      // Tab order: skip link, API key, docs, then the drop zone's file input.
      for (let i = 0; i < 4; i++) await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.id")).toBe("file");
      expect(await cssOf(page.locator("#dropzone"), "boxShadow")).not.toBe("none");
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
      await chooser.setFiles({ name: "phone.jpg", mimeType: "image/jpeg", buffer: await jpeg(120, 90) });
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.getAttribute('aria-label')")).toBe("Remove phone.jpg");
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.id")).toBe("op");
      // The op the first test warmed: a model loaded cold by the worker (nice 10) can take most of
      // the test's time when the rest of the suite fills the cores.
      await page.getByLabel("Operation").selectOption("upscale");
      await page.getByRole("button", { name: "Process image" }).focus();
      await page.keyboard.press("Enter");
      await badge(page).filter({ hasText: "Done" }).waitFor();
      await resultShown(page);
      const after = await page.locator(".compare-after").boundingBox();
      expect(after?.width).toBeLessThanOrEqual(390);
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      await screenshot(page, "phone-result");
    }, 60_000);
  });

  it("follows a running job's progress, cancels it and retries it", async () => {
    // Seconds per job on the CPU, so that the job is seen running.
    const base = await startApi("slow", { slowUpscale: { channels: 192, kernel: 31 } });
    const page = await openPage(base);
    await page
      .locator("#file")
      .setInputFiles({ name: "big.jpg", mimeType: "image/jpeg", buffer: await jpeg(400, 300) });
    await page.getByRole("button", { name: "Process image" }).click();
    const progress = page.locator("#result-progress");
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          const value = Number((await progress.getAttribute("value")) ?? 0);
          if (value > 0 && value < 1) seen.add(value);
          return seen.size;
        },
        { timeout: 30_000, interval: 20 },
      )
      .toBeGreaterThanOrEqual(2);
    expect(await badge(page).textContent()).toMatch(/^Processing \d+%$/);
    await screenshot(page, "desktop-progress");

    await page.getByRole("button", { name: "Cancel big.jpg" }).click();
    await badge(page).filter({ hasText: "Canceled" }).waitFor();
    await page.getByRole("button", { name: "Retry big.jpg" }).click();
    await expect
      .poll(() => page.locator("#jobs .badge").allTextContents(), { timeout: 60_000 })
      .toEqual(["Done", "Canceled"]);
    await resultShown(page);
    expect(await imageOf(page.locator(".compare-after"))).toMatchObject({ width: 1600, height: 1200 });
  }, 90_000);

  it("asks for the API key after a 401, and works once the right key is saved", async () => {
    const base = await startApi("keys", { env: { IMAGEN_API_KEYS: `web:${KEY}` } });
    const page = await openPage(base, { opsLoad: false });
    const panel = page.locator("#key-panel");
    await panel.waitFor();
    expect(await panel.getAttribute("class")).toContain("attention");
    expect(await page.evaluate("document.activeElement.id")).toBe("api-key");
    const refusal = page.locator("#key-error");
    await expect.poll(() => refusal.textContent()).toMatch(/^UNAUTHENTICATED: /);
    expect(await cssOf(refusal, "color")).toBe(RED);
    await screenshot(page, "desktop-key-needed");

    await page.locator("#api-key").fill("not-the-key");
    await page.getByRole("button", { name: "Save key" }).click();
    await expect.poll(() => refusal.textContent()).toMatch(/^UNAUTHENTICATED: /);
    expect(await panel.isVisible()).toBe(true);

    await page.locator("#api-key").fill(KEY);
    await page.getByRole("button", { name: "Save key" }).click();
    await panel.waitFor({ state: "hidden" });
    await page.locator("#file").setInputFiles({ name: "key.jpg", mimeType: "image/jpeg", buffer: await jpeg(80, 60) });
    await page.getByLabel("Operation").selectOption("enhance");
    await page.getByRole("button", { name: "Process image" }).click();
    await badge(page).filter({ hasText: "Done" }).waitFor();
    await resultShown(page);
    // Fetched with the key (an <img> cannot send one) and shown from a blob: URL.
    expect(await imageOf(page.locator(".compare-after"))).toMatchObject({
      width: 80,
      height: 60,
      src: expect.stringMatching(/^blob:/) as string,
    });

    // The key is remembered by this browser.
    await page.reload();
    await page.locator("#op:not([disabled])").waitFor();
    expect(await panel.isVisible()).toBe(false);
  });
});
