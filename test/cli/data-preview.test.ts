// `gcrl data preview` end to end: the real command writes a real PNG of 4 rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";

const bin = new URL("../../bin/gcrl.js", import.meta.url).pathname;

test("writes a 4-row grid PNG for mnist-digits", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-preview-"));
  try {
    const out = join(dir, "p.png");
    const r = spawnSync(process.execPath, [bin, "data", "preview", "--data", "mnist-digits", "--n", "5", "--scale", "2", "--no-flip", "--fit-images", "500", "--out", out], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rows: original \/ quantized \/ weak \/ strong/);
    const meta = await sharp(out).metadata();
    // 5 cells of 56 px + 6 gaps of 2 px; 4 rows of 56 px + 5 gaps.
    assert.equal(meta.width, 5 * 56 + 6 * 2);
    assert.equal(meta.height, 4 * 56 + 5 * 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("usage errors exit 2 with a pointer to --help", () => {
  const r = spawnSync(process.execPath, [bin, "data", "preview", "--n", "0"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--n: expected an integer in \[1, 256\], got '0'/);
  assert.match(r.stderr, /gcrl data preview --help/);
});
