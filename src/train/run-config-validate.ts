// Turning config files, objects and command-line flags into a checked RunConfig.
//
//   resolveRunConfig(overrides, source)  RUN_DEFAULTS + overrides, every problem reported at once
//   loadRunConfigFile(path)              a configs/*.json file (with "extends" and "$comment")
//   applyOverrides(config, flags)        `--model.d 256`-style flags on top of a config
//   describeOptions() / configHelpText() every key with its type, default and a line of help
//
// Every problem names the key's full path (`optim.lr: expected a positive number, got "fast"`) and a
// RunConfigError carries all of them (`.problems`), each printed as `${source}: ${problem}`. The
// model section is checked by validateModelConfig (height, width and vocabSize come from the data
// later), the augment sections by resolveWeakConfig / resolveStrongConfig; the rest here. Rules
// that tie keys together are listed in docs/configs.md ("Checks").
import { readFileSync } from "node:fs";
import { InputError } from "../util/input-error.ts";
import { dirname, join, normalize, resolve as resolvePath } from "node:path";
import { RUN_DEFAULTS, type RunConfig } from "./run-config.ts";
import { GENERATIVE_REDUCTIONS } from "./objectives.ts";
import { validateModelConfig } from "../model/config.ts";
import {
  AugmentConfigError, DEFAULT_STRONG_CONFIG, DEFAULT_WEAK_CONFIG, resolveStrongConfig, resolveWeakConfig, simclrColorJitter,
  type StrongAugmentConfig, type StrongAugmentOptions, type WeakAugmentConfig, type WeakAugmentOptions,
} from "../data/augment/config.ts";
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

// ---------------------------------------------------------------------------------------------
// The schema: every key, its command-line form and its help. Range checks of the model and augment
// sections live in their own validators; `check` covers the other sections.

interface Kind {
  /** How --help shows the value. */
  readonly type: string;
  /** A command-line string → a value of this kind; throws a KindError ("expected …") when it is not one. */
  parse(raw: string): unknown;
}

class KindError extends Error {}

interface KeySpec {
  readonly kind: Kind;
  readonly help: string;
  /** null when the value is fine, else what was expected ("a positive number"). */
  readonly check?: (v: unknown) => string | null;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

function parseNumber(raw: string): number {
  const t = raw.trim();
  const n = Number(t);
  if (t === "" || !Number.isFinite(n)) throw new KindError(`expected a number, got '${raw}'`);
  return n;
}

const INT: Kind = { type: "N", parse: parseNumber };
const NUM: Kind = { type: "X", parse: parseNumber };
const BOOL: Kind = {
  type: "true|false",
  parse(raw) {
    if (raw === "true") return true;
    if (raw === "false") return false;
    throw new KindError(`expected true or false, got '${raw}'`);
  },
};
const oneOf = (options: readonly string[]): Kind => ({ type: options.join("|"), parse: (raw) => raw });
const text = (placeholder: string): Kind => ({ type: placeholder, parse: (raw) => raw });
const nullable = (kind: Kind): Kind => ({ type: `${kind.type}|null`, parse: (raw) => (raw === "null" ? null : kind.parse(raw)) });
/** Two numbers "A,B" (or "[A, B]"). */
const PAIR: Kind = {
  type: "A,B",
  parse(raw) {
    const parts = raw.trim().replace(/^\[(.*)\]$/, "$1").split(",");
    const nums = parts.map((p) => Number(p.trim()));
    if (parts.length !== 2 || parts.some((p) => p.trim() === "") || !nums.every(Number.isFinite)) throw new KindError(`expected two numbers A,B, got '${raw}'`);
    return nums;
  },
};
/** A comma list of names or integers ("0,1,2", "Coat,Shirt"). */
const LIST: Kind = {
  type: "A,B,…",
  parse(raw) {
    const items = raw.split(",").map((s) => s.trim());
    if (items.some((s) => s === "")) throw new KindError(`expected a comma-separated list, got '${raw}'`);
    return items.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  },
};

// Checks for the sections validated here: each returns null or what was expected.
const intAtLeast = (min: number) => (v: unknown): string | null => (isInt(v) && v >= min ? null : `an integer >= ${min}`);
const intIn = (min: number, max: number) => (v: unknown): string | null => (isInt(v) && v >= min && v <= max ? null : `an integer in [${min}, ${max}]`);
const positive = (v: unknown): string | null => (isNumber(v) && v > 0 ? null : "a positive number");
const nonNegative = (v: unknown): string | null => (isNumber(v) && v >= 0 ? null : "a number >= 0");
const orNull = (check: (v: unknown) => string | null) => (v: unknown): string | null => {
  if (v === null) return null;
  const expected = check(v);
  return expected === null ? null : `null or ${expected}`;
};
const nonEmptyString = (v: unknown): string | null => (typeof v === "string" && v !== "" ? null : "a non-empty string");
const among = (options: readonly string[]) => (v: unknown): string | null => (typeof v === "string" && options.includes(v) ? null : `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`);

const MODES = ["gcrl", "igpt", "simclr"] as const;
const PRECISIONS = ["fp32", "bf16"] as const;
const MAX_SEED = 2 ** 32 - 1;

/** Every config key, in the order of RUN_DEFAULTS (which is the order of --help and of resolved configs). */
const SCHEMA: Readonly<Record<string, KeySpec>> = {
  "model.d": { kind: INT, help: "model width d (embedding and residual stream)" },
  "model.heads": { kind: INT, help: "attention heads; d must be divisible by heads" },
  "model.encoderLayers": { kind: INT, help: "encoder layers L_enc (axial: a row block, then a causal column block)" },
  "model.decoderLayers": { kind: INT, help: "decoder layers L_dec (axial: causal row blocks)" },
  "model.mlpRatio": { kind: NUM, help: "MLP hidden width = mlpRatio·d" },
  "model.dropout": { kind: NUM, help: "dropout on attention weights and residual branches while training, in [0, 1)" },
  "model.attention": { kind: oneOf(["axial", "dense"]), help: "axial (Axial Transformer layout) or dense (full causal attention over the raster, iGPT)" },
  "model.projectionDim": { kind: INT, help: "output size of the contrastive projection head" },
  "model.geluApproximate": { kind: oneOf(["none", "tanh"]), help: "GELU form: none (exact erf, as torch_ref.py) or tanh" },
  "model.layerNormEps": { kind: NUM, help: "LayerNorm epsilon" },
  "model.representationLayer": { kind: nullable(INT), help: "encoder layer that r(x) pools, 1..encoderLayers; null: the last" },

  "data.name": { kind: text("NAME"), help: `dataset: ${DATASET_NAMES.join(", ")}, or folder:PATH`, check: nonEmptyString },
  "data.dataDir": { kind: nullable(text("DIR")), help: "folder with the dataset's files; null: the dataset's usual place", check: orNull(nonEmptyString) },
  "data.limit": { kind: nullable(INT), help: "train on the first N training images only; null: all", check: orNull(intAtLeast(1)) },
  "data.classes": {
    kind: nullable(LIST), help: "train only on these classes (names or label numbers); null: all",
    check: (v) => (v === null || (Array.isArray(v) && v.length > 0 && v.every((c) => (typeof c === "string" && c !== "") || (isInt(c) && c >= 0))) ? null : "null or a non-empty list of class names or label numbers"),
  },
  "data.evalImages": { kind: INT, help: "test-split images for test NLL and kNN accuracy during training (0: none)", check: intAtLeast(0) },
  "data.perturb": {
    kind: NUM, check: (v) => (isNumber(v) && v >= 0 && v < 1 ? null : "a probability in [0, 1)"),
    help: "replace each training pixel by a random palette colour with this probability: a background model for the likelihood-ratio OOD score (0.1-0.3; 0: off)",
  },

  "palette.k": { kind: nullable(INT), help: "palette size K, 2..4096; null: 16 for grayscale, 512 for RGB", check: orNull(intIn(2, 4096)) },
  "palette.samplePixels": { kind: INT, help: "training pixels sampled to fit the palette (k-means), >= K", check: intAtLeast(1) },

  "augment.weak.pad": { kind: INT, help: "weak view: padding before the random crop (a shift of up to ±pad pixels)" },
  "augment.weak.padMode": { kind: oneOf(["zero", "reflect"]), help: "weak view: border fill, zero or reflect" },
  "augment.weak.flip": { kind: BOOL, help: "weak view: random horizontal flip; default: the dataset's (off for mnist and mnist-digits)" },
  "augment.strong.scale": { kind: PAIR, help: "strong view: random resized crop, area fraction min,max" },
  "augment.strong.ratio": { kind: PAIR, help: "strong view: crop aspect ratio w/h min,max (log-uniform)" },
  "augment.strong.flip": { kind: BOOL, help: "strong view: random horizontal flip; default: the dataset's (off for mnist and mnist-digits)" },
  "augment.strong.jitterProbability": { kind: NUM, help: "strong view: probability of color jitter" },
  "augment.strong.jitterStrength": { kind: NUM, help: "strong view: jitter strength s; brightness, contrast, saturation = 0.8·s and hue = 0.2·s unless set" },
  "augment.strong.brightness": { kind: NUM, help: "strong view: brightness factor in [1−b, 1+b]" },
  "augment.strong.contrast": { kind: NUM, help: "strong view: contrast factor in [1−c, 1+c]" },
  "augment.strong.saturation": { kind: NUM, help: "strong view: saturation factor in [1−s, 1+s] (RGB only)" },
  "augment.strong.hue": { kind: NUM, help: "strong view: hue shift in [−h, h] turns, h <= 0.5 (RGB only)" },
  "augment.strong.jitterOrder": { kind: oneOf(["random", "fixed"]), help: "strong view: jitter order, random per sample (torchvision) or fixed" },
  "augment.strong.grayscaleProbability": { kind: NUM, help: "strong view: probability of grayscale conversion (RGB only)" },
  "augment.strong.blur": { kind: BOOL, help: "strong view: Gaussian blur" },
  "augment.strong.blurProbability": { kind: NUM, help: "strong view: probability of blurring a sample when blur is on" },
  "augment.strong.blurSigma": { kind: PAIR, help: "strong view: blur sigma range min,max in pixels" },
  "augment.strong.blurKernelSize": { kind: nullable(INT), help: "strong view: odd blur kernel size; null: 10% of the image height, made odd" },

  "objective.mode": { kind: oneOf(MODES), help: "gcrl (α·L_g + β·L_c), igpt (generative only), simclr (contrastive only)", check: among(MODES) },
  "objective.alpha": { kind: NUM, help: "weight α of the generative loss (> 0 in gcrl and igpt; ignored by simclr)", check: nonNegative },
  "objective.beta": { kind: NUM, help: "weight β of the contrastive loss (> 0 in gcrl and simclr; ignored by igpt)", check: nonNegative },
  "objective.tau": { kind: NUM, help: "NT-Xent temperature τ", check: positive },
  "objective.generativeReduction": {
    kind: oneOf(GENERATIVE_REDUCTIONS), check: among(GENERATIVE_REDUCTIONS),
    help: "L_g inside α·L_g: pixel (mean NLL over B·H·W pixels) or image (sum over H·W, mean over B: the paper's; = pixel with α·H·W)",
  },

  "optim.lr": { kind: NUM, help: "peak learning rate of AdamW, reached after the warm-up", check: positive },
  "optim.minLr": { kind: NUM, help: "learning rate at the end of the cosine decay (<= lr)", check: nonNegative },
  "optim.warmupSteps": { kind: INT, help: "steps of linear warm-up from 0 to lr", check: intAtLeast(0) },
  "optim.weightDecay": { kind: NUM, help: "AdamW weight decay (not on norms, biases and embeddings)", check: nonNegative },
  "optim.betas": {
    kind: PAIR, help: "AdamW β1,β2, each in [0, 1)",
    check: (v) => (Array.isArray(v) && v.length === 2 && v.every((b) => isNumber(b) && b >= 0 && b < 1) ? null : "[β1, β2] with both in [0, 1)"),
  },
  "optim.eps": { kind: NUM, help: "AdamW epsilon", check: positive },
  "optim.gradClip": { kind: NUM, help: "clip the global gradient norm to this (0: off)", check: nonNegative },

  "budget.epochs": { kind: nullable(INT), help: "stop after N epochs (null: no limit); the run stops at the first limit reached", check: orNull(intAtLeast(1)) },
  "budget.steps": { kind: nullable(INT), help: "stop after N optimizer steps (null: no limit)", check: orNull(intAtLeast(1)) },
  "budget.minutes": { kind: nullable(NUM), help: "stop after X minutes of training (null: no limit)", check: orNull(positive) },

  "train.batchSize": { kind: INT, help: "images per optimizer step (>= 2 when a contrastive loss runs)", check: intAtLeast(1) },
  "train.seed": { kind: INT, help: "seed of the initialisation, shuffles and augmentations", check: intIn(0, MAX_SEED) },
  "train.threads": { kind: nullable(INT), help: "libtorch CPU threads (null: one per core); fix it for bit-exact resume", check: orNull(intAtLeast(1)) },
  "train.evalEvery": { kind: INT, help: "evaluate test NLL and kNN every N steps (0: only at the end)", check: intAtLeast(0) },
  "train.checkpointEvery": { kind: INT, help: "save a checkpoint every N steps (0: only at the end and on SIGINT/SIGTERM)", check: intAtLeast(0) },
  "train.logEvery": { kind: INT, help: "print a progress line every N steps when not on a TTY", check: intAtLeast(1) },
  "train.precision": { kind: oneOf(PRECISIONS), help: "matmul precision: fp32, or bf16 mixed precision (falls back to fp32 with a warning where the CPU lacks native bf16)", check: among(PRECISIONS) },
};

const PATHS: readonly string[] = Object.keys(SCHEMA);

/** Object path ("" = top, "augment", "augment.weak", …) → the names of its children, in order. */
const CHILDREN: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, string[]>();
  for (const path of PATHS) {
    const parts = path.split(".");
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(".");
      const list = map.get(parent) ?? [];
      if (!list.includes(parts[i]!)) list.push(parts[i]!);
      map.set(parent, list);
    }
  }
  return map;
})();

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

const BUDGET_SHORTCUTS = ["epochs", "steps", "minutes"];

// ---------------------------------------------------------------------------------------------
// Small helpers.

type Json = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (isPlainObject(v)) return "an object";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive, for "did you mean". */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Up to three candidates close to `name`: those with the same last segment first (`d` →
 * `model.d`), then those within a small edit distance, then (for a name without a dot) those whose
 * last segment contains it (`warmup` → `optim.warmupSteps`).
 */
function closeMatches(name: string, candidates: readonly string[]): string[] {
  const last = (s: string): string => s.slice(s.lastIndexOf(".") + 1).toLowerCase();
  const found: string[] = candidates.filter((c) => last(c) === last(name));
  const limit = Math.max(1, Math.floor(name.length / 4));
  const near = candidates.map((c) => ({ c, d: editDistance(name, c) })).filter(({ d }) => d <= limit).sort((x, y) => x.d - y.d);
  for (const { c } of near) if (!found.includes(c)) found.push(c);
  if (!name.includes(".") && name.length >= 3) {
    for (const c of candidates) if (last(c).includes(name.toLowerCase()) && !found.includes(c)) found.push(c);
  }
  return found.slice(0, 3);
}

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
      if (!(typeof x === "string" || (Array.isArray(x) && x.every((s) => typeof s === "string")))) problems.push(`${at}: expected a string or a list of strings, got ${show(x)}`);
      continue;
    }
    define(out, k, stripComments(x, at, problems));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation.

/**
 * Every problem of a merged config (plain data; null when it is valid) and, when there are none,
 * the resolved RunConfig.
 */
function validate(merged: Json): { problems: string[]; config: RunConfig | null } {
  const problems: string[] = [];
  /** Paths whose value failed a check (cross-key rules skip them). */
  const bad = new Set<string>();
  const fail = (path: string, message: string): void => {
    problems.push(`${path}: ${message}`);
    bad.add(path);
  };

  // Structure: objects where the schema has objects, no unknown keys, at any depth.
  const walk = (obj: Json, path: string): void => {
    const known = CHILDREN.get(path)!;
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const at = path === "" ? key : `${path}.${key}`;
      const near = closeMatches(key, known);
      fail(at, `unknown key${near.length ? `; did you mean ${near.map((n) => (path === "" ? n : `${path}.${n}`)).join(" or ")}?` : ""} (known: ${known.join(", ")})`);
    }
    for (const key of known) {
      const at = path === "" ? key : `${path}.${key}`;
      if (!CHILDREN.has(at)) continue; // a leaf
      const child = obj[key];
      if (isPlainObject(child)) walk(child, at);
      else fail(at, `expected an object, got ${show(child)}`);
    }
  };
  walk(merged, "");
  const sectionOk = (path: string): boolean => !bad.has(path) && (!path.includes(".") || sectionOk(path.slice(0, path.lastIndexOf("."))));
  const value = (path: string): unknown => getPath(merged, path);

  // Leaves of the sections checked here.
  for (const path of PATHS) {
    const check = SCHEMA[path]!.check;
    if (check === undefined || !sectionOk(path.slice(0, path.lastIndexOf(".")))) continue;
    const v = value(path);
    const expected = check(v);
    if (expected !== null) fail(path, `expected ${expected}, got ${show(v)}`);
  }

  // The model section, by the model's own validator (the data-given sizes are placeholders here).
  if (sectionOk("model")) {
    const model = merged.model as Json;
    const knownOnly = Object.fromEntries(CHILDREN.get("model")!.map((k) => [k, model[k]]));
    for (const p of validateModelConfig({ ...knownOnly, height: 1, width: 1, vocabSize: 2 }, "model")) {
      problems.push(p);
      bad.add(p.slice(0, p.indexOf(":")));
    }
  }

  // The augment sections: each key alone (so that every bad key is reported), then all together.
  let weak: WeakAugmentConfig | null = null;
  let strong: StrongAugmentConfig | null = null;
  for (const view of ["weak", "strong"] as const) {
    const path = `augment.${view}`;
    if (!sectionOk(path)) continue;
    const section = merged.augment as Json;
    const options = Object.fromEntries(CHILDREN.get(path)!.filter((k) => (section[view] as Json)[k] !== undefined).map((k) => [k, (section[view] as Json)[k]]));
    const resolve = (o: Json): WeakAugmentConfig | StrongAugmentConfig => (view === "weak" ? resolveWeakConfig(o as WeakAugmentOptions, path) : resolveStrongConfig(o as StrongAugmentOptions, path));
    let keyProblems = 0;
    for (const [k, v] of Object.entries(options)) {
      const single: Json = { [k]: v };
      // A range derived from jitterStrength is checked with that strength.
      if (view === "strong" && k !== "jitterStrength" && options.jitterStrength !== undefined) single.jitterStrength = options.jitterStrength;
      try {
        resolve(single);
      } catch (err) {
        if (!(err instanceof AugmentConfigError)) throw err;
        if (!problems.includes(err.message)) problems.push(err.message);
        bad.add(`${path}.${k}`);
        keyProblems++;
      }
    }
    if (keyProblems > 0) continue;
    try {
      const resolved = resolve(options);
      if (view === "weak") weak = resolved as WeakAugmentConfig;
      else strong = resolved as StrongAugmentConfig;
    } catch (err) {
      if (!(err instanceof AugmentConfigError)) throw err;
      problems.push(err.message);
    }
  }

  checkCrossKeyRules(value, bad, fail);
  checkData(value, bad, fail);

  if (problems.length > 0 || weak === null || strong === null) return { problems, config: null };
  // The resolved config: keys in schema order, augment sections complete, arrays copied.
  const out: Json = {};
  for (const path of PATHS) setPath(out, path, copy(path.startsWith("augment.") ? getPath({ augment: { weak, strong } }, path) : value(path)));
  return { problems, config: out as unknown as RunConfig };
}

type Lookup = (path: string) => unknown;
type Fail = (path: string, message: string) => void;

/** The rules that tie keys together (docs/configs.md, "Checks"). Keys that failed their own check are skipped. */
function checkCrossKeyRules(value: Lookup, bad: Set<string>, fail: Fail): void {
  const ok = (...paths: string[]): boolean => paths.every((p) => !bad.has(p) && !bad.has(p.slice(0, p.lastIndexOf("."))));
  if (ok("objective.mode")) {
    const mode = value("objective.mode") as (typeof MODES)[number];
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
      if (unknown.length > 0) fail("data.classes", `${name} has no class ${unknown.map(show).join(", ")} (classes: ${known.map((c, i) => `${i} ${c}`).join(", ")})`);
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

/** Resolves `overrides` on top of `base`; throws a RunConfigError with every problem. */
function resolveOnto(base: RunConfig, overrides: unknown, source: string, rewrite: (problem: string) => string = (p) => p): RunConfig {
  if (!isPlainObject(overrides)) throw new RunConfigError(source, [`expected an object of config sections, got ${show(overrides)}`]);
  const pre: string[] = [];
  const cleaned = stripComments(overrides, "", pre) as Json;
  if ("extends" in cleaned) {
    pre.push(`extends: only config files read by loadRunConfigFile may extend another file`);
    delete cleaned.extends;
  }
  const { problems, config } = validate(mergeConfig(base, cleaned) as Json);
  const all = [...pre, ...problems].map(rewrite);
  if (all.length > 0 || config === null) throw new RunConfigError(source, all);
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

/** The position of the first syntax error in JSON text (JSON.parse does not always say where). */
function jsonErrorOffset(src: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = (): void => {
    while (i < src.length && " \t\n\r".includes(src[i]!)) i++;
  };
  const str = (): void => {
    i++; // the opening quote
    while (i < src.length) {
      const c = src[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        i++;
        if (src[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(src.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (src[i] !== undefined && '"\\/bfnrt'.includes(src[i]!)) i++;
        else fail();
        continue;
      }
      if (c < " ") fail();
      i++;
    }
    fail();
  };
  const val = (): void => {
    ws();
    const c = src[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (src[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          ws();
          if (src[i] !== '"') fail();
          str();
          ws();
          if (src[i] !== ":") fail();
          i++;
        }
        val();
        ws();
        if (src[i] === ",") {
          i++;
          continue;
        }
        if (src[i] === close) {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '"') return str();
    const num = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    num.lastIndex = i;
    if (num.test(src)) {
      i = num.lastIndex;
      return;
    }
    for (const lit of ["true", "false", "null"]) {
      if (src.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    fail();
  };
  try {
    val();
    ws();
    if (i < src.length) fail();
  } catch (at) {
    if (typeof at === "number") return at;
    throw at;
  }
  return -1;
}

/** Parses JSON text; a syntax error becomes a RunConfigError "file:line:col: invalid JSON: …". */
function parseJsonFile(textIn: string, file: string): unknown {
  if (textIn.startsWith("\uFEFF")) textIn = textIn.slice(1); // a byte-order mark
  try {
    return JSON.parse(textIn);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const offset = Math.max(0, jsonErrorOffset(textIn));
    const before = textIn.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - before.lastIndexOf("\n");
    const reason = err.message.replace(/, .*is not valid JSON$/s, "").replace(/ in JSON at position \d+.*$/s, "");
    const hint = textIn[offset] === "/" ? ' (JSON has no comments: write notes in "$comment" keys)' : "";
    throw new RunConfigError(`${file}:${line}:${column}`, [`invalid JSON: ${reason}${hint}`]);
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
  if (!isPlainObject(parsed)) throw new RunConfigError(file, [`expected a JSON object of config sections, got ${show(parsed)}`]);
  const problems: string[] = [];
  const layer = stripComments(parsed, "", problems) as Json;
  let parent: Json = {};
  if ("extends" in layer) {
    const ext = layer.extends;
    delete layer.extends;
    if (typeof ext !== "string" || ext === "") {
      problems.push(`extends: expected the path of another config file (relative to this one), got ${show(ext)}`);
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
    const spec = Object.hasOwn(SCHEMA, path) ? SCHEMA[path] : undefined;
    if (spec === undefined) {
      const near = closeMatches(name, [...PATHS, ...Object.keys(CONFIG_FLAG_SHORTCUTS)]);
      const what = CHILDREN.has(path) ? `${flag} names a section, not a value` : `unknown option ${flag}`;
      problems.push(`${what}${near.length ? `; did you mean ${near.map((n) => `--${n}`).join(" or ")}?` : ""}`);
      continue;
    }
    if (typeof raw !== "string") {
      problems.push(`${flag}: expected a string value, got ${show(raw)}`);
      continue;
    }
    if (flagOf.has(path)) {
      problems.push(`${flag}: ${flagOf.get(path)} sets ${path} too`);
      continue;
    }
    try {
      setPath(overrides, path, spec.kind.parse(raw));
      flagOf.set(path, flag);
      if (BUDGET_SHORTCUTS.includes(name)) budgetShortcut = true;
    } catch (err) {
      if (!(err instanceof KindError)) throw err;
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
 * Splits command-line arguments into config flags (any `--a.b VALUE` or `--a.b=VALUE`: a name with
 * a dot) and the rest, so a command can parse its own options strictly and hand the config flags
 * to applyOverrides. A dotted flag without a value is an error, except for boolean keys
 * (`--augment.weak.flip` alone means true).
 */
export function extractConfigFlags(argv: readonly string[]): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([^=\s]+\.[^=\s]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || arg === "--") {
      rest.push(arg);
      continue;
    }
    const name = m[1]!;
    if (Object.hasOwn(flags, name)) throw new RunConfigError("command line", [`--${name} is given twice`]);
    if (m[2] !== undefined) {
      flags[name] = m[2];
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      flags[name] = next;
      i++;
    } else if (SCHEMA[name]?.kind === BOOL) {
      flags[name] = "true";
    } else {
      throw new RunConfigError("command line", [`--${name}: expected a value`]);
    }
  }
  return { flags, rest };
}

/**
 * Every config key with its command-line type, its value in `base` (default RUN_DEFAULTS) and one
 * line of help, in the order of RUN_DEFAULTS.
 */
export function describeOptions(base: RunConfig = RUN_DEFAULTS): ConfigOption[] {
  const fallback: Json = { augment: { weak: DEFAULT_WEAK_CONFIG, strong: DEFAULT_STRONG_CONFIG } };
  return PATHS.map((path) => {
    const spec = SCHEMA[path]!;
    const v = [base, RUN_DEFAULTS, fallback].map((c) => getPath(c, path)).find((x) => x !== undefined);
    return { path, type: spec.kind.type, default: copy(v) as ConfigValue, help: spec.help };
  });
}

/** A value as the command line writes it: null, numbers, strings, lists as A,B. */
export function formatConfigValue(v: ConfigValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.join(",");
  return String(v);
}

/** Aligned help lines, one per key: `  --model.d N   model width d (…) (default 128)`. */
export function configHelpText(base: RunConfig = RUN_DEFAULTS): string {
  const rows = describeOptions(base).map((o) => [`--${o.path} ${o.type}`, `${o.help} (default ${formatConfigValue(o.default)})`] as const);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`).join("\n");
}

/** Aligned help lines for CONFIG_FLAG_SHORTCUTS: `  --steps N   = --budget.steps N (…)`. */
export function shortcutHelpText(): string {
  const rows = Object.entries(CONFIG_FLAG_SHORTCUTS).map(([name, path]) => {
    const type = SCHEMA[path]!.kind.type;
    const note = BUDGET_SHORTCUTS.includes(name) ? " (the other budget limits become null)" : "";
    return [`--${name} ${type}`, `= --${path}${note}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`).join("\n");
}
