// Errors raised by the tensor layer.

/** A libtorch failure (or a gcrl argument check) naming the operation and its inputs. */
export class TorchError extends Error {
  constructor(
    readonly op: string,
    readonly detail: string,
    readonly inputs: string,
  ) {
    super(`${op}: ${detail}${inputs ? ` (inputs: ${inputs})` : ""}`);
    this.name = "TorchError";
  }
}

/** Throws a TypeError/RangeError-style message with the argument name and what was expected. */
export function argError(op: string, arg: string, expected: string, got: unknown): never {
  throw new TorchError(op, `argument '${arg}' must be ${expected}, got ${describeValue(got)}`, "");
}

export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describeValue).join(", ")}]`;
  if (v === null || v === undefined || typeof v !== "object") return String(v);
  return (v as { toString(): string }).toString();
}
