// Turning config files, objects and command-line overrides into a checked RunConfig. The keys, their
// types, ranges, defaults and help are declared once in run-config.ts (and the section files it
// composes); this file merges layers, reads files and flags, and words the problems:
//
//   resolveRunConfig(overrides, source)  RUN_DEFAULTS + overrides, every problem reported at once
//   loadRunConfigFile(path)              a configs/*.json file (with "extends" and "$comment")
//   applyOverrides(config, flags)        `--model.d 256`-style values on top of a config
//   describeOptions()                    every key with its type, default and a line of help
//
// Every problem names the key's full path (`optim.lr: expected a positive number, got "fast"`) and a
// RunConfigError carries all of them (`.problems`), each printed as `${source}: ${problem}`. Rules
// that tie keys together are below (and the model's in model/config.ts); docs/configs.md lists them.
import { readFileSync } from "node:fs";
import { dirname, join, normalize, resolve as resolvePath } from "node:path";
import { InputError } from "../util/input-error.ts";
import { JsonTextError, parseJsonText } from "../util/json-text.ts";
import { closeMatches } from "../util/close-matches.ts";
import { checkSettings, sectionKeys, settingAt, settingPaths, settingRows, showValue, SettingTextError } from "../util/settings.ts";
import { RUN_DEFAULTS, RUN_SETTINGS, type RunConfig } from "./run-config.ts";
import type { ObjectiveMode } from "./objectives.ts";
import { modelRuleProblems } from "../model/config.ts";
import { DEFAULT_STRONG_CONFIG, simclrColorJitter, withDerivedJitter } from "../data/augment/config.ts";
import { DATASET_NAMES, datasetInfo, folderOf } from "../data/datasets/registry.ts";

/** A config value as it appears in JSON and in --help. */
export type ConfigValue = string | number | boolean | null | readonly (string | number)[];

/** One config key, for --help and docs. */
export interface ConfigOption {
  /** Dotted path, e.g. "model.d"; the command-line flag is `--model.d`. */
  path: string;
  /** The value's form on the command line: N (integer), X (number), true|false, a|b (one of), A,B (a list), …|null. */
  type: string;
  /** The value in the config described (RUN_DEFAULTS unless another config is given). */
  default: ConfigValue;
  /** One line of help. */
  help: string;
}

/** A config that cannot be used; `problems` lists every problem found, each starting with its key path. */
export class RunConfigError extends InputError {
  override name = "RunConfigError";
  constructor(
    /** Where the config came from: a file name, "command line", … */
    readonly source: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${source}: ${p}`).join("\n"));
  }
}

/** Every leaf key ("model.d", …) in declaration order, and every section path → its keys. */
const PATHS: readonly string[] = settingPaths(RUN_SETTINGS);
const SECTIONS: ReadonlyMap<string, readonly string[]> = sectionKeys(RUN_SETTINGS);

/**
 * Short flags for the most common overrides (`gcrl train --data mnist --mode igpt --steps 500`).
 * A budget shortcut (epochs, steps, minutes) replaces the whole budget: the limits not given on the
 * command line become null, so `--epochs 5` means "train 5 epochs". The dotted forms
 * (`--budget.epochs 5`) change one key only.
 */
export const CONFIG_FLAG_SHORTCUTS: Readonly<Record<string, string>> = Object.freeze({
  data: "data.name",
  "data-dir": "data.dataDir",
  mode: "objective.mode",
  epochs: "budget.epochs",
  steps: "budget.steps",
  minutes: "budget.minutes",
  "batch-size": "train.batchSize",
  seed: "train.seed",
  threads: "train.threads",
  precision: "train.precision",
  lr: "optim.lr",
});

export const BUDGET_SHORTCUTS: readonly string[] = ["epochs", "steps", "minutes"];

// ---------------------------------------------------------------------------------------------
// Merging layers.

type Json = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function getPath(obj: unknown, path: string): unknown {
  let v = obj;
  for (const part of path.split(".")) {
    if (!isPlainObject(v)) return undefined;
    v = v[part];
  }
  return v;
}

function setPath(obj: Json, path: string, value: unknown): void {
  const parts = path.split(".");
  let o = obj;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(o[part])) o[part] = {};
    o = o[part] as Json;
  }
  o[parts[parts.length - 1]!] = value;
}

/** Sets an own property (also for a key such as "__proto__", which plain assignment would not create). */
function define(obj: Json, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of JSON-like data (arrays copied, undefined entries dropped). */
function copy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(copy) as T;
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, copy(x)])) as T;
  return v;
}

/**
 * `over` merged into `base`: objects merge key by key, everything else (arrays included) replaces.
 * Keys set to undefined in `over` count as absent.
 */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return copy(over);
  const out: Json = copy(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    define(out, k, Object.hasOwn(out, k) ? deepMerge(out[k], v) : copy(v));
  }
  return out;
}

const JITTER_RANGES = ["brightness", "contrast", "saturation", "hue"] as const;
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Whether a horizontal flip suits the dataset `name` (DatasetInfo.hflip); null for a name that is no dataset. */
function datasetFlip(name: unknown): boolean | null {
  if (typeof name !== "string" || name === "" || name === "folder:") return null;
  if (!DATASET_NAMES.includes(name) && folderOf(name) === null) return null;
  return datasetInfo(name).hflip;
}

/**
 * The flips follow the dataset: when `over` names a dataset whose default flip (DatasetInfo.hflip)
 * differs from that of `base`'s dataset, each view's flip that `over` does not set and that `base`
 * had at its dataset's default (or not at all) becomes the new dataset's default. A flip set to the
 * other value stays. So `--data mnist` on the defaults trains without flips, `--data mnist
 * --augment.weak.flip true` with them.
 */
function followDatasetFlips(base: unknown, over: unknown, merged: unknown): void {
  const before = datasetFlip(getPath(base, "data.name"));
  const after = datasetFlip(getPath(merged, "data.name"));
  if (after === null || after === before) return;
  for (const view of ["weak", "strong"] as const) {
    const section = getPath(merged, `augment.${view}`);
    const baseFlip = getPath(base, `augment.${view}.flip`);
    if (!isPlainObject(section) || getPath(over, `augment.${view}.flip`) !== undefined) continue;
    if (baseFlip === undefined || baseFlip === before) define(section, "flip", after);
  }
}

/**
 * deepMerge for whole configs, with two rules. The flips follow the dataset (followDatasetFlips).
 * For the strong view: when `over` sets jitterStrength, the four jitter ranges of `base` that were
 * derived from its strength (equal to SimCLR's mapping of it) follow the new strength, unless
 * `over` sets them too. Ranges set to other values stay.
 */
function mergeConfig(base: unknown, over: unknown): unknown {
  const merged = deepMerge(base, over);
  followDatasetFlips(base, over, merged);
  const overStrong = getPath(over, "augment.strong");
  const baseStrong = getPath(base, "augment.strong");
  const mergedStrong = getPath(merged, "augment.strong");
  if (isPlainObject(overStrong) && overStrong.jitterStrength !== undefined && isPlainObject(baseStrong) && isPlainObject(mergedStrong)) {
    const baseStrength = baseStrong.jitterStrength ?? DEFAULT_STRONG_CONFIG.jitterStrength;
    const derived = isNumber(baseStrength) ? simclrColorJitter(baseStrength) : null;
    for (const r of JITTER_RANGES) {
      if (overStrong[r] === undefined && (baseStrong[r] === undefined || (derived !== null && baseStrong[r] === derived[r]))) delete mergedStrong[r];
    }
  }
  return merged;
}

/** Removes "$comment" keys at any depth (they must be strings or lists of strings). */
function stripComments(v: unknown, path: string, problems: string[]): unknown {
  if (!isPlainObject(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) {
    const at = path === "" ? k : `${path}.${k}`;
    if (k === "$comment") {
      if (!(typeof x === "string" || (Array.isArray(x) && x.every((s) => typeof s === "string")))) problems.push(`${at}: expected a string or a list of strings, got ${showValue(x)}`);
      continue;
    }
    define(out, k, stripComments(x, at, problems));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation.

/**
 * Every problem of a merged config and, when there are none, the resolved RunConfig (keys in
 * declaration order, the augment sections complete).
 */
function validate(merged: Json): { problems: string[]; config: RunConfig | null } {
  // The strong view's jitter ranges that are not set follow its jitterStrength.
  const strong = getPath(merged, "augment.strong");
  const input = isPlainObject(strong) ? (deepMerge(merged, { augment: { strong: withDerivedJitter(strong) } }) as Json) : merged;
  const { value: config, problems, bad } = checkSettings(RUN_SETTINGS, input);
  const fail = (path: string, message: string): void => {
    problems.push(`${path}: ${message}`);
    bad.add(path);
  };
  const value = (path: string): unknown => getPath(input, path);
  const model = value("model");
  if (!bad.has("model") && isPlainObject(model)) {
    const modelBad = new Set([...bad].filter((p) => p.startsWith("model.")).map((p) => p.slice("model.".length)));
    for (const p of modelRuleProblems(model, modelBad, "model")) {
      problems.push(p);
      bad.add(p.slice(0, p.indexOf(":")));
    }
  }
  checkCrossKeyRules(value, bad, fail);
  checkData(value, bad, fail);
  return problems.length > 0 || config === null ? { problems, config: null } : { problems, config };
}

type Lookup = (path: string) => unknown;
type Fail = (path: string, message: string) => void;

/** The rules that tie keys together (docs/configs.md, "Checks"). Keys that failed their own check are skipped. */
function checkCrossKeyRules(value: Lookup, bad: Set<string>, fail: Fail): void {
  const ok = (...paths: string[]): boolean => paths.every((p) => !bad.has(p) && !bad.has(p.slice(0, p.lastIndexOf("."))));
  if (ok("objective.mode")) {
    const mode = value("objective.mode") as ObjectiveMode;
    const generative = mode !== "simclr";
    const contrastive = mode !== "igpt";
    if (generative && ok("objective.alpha") && value("objective.alpha") === 0) {
      fail("objective.alpha", `must be > 0: mode "${mode}" trains the generative loss (for a contrastive-only run use mode "simclr")`);
    }
    if (contrastive && ok("objective.beta") && value("objective.beta") === 0) {
      fail("objective.beta", `must be > 0: mode "${mode}" trains the contrastive loss (for a generative-only run use mode "igpt")`);
    }
    if (contrastive && ok("train.batchSize") && (value("train.batchSize") as number) < 2) {
      fail("train.batchSize", `must be >= 2: mode "${mode}" trains the contrastive loss, which contrasts each image with the others of its batch; got ${value("train.batchSize")}`);
    }
  }
  if (ok("optim.lr", "optim.minLr") && (value("optim.minLr") as number) > (value("optim.lr") as number)) {
    fail("optim.minLr", `must be <= optim.lr (${value("optim.lr")}), got ${value("optim.minLr")}`);
  }
  if (ok("budget.epochs", "budget.steps", "budget.minutes") && ["epochs", "steps", "minutes"].every((k) => value(`budget.${k}`) === null)) {
    fail("budget", "no limit: set at least one of budget.epochs, budget.steps, budget.minutes");
  }
  if (ok("data.limit", "train.batchSize") && value("data.limit") !== null && (value("data.limit") as number) < (value("train.batchSize") as number)) {
    fail("data.limit", `${value("data.limit")} images make no complete batch of train.batchSize = ${value("train.batchSize")}`);
  }
}

/** Dataset name, classes and the palette against what the dataset is (when the name says so). */
function checkData(value: Lookup, bad: Set<string>, fail: Fail): void {
  if (bad.has("data") || bad.has("data.name") || typeof value("data.name") !== "string") return;
  const name = value("data.name") as string;
  if (name === "folder:" || (!DATASET_NAMES.includes(name) && folderOf(name) === null)) {
    fail("data.name", `unknown dataset ${JSON.stringify(name)} (known: ${DATASET_NAMES.join(", ")}, or folder:PATH for an image folder)`);
    return;
  }
  const info = datasetInfo(name);
  const classes = value("data.classes");
  if (!bad.has("data.classes") && classes !== null) {
    if (Array.isArray(classes) && info.classes !== null) {
      const known = info.classes;
      const unknown = (classes as (string | number)[]).filter((c) => {
        const n = typeof c === "number" ? c : /^\d+$/.test(c.trim()) ? Number(c) : null;
        return n === null ? !known.includes(c as string) : n >= known.length;
      });
      if (unknown.length > 0) fail("data.classes", `${name} has no class ${unknown.map(showValue).join(", ")} (classes: ${known.map((c, i) => `${i} ${c}`).join(", ")})`);
    }
  }
  if (bad.has("palette") || info.channels === null) return;
  const k = value("palette.k");
  if (!bad.has("palette.k") && info.channels === 1 && typeof k === "number" && k > 256) {
    fail("palette.k", `${name} is grayscale (256 levels): expected at most 256 colors, got ${k}`);
  }
  const effectiveK = typeof k === "number" ? k : info.paletteK;
  const sample = value("palette.samplePixels");
  if (!bad.has("palette.k") && !bad.has("palette.samplePixels") && effectiveK !== null && typeof sample === "number" && sample < effectiveK) {
    fail("palette.samplePixels", `k-means needs at least K = ${effectiveK} pixels, got ${sample}`);
  }
}

/**
 * The JSON text of every config this process resolved. Resolving is idempotent (a resolved config
 * resolves to itself), so a config whose text is here is known valid: checkedRunConfig skips the
 * checks for it — validation happens once, where a config enters (file, flags, library call).
 */
const RESOLVED = new Set<string>();

/** Resolves `overrides` on top of `base`; throws a RunConfigError with every problem. */
function resolveOnto(base: RunConfig, overrides: unknown, source: string, rewrite: (problem: string) => string = (p) => p): RunConfig {
  if (!isPlainObject(overrides)) throw new RunConfigError(source, [`expected an object of config sections, got ${showValue(overrides)}`]);
  const pre: string[] = [];
  const cleaned = stripComments(overrides, "", pre) as Json;
  if ("extends" in cleaned) {
    pre.push(`extends: only config files read by loadRunConfigFile may extend another file`);
    delete cleaned.extends;
  }
  const { problems, config } = validate(mergeConfig(base, cleaned) as Json);
  const all = [...pre, ...problems].map(rewrite);
  if (all.length > 0 || config === null) throw new RunConfigError(source, all);
  RESOLVED.add(JSON.stringify(config));
  return config;
}

// ---------------------------------------------------------------------------------------------
// Public API.

/**
 * A complete, checked RunConfig: RUN_DEFAULTS with `overrides` deep-merged in (objects key by key;
 * arrays and other values replace). Unknown keys at any depth, wrong types, out-of-range values and
 * broken cross-key rules are all reported at once in a RunConfigError whose messages start with
 * `${source}: ` and the key's path. "$comment" keys (strings) are allowed anywhere and dropped.
 * The augment sections come back complete (every key of the weak and strong configs). Resolving a
 * resolved config gives the same config.
 */
export function resolveRunConfig(overrides: unknown, source: string): RunConfig {
  return resolveOnto(RUN_DEFAULTS, overrides ?? {}, source);
}

/**
 * `config` itself when it is a config this process resolved (unchanged since, compared by content),
 * else resolveRunConfig(config, source): what the trainer calls, so that a config checked at the
 * edge (a file, flags, a study's plan) is not checked again, and a library caller's is.
 */
export function checkedRunConfig(config: RunConfig, source: string): RunConfig {
  return RESOLVED.has(JSON.stringify(config)) ? config : resolveRunConfig(config, source);
}

/** Parses a config file's JSON text; a syntax error becomes a RunConfigError "file:line:col: invalid JSON: …". */
function parseJsonFile(textIn: string, file: string): unknown {
  try {
    return parseJsonText(textIn);
  } catch (err) {
    if (!(err instanceof JsonTextError)) throw err;
    throw new RunConfigError(`${file}:${err.line}:${err.column}`, [`invalid JSON: ${err.reason}`]);
  }
}

/** The overrides of one file and of the files it extends, merged (parents first); "$comment" and "extends" removed. */
function readLayers(file: string, chain: { abs: string; file: string }[], origins: Map<string, string>): Json {
  const abs = resolvePath(file);
  const seen = chain.findIndex((c) => c.abs === abs);
  if (seen >= 0) throw new RunConfigError(chain[chain.length - 1]!.file, [`extends: a cycle: ${[...chain.slice(seen).map((c) => c.file), file].join(" → ")}`]);
  let textIn: string;
  try {
    textIn = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunConfigError(file, [code === "ENOENT" ? "no such file" : `cannot read the file (${(err as Error).message})`]);
  }
  const parsed = parseJsonFile(textIn, file);
  if (!isPlainObject(parsed)) throw new RunConfigError(file, [`expected a JSON object of config sections, got ${showValue(parsed)}`]);
  const problems: string[] = [];
  const layer = stripComments(parsed, "", problems) as Json;
  let parent: Json = {};
  if ("extends" in layer) {
    const ext = layer.extends;
    delete layer.extends;
    if (typeof ext !== "string" || ext === "") {
      problems.push(`extends: expected the path of another config file (relative to this one), got ${showValue(ext)}`);
    } else {
      parent = readLayers(normalize(join(dirname(file), ext)), [...chain, { abs, file }], origins);
    }
  }
  if (problems.length > 0) throw new RunConfigError(file, problems);
  // Which file set each key (for messages about values that come from a parent file).
  const record = (v: unknown, path: string): void => {
    if (isPlainObject(v) && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) record(x, path === "" ? k : `${path}.${k}`);
    else if (path !== "") origins.set(path, file);
  };
  record(layer, "");
  return deepMerge(parent, layer) as Json;
}

/**
 * The overrides a config file holds, with the files it `extends` merged underneath (parents first,
 * resolved recursively, cycles detected), and "$comment" keys removed. Not checked: see
 * loadRunConfigFile.
 */
export function readRunConfigOverrides(file: string): Record<string, unknown> {
  return readLayers(file, [], new Map());
}

/**
 * Reads a config file (strict JSON: a syntax error names file:line:column) and resolves it on
 * RUN_DEFAULTS. The file holds only overrides, plus optional "$comment" keys and an optional
 * top-level "extends": "other.json" (a path relative to the file) whose overrides lie underneath.
 * A problem with a value set in a parent file says so ("(set in configs/reference.json)").
 */
export function loadRunConfigFile(file: string): RunConfig {
  const origins = new Map<string, string>();
  const overrides = readLayers(file, [], origins);
  return resolveOnto(RUN_DEFAULTS, overrides, file, (problem) => {
    const origin = origins.get(problem.slice(0, problem.indexOf(":")));
    return origin !== undefined && origin !== file ? `${problem} (set in ${origin})` : problem;
  });
}

/**
 * `config` with command-line values on top, checked again. Keys are dotted paths with or without
 * the leading dashes ("model.d", "--optim.lr") or a CONFIG_FLAG_SHORTCUTS name ("steps"); values
 * are strings read by the key's type: numbers ("1e-3"), true/false, strings, "null" where null is
 * allowed, lists as "A,B" ("0.9,0.95", "0,1,2"). A budget shortcut replaces the whole budget.
 * Unknown flags (with close matches), unreadable values and the problems of the resulting config
 * are reported together, each naming the flag, in one RunConfigError.
 */
export function applyOverrides(config: RunConfig, flags: Readonly<Record<string, string>>, source = "command line"): RunConfig {
  const problems: string[] = [];
  const overrides: Json = {};
  /** config path → the flag as the user wrote it. */
  const flagOf = new Map<string, string>();
  let budgetShortcut = false;
  for (const [rawName, raw] of Object.entries(flags)) {
    const name = rawName.replace(/^--?/, "");
    const flag = `--${name}`;
    const path = Object.hasOwn(CONFIG_FLAG_SHORTCUTS, name) ? CONFIG_FLAG_SHORTCUTS[name]! : name;
    const spec = settingAt(RUN_SETTINGS, path)?.info;
    if (spec === undefined) {
      const near = closeMatches(name, [...PATHS, ...Object.keys(CONFIG_FLAG_SHORTCUTS)]);
      const what = SECTIONS.has(path) ? `${flag} names a section, not a value` : `unknown option ${flag}`;
      problems.push(`${what}${near.length ? `; did you mean ${near.map((n) => `--${n}`).join(" or ")}?` : ""}`);
      continue;
    }
    if (typeof raw !== "string") {
      problems.push(`${flag}: expected a string value, got ${showValue(raw)}`);
      continue;
    }
    if (flagOf.has(path)) {
      problems.push(`${flag}: ${flagOf.get(path)} sets ${path} too`);
      continue;
    }
    try {
      setPath(overrides, path, spec.parse(raw));
      flagOf.set(path, flag);
      if (BUDGET_SHORTCUTS.includes(name)) budgetShortcut = true;
    } catch (err) {
      if (!(err instanceof SettingTextError)) throw err;
      problems.push(`${flag}: ${err.message}`);
    }
  }
  if (budgetShortcut) for (const k of BUDGET_SHORTCUTS) if (!flagOf.has(`budget.${k}`)) setPath(overrides, `budget.${k}`, null);
  const rewrite = (problem: string): string => {
    const path = problem.slice(0, problem.indexOf(":"));
    const flag = flagOf.get(path);
    return flag === undefined ? problem : `${flag}${problem.slice(path.length)}`;
  };
  let result: RunConfig | null = null;
  try {
    result = resolveOnto(config, overrides, source, rewrite);
  } catch (err) {
    if (!(err instanceof RunConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || result === null) throw new RunConfigError(source, problems);
  return result;
}

/**
 * Every config key with its command-line type, its value in `base` (default RUN_DEFAULTS) and one
 * line of help, in declaration order.
 */
export function describeOptions(base: RunConfig = RUN_DEFAULTS): ConfigOption[] {
  return settingRows(RUN_SETTINGS, base).map((r) => ({ path: r.path, type: r.placeholder, default: r.value as ConfigValue, help: r.help }));
}

/** Whether the config key at `path` is a boolean (`--augment.weak.flip` alone means true). */
export function isBooleanKey(path: string): boolean {
  return settingAt(RUN_SETTINGS, path)?.info.placeholder === "true|false";
}
