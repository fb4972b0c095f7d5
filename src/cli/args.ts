// Command-line options for gcrl commands: one table of options (name, type, default, help) gives
// both the parser (node's util.parseArgs, strict: unknown options are errors) and the --help text,
// so every option is listed with its default. An old spelling stays for one version as a deprecated
// alias (`aliasOf`): it sets the new option's value and prints one note on stderr.
import { parseArgs } from "node:util";
import { expectedErrorMessage } from "../util/input-error.ts";
import type { z } from "zod";
import { formatSettingValue, settingAt, SettingTextError } from "../util/settings.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  /** Shown in --help; also the value when the option is absent (strings). */
  default?: string | boolean;
  /** Placeholder for the value in --help, e.g. "N" or "DIR". */
  value?: string;
  short?: string;
  help: string;
  /**
   * A deprecated spelling of the option named here (same type): its value becomes that option's,
   * with a note on stderr, and it is absent from the parsed values. Kept for one version.
   */
  aliasOf?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** The values by option name; deprecated aliases (aliasOf) are folded into their options and absent. */
export type ParsedOptions<T extends OptionTable> = {
  [K in keyof T as T[K] extends { aliasOf: string } ? never : K]: T[K]["type"] extends "boolean" ? boolean : T[K]["default"] extends string ? string : string | undefined;
};

/** A deprecated alias's row: `--temperature T  deprecated: use --knn-temperature` (the type from its option). */
export function deprecatedAlias(target: string, spec: OptionSpec): OptionSpec & { aliasOf: string } {
  return { type: spec.type, ...(spec.value !== undefined ? { value: spec.value } : {}), aliasOf: target, help: `deprecated: use --${target}` };
}

/** The --device option of every command that runs a model (`note` adds to its help); checked by device-option.ts. */
export function deviceOptionSpec(note = ""): OptionSpec & { type: "string"; default: string } {
  return { type: "string", default: "cpu", value: "DEVICE", help: `cpu, cuda or cuda:N${note}` };
}

/** A usage mistake: the command prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {}

export function helpText(usage: string, description: string, options: OptionTable): string {
  // Deprecated aliases last, so the current names read first.
  const entries = Object.entries(options).sort(([, a], [, b]) => Number(a.aliasOf !== undefined) - Number(b.aliasOf !== undefined));
  const rows = entries.map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    const def = o.default === undefined || o.default === false ? "" : ` (default ${o.default === true ? "on" : o.default})`;
    return [flag, `${o.help}${def}`] as const;
  });
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([f]) => f.length));
  return [`Usage: ${usage}`, "", description, "", "Options:", ...rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`)].join("\n");
}

/**
 * Parses argv against the table; returns null when --help was asked for. Throws UsageError for
 * unknown options, missing values and unexpected positional arguments (beyond maxPositionals), and
 * for a deprecated alias given together with its new spelling. Each deprecated alias used prints
 * one line on stderr: "<command>: --temperature is deprecated, use --knn-temperature".
 */
export function parseOptions<T extends OptionTable>(
  argv: string[],
  options: T,
  maxPositionals = 0,
  command = "gcrl",
): { values: ParsedOptions<T>; positionals: string[] } | null {
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(options)) config[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: config, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[\w+\]: /, "").split(". To specify")[0]!);
  }
  if (parsed.values.help) return null;
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument${parsed.positionals.length - maxPositionals > 1 ? "s" : ""}: ${parsed.positionals.slice(maxPositionals).join(" ")}`);
  }
  const given = { ...parsed.values } as Record<string, string | boolean | undefined>; // no option is `multiple`
  for (const [name, o] of Object.entries(options)) {
    if (o.aliasOf === undefined || given[name] === undefined) continue;
    const target = options[o.aliasOf];
    if (target === undefined || target.aliasOf !== undefined || target.type !== o.type) throw new Error(`option table: --${name} is an alias of '${o.aliasOf}', not an option of type ${o.type}`);
    if (given[o.aliasOf] !== undefined) throw new UsageError(`--${name} and --${o.aliasOf} are the same option (--${name} is its deprecated spelling); give --${o.aliasOf} only`);
    given[o.aliasOf] = given[name];
    console.error(`${command}: --${name} is deprecated, use --${o.aliasOf}`);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, o] of Object.entries(options)) {
    if (o.aliasOf !== undefined) continue;
    const v = given[name];
    values[name] = v === undefined ? (o.type === "boolean" ? (o.default ?? false) : o.default) : v;
  }
  return { values: values as ParsedOptions<T>, positionals: parsed.positionals };
}

/**
 * parseOptions for a command: on --help prints helpText(usage, description, options) and returns
 * null (the command then exits 0). Deprecation notes name the command by the usage's first two
 * words ("gcrl eval knn --run DIR" → "gcrl eval").
 */
export function parseCommandLine<T extends OptionTable>(
  argv: string[],
  options: T,
  usage: string,
  description: string,
  maxPositionals = 0,
): { values: ParsedOptions<T>; positionals: string[] } | null {
  const parsed = parseOptions(argv, options, maxPositionals, usage.split(/\s+/).slice(0, 2).join(" "));
  if (parsed === null) console.log(helpText(usage, description, options));
  return parsed;
}

/** An integer option value within [min, max], or a UsageError naming the option. */
export function intOption(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: expected an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` in [${min}, ${max}]`}, got '${value}'`);
  }
  return n;
}

/** True when GCRL_DEBUG is set (to anything but "" or "0"): expected errors show their stack trace too. */
export function debugEnabled(): boolean {
  const v = process.env.GCRL_DEBUG;
  return v !== undefined && v !== "" && v !== "0";
}

/**
 * Runs a command body. A UsageError prints its message with a pointer to --help; an expected
 * condition (an InputError such as RunFolderError, DatasetError, SafetensorsError, FileError, or a
 * bare file-system error, src/util/input-error.ts) prints one line naming the file or key. Both
 * exit 2, with the stack trace only under GCRL_DEBUG=1. Anything else is a bug and is rethrown (main
 * prints its stack, exit 1).
 */
export async function runCommand(command: string, body: () => Promise<number | void>): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    const message = err instanceof UsageError ? `${err.message}\nRun \`gcrl ${command} --help\` for the options.` : expectedErrorMessage(err);
    if (message === null) throw err;
    console.error(`gcrl ${command}: ${message}`);
    if (debugEnabled() && err instanceof Error && err.stack !== undefined) console.error(err.stack);
    return 2;
  }
}

/** A dataset split option value (train, test or all), or a UsageError naming the option. */
export function splitOption(name: string, value: string): "train" | "test" | "all" {
  if (value !== "train" && value !== "test" && value !== "all") throw new UsageError(`--${name}: expected train, test or all, got '${value}'`);
  return value;
}

/**
 * Option-table rows for declared settings (util/settings.ts): each under its SettingInfo.flag, with
 * its placeholder, its default (unless null) and its help; `help` replaces a help line where a
 * command means something narrower.
 */
export function settingOptions(
  schema: z.ZodType,
  keys: readonly string[],
  help: Readonly<Record<string, string>> = {},
  /** Defaults that replace the declared ones (a command's own, e.g. a study's smaller evaluation). */
  defaults: Readonly<Record<string, unknown>> = {},
): OptionTable {
  const table: OptionTable = {};
  for (const key of keys) {
    const { info } = settingAt(schema, key) ?? (() => { throw new Error(`settingOptions: no setting ${key}`); })();
    const flag = info.flag ?? key;
    const isBool = info.placeholder === "true|false";
    const def = Object.hasOwn(defaults, key) ? defaults[key] : info.default;
    table[flag] = {
      type: isBool ? "boolean" : "string",
      ...(isBool ? {} : { value: info.placeholder.replace(/\|null$/, "") }),
      ...(def !== undefined && def !== null && def !== false ? { default: isBool ? true : formatSettingValue(def) } : {}),
      help: help[key] ?? info.help,
    };
  }
  return table;
}

/**
 * The settings `keys` whose options were given, read and checked one by one: a value that is not
 * one is a UsageError `--knn-k: expected an integer >= 1, got '0'`.
 */
export function settingsFromValues(schema: z.ZodType, keys: readonly string[], values: Readonly<Record<string, string | boolean | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const setting = settingAt(schema, key);
    if (setting === null) throw new Error(`settingsFromValues: no setting ${key}`);
    const flag = setting.info.flag ?? key;
    const raw = values[flag];
    if (raw === undefined || raw === false) continue;
    if (raw === true) {
      out[key] = true;
      continue;
    }
    const bad = (): UsageError => new UsageError(`--${flag}: expected ${setting.info.expected}, got '${raw}'`);
    let v: unknown;
    try {
      v = setting.info.parse(raw);
    } catch (err) {
      if (err instanceof SettingTextError) throw bad();
      throw err;
    }
    if (!setting.schema.safeParse(v).success) throw bad();
    out[key] = v;
  }
  return out;
}
