// `gcrl data download <name> [--dir D] [--base-url URL]`: fetches a dataset from its canonical
// URLs with checksum verification, resumable and atomic (src/data/download.ts; docs/download.md).
import { join } from "node:path";
import { DATASET_MANIFESTS, DATASET_NAMES, DownloadError, downloadDataset, isDatasetName } from "../data/download.ts";
import { downloadReporter } from "../data/download-progress.ts";

const USAGE = `Usage: gcrl data download <name> [--dir D] [--base-url URL]

Downloads a dataset from its canonical host, verifies every file's MD5 and, for CIFAR, extracts
the archive. Files already present with the right checksum are not fetched again; an interrupted
download is resumed by running the same command again.

Datasets:
${DATASET_NAMES.map((n) => `  ${n.padEnd(13)}  ${DATASET_MANIFESTS[n].description}\n  ${"".padEnd(13)}  from ${DATASET_MANIFESTS[n].baseUrl}`).join("\n")}

Options:
  --dir D          where to put the files (default data/<name>)
  --base-url URL   fetch the files from URL/<file> instead of the canonical host (a mirror)
  -h, --help       show this help`;

interface Args {
  name: string;
  dir: string | null;
  baseUrl: string | null;
}

function parseArgs(argv: string[]): Args | null {
  const args: Args = { name: "", dir: null, baseUrl: null };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") return null;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new UsageError(`${flag}: expected a value`);
      return v;
    };
    if (flag === "--dir") args.dir = value();
    else if (flag === "--base-url") {
      const url = value();
      if (!/^https?:\/\//i.test(url)) throw new UsageError(`--base-url: expected an http:// or https:// URL, got '${url}'`);
      args.baseUrl = url;
    } else if (a.startsWith("-")) throw new UsageError(`unknown option '${a}'`);
    else positional.push(a);
  }
  if (positional.length !== 1) {
    throw new UsageError(positional.length === 0 ? "which dataset? expected one of " + DATASET_NAMES.join(", ") : `expected one dataset name, got ${positional.join(" ")}`);
  }
  args.name = positional[0]!;
  return args;
}

class UsageError extends Error {}

export async function run(argv: string[]): Promise<number> {
  let args: Args | null;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`gcrl data download: ${err.message}\nRun \`gcrl data download --help\` for the options.`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  if (!isDatasetName(args.name)) {
    console.error(`gcrl data download: unknown dataset '${args.name}'; known datasets: ${DATASET_NAMES.join(", ")}`);
    return 2;
  }
  const dir = args.dir ?? join("data", args.name);
  const reporter = downloadReporter(process.stderr);
  console.error(`${args.name} -> ${dir}`);
  try {
    const result = await downloadDataset(args.name, dir, { baseUrl: args.baseUrl ?? undefined, onProgress: reporter.onProgress });
    const fetched = result.files.filter((f) => f.status !== "present").length;
    console.error(`${args.name}: ${result.files.length} file(s) verified in ${dir}${fetched > 0 ? `, ${fetched} downloaded` : ", nothing to download"}`);
    return 0;
  } catch (err) {
    reporter.end();
    if (!(err instanceof DownloadError)) throw err;
    console.error(`gcrl data download: ${err.message}`);
    return 1;
  }
}
