// The native build's libtorch search: when nothing is found it stops with a message that gives the
// apt command and the LIBTORCH option; a LIBTORCH that is not a libtorch is named as such.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const script = new URL("../../scripts/build-native.mjs", import.meta.url).pathname;

function build(env: Record<string, string>): { status: number | null; stderr: string } {
  const base = { ...process.env };
  delete base.LIBTORCH;
  const r = spawnSync(process.execPath, [script], { env: { ...base, GCRL_SYSTEM_LIBTORCH: "0", ...env }, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

test("no libtorch anywhere: the build stops with the apt command and the LIBTORCH option", () => {
  const r = build({});
  assert.equal(r.status, 1);
  assert.match(r.stderr, /libtorch \(PyTorch's C\+\+ library\) was not found/);
  assert.match(r.stderr, /apt-get install -y libtorch-dev libopenblas0-pthread/);
  assert.match(r.stderr, /LIBTORCH=\/path\/to\/libtorch npm run build:native/);
});

test("LIBTORCH pointing at something that is not a libtorch is named in the error", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-libtorch-"));
  try {
    const r = build({ LIBTORCH: dir });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`LIBTORCH=${dir} does not look like an unpacked libtorch`));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
