// Atomic file writes: the contents go to a temporary file in the target's directory, which is
// fsynced and then renamed over the target. A reader never sees a half-written file, and a crash
// or error leaves the previous file untouched. The directory is fsynced afterwards (best effort)
// so the rename itself survives a power loss.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { FileError, isSystemError } from "./input-error.ts";

/** Writes all of `bytes` at the file position (writeSync may write less than asked). */
export function writeFully(fd: number, bytes: Uint8Array): void {
  let offset = 0; // at most 1 GiB per call: larger single writes fail on some platforms
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, Math.min(bytes.length - offset, 1 << 30));
}

/**
 * Writes `path` atomically. `contents` is a string (UTF-8), bytes, or a function that writes the
 * contents to the open file descriptor (for large files written piece by piece). A file-system error
 * (full disk, no permission, missing folder) becomes a FileError naming `path` — Node's own message
 * for a failed write ("ENOSPC: no space left on device, write") names no file; other errors from
 * `contents` pass through. The temporary file is removed.
 */
export function writeFileAtomic(path: string, contents: string | Uint8Array | ((fd: number) => void)): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temp, "wx", 0o644);
    if (typeof contents === "function") contents(fd);
    else writeFully(fd, typeof contents === "string" ? Buffer.from(contents, "utf8") : contents);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw isSystemError(err) ? new FileError(path, "write", err) : err;
  }
  try {
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // not every platform can fsync a directory
  }
}
