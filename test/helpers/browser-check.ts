// Opens an HTML file (a report) in headless Chromium and reports what a reader would see broken:
// every <img> that did not load, console errors, uncaught exceptions and failed requests. A test
// helper, not part of the library: tests use it on the reports they write.
//
// Chromium (the system's: no browser is downloaded) is driven by playwright-core, a kept library,
// through a browser server whose process this helper owns: on a timeout the server is killed (the
// process and its temporary profile go with it) and a clear error is thrown. Events collected while
// the page loads: console messages of type "error", uncaught exceptions, failed requests and HTTP
// responses >= 400; after the load event, a snapshot of document.images (loaded = complete &&
// naturalWidth > 0).
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserServer, type Page } from "playwright-core";

export interface BrowserImage {
  /** The src attribute as written in the page. */
  src: string;
  loaded: boolean;
  /** naturalWidth in pixels (0 when it did not load). */
  width: number;
}

export interface BrowserCheckResult {
  images: BrowserImage[];
  /** console.error calls, uncaught exceptions and other error log entries (e.g. CSP violations). */
  consoleErrors: string[];
  /** Requests that failed (missing files, HTTP >= 400), one per URL. */
  failedRequests: { url: string; error: string }[];
  /** Every image loaded and nothing above was reported. */
  ok: boolean;
  /** Wall time of the whole check, browser start and exit included. */
  elapsedMs: number;
}

export interface BrowserCheckOptions {
  /** Limit for the whole check (default 30000 ms); past it Chromium is killed and an error thrown. */
  timeoutMs?: number;
  /** Chromium executable (default: findChromium()). */
  chromium?: string;
}

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** $CHROMIUM when set, else the first installed Chromium/Chrome among the usual paths; null if none. */
export function findChromium(): string | null {
  const env = process.env.CHROMIUM;
  if (env !== undefined && env !== "") return env;
  return CANDIDATES.find(isExecutable) ?? null;
}

/** Runs `work` on a page of a fresh headless Chromium; the browser is always gone afterwards. */
async function withPage<T>(executable: string, timeoutMs: number, what: string, work: (page: Page) => Promise<T>): Promise<T> {
  const launched = chromium.launchServer({ executablePath: executable, headless: true, args: ["--host-resolver-rules=MAP * ~NOTFOUND"], timeout: timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`checkHtmlInBrowser: ${what} was not checked within ${timeoutMs} ms; Chromium was killed`)), timeoutMs);
  });
  const run = (async () => {
    const browser = await chromium.connect((await launched).wsEndpoint(), { timeout: timeoutMs });
    return work(await browser.newPage());
  })();
  run.catch(() => {}); // a failure after the timeout is not news
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
    // kill(): the process and its temporary profile folder are gone when it returns.
    const server: BrowserServer | null = await launched.catch(() => null);
    if (server !== null) await server.kill();
  }
}

/**
 * Opens `htmlPath` (a file) in headless Chromium and reports broken images, console errors,
 * exceptions and failed requests. Throws a clear error when the file or Chromium is missing, or
 * when the page is not loaded and checked within timeoutMs (Chromium is killed then).
 */
export async function checkHtmlInBrowser(htmlPath: string, options: BrowserCheckOptions = {}): Promise<BrowserCheckResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs >= 1000)) throw new RangeError(`checkHtmlInBrowser: timeoutMs must be a number >= 1000, got ${timeoutMs}`);
  const path = resolve(htmlPath);
  if (!existsSync(path)) throw new Error(`checkHtmlInBrowser: ${htmlPath} does not exist`);
  const fromEnv = options.chromium === undefined && process.env.CHROMIUM !== undefined && process.env.CHROMIUM !== "";
  const executable = options.chromium ?? findChromium();
  if (executable === null) throw new Error("checkHtmlInBrowser: no Chromium found (Debian: apt-get install chromium; or set CHROMIUM to its path)");
  if (!isExecutable(executable)) throw new Error(`checkHtmlInBrowser: the Chromium executable '${executable}'${fromEnv ? " (from $CHROMIUM)" : ""} does not exist or is not executable`);

  const consoleErrors: string[] = [];
  const failed = new Map<string, string>();
  const images = await withPage(executable, timeoutMs, htmlPath, async (page) => {
    page.on("console", (msg) => {
      // A resource that failed to load is reported once, under failedRequests.
      if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource:")) consoleErrors.push(`console.error: ${msg.text()}`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`uncaught exception: ${err.name}: ${err.message}`));
    page.on("requestfailed", (req) => {
      if (!failed.has(req.url())) failed.set(req.url(), req.failure()?.errorText ?? "failed");
    });
    page.on("response", (resp) => {
      if (resp.status() >= 400 && !failed.has(resp.url())) failed.set(resp.url(), `HTTP ${resp.status()}`);
    });
    await page.goto(pathToFileURL(path).href, { waitUntil: "load", timeout: timeoutMs });
    // A string, so that this file needs no DOM types: every <img> as the reader's browser has it.
    return page.evaluate<BrowserImage[]>(`Array.from(document.images, (img) => ({ src: img.getAttribute("src") ?? "", loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth }))`);
  });
  const failedRequests = [...failed].map(([url, error]) => ({ url, error }));
  return {
    images,
    consoleErrors,
    failedRequests,
    ok: images.every((i) => i.loaded) && consoleErrors.length === 0 && failedRequests.length === 0,
    elapsedMs: performance.now() - started,
  };
}
