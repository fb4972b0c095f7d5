// Calls an ATen operator by its qualified name ("aten::add.Tensor") through the native dispatcher.
// Operator ids are resolved once and cached. Native failures are rethrown as TorchError with the
// operator's name and a description of its inputs (dtype and shape of every tensor).
import { native, type Handle, type NativeValue } from "./native.ts";
import { TorchError } from "./errors.ts";
import { dtypeFromCode } from "./dtype.ts";

const ids = new Map<string, number>();

export function opId(qualified: string): number {
  let id = ids.get(qualified);
  if (id === undefined) {
    const dot = qualified.indexOf(".", qualified.indexOf("::") + 2);
    const name = dot < 0 ? qualified : qualified.slice(0, dot);
    const overload = dot < 0 ? "" : qualified.slice(dot + 1);
    try {
      id = native.resolve(name, overload);
    } catch (err) {
      throw new TorchError(qualified.replace(/^aten::/, ""), (err as Error).message.trim(), "");
    }
    ids.set(qualified, id);
  }
  return id;
}

/** The schema text of an operator, e.g. for messages and documentation. */
export function opSchema(qualified: string): string {
  return native.schema(opId(qualified));
}

function describeHandle(h: unknown): string {
  try {
    const [code, shape, device] = native.meta(h as Handle);
    const dtypes: Record<number, string> = { 0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32", 7: "float64", 11: "bool", 15: "bfloat16" };
    return `${dtypes[code] ?? `dtype${code}`}[${shape.join(",")}]${device === "cpu" ? "" : `@${device}`}`;
  } catch {
    try {
      return native.isDisposed(h as Handle) ? "<disposed tensor>" : "<tensor>";
    } catch {
      return "<not a tensor>";
    }
  }
}

export function describeArgs(args: readonly unknown[]): string {
  return args
    .filter((a) => a !== undefined)
    .map((a) => {
      if (Array.isArray(a)) return `[${a.map((x) => (typeof x === "object" && x !== null ? describeHandle(x) : String(x))).join(", ")}]`;
      if (typeof a === "object" && a !== null) return describeHandle(a);
      return typeof a === "string" ? JSON.stringify(a) : String(a);
    })
    .join(", ");
}

/** The type of each argument in an operator's schema text ("aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor" → ["Tensor", "ScalarType?"]). */
export function schemaArgTypes(schema: string): string[] {
  const open = schema.indexOf("(");
  const parts: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < schema.length; i++) {
    const c = schema[i];
    if (c === "(" || c === "[") depth++;
    else if (c === "]" || (c === ")" && depth > 0)) depth--;
    else if (c === ")" || (c === "," && depth === 0)) {
      parts.push(schema.slice(start, i));
      start = i + 1;
      if (c === ")") break;
    }
  }
  // Each part is "TYPE NAME[=DEFAULT]"; TYPE may hold spaces ("Tensor(a -> *)").
  return parts
    .map((p) => p.replace(/=.*$/s, "").trim())
    .filter((p) => p !== "" && p !== "*")
    .map((p) => p.slice(0, p.lastIndexOf(" ")).trim());
}

// Positions of ScalarType arguments per operator id. libtorch looks the code up in a table without
// a range check, so a bad one (op("aten::to.dtype", t, -1)) crashed the process: check it here.
const scalarTypeArgs = new Map<number, number[]>();

function checkScalarTypes(id: number, qualified: string, args: unknown[]): void {
  let positions = scalarTypeArgs.get(id);
  if (positions === undefined) {
    positions = schemaArgTypes(native.schema(id)).flatMap((type, i) => (/^ScalarType\??$/.test(type) ? [i] : []));
    scalarTypeArgs.set(id, positions);
  }
  for (const i of positions) {
    const v = args[i];
    if (v === undefined || v === null) continue;
    let ok = typeof v === "number";
    try {
      if (ok) dtypeFromCode(v as number);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new TorchError(qualified.replace(/^aten::/, ""), `argument ${i} must be the ScalarType code of a gcrl dtype, got ${String(v)}`, describeArgs(args));
    }
  }
}

/** Calls an operator with native arguments (handles, numbers, ...); returns native results. */
export function callOp(qualified: string, args: unknown[], discard = false): NativeValue | undefined {
  const id = opId(qualified);
  checkScalarTypes(id, qualified, args);
  try {
    return native.call(id, args, discard);
  } catch (err) {
    // libtorch appends a dump of the dispatcher's kernel table after a blank line: keep the sentence.
    const message = ((err as Error).message.split("\n\n")[0] ?? "").trim();
    throw new TorchError(qualified.replace(/^aten::/, ""), message, describeArgs(args));
  }
}
