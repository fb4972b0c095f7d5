// Element types: names used in the API, libtorch's ScalarType codes, and matching TypedArrays.

export type DType = "float32" | "float64" | "bfloat16" | "float16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";
export type Device = "cpu" | "cuda" | `cuda:${number}`;

export const DTYPES: readonly DType[] = ["float32", "float64", "bfloat16", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"];

// c10::ScalarType enum values (c10/core/ScalarType.h).
const CODE: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};
const BY_CODE = new Map<number, DType>(Object.entries(CODE).map(([k, v]) => [v, k as DType]));

export const ELEMENT_BYTES: Record<DType, number> = {
  uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, float16: 2, float32: 4, float64: 8, bool: 1, bfloat16: 2,
};

/**
 * TypedArray per dtype. bfloat16 and float16 travel as their raw 16-bit patterns (Uint16Array);
 * bool as one byte per element (0/1).
 */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  bfloat16: Uint16Array;
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type AnyTypedArray = TypedArrayFor[DType];

export function dtypeCode(dtype: DType): number {
  const code = CODE[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${String(dtype)}'; expected one of ${DTYPES.join(", ")}`);
  return code;
}

export function dtypeFromCode(code: number): DType {
  const d = BY_CODE.get(code);
  if (d === undefined) throw new TypeError(`libtorch scalar type ${code} is not supported by gcrl`);
  return d;
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "bfloat16" || dtype === "float16";
}

/** Wraps raw bytes as the TypedArray of a dtype (no copy). */
export function typedArrayOf<D extends DType>(dtype: D, buffer: ArrayBuffer, byteOffset = 0, length?: number): TypedArrayFor[D] {
  const n = length ?? (buffer.byteLength - byteOffset) / ELEMENT_BYTES[dtype];
  const make = {
    float32: () => new Float32Array(buffer, byteOffset, n),
    float64: () => new Float64Array(buffer, byteOffset, n),
    bfloat16: () => new Uint16Array(buffer, byteOffset, n),
    float16: () => new Uint16Array(buffer, byteOffset, n),
    int64: () => new BigInt64Array(buffer, byteOffset, n),
    int32: () => new Int32Array(buffer, byteOffset, n),
    int16: () => new Int16Array(buffer, byteOffset, n),
    int8: () => new Int8Array(buffer, byteOffset, n),
    uint8: () => new Uint8Array(buffer, byteOffset, n),
    bool: () => new Uint8Array(buffer, byteOffset, n),
  }[dtype];
  return make() as TypedArrayFor[D];
}

/** The dtype a TypedArray naturally holds (Uint16Array is ambiguous and must be named). */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return "uint8";
  throw new TypeError(`cannot infer a dtype from ${a.constructor.name}; pass { dtype } explicitly`);
}
