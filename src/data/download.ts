// Downloading the datasets (`gcrl data download`): canonical URLs, MD5 verification, resumable and
// atomic.
//
// For each file of a manifest (download-manifests.ts):
//   1. A file already present with the right MD5 is kept (no request is made). A .gz whose
//      gunzipped content has the published content MD5 counts as present too (Debian's copies).
//   2. Otherwise the body is streamed into `<file>.part` while it is hashed. When a .part exists the
//      request asks for the rest (`Range: bytes=N-`): a 206 appends, a 200 (the server ignored the
//      range) starts the file over, a 416 means the .part is already whole.
//   3. A connection that breaks early (or a body shorter than its Content-Length) keeps the .part
//      and says to re-run; a checksum mismatch deletes the .part; a verified .part is renamed to the
//      final name, so a file under its final name is always complete and verified.
//   4. Archives (CIFAR's .tar.gz) are then extracted next to them (download-tar.ts).
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { createGunzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { DATASET_MANIFESTS, DATASET_NAMES, isDatasetName, type DatasetName, type ManifestFile } from "./download-manifests.ts";
import { extractTarGz } from "./download-tar.ts";

export { DATASET_MANIFESTS, DATASET_NAMES, isDatasetName, type DatasetName, type ManifestFile } from "./download-manifests.ts";

/** Why a download failed: `truncated` and `network` keep the .part for a resume. */
export type DownloadErrorKind = "http" | "network" | "truncated" | "checksum" | "archive";

export class DownloadError extends Error {
  constructor(message: string, readonly kind: DownloadErrorKind) {
    super(message);
    this.name = "DownloadError";
  }
}

/** What a download reports as it goes (`onProgress`); download-progress.ts prints these. */
export type DownloadEvent =
  | { kind: "present"; file: string; path: string }
  | { kind: "replace"; file: string; path: string; expected: string; got: string }
  | { kind: "start"; file: string; url: string; resumeFrom: number; total: number | null }
  | { kind: "progress"; file: string; received: number; total: number | null; bytesPerSecond: number }
  | { kind: "done"; file: string; path: string; bytes: number; seconds: number; resumed: boolean }
  | { kind: "extracted"; file: string; dir: string; files: number; written: number };

export interface DownloadOptions {
  /** Replaces the manifest's host (tests serve fixtures from 127.0.0.1); a file's URL is baseUrl + name. */
  baseUrl?: string;
  onProgress?: (event: DownloadEvent) => void;
  /** Defaults to the global fetch. */
  fetchImpl?: typeof fetch;
  /** Replaces the dataset's file list (tests use fixture files and their checksums). */
  manifest?: { files: readonly ManifestFile[] };
  /** Give up when no data arrives for this long (ms, default 60,000); the .part is kept. */
  idleTimeoutMs?: number;
}

export type FileStatus = "present" | "downloaded" | "resumed";

export interface FileResult {
  readonly name: string;
  readonly path: string;
  readonly status: FileStatus;
  /** For archives: the regular files they hold, relative to the dataset directory. */
  readonly extracted?: string[];
}

export interface DownloadResult {
  readonly dataset: DatasetName;
  readonly dir: string;
  readonly files: FileResult[];
}

/** Downloads (or verifies) every file of a dataset into `dir` and extracts its archives. */
export async function downloadDataset(name: DatasetName, dir: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  if (!isDatasetName(name)) {
    throw new Error(`unknown dataset '${String(name)}'; known datasets: ${DATASET_NAMES.join(", ")}`);
  }
  const manifest = DATASET_MANIFESTS[name];
  const files = options.manifest?.files ?? manifest.files;
  const baseUrl = withTrailingSlash(options.baseUrl ?? manifest.baseUrl);
  await mkdir(dir, { recursive: true });
  const results: FileResult[] = [];
  for (const file of files) {
    if (file.name !== basename(file.name) || file.name === "." || file.name === "..") {
      throw new Error(`manifest file name '${file.name}' must be a plain file name`);
    }
    const path = join(dir, file.name);
    const status = await downloadFile(new URL(file.name, baseUrl).href, path, file, options);
    if (!file.extract) {
      results.push({ name: file.name, path, status });
      continue;
    }
    let extracted;
    try {
      extracted = await extractTarGz(path, dir);
    } catch (err) {
      throw new DownloadError(err instanceof Error ? err.message : String(err), "archive");
    }
    options.onProgress?.({ kind: "extracted", file: file.name, dir, files: extracted.files.length, written: extracted.written });
    results.push({ name: file.name, path, status, extracted: extracted.files });
  }
  return { dataset: name, dir, files: results };
}

/**
 * Makes `dest` a verified copy of `url` (see the header comment): resolves to "present" when it
 * already was, otherwise "downloaded" or "resumed" (part of it came from an earlier attempt).
 */
export async function downloadFile(
  url: string,
  dest: string,
  file: Pick<ManifestFile, "md5" | "contentMd5">,
  options: Pick<DownloadOptions, "onProgress" | "fetchImpl" | "idleTimeoutMs"> = {},
): Promise<FileStatus> {
  const name = basename(dest);
  const existing = await stat(dest).catch(() => null);
  if (existing?.isFile()) {
    const got = await md5OfFile(dest);
    if (got === file.md5 || (file.contentMd5 !== undefined && (await md5OfGunzipped(dest)) === file.contentMd5)) {
      options.onProgress?.({ kind: "present", file: name, path: dest });
      return "present";
    }
    options.onProgress?.({ kind: "replace", file: name, path: dest, expected: file.md5, got });
  }
  const part = `${dest}.part`;
  const started = performance.now();
  const fetched = await fetchToPart(url, part, name, options);
  if (fetched.md5 !== file.md5) {
    await rm(part, { force: true });
    throw new DownloadError(
      `${name}: checksum mismatch: expected md5 ${file.md5}, got ${fetched.md5} (${fetched.bytes} bytes from ${url}); ` +
        "the download was deleted, re-run to fetch it again",
      "checksum",
    );
  }
  await rename(part, dest);
  const seconds = (performance.now() - started) / 1000;
  options.onProgress?.({ kind: "done", file: name, path: dest, bytes: fetched.bytes, seconds, resumed: fetched.resumed });
  return fetched.resumed ? "resumed" : "downloaded";
}

interface Fetched {
  /** MD5 of the whole .part. */
  md5: string;
  bytes: number;
  /** Whether bytes from an earlier attempt were kept. */
  resumed: boolean;
}

/** Streams `url` into `part`, resuming from its current size when it exists. */
async function fetchToPart(
  url: string,
  part: string,
  name: string,
  options: Pick<DownloadOptions, "onProgress" | "fetchImpl" | "idleTimeoutMs">,
): Promise<Fetched> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let offset = (await stat(part).catch(() => null))?.size ?? 0;
  const kept = `the partial download ${part} is kept; re-run the command to resume`;
  for (;;) {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const armTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
    };
    armTimer();
    try {
      const headers: Record<string, string> = { "accept-encoding": "identity" }; // the bytes as stored: their MD5 is published
      if (offset > 0) headers.range = `bytes=${offset}-`;
      let response: Response;
      try {
        response = await fetchImpl(url, { headers, signal: abort.signal, redirect: "follow" });
      } catch (err) {
        throw new DownloadError(`${url}: request failed (${describe(err, abort)})${offset > 0 ? `; ${kept}` : ""}`, "network");
      }
      if (offset > 0 && response.status === 416) {
        // Nothing past the .part's end: it already holds the whole file (the checksum decides).
        await response.body?.cancel();
        return { md5: await md5OfFile(part), bytes: offset, resumed: true };
      }
      if (!response.ok || response.body === null) {
        await response.body?.cancel();
        throw new DownloadError(`${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`, "http");
      }
      let start = 0;
      let total = headerInt(response.headers.get("content-length"));
      if (response.status === 206) {
        const range = parseContentRange(response.headers.get("content-range"));
        if (offset === 0 || range === null || range.start !== offset) {
          // A range we did not ask for: start over with a plain request.
          await response.body.cancel();
          if (offset === 0) throw new DownloadError(`${url}: unexpected partial response (HTTP 206) to a full request`, "http");
          offset = 0;
          continue;
        }
        start = offset;
        total = range.total ?? (total === null ? null : start + total);
      }
      const bodyLength = headerInt(response.headers.get("content-length"));
      options.onProgress?.({ kind: "start", file: name, url, resumeFrom: start, total });
      // The hash covers the kept bytes too: the MD5 is of the whole file.
      const hash = createHash("md5");
      if (start > 0) await hashFile(part, hash);
      const out = await open(part, start > 0 ? "a" : "w"); // a 200 after a Range request: the server ignored it, start over
      let received = start;
      const began = performance.now();
      try {
        for await (const chunk of response.body) {
          armTimer();
          hash.update(chunk);
          await out.write(chunk);
          received += chunk.length;
          const seconds = (performance.now() - began) / 1000;
          options.onProgress?.({ kind: "progress", file: name, received, total, bytesPerSecond: seconds > 0 ? (received - start) / seconds : 0 });
        }
      } catch (err) {
        throw new DownloadError(
          `${url}: the connection broke after ${received}${total === null ? "" : ` of ${total}`} bytes (${describe(err, abort)}); ${kept}`,
          "truncated",
        );
      } finally {
        await out.close();
      }
      if (bodyLength !== null && received - start !== bodyLength) {
        throw new DownloadError(`${url}: the server sent ${received - start} of ${bodyLength} bytes; ${kept}`, "truncated");
      }
      return { md5: hash.digest("hex"), bytes: received, resumed: start > 0 };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** MD5 (lower-case hex) of a file, streamed. */
export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash("md5");
  await hashFile(path, hash);
  return hash.digest("hex");
}

/** MD5 of a gzip file's content, or null when it is not valid gzip. */
export async function md5OfGunzipped(path: string): Promise<string | null> {
  const hash = createHash("md5");
  try {
    await pipeline(createReadStream(path), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) hash.update(chunk);
    });
  } catch {
    return null;
  }
  return hash.digest("hex");
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

function withTrailingSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function headerInt(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

/** "bytes 100-199/1000" → { start: 100, total: 1000 } (total null for "*"). */
function parseContentRange(value: string | null): { start: number; total: number | null } | null {
  const m = value === null ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return null;
  return { start: Number(m[1]), total: m[3] === "*" ? null : Number(m[3]) };
}

/** A readable cause: fetch wraps socket errors ("terminated", cause "other side closed"). */
function describe(err: unknown, abort: AbortController): string {
  if (abort.signal.aborted && abort.signal.reason instanceof Error) return abort.signal.reason.message;
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}
