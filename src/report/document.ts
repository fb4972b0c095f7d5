// Report documents (report.md + report.html of `gcrl eval all`, study.md/html of `gcrl study`): one
// block structure rendered two ways, so the Markdown and the HTML never disagree.
//
// Text in paragraphs, list items, table cells and captions is plain text with minimal inline markup
// (**bold**, `code`, [link](url); see inline-markup.ts); headings and alt texts are plain text.
// Markdown is GitHub-flavoured (tables; "images" side by side as a one-row table of images). HTML is
// one self-contained HTML5 file: inline CSS, no scripts, no external URLs (a Content-Security-Policy
// allows only same-folder/file images and the inline style), images by relative path.
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { makeFolder } from "../util/input-error.ts";
import { type Inline, checkLinkUrl, escapeLineStarts, escapeMarkdownText, inlineLinks, inlineToHtml, inlineToMarkdown, parseInline } from "./inline-markup.ts";
import { escapeXml } from "./xml-escape.ts";

/** A table cell: text (inline markup), a number (formatted by formatNumber) or null (shown as "n/a"). */
export type Cell = string | number | null;

export interface ImageRef {
  /** Relative to the report's folder, "/"-separated, e.g. "eval/roc.png". */
  path: string;
  alt: string;
  caption?: string;
}

export type Block =
  /** Level 1 is a top-level heading like the document title; sections usually use 2 and 3. */
  | { kind: "heading"; level: 1 | 2 | 3; text: string }
  | { kind: "paragraph"; text: string }
  | { kind: "list"; items: string[] }
  | { kind: "table"; header: string[]; rows: Cell[][]; align?: ("left" | "right")[]; caption?: string }
  | ({ kind: "image" } & ImageRef)
  /** Shown side by side. */
  | { kind: "images"; items: ImageRef[] }
  | { kind: "code"; text: string };

export interface ReportDocument {
  title: string;
  blocks: Block[];
}

/** Default number format in tables: integers as they are, others with 4 significant digits. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(3).replace(/\.?0+e/, "e").replace("e+", "e");
  if (a >= 1000) return v.toFixed(1);
  return String(Number(v.toPrecision(4)));
}

// ---- validation -----------------------------------------------------------------------------------

function fail(caller: string, where: string, what: string): never {
  throw new TypeError(`${caller}: ${where}: ${what}`);
}

function checkString(caller: string, where: string, v: unknown): string {
  if (typeof v !== "string") fail(caller, where, `expected a string, got ${v === null ? "null" : typeof v}`);
  return v;
}

function checkInline(caller: string, where: string, v: unknown): Inline[] {
  const nodes = parseInline(checkString(caller, where, v));
  for (const url of inlineLinks(nodes)) checkLinkUrl(url, `${caller}: ${where}`);
  return nodes;
}

function checkImagePath(caller: string, where: string, p: unknown): string {
  const path = checkString(caller, where, p);
  if (path === "" || isAbsolute(path) || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.includes("\\") || path.startsWith("//")) {
    fail(caller, where, `image path must be relative to the report's folder ("/"-separated, no URL), got '${path}'`);
  }
  return path;
}

/** Checks the document's shape (a clear error naming the block instead of a broken report). */
function checkDocument(caller: string, doc: ReportDocument): void {
  if (doc === null || typeof doc !== "object") fail(caller, "document", "expected { title, blocks }");
  checkString(caller, "title", doc.title);
  if (!Array.isArray(doc.blocks)) fail(caller, "blocks", "expected an array of blocks");
  doc.blocks.forEach((b, i) => {
    const at = `block ${i} (${(b as { kind?: unknown })?.kind})`;
    const image = (img: ImageRef, where: string): void => {
      checkImagePath(caller, `${where} path`, img?.path);
      checkString(caller, `${where} alt`, img.alt);
      if (img.caption !== undefined) checkInline(caller, `${where} caption`, img.caption);
    };
    switch (b?.kind) {
      case "heading":
        if (b.level !== 1 && b.level !== 2 && b.level !== 3) fail(caller, at, `heading level must be 1, 2 or 3, got ${b.level}`);
        checkString(caller, `${at} text`, b.text);
        break;
      case "paragraph":
        checkInline(caller, `${at} text`, b.text);
        break;
      case "code":
        checkString(caller, `${at} text`, b.text);
        break;
      case "list":
        if (!Array.isArray(b.items)) fail(caller, at, "items must be an array of strings");
        b.items.forEach((it, j) => checkInline(caller, `${at} item ${j}`, it));
        break;
      case "table": {
        if (!Array.isArray(b.header) || b.header.length === 0) fail(caller, at, "header must be a non-empty array of strings");
        b.header.forEach((h, j) => checkInline(caller, `${at} header ${j}`, h));
        if (b.align !== undefined && (!Array.isArray(b.align) || b.align.length !== b.header.length || b.align.some((a) => a !== "left" && a !== "right"))) {
          fail(caller, at, `align must hold "left" or "right" for each of the ${b.header.length} columns`);
        }
        if (!Array.isArray(b.rows)) fail(caller, at, "rows must be an array of arrays");
        b.rows.forEach((row, r) => {
          if (!Array.isArray(row) || row.length !== b.header.length) fail(caller, `${at} row ${r}`, `expected ${b.header.length} cells, got ${Array.isArray(row) ? row.length : typeof row}`);
          row.forEach((c, j) => {
            if (typeof c === "string") checkInline(caller, `${at} row ${r} column ${j}`, c);
            else if (c !== null && typeof c !== "number") fail(caller, `${at} row ${r} column ${j}`, `expected a string, number or null, got ${typeof c}`);
          });
        });
        if (b.caption !== undefined) checkInline(caller, `${at} caption`, b.caption);
        break;
      }
      case "image":
        image(b, at);
        break;
      case "images":
        if (!Array.isArray(b.items) || b.items.length === 0) fail(caller, at, "items must be a non-empty array of images");
        b.items.forEach((it, j) => image(it, `${at} item ${j}`));
        break;
      default:
        fail(caller, `block ${i}`, `unknown kind ${JSON.stringify((b as { kind?: unknown })?.kind)} (expected heading, paragraph, list, table, image, images or code)`);
    }
  });
}

/** The relative paths of every image in the document. */
export function documentImages(doc: ReportDocument): string[] {
  return doc.blocks.flatMap((b) => (b.kind === "image" ? [b.path] : b.kind === "images" ? b.items.map((it) => it.path) : []));
}

function cellText(c: Cell): string {
  return c === null ? "n/a" : typeof c === "number" ? formatNumber(c) : c;
}

/** Percent-encodes each path segment (spaces, parentheses, #, ? ...) for a URL. */
function encodePath(path: string): string {
  return path
    .split("/")
    .map((seg) => (seg === "." || seg === ".." ? seg : encodeURIComponent(seg).replace(/[()']/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)))
    .join("/");
}

// ---- Markdown ---------------------------------------------------------------------------------------

const mdInline = (s: string): string => escapeLineStarts(inlineToMarkdown(parseInline(s)));
/** Alt text inside ![...]: only brackets and backslashes are special. */
const mdAlt = (s: string): string => s.replace(/[\\[\]]/g, (c) => `\\${c}`).replace(/\s*\n\s*/g, " ");
const mdCell = (s: string): string => inlineToMarkdown(parseInline(s)).replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
const mdImage = (img: ImageRef): string => `![${mdAlt(img.alt)}](${encodePath(img.path)})`;

function blockToMarkdown(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `${"#".repeat(b.level)} ${escapeMarkdownText(b.text.replace(/\s*\n\s*/g, " "))}`;
    case "paragraph":
      return mdInline(b.text);
    case "list":
      return b.items.map((it) => `- ${mdInline(it).replace(/\n/g, "\n  ")}`).join("\n");
    case "code": {
      const longest = Math.max(2, ...(b.text.match(/^`+/gm) ?? []).map((r) => r.length));
      const fence = "`".repeat(longest + 1);
      return `${fence}\n${b.text.replace(/\n$/, "")}\n${fence}`;
    }
    case "table": {
      const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
      const rule = b.header.map((_, j) => (b.align?.[j] === "right" ? "---:" : b.align?.[j] === "left" ? ":---" : "---"));
      const lines = [line(b.header.map(mdCell)), line(rule), ...b.rows.map((row) => line(row.map((c) => mdCell(cellText(c)))))];
      return lines.join("\n") + (b.caption !== undefined ? `\n\n*${mdInline(b.caption)}*` : "");
    }
    case "image":
      return mdImage(b) + (b.caption !== undefined ? `\n\n*${mdInline(b.caption)}*` : "");
    case "images": {
      // GFM has no layout: a one-row table puts the pictures side by side, captions below
      const lines = [`| ${b.items.map((it) => mdImage(it).replace(/\|/g, "\\|")).join(" | ")} |`, `| ${b.items.map(() => ":---:").join(" | ")} |`];
      if (b.items.some((it) => it.caption !== undefined)) lines.push(`| ${b.items.map((it) => (it.caption !== undefined ? mdCell(it.caption) : "")).join(" | ")} |`);
      return lines.join("\n");
    }
  }
}

/** GitHub-flavoured Markdown: "# title", then the blocks separated by blank lines. */
export function toMarkdown(doc: ReportDocument): string {
  checkDocument("toMarkdown", doc);
  return [`# ${escapeMarkdownText(doc.title)}`, ...doc.blocks.map(blockToMarkdown)].join("\n\n") + "\n";
}

// ---- HTML ---------------------------------------------------------------------------------------------

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #222; background: #fff; line-height: 1.5; margin: 0; }
main { max-width: 1040px; margin: 0 auto; padding: 1.5em 1.5em 4em; }
h1 { font-size: 1.7em; border-bottom: 1px solid #ddd; padding-bottom: 0.3em; }
h2 { font-size: 1.35em; margin-top: 1.8em; border-bottom: 1px solid #eee; padding-bottom: 0.2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 0.9em; background: #f3f3f3; padding: 0.1em 0.3em; border-radius: 3px; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 0.8em 1em; overflow-x: auto; line-height: 1.35; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
caption { caption-side: bottom; text-align: left; font-style: italic; color: #555; padding-top: 0.4em; }
th, td { border: 1px solid #d6d6d6; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tbody tr:nth-child(even) { background: #fafafa; }
.r { text-align: right; font-variant-numeric: tabular-nums; }
.na { color: #888; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-style: italic; color: #555; font-size: 0.92em; }
.images { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.images figure { flex: 1 1 320px; margin: 0.5em 0; }
`.trim();

/** Allows only the inline style and images from the report's own place; no scripts, no requests elsewhere. */
const CSP = "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

function slug(text: string, used: Set<string>): string {
  const base = text.toLowerCase().normalize("NFKD").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "") || "section";
  let id = base;
  for (let k = 2; used.has(id); k++) id = `${base}-${k}`;
  used.add(id);
  return id;
}

function htmlFigure(img: ImageRef): string {
  const caption = img.caption !== undefined ? `<figcaption>${inlineToHtml(parseInline(img.caption))}</figcaption>` : "";
  return `<figure><img src="${escapeXml(encodePath(img.path))}" alt="${escapeXml(img.alt)}">${caption}</figure>`;
}

function blockToHtml(b: Block, ids: Set<string>): string {
  switch (b.kind) {
    case "heading":
      return `<h${b.level} id="${slug(b.text, ids)}">${escapeXml(b.text)}</h${b.level}>`;
    case "paragraph":
      return `<p>${inlineToHtml(parseInline(b.text))}</p>`;
    case "list":
      return `<ul>\n${b.items.map((it) => `<li>${inlineToHtml(parseInline(it))}</li>`).join("\n")}\n</ul>`;
    case "code":
      return `<pre><code>${escapeXml(b.text.replace(/\n$/, ""))}</code></pre>`;
    case "table": {
      const cls = (j: number, na = false): string => {
        const names = [b.align?.[j] === "right" ? "r" : "", na ? "na" : ""].filter((x) => x !== "");
        return names.length > 0 ? ` class="${names.join(" ")}"` : "";
      };
      const head = `<thead><tr>${b.header.map((h, j) => `<th${cls(j)}>${inlineToHtml(parseInline(h))}</th>`).join("")}</tr></thead>`;
      const body = b.rows.map((row) => `<tr>${row.map((c, j) => `<td${cls(j, c === null)}>${inlineToHtml(parseInline(cellText(c)))}</td>`).join("")}</tr>`).join("\n");
      const caption = b.caption !== undefined ? `<caption>${inlineToHtml(parseInline(b.caption))}</caption>\n` : "";
      return `<table>\n${caption}${head}\n<tbody>\n${body}\n</tbody>\n</table>`;
    }
    case "image":
      return htmlFigure(b);
    case "images":
      return `<div class="images">\n${b.items.map(htmlFigure).join("\n")}\n</div>`;
  }
}

/** One self-contained HTML5 page (inline CSS, no scripts, no external URLs). */
export function toHtml(doc: ReportDocument): string {
  checkDocument("toHtml", doc);
  const ids = new Set<string>();
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(doc.title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    "</head>",
    "<body>",
    "<main>",
    `<h1>${escapeXml(doc.title)}</h1>`,
    ...doc.blocks.map((b) => blockToHtml(b, ids)),
    "</main>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

// ---- files -------------------------------------------------------------------------------------------

export interface WrittenReport {
  /** Path of <dir>/<baseName>.md. */
  markdown: string;
  /** Path of <dir>/<baseName>.html. */
  html: string;
}

/**
 * Writes <dir>/<baseName>.md and <dir>/<baseName>.html atomically. Every image must already exist
 * under dir; otherwise nothing is written and the error lists all the missing paths.
 */
export function writeReport(dir: string, baseName: string, doc: ReportDocument): WrittenReport {
  if (typeof baseName !== "string" || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(baseName)) {
    throw new RangeError(`writeReport: baseName must be a file name without folder or extension (letters, digits, . _ -), got '${baseName}'`);
  }
  const markdown = toMarkdown(doc); // validates the document
  const html = toHtml(doc);
  const missing = [...new Set(documentImages(doc))].filter((p) => {
    const full = resolve(dir, p);
    return !existsSync(full) || !statSync(full).isFile();
  });
  if (missing.length > 0) {
    throw new Error(`writeReport: ${missing.length} image${missing.length === 1 ? "" : "s"} of the report do${missing.length === 1 ? "es" : ""} not exist under ${dir}: ${missing.join(", ")}`);
  }
  makeFolder(dir);
  const paths = { markdown: join(dir, `${baseName}.md`), html: join(dir, `${baseName}.html`) };
  writeFileAtomic(paths.markdown, markdown); // a failed write is a FileError naming the file
  writeFileAtomic(paths.html, html);
  return paths;
}
