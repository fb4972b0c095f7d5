// DatasetError: a dataset file or folder that cannot be read, with the path and what is wrong,
// e.g. "/data/train-images-idx3-ubyte.gz: wrong magic number 0x00000801, expected 0x00000803 ...".
// An InputError: the command line prints it as one line and exits 2.
import { readFileSync, statSync } from "node:fs";
import { InputError } from "../../util/input-error.ts";

export class DatasetError extends InputError {
  override readonly name = "DatasetError";
  /** The file or folder at fault (the dataset's name when no file is involved). */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
  }
}

/** The bytes of a file; a missing or unreadable file is a DatasetError naming it. */
export function readDatasetFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DatasetError(path, describeFsError(err));
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOENT") return "no such file or folder";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a folder, expected a file";
  if (code === "ENOTDIR") return "not a folder";
  return `cannot read (${err instanceof Error ? err.message : String(err)})`;
}

/** 47040000 -> "47,040,000" (locale-independent). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
