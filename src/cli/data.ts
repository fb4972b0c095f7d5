// `gcrl data <sub-command>`: the data tools. Like the top-level command table (main.ts), each
// sub-command's module is imported only when it runs and exports `run(argv)`.

interface SubcommandModule {
  run(argv: string[]): Promise<number | void>;
}

interface Subcommand {
  name: string;
  /** One line shown by `gcrl data --help`. */
  summary: string;
  load(): Promise<SubcommandModule>;
}

const subcommands: Subcommand[] = [
  {
    name: "download",
    summary: "fetch fashion-mnist, mnist, cifar10 or cifar100 from its canonical host, checksum-verified",
    load: () => import("./data-download.ts"),
  },
  {
    name: "preview",
    summary: "write a PNG grid of original / quantized / weak / strong views",
    load: () => import("./data-preview.ts"),
  },
];

function usage(): string {
  const width = Math.max(...subcommands.map((s) => s.name.length));
  return [
    "Usage: gcrl data <sub-command> [options]",
    "",
    "Sub-commands:",
    ...subcommands.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    "",
    "Run `gcrl data <sub-command> --help` for its options.",
  ].join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(usage());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return 0;
  }
  const sub = subcommands.find((s) => s.name === name);
  if (!sub) {
    console.error(`gcrl data: unknown sub-command '${name}'\n`);
    console.error(usage());
    return 2;
  }
  let module: SubcommandModule;
  try {
    module = await sub.load();
  } catch (err) {
    // A sub-command whose module is not in this checkout yet (see `preview` above).
    if ((err as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" && String(err).includes(`data-${sub.name}.`)) {
      console.error(`gcrl data ${sub.name}: not available in this version`);
      return 1;
    }
    throw err;
  }
  return (await module.run(rest)) ?? 0;
}
