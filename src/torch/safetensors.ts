// Reading and writing safetensors files (the Hugging Face format), in TypeScript.
//
// Layout:  [u64 little-endian N][N bytes of UTF-8 JSON header][data buffer]
// Header:  {"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [2, 3],
//           "data_offsets": [begin, end]}, ...}; offsets are relative to the start of the data
//           buffer, each tensor is stored contiguous, row-major, little-endian, and the tensors
//           must cover the buffer exactly (no holes, no overlaps).
// The writer follows the reference implementation: the header is padded with spaces so that the
// data buffer starts at a multiple of 8, and tensors are laid out by (element size descending,
// name), which keeps every tensor aligned to its element size. Writes are atomic (a temporary
// file in the same directory, fsync, then rename).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { writeFileAtomic, writeFully } from "../util/atomic-file.ts";
import { describeSystemError, FileError, InputError } from "../util/input-error.ts";
import { endianness } from "node:os";
import { Tensor } from "./tensor.ts";
import { tensor } from "./create.ts";
import { ELEMENT_BYTES, typedArrayOf, type DType, type Device } from "./dtype.ts";

/** The dtype codes of the safetensors format that gcrl reads and writes. */
export type SafetensorsDType = "F64" | "F32" | "BF16" | "F16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const TO_DTYPE: Record<SafetensorsDType, DType> = {
  F64: "float64",
  F32: "float32",
  BF16: "bfloat16",
  F16: "float16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};
const FROM_DTYPE = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, SafetensorsDType>;

/** The reference implementation refuses headers above this size (a guard against garbage lengths). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

/** Tensors by name plus the free-form string metadata of a safetensors file. */
export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** One header entry: where a tensor's bytes lie in the data buffer. */
export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
}

export interface LoadSafetensorsOptions {
  /** Where to put the tensors (default "cpu"). */
  device?: Device | string;
}

export type TensorCollection = Map<string, Tensor> | Record<string, Tensor>;

/** A malformed safetensors file (or buffer), or a write that could not be completed (an InputError: one line, exit 2 on the command line). */
export class SafetensorsError extends InputError {
  constructor(
    /** The file path, or a label such as "<buffer>". */
    readonly file: string,
    readonly problem: string,
    verb: "read" | "write" = "read",
  ) {
    super(verb === "read" ? `invalid safetensors file ${file}: ${problem}` : `cannot write safetensors file ${file}: ${problem}`);
    this.name = "SafetensorsError";
  }
}

function checkLittleEndian(file: string, verb: "read" | "write"): void {
  if (endianness() !== "LE") throw new SafetensorsError(file, "safetensors data is little-endian and this machine is big-endian", verb);
}

// ---- header parsing ---------------------------------------------------------------------------

/** Reads the u64 header length at the start of a file; checks it against the file size. */
function headerLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (fileBytes < 8) throw new SafetensorsError(file, `the file is ${fileBytes} bytes, shorter than the 8-byte header length prefix`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `the header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (is this a safetensors file?)`);
  }
  if (8n + n > BigInt(fileBytes)) {
    throw new SafetensorsError(file, `the header length ${n} is larger than the rest of the file (${fileBytes - 8} bytes after the prefix)`);
  }
  return Number(n);
}

/**
 * The first key that appears twice in one JSON object, described for a message (JSON.parse keeps
 * the last one silently). `text` must already be valid JSON. Iterative: deep nesting cannot
 * overflow the stack.
 */
function duplicateKey(text: string): string | null {
  const stack: { keys: Set<string> | null; owner: string }[] = [];
  let expectKey = false;
  let lastKey = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          if (stack.length === 1) return key === METADATA_KEY ? `'${METADATA_KEY}' appears twice in the header` : `the tensor name '${key}' appears twice in the header`;
          return `the key '${key}' appears twice in the header entry '${top.owner}'`;
        }
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push({ keys: new Set(), owner: lastKey });
      expectKey = true;
    } else if (c === "[") {
      stack.push({ keys: null, owner: lastKey });
      expectKey = false;
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      expectKey = stack[stack.length - 1]?.keys != null;
    }
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describeJson(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isOffset(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(name: string, value: unknown, file: string): SafetensorsEntry {
  const bad = (problem: string): never => {
    throw new SafetensorsError(file, `tensor '${name}': ${problem}`);
  };
  if (!isRecord(value)) bad(`expected an object with dtype, shape and data_offsets, got ${describeJson(value)}`);
  const v = value as Record<string, unknown>;
  const code = v["dtype"];
  if (typeof code !== "string" || !Object.hasOwn(TO_DTYPE, code)) {
    bad(`unknown dtype ${describeJson(code)} (supported: ${Object.keys(TO_DTYPE).join(", ")})`);
  }
  const dtype = TO_DTYPE[code as SafetensorsDType];
  const shape = v["shape"];
  if (!Array.isArray(shape) || !shape.every(isOffset)) bad(`shape must be an array of non-negative integers, got ${describeJson(shape)}`);
  const offsets = v["data_offsets"];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isOffset)) {
    bad(`data_offsets must be [begin, end] with non-negative integers, got ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) bad(`data_offsets [${begin}, ${end}] end before they begin`);
  let numel = 1;
  for (const d of shape as number[]) {
    numel *= d;
    if (!Number.isSafeInteger(numel)) bad(`shape [${(shape as number[]).join(", ")}] has too many elements`);
  }
  const need = numel * ELEMENT_BYTES[dtype];
  if (need !== end - begin) {
    bad(`shape [${(shape as number[]).join(", ")}] of ${code} needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/**
 * Parses and validates a header (the N bytes after the length prefix) against a data buffer of
 * `dataBytes` bytes. Entries come back in buffer order.
 */
function parseHeader(headerBytes: Uint8Array, dataBytes: number, file: string): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, "the header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(file, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (!isRecord(json)) throw new SafetensorsError(file, `the header must be a JSON object, got ${describeJson(json)}`);
  const dup = duplicateKey(text);
  if (dup !== null) throw new SafetensorsError(file, dup);

  const metadata: [string, string][] = [];
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) {
      if (!isRecord(value)) throw new SafetensorsError(file, `'${METADATA_KEY}' must be an object of strings, got ${describeJson(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== "string") throw new SafetensorsError(file, `'${METADATA_KEY}' value for '${k}' must be a string, got ${describeJson(v)}`);
        metadata.push([k, v]);
      }
    } else {
      entries.push(parseEntry(name, value, file));
    }
  }

  // The tensors must tile the data buffer exactly: sorted by offset, each begins where the last ended.
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous: string | null = null;
  for (const e of entries) {
    const [begin, end] = e.dataOffsets;
    if (end > dataBytes) {
      throw new SafetensorsError(file, `tensor '${e.name}': data_offsets [${begin}, ${end}] lie outside the ${dataBytes}-byte data buffer`);
    }
    if (begin < covered) {
      throw new SafetensorsError(file, `tensor '${e.name}': data_offsets [${begin}, ${end}] overlap tensor '${previous}' (which ends at ${covered})`);
    }
    if (begin > covered) {
      throw new SafetensorsError(file, `bytes [${covered}, ${begin}) of the data buffer belong to no tensor (a hole before tensor '${e.name}')`);
    }
    covered = end;
    previous = e.name;
  }
  if (covered !== dataBytes) {
    throw new SafetensorsError(file, `bytes [${covered}, ${dataBytes}) at the end of the data buffer belong to no tensor`);
  }
  return { entries, metadata: Object.fromEntries(metadata) };
}

// ---- reading ----------------------------------------------------------------------------------

/** Makes a tensor from a tensor's bytes; copies them first if they are not aligned for the dtype's TypedArray. */
function tensorFromBytes(entry: SafetensorsEntry, bytes: Uint8Array, device: string | undefined, file: string): Tensor {
  const { dtype, shape } = entry;
  const size = ELEMENT_BYTES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  if (dtype === "bool") {
    const bad = aligned.findIndex((b) => b > 1);
    if (bad >= 0) throw new SafetensorsError(file, `BOOL tensor '${entry.name}' holds the byte ${aligned[bad]} at element ${bad} (expected 0 or 1)`);
  }
  const view = typedArrayOf(dtype, aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / size);
  return tensor(view, { dtype, shape, ...(device === undefined ? {} : { device }) });
}

/** Creates one tensor per entry; disposes the ones already made if a later one fails. */
function buildTensors(entries: SafetensorsEntry[], bytesOf: (e: SafetensorsEntry) => Uint8Array, device: string | undefined, file: string): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries) tensors.set(e.name, tensorFromBytes(e, bytesOf(e), device, file));
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return tensors;
}

/** Decodes a whole safetensors file held in memory. `source` names it in error messages. */
export function decodeSafetensors(bytes: Uint8Array, options: LoadSafetensorsOptions & { source?: string } = {}): SafetensorsContents {
  const file = options.source ?? "<buffer>";
  checkLittleEndian(file, "read");
  const n = headerLength(bytes, bytes.byteLength, file);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.byteLength - dataStart, file);
  const tensors = buildTensors(entries, (e) => bytes.subarray(dataStart + e.dataOffsets[0], dataStart + e.dataOffsets[1]), options.device, file);
  return { tensors, metadata };
}

/** Fills `target` from the file at `position` (readSync may return short counts; 1 GiB per call at most). */
function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, Math.min(target.byteLength - done, 1 << 30), position + done);
    if (n === 0) throw new SafetensorsError(file, `the file ended early (wanted ${target.byteLength - done} more bytes at offset ${position + done})`);
    done += n;
  }
}

function withFile<T>(path: string, body: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "it is a directory" : e.message;
    throw new SafetensorsError(path, `cannot open it: ${why}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new SafetensorsError(path, "cannot open it: it is a directory");
    return body(fd, stat.size);
  } finally {
    closeSync(fd);
  }
}

function readHeaderFrom(fd: number, size: number, path: string): SafetensorsHeader {
  const prefix = new Uint8Array(8);
  if (size >= 8) readFully(fd, prefix, 0, path);
  const n = headerLength(prefix, size, path);
  const headerBytes = new Uint8Array(n);
  readFully(fd, headerBytes, 8, path);
  return { ...parseHeader(headerBytes, size - 8 - n, path), dataStart: 8 + n };
}

/** Reads and validates only the header of a file: names, dtypes, shapes and metadata, no tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withFile(path, (fd, size) => readHeaderFrom(fd, size, path));
}

/**
 * Loads every tensor of a safetensors file. The whole file is validated before any tensor is
 * created; tensor data is read one tensor at a time (peak memory: the tensors plus the largest one).
 */
export function loadSafetensors(path: string, options: LoadSafetensorsOptions = {}): SafetensorsContents {
  checkLittleEndian(path, "read");
  return withFile(path, (fd, size) => {
    const { entries, metadata, dataStart } = readHeaderFrom(fd, size, path);
    const tensors = buildTensors(
      entries,
      (e) => {
        const bytes = new Uint8Array(e.dataOffsets[1] - e.dataOffsets[0]); // fresh buffer: always aligned
        readFully(fd, bytes, dataStart + e.dataOffsets[0], path);
        return bytes;
      },
      options.device,
      path,
    );
    return { tensors, metadata };
  });
}

// ---- writing ----------------------------------------------------------------------------------

interface Layout {
  /** Length prefix + JSON header + space padding (a multiple of 8 bytes). */
  head: Uint8Array;
  items: { name: string; tensor: Tensor; bytes: number }[];
  dataBytes: number;
}

const utf8 = new TextEncoder();

/** Orders the tensors as the reference writer does and builds the header. Checks every argument first. */
function planLayout(tensors: TensorCollection, metadata: Record<string, string> | undefined, file: string): Layout {
  const bad = (problem: string): never => {
    throw new SafetensorsError(file, problem, "write");
  };
  if (!(tensors instanceof Map) && !isRecord(tensors)) bad(`tensors must be a Map or a plain object of Tensors, got ${String(tensors)}`);
  const pairs: [string, unknown][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items: Layout["items"] = [];
  const infos: { name: string; key: Uint8Array; dtype: DType; shape: number[]; tensor: Tensor; bytes: number }[] = [];
  for (const [name, t] of pairs) {
    if (typeof name !== "string") bad(`tensor names must be strings, got ${String(name)}`);
    if (name === METADATA_KEY) bad(`'${METADATA_KEY}' is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) bad(`'${name}' is not a Tensor (got ${t === null ? "null" : typeof t})`);
    const tt = t as Tensor;
    if (tt.isDisposed) bad(`tensor '${name}' was disposed`);
    const dtype = tt.dtype;
    const shape = tt.shape;
    infos.push({ name, key: utf8.encode(name), dtype, shape, tensor: tt, bytes: shape.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dtype] });
  }
  if (metadata !== undefined) {
    if (!isRecord(metadata)) bad(`metadata must be a plain object of strings, got ${String(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== "string") bad(`metadata value for '${k}' must be a string, got ${typeof v}`);
  }
  // Reference order: larger elements first (keeps every tensor aligned), then by name (UTF-8 bytes).
  infos.sort((a, b) => ELEMENT_BYTES[b.dtype] - ELEMENT_BYTES[a.dtype] || Buffer.compare(a.key, b.key));

  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const info of infos) {
    const entry = { dtype: FROM_DTYPE[info.dtype], shape: info.shape, data_offsets: [offset, offset + info.bytes] };
    parts.push(`${JSON.stringify(info.name)}:${JSON.stringify(entry)}`); // built by hand: objects reorder integer-like keys
    items.push({ name: info.name, tensor: info.tensor, bytes: info.bytes });
    offset += info.bytes;
  }
  const json = utf8.encode(`{${parts.join(",")}}`);
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { head, items, dataBytes: offset };
}

/** A copy of a tensor's elements as little-endian bytes (moved to the CPU, made contiguous). */
function tensorBytes(name: string, t: Tensor, expected: number, file: string): Uint8Array {
  const data = t.toTypedArray();
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength !== expected) throw new SafetensorsError(file, `tensor '${name}' gave ${bytes.byteLength} bytes, expected ${expected}`, "write");
  return bytes;
}

/** Encodes tensors (and optional string metadata) as a complete safetensors file in memory. */
export function encodeSafetensors(tensors: TensorCollection, metadata?: Record<string, string>): Uint8Array {
  const file = "<buffer>";
  checkLittleEndian(file, "write");
  const { head, items, dataBytes } = planLayout(tensors, metadata, file);
  const out = new Uint8Array(head.byteLength + dataBytes);
  out.set(head, 0);
  let at = head.byteLength;
  for (const it of items) {
    out.set(tensorBytes(it.name, it.tensor, it.bytes, file), at);
    at += it.bytes;
  }
  return out;
}

/**
 * Writes tensors (and optional string metadata) to `path` atomically: the data goes to a temporary
 * file in the same directory, is fsynced, then renamed over `path`. On failure the temporary file
 * is removed and an existing `path` is left untouched. Tensors are copied out one at a time.
 */
export function saveSafetensors(path: string, tensors: TensorCollection, metadata?: Record<string, string>): void {
  checkLittleEndian(path, "write");
  const { head, items } = planLayout(tensors, metadata, path);
  try {
    writeFileAtomic(path, (fd) => {
      writeFully(fd, head);
      for (const it of items) writeFully(fd, tensorBytes(it.name, it.tensor, it.bytes, path));
    });
  } catch (err) {
    if (err instanceof SafetensorsError) throw err;
    // A FileError (full disk, missing folder) is told in plain words: "cannot write safetensors file X: no space left on device (…)".
    throw new SafetensorsError(path, err instanceof FileError ? describeSystemError(err.cause) : (err as Error).message, "write");
  }
}
