// The one JSON layout of every file gcrl writes (config.json, eval.json, study.json, …): two-space
// indentation and a final newline, so files diff line by line and end like text files.

/** JSON with two-space indentation and a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
