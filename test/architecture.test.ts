// The layers of src/, as the data flows (issue 16):
//
//   torch → metrics → data → model → train → eval → report → study → cli
//
// A file may import its own layer or any layer to its left, never one to its right ("upward").
// src/torch holds the native binding's wrapper (native.ts), so it is the bottom layer; src/metrics
// holds the measures that both training and evaluation compute (the kNN classifier), so it sits
// below train. src/util is layer-free (importable from every layer, and imports only util);
// src/index.ts is the public API and may import anything, but nothing in src/ imports it. Besides,
// no two files may import each other, directly or through others (a cycle), even inside one layer,
// and above src/torch tensors are used through typed methods and functions: no file outside it
// imports the raw operator calls (op, opT, atenOp, callOp, the native binding).
//
// Imports are read from TypeScript's syntax tree of each file: `import … from "…"`, `export … from
// "…"`, `import "…"`, `import("…")` and `import("…").Type`, relative specifiers only (packages and
// node: builtins are outside the layers).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const SRC = join(ROOT, "src");

/** Layers bottom to top; a layer's index is its height. */
const LAYERS = ["torch", "metrics", "data", "model", "train", "eval", "report", "study", "cli"] as const;

/** What src/torch exports that calls an operator by name or the binding directly: for src/torch only. */
const RAW_CALLS = new Set(["op", "opT", "atenOp", "callOp", "opId", "native"]);

/** Every .ts file under dir, as absolute paths. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/**
 * The relative module specifiers a file imports — `import … from`, `export … from` (`export * as`
 * too), `import "…"`, `import("…")` and `import("…").Type` — read from TypeScript's syntax tree, so
 * comments and strings are no trouble.
 */
function relativeImports(text: string): string[] {
  const source = ts.createSourceFile("file.ts", text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const specs = new Set<string>();
  const add = (node: ts.Node | undefined): void => {
    if (node !== undefined && ts.isStringLiteralLike(node) && node.text.startsWith(".")) specs.add(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...specs];
}

/** Names imported from each relative specifier (named imports and `* as ns` namespaces, whose name is reported as "* as ns"). */
function importedNames(text: string): { spec: string; names: string[] }[] {
  const source = ts.createSourceFile("file.ts", text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: { spec: string; names: string[] }[] = [];
  for (const st of source.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier) || !st.moduleSpecifier.text.startsWith(".")) continue;
    const names: string[] = [];
    const bindings = st.importClause?.namedBindings;
    if (bindings !== undefined && ts.isNamedImports(bindings)) for (const e of bindings.elements) names.push((e.propertyName ?? e.name).text);
    if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push(`* as ${bindings.name.text}`);
    out.push({ spec: st.moduleSpecifier.text, names });
  }
  return out;
}

/** "file imports X from src/torch/…" for every raw operator call imported outside src/torch. */
function rawOperatorImports(): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(SRC)) {
    if (layerOf(file) === "torch") continue;
    for (const { spec, names } of importedNames(readFileSync(file, "utf8"))) {
      const target = resolve(dirname(file), spec);
      if (layerOf(target) !== "torch") continue;
      for (const name of names) if (RAW_CALLS.has(name)) bad.push(`${relative(ROOT, file)} imports ${name} from ${relative(ROOT, target)}`);
    }
  }
  return bad;
}

/** "torch" … "cli", "util", "index" (src/index.ts), or null for a file outside every known layer. */
function layerOf(file: string): string | null {
  const rel = relative(SRC, file).split("/");
  if (rel.length === 1) return rel[0] === "index.ts" ? "index" : null;
  const top = rel[0]!;
  return top === "util" || (LAYERS as readonly string[]).includes(top) ? top : null;
}

/** The import graph of src/: file (relative to the repository root) → files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(SRC)) {
    const targets = relativeImports(readFileSync(file, "utf8")).map((s) => resolve(dirname(file), s));
    graph.set(relative(ROOT, file), targets.map((t) => relative(ROOT, t)));
  }
  return graph;
}

/** "a → b (why)" for every import that breaks the layer order. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    const lf = layerOf(join(ROOT, from));
    if (lf === null) {
      bad.push(`${from}: not in any layer (${LAYERS.join(", ")}, util, index.ts)`);
      continue;
    }
    for (const to of targets) {
      const lt = layerOf(join(ROOT, to));
      if (!to.startsWith("src/")) bad.push(`${from} → ${to}: imports from outside src/`);
      else if (lt === "index") bad.push(`${from} → ${to}: nothing in src/ imports the public index`);
      else if (lt === null) bad.push(`${from} → ${to}: target is not in any layer`);
      else if (lf === "index" || lt === "util") continue;
      else if (lf === "util") bad.push(`${from} → ${to}: util imports only util`);
      else if (LAYERS.indexOf(lt as (typeof LAYERS)[number]) > LAYERS.indexOf(lf as (typeof LAYERS)[number])) {
        bad.push(`${from} → ${to}: ${lf} imports upward from ${lt}`);
      }
    }
  }
  return bad;
}

/** Every import cycle, each as "a → b → … → a", found once (by Tarjan's strongly connected components, then one cycle per component). */
function importCycles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  // One concrete cycle per component: breadth-first from its first file back to itself.
  return components.map((comp) => {
    const inComp = new Set(comp);
    const start = comp[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | null = null;
    while (queue.length > 0 && end === null) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    const others = comp.length > path.length ? ` (component of ${comp.length} files: ${comp.join(", ")})` : "";
    return `${[...path, start].join(" → ")}${others}`;
  });
}

test("the import reader sees every form of relative import and ignores comments and packages", () => {
  const text = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b.ts";`,
    `export { c } from "./c.ts";`,
    `export * as d from "./d/index.ts";`,
    `import {\n  e,\n  f,\n} from "./ef.ts";`,
    `import "./side.ts";`,
    `const g = await import("./g.ts");`,
    `import { x } from "node:fs";`,
    `import sharp from "sharp";`,
    `// import { h } from "./commented.ts";`,
    `/* export { i } from "./block.ts"; */`,
    `// writes eval/*.png, then`,
    `import { j } from "./after-glob.ts"; // a "/*" in a comment hides nothing`,
    `let k: import("./k.ts").K;`,
  ].join("\n");
  assert.deepEqual(relativeImports(text).sort(), ["../b.ts", "./a.ts", "./after-glob.ts", "./c.ts", "./d/index.ts", "./ef.ts", "./g.ts", "./k.ts", "./side.ts"]);
});

test("no file in src/ imports upward (torch → metrics → data → model → train → eval → report → study → cli; util from anywhere)", () => {
  const bad = upwardImports(importGraph());
  assert.deepEqual(bad, [], `${bad.length} upward import(s):\n  ${bad.join("\n  ")}`);
});

test("no file outside src/torch calls operators by name (op, opT, callOp, …): typed Tensor methods and torch functions instead", () => {
  const bad = rawOperatorImports();
  assert.deepEqual(bad, [], `${bad.length} raw operator import(s):\n  ${bad.join("\n  ")}`);
});

test("no import cycle between files of src/", () => {
  const cycles = importCycles(importGraph());
  assert.deepEqual(cycles, [], `${cycles.length} import cycle(s):\n  ${cycles.join("\n  ")}`);
});
