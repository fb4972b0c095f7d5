// Opens an HTML file (a report) in headless Chromium and reports what a reader would see broken:
// every <img> that did not load, console errors, uncaught exceptions and failed requests. A test
// helper, not part of the library: tests use it on the reports they write.
//
// No npm dependency: Chromium is driven through the Chrome DevTools Protocol over
// --remote-debugging-pipe (the browser reads NUL-terminated JSON commands on fd 3 and writes
// NUL-terminated JSON responses/events on fd 4). Steps: Target.createTarget → Target.attachToTarget
// (flatten: one session id on every message) → Runtime/Log/Page/Network.enable → Page.navigate to the
// file:// URL → wait for Page.loadEventFired → Runtime.evaluate a snapshot of document.images
// (loaded = complete && naturalWidth > 0). Events collected meanwhile: Runtime.consoleAPICalled
// (type "error"), Runtime.exceptionThrown, Log.entryAdded (level "error"), Network.loadingFailed and
// HTTP responses >= 400.
//
// Chromium runs with a fresh profile in a temporary folder (removed afterwards), no GPU, no name
// resolution (no network), --no-sandbox only as root, in its own process group that is always killed
// at the end (timeout included), and its exit is awaited, so no process or zombie is left behind.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Readable, Writable } from "node:stream";

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

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string; code?: number };
  sessionId?: string;
}

/** A DevTools Protocol connection over the two pipes (NUL-terminated JSON messages). */
class CdpPipe {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  private buffered: Buffer[] = [];
  private closedError: Error | null = null;
  onEvent: (method: string, params: Record<string, unknown>, sessionId: string | undefined) => void = () => {};

  constructor(
    private readonly input: Writable,
    output: Readable,
  ) {
    output.on("data", (chunk: Buffer) => this.receive(chunk));
    input.on("error", (err) => this.close(new Error(`the DevTools pipe closed: ${err.message}`)));
    output.on("error", (err) => this.close(new Error(`the DevTools pipe closed: ${err.message}`)));
  }

  private receive(chunk: Buffer): void {
    let start = 0;
    for (let nul = chunk.indexOf(0); nul !== -1; nul = chunk.indexOf(0, start)) {
      this.buffered.push(chunk.subarray(start, nul));
      const text = Buffer.concat(this.buffered).toString("utf8");
      this.buffered = [];
      start = nul + 1;
      let msg: CdpMessage;
      try {
        msg = JSON.parse(text) as CdpMessage;
      } catch {
        continue; // not ours to fix; the check fails later on a missing answer if it mattered
      }
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result ?? {});
      } else if (msg.method !== undefined) this.onEvent(msg.method, msg.params ?? {}, msg.sessionId);
    }
    if (start < chunk.length) this.buffered.push(chunk.subarray(start));
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) });
    return new Promise((resolvePromise, reject) => {
      this.pending.set(id, { resolve: resolvePromise, reject, method });
      this.input.write(`${message}\0`);
    });
  }

  /** Fails every pending and later command with `err`. */
  close(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

function chromiumArgs(userDataDir: string): string[] {
  return [
    "--headless=new",
    "--remote-debugging-pipe",
    `--user-data-dir=${userDataDir}`,
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND", // no network: every host name fails to resolve
    ...(isRoot() ? ["--no-sandbox"] : []),
    "about:blank",
  ];
}

/** Kills the whole process group (browser, renderers, zygote); ignores "no such process". */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function consoleArgText(arg: Record<string, unknown>): string {
  if ("value" in arg) return typeof arg.value === "string" ? arg.value : JSON.stringify(arg.value);
  return String(arg.unserializableValue ?? arg.description ?? arg.type ?? "");
}

/** Loads `htmlPath` in headless Chromium; see BrowserCheckResult for what is reported. */
export async function checkHtmlInBrowser(htmlPath: string, options: BrowserCheckOptions = {}): Promise<BrowserCheckResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1000) throw new RangeError(`checkHtmlInBrowser: timeoutMs must be a number >= 1000, got ${timeoutMs}`);
  const file = resolve(htmlPath);
  if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`checkHtmlInBrowser: ${file} does not exist or is not a file`);
  const chromium = options.chromium ?? findChromium();
  if (chromium === null) throw new Error("checkHtmlInBrowser: Chromium not found; install it (Debian: apt-get install chromium) or set CHROMIUM to its executable");
  if (!isExecutable(chromium)) throw new Error(`checkHtmlInBrowser: the Chromium executable '${chromium}'${process.env.CHROMIUM === chromium ? " (from $CHROMIUM)" : ""} does not exist or is not executable`);

  const userDataDir = mkdtempSync(join(tmpdir(), "gcrl-chromium-"));
  const child = spawn(chromium, chromiumArgs(userDataDir), { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true });
  let stderrTail = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString("utf8")).slice(-2000);
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const cdp = new CdpPipe(child.stdio[3] as Writable, child.stdio[4] as Readable);
  const lastWords = (): string => (stderrTail.trim() ? `; its last output: ${stderrTail.trim().split("\n").slice(-5).join(" | ")}` : "");
  let spawnFailed: Error | null = null;
  child.once("error", (err) => {
    spawnFailed = err;
    cdp.close(new Error(`checkHtmlInBrowser: cannot start ${chromium}: ${err.message}`));
  });
  child.once("exit", (code, signal) => cdp.close(new Error(`checkHtmlInBrowser: Chromium exited early (${signal ?? `code ${code}`})${lastWords()}`)));

  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      cdp.close(new Error("timed out"));
      reject(new Error(`checkHtmlInBrowser: ${file} was not checked within ${timeoutMs} ms; Chromium was killed${lastWords()}`));
    }, timeoutMs);
  });

  let result: Omit<BrowserCheckResult, "elapsedMs">;
  try {
    result = await Promise.race([inspectPage(cdp, pathToFileURL(file).href), timeout]);
  } finally {
    clearTimeout(timer);
    // a clean close first (the profile is flushed); straight to SIGKILL after a timeout
    if (!timedOut && spawnFailed === null && child.exitCode === null && child.signalCode === null) {
      cdp.send("Browser.close").catch(() => {});
      const grace = new Promise<void>((res) => setTimeout(res, 3000).unref());
      await Promise.race([exited, grace]);
    }
    killGroup(child); // renderers and helpers too, even when the browser exited by itself
    if (spawnFailed === null) await exited;
    rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
  }
  return { ...result, elapsedMs: performance.now() - started };
}

/** The protocol conversation for one page; resolves with what the page showed. */
async function inspectPage(cdp: CdpPipe, url: string): Promise<Omit<BrowserCheckResult, "elapsedMs">> {
  const consoleErrors: string[] = [];
  const failed = new Map<string, string>();
  const requestUrls = new Map<string, string>();
  let session: string | undefined;
  let loaded: () => void = () => {};
  const loadFired = new Promise<void>((res) => (loaded = res));

  cdp.onEvent = (method, params, sessionId) => {
    if (session === undefined || sessionId !== session) return;
    switch (method) {
      case "Page.loadEventFired":
        loaded();
        break;
      case "Runtime.consoleAPICalled":
        if (params.type === "error" || params.type === "assert") {
          const args = (params.args as Record<string, unknown>[] | undefined) ?? [];
          consoleErrors.push(`console.${params.type}: ${args.map(consoleArgText).join(" ")}`);
        }
        break;
      case "Runtime.exceptionThrown": {
        const d = params.exceptionDetails as { text?: string; url?: string; lineNumber?: number; exception?: { description?: string } };
        consoleErrors.push(`uncaught exception: ${d.exception?.description ?? d.text ?? "unknown"}${d.url ? ` (${d.url}:${(d.lineNumber ?? 0) + 1})` : ""}`);
        break;
      }
      case "Log.entryAdded": {
        const e = params.entry as { level?: string; source?: string; text?: string; url?: string };
        if (e.level !== "error") break;
        if (e.source === "network" && e.url) {
          if (!failed.has(e.url)) failed.set(e.url, e.text ?? "failed");
        } else consoleErrors.push(`${e.source ?? "log"}: ${e.text ?? ""}${e.url ? ` (${e.url})` : ""}`);
        break;
      }
      case "Network.requestWillBeSent":
        requestUrls.set(params.requestId as string, (params.request as { url: string }).url);
        break;
      case "Network.loadingFailed": {
        if (params.canceled === true) break;
        const u = requestUrls.get(params.requestId as string) ?? `request ${params.requestId}`;
        failed.set(u, String(params.errorText ?? "failed") + (params.blockedReason ? ` (blocked: ${params.blockedReason})` : ""));
        break;
      }
      case "Network.responseReceived": {
        const r = params.response as { url: string; status: number; statusText?: string };
        if (r.status >= 400) failed.set(r.url, `HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ""}`);
        break;
      }
    }
  };

  const { targetId } = (await cdp.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
  session = ((await cdp.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string }).sessionId;
  await Promise.all(["Runtime.enable", "Log.enable", "Page.enable", "Network.enable"].map((m) => cdp.send(m, {}, session)));
  const nav = (await cdp.send("Page.navigate", { url }, session)) as { errorText?: string };
  if (nav.errorText) throw new Error(`checkHtmlInBrowser: Chromium could not open ${url}: ${nav.errorText}`);
  await loadFired;
  const evaluated = (await cdp.send(
    "Runtime.evaluate",
    {
      expression: `Array.from(document.images, (img) => ({ src: img.getAttribute("src") ?? "", loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth }))`,
      returnByValue: true,
    },
    session,
  )) as { result: { value?: BrowserImage[] }; exceptionDetails?: { text?: string } };
  if (evaluated.exceptionDetails || !Array.isArray(evaluated.result.value)) {
    throw new Error(`checkHtmlInBrowser: could not list the page's images: ${evaluated.exceptionDetails?.text ?? "no result"}`);
  }
  // one more round trip so log entries emitted during the load have arrived
  await cdp.send("Runtime.evaluate", { expression: "0" }, session);
  const images = evaluated.result.value;
  const failedRequests = [...failed].map(([u, error]) => ({ url: u, error }));
  return { images, consoleErrors, failedRequests, ok: images.every((i) => i.loaded) && consoleErrors.length === 0 && failedRequests.length === 0 };
}
