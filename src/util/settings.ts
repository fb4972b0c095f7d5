// Settings declared once. A setting is a zod schema (its type, range and default) with a SettingInfo
// registered beside it (one line of help, the value's form on the command line, what a valid value
// is in words, how to read one from text). From that one declaration come:
//
//   z.output<typeof SECTION>   the TypeScript type
//   defaults                   SECTION.parse({}) (or the default in SettingInfo)
//   checkSettings(...)         validation, every problem at once, each naming its key:
//                              `optim.lr: expected a positive number, got "fast"`
//   settingRows / helpRows     --help lines and the tables of docs/*.md (generated, kept equal by tests)
//   SettingInfo.parse          `--model.d 64` → 64 with "expected a number, got 'x'"
//
// Rules that tie several keys together stay plain functions beside the section they belong to.
import { z } from "zod";
import { closeMatches } from "./close-matches.ts";

export interface SettingInfo {
  /** One line of help (--help, docs). */
  readonly help: string;
  /** The value's form on the command line: N (integer), X (number), true|false, a|b, A,B, NAME, …|null. */
  readonly placeholder: string;
  /** What a valid value is, after "expected ": "an integer >= 1". */
  readonly expected: string;
  /** Command-line text → a value (checked afterwards by the schema); throws SettingTextError. */
  readonly parse: (raw: string) => unknown;
  /** The declared default (absent: the setting has none and must be given). */
  readonly default?: unknown;
  /** How the default reads when it is derived ("0.8·jitterStrength"). */
  readonly defaultText?: string;
  /** The command-line option, where it is not the key's dotted path ("knn-k"). */
  readonly flag?: string;
}

/** Every declared setting's info, by its (outermost) schema. */
export const SETTING_INFO = z.registry<SettingInfo>();

/** Command-line text that is not a value of the setting's kind ("expected a number, got 'fast'"). */
export class SettingTextError extends Error {}

interface Declared<T> {
  help: string;
  /** Absent: no default (the value must be given). */
  default?: T;
  defaultText?: string;
  placeholder?: string;
  /** Overrides the derived wording of what a valid value is. */
  expected?: string;
  /** The command-line option, where it is not the key's dotted path. */
  flag?: string;
}

function declare<T>(schema: z.ZodType<T>, o: Declared<T>, kind: { placeholder: string; expected: string; parse: (raw: string) => unknown }): z.ZodType<T> {
  const outer = (o.default === undefined ? schema : schema.default(o.default as never)) as z.ZodType<T>;
  SETTING_INFO.add(outer, {
    help: o.help,
    placeholder: o.placeholder ?? kind.placeholder,
    expected: o.expected ?? kind.expected,
    parse: kind.parse,
    ...(o.default !== undefined ? { default: o.default } : {}),
    ...(o.defaultText !== undefined ? { defaultText: o.defaultText } : {}),
    ...(o.flag !== undefined ? { flag: o.flag } : {}),
  });
  return outer;
}

// ---------------------------------------------------------------------------------------------
// Reading command-line text.

export function parseNumberText(raw: string): number {
  const t = raw.trim();
  const n = Number(t);
  if (t === "" || !Number.isFinite(n)) throw new SettingTextError(`expected a number, got '${raw}'`);
  return n;
}

function parseBoolText(raw: string): boolean {
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new SettingTextError(`expected true or false, got '${raw}'`);
}

/** Two numbers "A,B" (or "[A, B]"). */
function parsePairText(raw: string): number[] {
  const parts = raw.trim().replace(/^\[(.*)\]$/, "$1").split(",");
  const nums = parts.map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((p) => p.trim() === "") || !nums.every(Number.isFinite)) throw new SettingTextError(`expected two numbers A,B, got '${raw}'`);
  return nums;
}

/** A comma list of names or integers ("0,1,2", "Coat,Shirt"). */
export function parseListText(raw: string): (string | number)[] {
  const items = raw.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) throw new SettingTextError(`expected a comma-separated list, got '${raw}'`);
  return items.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const orNullText = (parse: (raw: string) => unknown) => (raw: string): unknown => (raw === "null" ? null : parse(raw));

/** The command-line form of a list setting that may be null: `A,B,…|null`. */
export const orNullList = { placeholder: "A,B,…|null", parse: orNullText(parseListText) } as const;

// ---------------------------------------------------------------------------------------------
// The kinds of setting.

interface IntRange {
  min: number;
  max?: number;
}
const intWords = (r: IntRange): string => (r.max === undefined ? `an integer >= ${r.min}` : `an integer in [${r.min}, ${r.max}]`);
const intSchema = (r: IntRange): z.ZodNumber => {
  const s = z.number().int().min(r.min);
  return r.max === undefined ? s : s.max(r.max);
};

/** An integer in [min, max]. */
export function int(o: Declared<number> & IntRange): z.ZodType<number> {
  return declare(intSchema(o), o, { placeholder: "N", expected: intWords(o), parse: parseNumberText });
}

/** null or an integer in [min, max]. */
export function intOrNull(o: Declared<number | null> & IntRange): z.ZodType<number | null> {
  return declare(intSchema(o).nullable(), o, { placeholder: "N|null", expected: `null or ${intWords(o)}`, parse: orNullText(parseNumberText) });
}

interface NumRange {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  lt?: number;
}
function numWords(r: NumRange): string {
  if (r.gt === 0 && r.max === undefined && r.lt === undefined) return "a positive number";
  const lo = r.min !== undefined ? `[${r.min}` : r.gt !== undefined ? `(${r.gt}` : null;
  const hi = r.max !== undefined ? `${r.max}]` : r.lt !== undefined ? `${r.lt})` : null;
  if (lo !== null && hi !== null) return `a number in ${lo}, ${hi}`;
  if (r.min !== undefined) return `a number >= ${r.min}`;
  if (r.gt !== undefined) return `a number > ${r.gt}`;
  return "a number";
}
const inRange = (r: NumRange) => (x: number): boolean =>
  (r.min === undefined || x >= r.min) && (r.gt === undefined || x > r.gt) && (r.max === undefined || x <= r.max) && (r.lt === undefined || x < r.lt);

/** A finite number within the bounds given. */
export function num(o: Declared<number> & NumRange): z.ZodType<number> {
  return declare(z.number().refine(inRange(o)), o, { placeholder: "X", expected: numWords(o), parse: parseNumberText });
}

/** null or a finite number within the bounds given. */
export function numOrNull(o: Declared<number | null> & NumRange): z.ZodType<number | null> {
  return declare(z.number().refine(inRange(o)).nullable(), o, { placeholder: "X|null", expected: `null or ${numWords(o)}`, parse: orNullText(parseNumberText) });
}

export function bool(o: Declared<boolean>): z.ZodType<boolean> {
  return declare(z.boolean(), o, { placeholder: "true|false", expected: "true or false", parse: parseBoolText });
}

/** One of a few names. */
export function choice<const T extends readonly [string, ...string[]]>(options: T, o: Declared<T[number]>): z.ZodType<T[number]> {
  return declare(z.enum(options) as unknown as z.ZodType<T[number]>, o, {
    placeholder: options.join("|"),
    expected: `one of ${options.map((x) => JSON.stringify(x)).join(", ")}`,
    parse: (raw) => raw,
  });
}

/** A non-empty string. */
export function text(o: Declared<string> & { placeholder: string }): z.ZodType<string> {
  return declare(z.string().min(1), o, { placeholder: o.placeholder, expected: "a non-empty string", parse: (raw) => raw });
}

/** null or a non-empty string. */
export function textOrNull(o: Declared<string | null> & { placeholder: string }): z.ZodType<string | null> {
  return declare(z.string().min(1).nullable(), o, { placeholder: `${o.placeholder}|null`, expected: "null or a non-empty string", parse: orNullText((raw) => raw) });
}

/** Two numbers [lo, hi] with ok(lo, hi) and (unless `unordered`) lo <= hi; a frozen tuple. */
export function pair(o: Declared<readonly [number, number]> & { expected: string; ok: (lo: number, hi: number) => boolean; unordered?: boolean }): z.ZodType<readonly [number, number]> {
  const schema = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => (o.unordered === true || lo <= hi) && o.ok(lo, hi)).readonly();
  return declare(schema as z.ZodType<readonly [number, number]>, o, { placeholder: "A,B", expected: o.expected, parse: parsePairText });
}

/** Any other schema, declared with its help and its command-line form. */
export function custom<T>(schema: z.ZodType<T>, o: Declared<T> & { placeholder: string; expected: string; parse: (raw: string) => unknown }): z.ZodType<T> {
  return declare(schema, o, o);
}

/** A section that is filled from its declared defaults when absent. */
export function defaulted<S extends z.ZodObject>(section: S): z.ZodPrefault<S> {
  return section.prefault({} as z.input<S>);
}

// ---------------------------------------------------------------------------------------------
// Walking a declaration.

type AnySchema = z.ZodType;

/** The schema under wrappers (default, prefault, optional, nullable, readonly). */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema as AnySchema & { def: { type: string; innerType?: AnySchema } };
  while (["default", "prefault", "optional", "nullable", "readonly"].includes(s.def.type) && s.def.innerType !== undefined) s = s.def.innerType as typeof s;
  return s;
}

/** The keys of an object schema (after unwrapping), or null when it is not one. */
export function objectShape(schema: AnySchema): Readonly<Record<string, AnySchema>> | null {
  const s = unwrap(schema);
  return s instanceof z.ZodObject ? (s.shape as Record<string, AnySchema>) : null;
}

/** The declared leaf at a dotted path (its schema and info), or null. */
export function settingAt(schema: AnySchema, path: string): { schema: AnySchema; info: SettingInfo } | null {
  let s: AnySchema | undefined = schema;
  for (const part of path.split(".")) {
    const shape: Readonly<Record<string, AnySchema>> | null = s === undefined ? null : objectShape(s);
    s = shape !== null && Object.hasOwn(shape, part) ? shape[part] : undefined;
  }
  const info = s === undefined ? undefined : SETTING_INFO.get(s);
  return s === undefined || info === undefined ? null : { schema: s, info };
}

/** Every leaf path of a declaration, in declaration order ("model.d", "model.heads", …). */
export function settingPaths(schema: AnySchema, prefix = ""): string[] {
  const shape = objectShape(schema);
  if (shape === null || SETTING_INFO.has(schema)) return prefix === "" ? [] : [prefix];
  return Object.entries(shape).flatMap(([k, s]) => settingPaths(s, prefix === "" ? k : `${prefix}.${k}`));
}

/** Every object path of a declaration ("" the top, "augment", "augment.weak", …) → its keys. */
export function sectionKeys(schema: AnySchema, prefix = "", out = new Map<string, string[]>()): Map<string, string[]> {
  const shape = objectShape(schema);
  if (shape === null || SETTING_INFO.has(schema)) return out;
  out.set(prefix, Object.keys(shape));
  for (const [k, s] of Object.entries(shape)) sectionKeys(s, prefix === "" ? k : `${prefix}.${k}`, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Problems, worded.

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A value as messages show it: strings quoted, lists as [a, b], objects as "an object", missing as "nothing". */
export function showValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map(showValue).join(", ")}]`;
  if (isPlainObject(v)) return "an object";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const joinPath = (a: string, b: string): string => (a === "" ? b : b === "" ? a : `${a}.${b}`);

function valueAt(v: unknown, parts: readonly PropertyKey[]): unknown {
  for (const p of parts) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** How a section words the two problems that are not about one value. */
export interface ProblemStyle {
  /** An unknown key `key` in the object at `at` (known: its keys). */
  unknownKey(at: string, key: string, known: readonly string[]): string;
  /** The object at `at` is not an object. */
  notObject(at: string, value: unknown): string;
}

export const DEFAULT_PROBLEM_STYLE: ProblemStyle = {
  unknownKey(at, key, known) {
    const near = closeMatches(key, known);
    return `${joinPath(at, key)}: unknown key${near.length ? `; did you mean ${near.map((n) => joinPath(at, n)).join(" or ")}?` : ""} (known: ${known.join(", ")})`;
  },
  notObject: (at, value) => `${at}: expected an object, got ${showValue(value)}`,
};

export interface SettingsCheck<T> {
  /** The parsed value (defaults filled in, keys in declaration order), or null when there are problems. */
  value: T | null;
  /** Every problem, each starting with its key's path (prefixed). */
  problems: string[];
  /** The paths (relative, unprefixed) whose value failed, so that rules tying keys together can skip them. */
  bad: Set<string>;
}

/**
 * Checks `value` against a declaration. Each problem names its key (`prefix.key`): a declared value
 * that fails reads `expected <SettingInfo.expected>, got <value>`; unknown keys and non-objects are
 * worded by `style`; a rule's own message (a refine on a section) is kept.
 */
export function checkSettings<S extends AnySchema>(schema: S, value: unknown, prefix = "", style: ProblemStyle = DEFAULT_PROBLEM_STYLE): SettingsCheck<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { value: result.data, problems: [], bad: new Set() };
  const problems: string[] = [];
  const bad = new Set<string>();
  for (const issue of result.error.issues) {
    // The declared leaf or the object the issue is about: walk down while objects go on.
    let s: AnySchema = schema;
    let depth = 0;
    while (depth < issue.path.length && !SETTING_INFO.has(s)) {
      const shape = objectShape(s);
      const key = String(issue.path[depth]);
      if (shape === null || !Object.hasOwn(shape, key)) break;
      s = shape[key]!;
      depth++;
    }
    const parts = issue.path.slice(0, depth);
    const rel = parts.map(String).join(".");
    const at = joinPath(prefix, rel);
    const info = SETTING_INFO.get(s);
    let message: string;
    if (issue.code === "unrecognized_keys" && info === undefined) {
      const known = Object.keys(objectShape(s) ?? {});
      for (const key of issue.keys) {
        problems.push(style.unknownKey(at, key, known));
        bad.add(joinPath(rel, key));
      }
      continue;
    } else if (info !== undefined) {
      message = `${at}: expected ${info.expected}, got ${showValue(valueAt(value, parts))}`;
    } else if (objectShape(s) !== null && issue.code === "invalid_type" && depth === issue.path.length) {
      message = style.notObject(at, valueAt(value, parts));
    } else {
      message = `${joinPath(prefix, issue.path.map(String).join("."))}: ${issue.message}`;
    }
    if (!problems.includes(message)) problems.push(message);
    bad.add(rel);
  }
  return { value: null, problems, bad };
}

// ---------------------------------------------------------------------------------------------
// Help and docs.

export interface SettingRow {
  path: string;
  placeholder: string;
  /** The value in the config described, else the declared default (undefined: none). */
  value: unknown;
  /** The declared default's wording, for derived defaults. */
  defaultText?: string;
  help: string;
}

/** One row per declared leaf, in declaration order; values from `values` where it has them. */
export function settingRows(schema: AnySchema, values?: unknown): SettingRow[] {
  return settingPaths(schema).map((path) => {
    const { info } = settingAt(schema, path)!;
    const given = values === undefined ? undefined : valueAt(values, path.split("."));
    return {
      path,
      placeholder: info.placeholder,
      value: given !== undefined ? given : info.default,
      ...(info.defaultText !== undefined ? { defaultText: info.defaultText } : {}),
      help: info.help,
    };
  });
}

/** A value as the command line writes it: null, numbers, strings, lists as A,B. */
export function formatSettingValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.join(",");
  return String(v);
}

/** Aligned help lines: `  --model.d N   model width d (…) (default 128)`. */
export function settingHelpLines(rows: readonly SettingRow[], flag: (path: string) => string = (p) => p): string {
  const lines = rows.map((r) => [`--${flag(r.path)} ${r.placeholder}`, r.value === undefined ? r.help : `${r.help} (default ${formatSettingValue(r.value)})`] as const);
  const width = Math.max(...lines.map(([f]) => f.length));
  return lines.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join("\n");
}

/**
 * A Markdown table of settings: key, value form, default, meaning — with an "option" column after
 * the key when `optionOf` is given (the command-line option of each key).
 */
export function settingsMarkdown(
  rows: readonly SettingRow[],
  keyOf: (path: string) => string = (p) => `\`${p}\``,
  options: { keyHeader?: string; optionOf?: (path: string) => string } = {},
): string {
  const cell = (s: string): string => s.replaceAll("|", "\\|");
  const option = options.optionOf;
  const head = [options.keyHeader ?? "key", ...(option ? ["option"] : []), "value", "default", "meaning"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of rows) {
    const def = r.defaultText ?? (r.value === undefined ? "(required)" : `\`${formatSettingValue(r.value)}\``);
    const cells = [keyOf(r.path), ...(option ? [option(r.path)] : []), cell(r.placeholder), cell(def), cell(r.help)];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
