// InputError: an expected condition the user can act on, as opposed to a bug — a missing, corrupt
// or inconsistent file, data that cannot be used, a full disk, a folder that cannot be created.
// Its message names the file (or config key) and, where there is one, the fix. The command line
// (runCommand in src/cli/args.ts) prints it as one line and exits 2; the stack trace is shown only
// with GCRL_DEBUG=1. Error classes for such conditions (RunFolderError, DatasetError,
// SafetensorsError, PaletteFormatError, …) extend it, so every command reports them the same way.
import { mkdirSync } from "node:fs";

export class InputError extends Error {
  override name = "InputError";
}

/** What a file operation was doing when it failed (the middle of "PATH: cannot write: …"). */
export type FileAction = "read" | "write" | "create the folder";

/** A file or folder that could not be read, written or created: "PATH: cannot write: no space left on device (…)". */
export class FileError extends InputError {
  override name = "FileError";

  constructor(
    readonly path: string,
    readonly action: FileAction,
    cause: unknown,
  ) {
    super(`${path}: cannot ${action}: ${describeSystemError(cause)}`, { cause });
  }
}

/** A Node.js system error (fs, child_process, …): has an errno code such as "ENOSPC" and a syscall. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string; syscall: string } {
  if (!(err instanceof Error)) return false;
  const e = err as NodeJS.ErrnoException;
  return typeof e.code === "string" && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === "string";
}

/** The codes whose plain meaning (and fix) is worth more than Node's "ENOSPC: no space left on device, write". */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = Object.freeze({
  ENOSPC: "no space left on device (free some space, or write somewhere else)",
  EDQUOT: "disk quota exceeded (free some space, or write somewhere else)",
  EROFS: "read-only file system (write somewhere else)",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder, expected a file",
  EEXIST: "already exists",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the name is too long",
  EIO: "input/output error (failing disk or network file system?)",
});

/** A system error as plain words ("no space left on device (…)"); other values: their message. */
export function describeSystemError(err: unknown): string {
  if (isSystemError(err)) return SYSTEM_ERRORS[err.code] ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Runs `fn`; a system error it throws becomes a FileError naming `path` (other errors pass through). */
export function withFile<T>(path: string, action: FileAction, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw isSystemError(err) ? new FileError(path, action, err) : err;
  }
}

/** mkdir -p `dir`; a folder that cannot be created is a FileError naming it. */
export function makeFolder(dir: string): void {
  withFile(dir, "create the folder", () => mkdirSync(dir, { recursive: true }));
}

/**
 * The one line the command line prints for an expected error, or null for an internal error (a
 * bug: the caller shows its stack trace). A bare system error is expected too (a file the code did
 * not wrap in a FileError): its message names the path when Node knows it.
 */
export function expectedErrorMessage(err: unknown): string | null {
  if (err instanceof InputError) return err.message;
  if (isSystemError(err)) return `${err.path !== undefined ? `${err.path}: ` : ""}${err.syscall}: ${describeSystemError(err)}`;
  return null;
}
