// The `gcrl` command line: `gcrl <command> [args...]`.
// Each command is one entry in `commands`; its module is imported lazily so that `gcrl --help`
// stays fast and does not load the native binding.
import { readFileSync } from "node:fs";

interface Command {
  /** The name typed on the command line. */
  name: string;
  /** One line shown by `gcrl --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to an exit code (default 0). */
  run(argv: string[]): Promise<number | void>;
}

const commands: Command[] = [
  {
    name: "demo",
    summary: "train a small GCRL model on Fashion-MNIST and evaluate it (probe, kNN, bits/dim, FID, OOD vs MNIST digits) in ~10 minutes",
    run: async (argv) => (await import("./demo.ts")).run(argv),
  },
  {
    name: "train",
    summary: "train a GCRL / iGPT / SimCLR model into a run folder; --resume continues one (`gcrl train --help`)",
    run: async (argv) => (await import("./train.ts")).run(argv),
  },
  {
    name: "study",
    summary: "GCRL vs iGPT vs SimCLR: train and evaluate all three, write study.md/html/json (`gcrl study --help`)",
    run: async (argv) => (await import("./study.ts")).run(argv),
  },
  {
    name: "eval",
    summary: "evaluate a run: probe, knn, likelihood, fid, ood, all (report.md/html) (`gcrl eval --help`)",
    run: async (argv) => (await import("./eval.ts")).run(argv),
  },
  {
    name: "sample",
    summary: "draw unconditional samples from a run's model into a PNG grid",
    run: async (argv) => (await import("./sample.ts")).run(argv),
  },
  {
    name: "complete",
    summary: "complete test images from their top rows (original | masked | completions) into a PNG grid",
    run: async (argv) => (await import("./complete.ts")).run(argv),
  },
  {
    name: "fid-net",
    summary: "train the small in-distribution CNN whose features FID uses (`gcrl fid-net train --help`)",
    run: async (argv) => (await import("./fid-net.ts")).run(argv),
  },
  {
    name: "data",
    summary: "dataset tools: download, preview (`gcrl data --help`)",
    run: async (argv) => (await import("./data.ts")).run(argv),
  },
];

function version(): string {
  // package.json is two levels up from both src/cli/main.ts and dist/cli/main.js.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), "help".length);
  const lines = [
    "Usage: gcrl <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${"help".padEnd(width)}  show this help`,
    "",
    "Options:",
    "  -h, --help     show this help",
    "  -v, --version  print the version",
    "",
    "Run `gcrl <command> --help` for a command's options.",
  ];
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    console.log(version());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`gcrl: unknown command '${name}'\n`);
    console.error(usage());
    return 2;
  }
  return (await command.run(rest)) ?? 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`gcrl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
}
