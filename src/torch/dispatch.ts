// Calls an ATen operator by its qualified name ("aten::add.Tensor") through the native dispatcher.
// Operator ids are resolved once and cached. Native failures are rethrown as TorchError with the
// operator's name and a description of its inputs (dtype and shape of every tensor).
import { native, type Handle, type NativeValue } from "./native.ts";
import { TorchError } from "./errors.ts";

const ids = new Map<string, number>();

export function opId(qualified: string): number {
  let id = ids.get(qualified);
  if (id === undefined) {
    const dot = qualified.indexOf(".", qualified.indexOf("::") + 2);
    const name = dot < 0 ? qualified : qualified.slice(0, dot);
    const overload = dot < 0 ? "" : qualified.slice(dot + 1);
    id = native.resolve(name, overload);
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
    return "<disposed tensor>";
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

/** Calls an operator with native arguments (handles, numbers, ...); returns native results. */
export function callOp(qualified: string, args: unknown[], discard = false): NativeValue | undefined {
  const id = opId(qualified);
  try {
    return native.call(id, args, discard);
  } catch (err) {
    // libtorch appends a dump of the dispatcher's kernel table after a blank line: keep the sentence.
    const message = ((err as Error).message.split("\n\n")[0] ?? "").trim();
    throw new TorchError(qualified.replace(/^aten::/, ""), message, describeArgs(args));
  }
}
