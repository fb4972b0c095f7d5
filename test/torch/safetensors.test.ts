// safetensors: reading files made by an independent (hand-written, Python) writer, bit-exact round
// trips for every dtype, the header layout, atomic writes, and one clear error per malformed case.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  SafetensorsError,
  tensor,
  Tensor,
  type DType,
  type SafetensorsContents,
} from "../../src/torch/index.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const FIXTURE = join(fixtures, "all_dtypes.safetensors");

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: (number | string | boolean)[];
  hex: string;
}
const expected = JSON.parse(readFileSync(join(fixtures, "all_dtypes.expected.json"), "utf8")) as {
  metadata: Record<string, string>;
  tensors: Record<string, ExpectedTensor>;
};

const CODE_DTYPE: Record<string, DType> = {
  F64: "float64", F32: "float32", BF16: "bfloat16", F16: "float16", I64: "int64",
  I32: "int32", I16: "int16", I8: "int8", U8: "uint8", BOOL: "bool",
};

function bytesOf(t: Tensor): Uint8Array {
  const a = t.toTypedArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "gcrl-safetensors-"));
}

function checkAgainstPython(contents: SafetensorsContents): void {
  assert.deepEqual(contents.metadata, expected.metadata);
  assert.deepEqual([...contents.tensors.keys()].sort(), Object.keys(expected.tensors).sort());
  for (const [name, exp] of Object.entries(expected.tensors)) {
    const t = contents.tensors.get(name)!;
    assert.equal(t.dtype, CODE_DTYPE[exp.dtype], `${name}: dtype`);
    assert.deepEqual(t.shape, exp.shape, `${name}: shape`);
    assert.equal(hex(bytesOf(t)), exp.hex, `${name}: raw bytes`);
    if (t.dtype === "int64") {
      assert.deepEqual([...t.toTypedArray<"int64">()], exp.values.map((v) => BigInt(v as string)), `${name}: values`);
    } else if (t.dtype === "bool") {
      assert.deepEqual(t.toArray(), exp.values.map((v) => (v ? 1 : 0)), `${name}: values`);
    } else {
      const want = exp.values.map((v) => (v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number)));
      const got = t.toArray(); // bf16/f16 decoded through float32
      assert.equal(got.length, want.length);
      // Object.is: NaN equals NaN, and -0 must stay -0.
      got.forEach((g, i) => assert.ok(Object.is(g, want[i]), `${name}[${i}]: got ${g}, expected ${want[i]}`));
    }
  }
}

test("reads a file written by an independent writer (Python, hand-written header): every dtype and value", () => {
  checkAgainstPython(loadSafetensors(FIXTURE));
});

test("decodes the same file from memory, including a float64 tensor at an unaligned offset", () => {
  const bytes = readFileSync(FIXTURE);
  const header = readSafetensorsHeader(FIXTURE);
  const f64 = header.entries.find((e) => e.name === "f64")!;
  assert.notEqual((header.dataStart + f64.dataOffsets[0]) % 8, 0, "fixture should place f64 unaligned");
  checkAgainstPython(decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  // And from a buffer whose own start is misaligned.
  const shifted = new Uint8Array(bytes.byteLength + 3);
  shifted.set(bytes, 3);
  checkAgainstPython(decodeSafetensors(shifted.subarray(3)));
});

test("readSafetensorsHeader lists entries in buffer order without reading data", () => {
  const h = readSafetensorsHeader(FIXTURE);
  assert.equal(h.dataStart % 8, 0);
  assert.deepEqual(h.entries.slice(0, 3).map((e) => e.name), ["u8", "flags", "f64"]);
  assert.deepEqual(h.metadata, expected.metadata);
});

// Tensors with awkward bit patterns: NaN payloads, signalling NaNs, -0, subnormals, extremes.
function awkwardTensors(): Map<string, Tensor> {
  const f32 = new Float32Array(new Uint32Array([0x7fc00001, 0xffa00000, 0x80000000, 0x00000001, 0x7f7fffff, 0x3f800000]).buffer);
  const f64 = new Float64Array(new BigUint64Array([0x7ff8000000000123n, 0xfff0000000000001n, 0x8000000000000000n, 1n]).buffer);
  return new Map<string, Tensor>([
    ["f32", tensor(f32, { shape: [2, 3] })],
    ["f64", tensor(f64)],
    ["bf16", tensor(new Uint16Array([0x7fc1, 0xff81, 0x8000, 0x0001, 0x3f80, 0x7f7f]), { dtype: "bfloat16", shape: [3, 2] })],
    ["f16", tensor(new Uint16Array([0x7e01, 0xfc01, 0x8000, 0x0001, 0x7bff]), { dtype: "float16" })],
    ["i64", tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n]))],
    ["i32", tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, -1]))],
    ["i16", tensor(new Int16Array([-32768, 32767, -1]))],
    ["i8", tensor(new Int8Array([-128, 127, -1]))],
    ["u8", tensor(new Uint8Array([0, 255, 128]))],
    ["bool", tensor(new Uint8Array([1, 0, 0, 1]), { dtype: "bool", shape: [2, 2] })],
    ["scalar", tensor(new Float32Array([2.5]), { shape: [] })],
    ["empty", tensor(new Float64Array(0), { shape: [0, 4] })],
    ["0", tensor(new Int8Array([5]))], // an integer-like name (JS objects would reorder it)
  ]);
}

function assertSameBits(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    assert.equal(u.dtype, t.dtype, `${name}: dtype`);
    assert.deepEqual(u.shape, t.shape, `${name}: shape`);
    assert.equal(hex(bytesOf(u)), hex(bytesOf(t)), `${name}: bits`);
  }
}

test("round trip in memory preserves the bits of every dtype (NaN payloads, -0, bf16/f16 raw bits)", () => {
  const original = awkwardTensors();
  // The originals hold the intended bits (nothing canonicalised NaNs on the way in).
  assert.equal(hex(bytesOf(original.get("f32")!)), hex(new Uint8Array(new Uint32Array([0x7fc00001, 0xffa00000, 0x80000000, 1, 0x7f7fffff, 0x3f800000]).buffer)));
  assert.equal(hex(bytesOf(original.get("bf16")!)), hex(new Uint8Array(new Uint16Array([0x7fc1, 0xff81, 0x8000, 0x0001, 0x3f80, 0x7f7f]).buffer)));
  const back = decodeSafetensors(encodeSafetensors(original, { k: "v" }));
  assertSameBits(original, back.tensors);
  assert.deepEqual(back.metadata, { k: "v" });
});

test("round trip through a file preserves bits and metadata; a Record works like a Map", () => {
  const dir = tempDir();
  try {
    const path = join(dir, "model.safetensors");
    const original = awkwardTensors();
    const metadata = { format: "pt", step: "1200", "ünï": "cödé ✓", "": "empty key" };
    saveSafetensors(path, Object.fromEntries(original), metadata);
    const back = loadSafetensors(path);
    assertSameBits(original, back.tensors);
    assert.deepEqual(back.metadata, metadata);
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
    // Same bytes as the in-memory encoder.
    assert.equal(hex(readFileSync(path)), hex(encodeSafetensors(original, metadata)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("header: 8-byte aligned, space-padded, reference tensor order, __metadata__ only when given", () => {
  const tensors = new Map<string, Tensor>([
    ["b", tensor(new Uint8Array([1, 2, 3]))],
    ["a", tensor(new Uint8Array([4]))],
    ["z", tensor(new Float64Array([1]))],
    ["m", tensor(new Uint16Array([0x3f80]), { dtype: "bfloat16" })],
    ["y", tensor(new Int32Array([7]))],
  ]);
  const bytes = encodeSafetensors(tensors, { hello: "world" });
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8");
  const json = text.trimEnd();
  assert.match(text.slice(json.length), /^ *$/);
  assert.ok(text.length - json.length < 8);
  const header = JSON.parse(json) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  assert.deepEqual(header["__metadata__"], { hello: "world" });
  // By element size descending, then name: z (F64), y (I32), m (BF16), a, b (U8).
  const order = Object.entries(header)
    .filter(([k]) => k !== "__metadata__")
    .sort((p, q) => p[1].data_offsets[0] - q[1].data_offsets[0])
    .map(([k]) => k);
  assert.deepEqual(order, ["z", "y", "m", "a", "b"]);
  assert.equal(bytes.byteLength, 8 + n + 8 + 4 + 2 + 1 + 3);

  const none = encodeSafetensors(tensors);
  assert.ok(!Buffer.from(none).toString("latin1").includes("__metadata__"));
  assert.deepEqual(decodeSafetensors(none).metadata, {});

  const empty = encodeSafetensors({});
  assert.equal(empty.byteLength, 16); // "{}" padded to 8
  assert.equal(decodeSafetensors(empty).tensors.size, 0);
});

test("writing rejects bad arguments before touching the disk", () => {
  const t = tensor(new Float32Array([1]));
  assert.throws(() => encodeSafetensors({ __metadata__: t }), /'__metadata__' is reserved/);
  assert.throws(() => encodeSafetensors({ a: t }, { n: 3 as unknown as string }), /metadata value for 'n' must be a string/);
  assert.throws(() => encodeSafetensors({ a: [1, 2] as unknown as Tensor }), /'a' is not a Tensor/);
  const gone = tensor(new Float32Array([1]));
  gone.dispose();
  assert.throws(() => encodeSafetensors({ gone }), /tensor 'gone' was disposed/);
});

test("atomic write: no temporary files left, and a failed write never replaces the target", () => {
  const dir = tempDir();
  try {
    const path = join(dir, "ckpt.safetensors");
    saveSafetensors(path, { w: tensor(new Float32Array([1, 2, 3])) }, { v: "1" });
    const before = readFileSync(path);

    // Fails while writing the data (after the temporary file was created and the header written).
    const bad = tensor(new Float32Array([4, 5, 6]));
    Object.defineProperty(bad, "toTypedArray", {
      value: () => {
        throw new Error("simulated failure mid-write");
      },
    });
    const good = tensor(new Float64Array([9]));
    assert.throws(
      () => saveSafetensors(path, { w: bad, a: good }, { v: "2" }),
      (err: unknown) => err instanceof SafetensorsError && err.message.includes(path) && /simulated failure mid-write/.test(err.message),
    );
    assert.deepEqual(readdirSync(dir), ["ckpt.safetensors"]);
    assert.ok(readFileSync(path).equals(before), "target must be unchanged");

    // Fails before writing (disposed tensor).
    const gone = tensor(new Float32Array([1]));
    gone.dispose();
    assert.throws(() => saveSafetensors(path, { gone }), /was disposed/);
    assert.deepEqual(readdirSync(dir), ["ckpt.safetensors"]);

    // A successful overwrite replaces it completely.
    saveSafetensors(path, { x: tensor(new Int8Array([1, 2])) });
    assert.deepEqual([...loadSafetensors(path).tensors.keys()], ["x"]);
    assert.deepEqual(readdirSync(dir), ["ckpt.safetensors"]);

    // A missing directory: a clear error naming the target.
    const nowhere = join(dir, "missing", "x.safetensors");
    assert.throws(() => saveSafetensors(nowhere, { x: good }), (err: unknown) => err instanceof SafetensorsError && err.message.includes(nowhere));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- malformed files --------------------------------------------------------------------------

/** A file with the given header (object or raw text) and data; padding as the reference writer does. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const text = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const pad = (8 - ((8 + text.byteLength) % 8)) % 8;
  const out = new Uint8Array(8 + text.byteLength + pad + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(text.byteLength + pad), true);
  out.set(text, 8);
  out.fill(0x20, 8 + text.byteLength, 8 + text.byteLength + pad);
  out.set(data, 8 + text.byteLength + pad);
  return out;
}

const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

const MALFORMED: [string, Uint8Array, RegExp][] = [
  ["shorter than 8 bytes", new Uint8Array([1, 0, 0]), /3 bytes, shorter than the 8-byte header length prefix/],
  ["empty file", new Uint8Array(0), /0 bytes, shorter than the 8-byte/],
  ["header length beyond the file", craft({}, new Uint8Array(0), 500n), /header length 500 is larger than the rest of the file/],
  ["header length over 100 MB", craft({}, new Uint8Array(0), 100_000_001n), /header length 100000001 exceeds the 100000000-byte limit/],
  ["header length 2^64-1", craft({}, new Uint8Array(0), 2n ** 64n - 1n), /exceeds the 100000000-byte limit/],
  ["invalid JSON", craft('{"a": {"dtype": "F32",'), /header is not valid JSON/],
  ["invalid UTF-8", (() => { const b = craft('{"\u00ff": 1}'); b[10] = 0xff; b[11] = 0xfe; return b; })(), /header is not valid UTF-8/],
  ["header not an object", craft([1, 2]), /header must be a JSON object, got \[1,2\]/],
  ["unknown dtype", craft({ a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor 'a': unknown dtype "F8_E4M3"/],
  ["bad shape", craft({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 'a': shape must be an array of non-negative integers/],
  ["bad data_offsets", craft({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /tensor 'a': data_offsets must be \[begin, end\]/],
  ["size mismatch", craft({ a: f32(0, 20, [2, 3]) }, new Uint8Array(20)), /tensor 'a': shape \[2, 3\] of F32 needs 24 bytes but data_offsets \[0, 20\] span 20/],
  ["out of bounds", craft({ a: f32(0, 8), b: f32(8, 16) }, new Uint8Array(12)), /tensor 'b': data_offsets \[8, 16\] lie outside the 12-byte data buffer/],
  ["overlap", craft({ a: f32(0, 8), b: f32(4, 12) }, new Uint8Array(12)), /tensor 'b': data_offsets \[4, 12\] overlap tensor 'a'/],
  ["hole", craft({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12)), /bytes \[4, 8\) of the data buffer belong to no tensor/],
  ["hole at the start", craft({ a: f32(4, 8) }, new Uint8Array(8)), /bytes \[0, 4\) of the data buffer belong to no tensor/],
  ["trailing bytes", craft({ a: f32(0, 4) }, new Uint8Array(9)), /bytes \[4, 9\) at the end of the data buffer belong to no tensor/],
  ["non-string metadata", craft({ __metadata__: { step: 12 }, a: f32(0, 4) }, new Uint8Array(4)), /'__metadata__' value for 'step' must be a string, got 12/],
  ["metadata not an object", craft({ __metadata__: "x" }), /'__metadata__' must be an object of strings/],
  ["duplicate names", craft('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /the tensor name 'a' appears twice/],
  ["duplicate escaped names", craft('{"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', new Uint8Array(2)), /the tensor name 'a' appears twice/],
  ["duplicate key in an entry", craft('{"a":{"dtype":"F32","dtype":"U8","shape":[4],"data_offsets":[0,4]}}', new Uint8Array(4)), /the key 'dtype' appears twice in the header entry 'a'/],
  ["bool byte not 0/1", craft({ a: { dtype: "BOOL", shape: [3], data_offsets: [0, 3] } }, new Uint8Array([1, 0, 7])), /BOOL tensor 'a' holds the byte 7 at element 2/],
];

for (const [what, bytes, problem] of MALFORMED) {
  test(`malformed file: ${what} → an error naming the file and the problem`, () => {
    const dir = tempDir();
    try {
      const path = join(dir, `${what.replace(/\W+/g, "_")}.safetensors`);
      writeFileSync(path, bytes);
      const check = (source: string) => (err: unknown) => {
        assert.ok(err instanceof SafetensorsError, `expected a SafetensorsError, got ${String(err)}`);
        assert.ok(err.message.includes(source), `message should name ${source}: ${err.message}`);
        assert.match(err.message, problem);
        return true;
      };
      assert.throws(() => loadSafetensors(path), check(path));
      assert.throws(() => decodeSafetensors(bytes, { source: "mem.safetensors" }), check("mem.safetensors"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("missing file and directory → clear errors naming the path", () => {
  const dir = tempDir();
  try {
    const missing = join(dir, "nope.safetensors");
    assert.throws(() => loadSafetensors(missing), (e: unknown) => e instanceof SafetensorsError && e.message.includes(missing) && /no such file/.test(e.message));
    mkdirSync(join(dir, "d"));
    assert.throws(() => loadSafetensors(join(dir, "d")), /it is a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
