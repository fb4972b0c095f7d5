// Deterministic release of native memory.
//
// Every tensor created while a scope is open belongs to the innermost scope. `tidy(fn)` opens a
// scope, runs fn, then disposes every tensor the scope owns except those reachable from fn's
// return value (tensors, arrays, Maps, Sets and plain objects are searched); those move to the
// enclosing scope. `keep(t)` takes a tensor out of scope management for good (parameters,
// optimizer state). Tensors created outside any scope are yours: dispose() them, or let the
// garbage collector's finalizer free them (a safety net only: it runs late or not at all).

export interface Tracked {
  dispose(): void;
  /** Set by keep(): no scope will dispose it. */
  kept: boolean;
  /** The scope that will dispose it, if any. */
  scope: Scope | null;
}

export class Scope {
  readonly owned = new Set<Tracked>();
  constructor(readonly parent: Scope | null) {}
}

let current: Scope | null = null;

export function track(t: Tracked): void {
  if (current !== null) {
    t.scope = current;
    current.owned.add(t);
  }
}

/** Exempts a tensor (or every tensor in a structure) from scope disposal; returns its argument. */
export function keep<T>(value: T): T {
  visitTracked(value, (t) => {
    t.kept = true;
    t.scope?.owned.delete(t);
    t.scope = null;
  });
  return value;
}

function isTracked(v: unknown): v is Tracked {
  return typeof v === "object" && v !== null && "kept" in v && "scope" in v && typeof (v as Tracked).dispose === "function";
}

function visitTracked(value: unknown, fn: (t: Tracked) => void, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (isTracked(value)) {
    fn(value);
    return;
  }
  if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) visitTracked(v, fn, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) visitTracked(v, fn, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) visitTracked(v, fn, seen);
  }
}

function isPromiseLike(v: unknown): boolean {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

/**
 * Runs fn in a new scope and disposes every tensor created inside it except those returned.
 * fn must be synchronous: an async fn would let other code's tensors land in this scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope(current);
  current = scope;
  let result: T;
  try {
    result = fn();
  } catch (err) {
    current = scope.parent;
    for (const t of scope.owned) t.dispose();
    throw err;
  }
  current = scope.parent;
  if (isPromiseLike(result)) {
    for (const t of scope.owned) t.dispose();
    throw new TypeError("tidy(fn): fn returned a Promise; tidy only supports synchronous functions");
  }
  const survivors = new Set<Tracked>();
  visitTracked(result, (t) => survivors.add(t));
  for (const t of scope.owned) {
    if (survivors.has(t)) {
      t.scope = scope.parent;
      scope.parent?.owned.add(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor in a structure (tensors, arrays, Maps, Sets, plain objects). */
export function dispose(value: unknown): void {
  visitTracked(value, (t) => t.dispose());
}

/** Forgets a tensor that was disposed by hand, so its scope does not hold it until it closes. */
export function untrack(t: Tracked): void {
  t.scope?.owned.delete(t);
  t.scope = null;
}
