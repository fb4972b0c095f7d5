// JSON text with the place of a syntax error: "line 4, column 3" (JSON.parse does not always say where).

/** The position of the first syntax error in JSON text (JSON.parse does not always say where). */
export function jsonErrorOffset(src: string): number {
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

/** A syntax error in JSON text, with its 1-based line and column and JSON.parse's reason. */
export class JsonTextError extends Error {
  constructor(readonly line: number, readonly column: number, readonly reason: string) {
    super(`${line}:${column}: ${reason}`);
  }
}

/**
 * Parses JSON text (a leading byte-order mark is skipped); a syntax error becomes a JsonTextError
 * whose reason is JSON.parse's without its position, plus a hint where a comment was written.
 */
export function parseJsonText(textIn: string): unknown {
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
    throw new JsonTextError(line, column, `${reason}${hint}`);
  }
}
