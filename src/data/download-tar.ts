// A small tar reader for the downloaded archives (CIFAR's .tar.gz): ustar headers (with GNU
// long names and pax `path` records), regular files and directories only. Every entry is checked
// before anything is written, so an archive with a path that would escape the target directory
// (absolute, `..`) or an entry of another kind (links, devices) writes nothing.
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";

const BLOCK = 512;

export interface TarEntry {
  /** Relative, "/"-separated, without "." or ".." segments. */
  readonly path: string;
  readonly type: "file" | "directory";
  /** The file's bytes (a view into the archive); empty for directories. */
  readonly data: Buffer;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarError";
  }
}

const TYPE_NAMES: Record<string, string> = {
  "1": "hard link", "2": "symbolic link", "3": "character device", "4": "block device", "6": "FIFO",
};

/** NUL-terminated string from a header field. */
function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString("utf8");
}

/** A numeric header field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function numeric(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = cString(field).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = numeric(header.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** pax extended header records: "<length> <key>=<value>\n". */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString("ascii"), 10);
    if (!(length > 0) || at + length > data.length) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/**
 * The entry's path made safe to join to a target directory, or null for the archive root ("./").
 * Throws for absolute paths, drive letters, backslashes and any ".." segment.
 */
export function safeEntryPath(name: string, source: string): string | null {
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name) || name.includes("\\")) {
    throw new TarError(`${source}: refusing entry '${name}': absolute paths and backslashes are not allowed`);
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new TarError(`${source}: refusing entry '${name}': it would be written outside the target directory`);
  }
  return parts.length === 0 ? null : parts.join("/");
}

/** Parses a whole (uncompressed) tar archive; `source` names it in errors. */
export function readTar(archive: Buffer, source: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | null = null; // from a GNU 'L' entry, for the next header
  let paxPath: string | null = null; // from a pax 'x' entry, for the next header
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return entries; // end-of-archive marker
    if (!header.subarray(257, 262).equals(Buffer.from("ustar"))) {
      throw new TarError(`${source}: not a ustar archive (no 'ustar' magic in the header at byte ${offset})`);
    }
    if (!checksumOk(header)) throw new TarError(`${source}: corrupt tar header at byte ${offset} (checksum mismatch)`);
    const size = numeric(header.subarray(124, 136));
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.length) {
      throw new TarError(`${source}: truncated archive: an entry at byte ${offset} needs ${size} bytes, ${archive.length - dataStart} remain`);
    }
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    const flag = header[156] === 0 ? "0" : String.fromCharCode(header[156]!);
    if (flag === "L") { longName = cString(data); continue; }
    if (flag === "x") { paxPath = paxRecords(data).get("path") ?? paxPath; continue; }
    if (flag === "g") continue; // pax global header: nothing we use
    const prefix = cString(header.subarray(345, 500));
    const shortName = cString(header.subarray(0, 100));
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName);
    longName = paxPath = null;
    if (flag !== "0" && flag !== "7" && flag !== "5") {
      const kind = TYPE_NAMES[flag] ?? `type '${flag}'`;
      throw new TarError(`${source}: refusing entry '${name}': it is a ${kind}; only regular files and directories are extracted`);
    }
    const path = safeEntryPath(name, source);
    if (path === null) continue;
    entries.push({ path, type: flag === "5" ? "directory" : "file", data: flag === "5" ? Buffer.alloc(0) : data });
  }
  if (offset < archive.length) throw new TarError(`${source}: truncated archive (${archive.length - offset} stray bytes at the end)`);
  return entries; // no end marker: tolerated, every entry was complete
}

export interface ExtractResult {
  /** Relative paths of the regular files in the archive. */
  readonly files: string[];
  /** How many of them were written (the others already existed with the same size). */
  readonly written: number;
}

/**
 * Extracts a .tar.gz into `dir`. Files are written to `<file>.part` and renamed, so a file under
 * its final name is always complete; a file that already exists with the entry's size is kept.
 */
export async function extractTarGz(archivePath: string, dir: string): Promise<ExtractResult> {
  let tar: Buffer;
  try {
    tar = await promisify(gunzip)(await readFile(archivePath));
  } catch (err) {
    throw new TarError(`${archivePath}: not a readable gzip file (${err instanceof Error ? err.message : String(err)})`);
  }
  const entries = readTar(tar, archivePath); // validates every entry before anything is written
  const root = resolve(dir);
  const files: string[] = [];
  let written = 0;
  for (const entry of entries) {
    const target = resolve(root, entry.path);
    if (!target.startsWith(root + sep)) throw new TarError(`${archivePath}: refusing entry '${entry.path}' outside ${dir}`);
    if (entry.type === "directory") {
      await mkdir(target, { recursive: true });
      continue;
    }
    files.push(entry.path);
    const existing = await stat(target).catch(() => null);
    if (existing?.isFile() && existing.size === entry.data.length) continue;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.part`, entry.data);
    await rename(`${target}.part`, target);
    written++;
  }
  return { files, written };
}

