// Headless-Chromium check of HTML pages: missing images, console errors and exceptions are
// reported; a report written by writeReport with rendered charts passes; a page that never finishes
// loading times out with a clear error and leaves no process or profile folder behind.
// Skipped (with a message) only where Chromium is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHtmlInBrowser, findChromium } from "./browser-check.ts";
import { histogramSvg, lineChartSvg, rocSvg } from "../../src/report/chart-svg.ts";
import { writeReport } from "../../src/report/document.ts";
import { writePng } from "../../src/report/png.ts";
import { writeSvgPng } from "../../src/report/svg-png.ts";

const chromium = findChromium();
const skip = chromium === null ? "chromium is not installed (Debian: apt-get install chromium, or set CHROMIUM)" : false;

/** A 3×2 RGB PNG. */
async function writeTinyPng(path: string): Promise<void> {
  await writePng(path, { data: new Uint8Array(3 * 2 * 3).fill(200), width: 3, height: 2, channels: 3 });
}

/** Processes whose command line mentions `text` (Linux /proc), excluding zombies' empty cmdlines. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes(text)) found.push(`${pid}: ${cmd.replace(/\0/g, " ").slice(0, 120)}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test("a missing image is reported, the present one loads, nothing else", { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-browser-"));
  try {
    await writeTinyPng(join(dir, "good.png"));
    writeFileSync(join(dir, "page.html"), '<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body><img src="good.png" alt="good"><img src="missing.png" alt="missing"></body></html>');
    const r = await checkHtmlInBrowser(join(dir, "page.html"));
    t.diagnostic(`one check took ${r.elapsedMs.toFixed(0)} ms (Chromium start, load, exit)`);
    assert.deepEqual(r.images, [
      { src: "good.png", loaded: true, width: 3 },
      { src: "missing.png", loaded: false, width: 0 },
    ]);
    assert.equal(r.failedRequests.length, 1);
    assert.match(r.failedRequests[0]!.url, /\/missing\.png$/);
    assert.match(r.failedRequests[0]!.error, /ERR_FILE_NOT_FOUND/);
    assert.deepEqual(r.consoleErrors, []);
    assert.equal(r.ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("console.error and uncaught exceptions are reported", { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-browser-"));
  try {
    writeFileSync(join(dir, "page.html"), '<!DOCTYPE html><html><body><p>hi</p><script>console.error("x"); console.log("fine"); setTimeout(() => { throw new Error("boom"); }, 0);</script></body></html>');
    const r = await checkHtmlInBrowser(join(dir, "page.html"));
    assert.deepEqual(r.images, []);
    assert.equal(r.consoleErrors[0], "console.error: x");
    assert.ok(r.consoleErrors.some((e) => /uncaught exception: Error: boom/.test(e)), r.consoleErrors.join("\n"));
    assert.deepEqual(r.failedRequests, []);
    assert.equal(r.ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a report written by writeReport with rendered charts passes", { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-browser-"));
  try {
    const values = Array.from({ length: 500 }, (_, i) => Math.sin(i) + (i % 13) / 13);
    await writeSvgPng(join(dir, "eval", "hist.png"), histogramSvg([{ label: "in", values }, { label: "out", values: values.map((v) => v + 1) }], { title: "scores" }));
    await writeSvgPng(join(dir, "eval", "roc curve.png"), rocSvg([{ label: "knn", fpr: [0, 0.1, 1], tpr: [0, 0.8, 1] }]), { scale: 2 });
    await writeSvgPng(join(dir, "eval", "loss.png"), lineChartSvg([{ label: "loss", x: [0, 1, 2, 3], y: [3, 2, 1.5, 1.2] }], { xLabel: "step" }));
    writeReport(dir, "report", {
      title: 'Report <with> "quotes" & ampersands',
      blocks: [
        { kind: "heading", level: 2, text: "Figures" },
        { kind: "paragraph", text: "Scores **with** `code` and a [relative link](eval/hist.png)." },
        { kind: "image", path: "eval/hist.png", alt: "histogram", caption: "shared bins" },
        { kind: "images", items: [{ path: "eval/roc curve.png", alt: "roc" }, { path: "eval/loss.png", alt: "loss", caption: "training" }] },
        { kind: "table", header: ["metric", "value"], align: ["left", "right"], rows: [["AUROC", 0.9], ["FID", null]] },
        { kind: "code", text: "{ \"a\": 1 }" },
      ],
    });
    const r = await checkHtmlInBrowser(join(dir, "report.html"));
    t.diagnostic(`report check took ${r.elapsedMs.toFixed(0)} ms`);
    assert.deepEqual(r.consoleErrors, []);
    assert.deepEqual(r.failedRequests, []);
    assert.deepEqual(r.images.map((i) => [i.src, i.loaded, i.width]), [
      ["eval/hist.png", true, 640],
      ["eval/roc%20curve.png", true, 960],
      ["eval/loss.png", true, 640],
    ]);
    assert.equal(r.ok, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a page that never loads times out: clear error, no process or profile left", { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-browser-"));
  const privateTmp = mkdtempSync(join(tmpdir(), "gcrl-browser-tmp-"));
  const savedTmp = process.env.TMPDIR;
  try {
    writeFileSync(join(dir, "hang.html"), "<!DOCTYPE html><html><body><script>for (;;) {}</script></body></html>");
    process.env.TMPDIR = privateTmp; // the profile folder is made here, so its leftovers are ours to see
    const started = performance.now();
    await assert.rejects(checkHtmlInBrowser(join(dir, "hang.html"), { timeoutMs: 2500 }), /hang\.html was not checked within 2500 ms; Chromium was killed/);
    assert.ok(performance.now() - started < 15_000, "gave up promptly");
    assert.deepEqual(processesMentioning(privateTmp), [], "no Chromium process left");
    assert.deepEqual(readdirSync(privateTmp).filter((n) => n.startsWith("playwright")), [], "profile folder removed");
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(dir, { recursive: true, force: true });
    rmSync(privateTmp, { recursive: true, force: true });
  }
});

test("clear errors: missing HTML file, bad CHROMIUM, bad timeout", async () => {
  await assert.rejects(checkHtmlInBrowser("/nonexistent/report.html"), /checkHtmlInBrowser: \/nonexistent\/report\.html does not exist/);
  const dir = mkdtempSync(join(tmpdir(), "gcrl-browser-"));
  const saved = process.env.CHROMIUM;
  try {
    writeFileSync(join(dir, "p.html"), "<!DOCTYPE html><html><body></body></html>");
    process.env.CHROMIUM = join(dir, "no-such-chromium");
    assert.equal(findChromium(), join(dir, "no-such-chromium"));
    await assert.rejects(checkHtmlInBrowser(join(dir, "p.html")), /the Chromium executable '.*no-such-chromium' \(from \$CHROMIUM\) does not exist or is not executable/);
    await assert.rejects(checkHtmlInBrowser(join(dir, "p.html"), { timeoutMs: 10 }), /timeoutMs must be a number >= 1000/);
    assert.ok(existsSync(join(dir, "p.html")));
  } finally {
    if (saved === undefined) delete process.env.CHROMIUM;
    else process.env.CHROMIUM = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
