// The minimal inline markup of report text (paragraphs, list items, table cells, captions):
// **bold**, `code` and [link text](url); everything else is plain text. A backslash before one of
// \ ` * _ [ ] ( ) makes that character literal. Unclosed markers are plain text. Bold may hold code
// and links; link text may hold code. Parsed once, rendered to GitHub-flavoured Markdown (plain text
// escaped so it never turns into markup) or to HTML (escaped, <strong>/<code>/<a>).
import { escapeXml } from "./xml-escape.ts";

export type Inline =
  | { kind: "text"; text: string }
  | { kind: "code"; text: string }
  | { kind: "bold"; children: Inline[] }
  | { kind: "link"; children: Inline[]; url: string };

const ESCAPABLE = new Set(["\\", "`", "*", "_", "[", "]", "(", ")"]);

/** Parses inline markup; `allow` limits which constructs are recognised (for nesting). */
export function parseInline(s: string, allow: { bold: boolean; link: boolean } = { bold: true, link: true }): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = (): void => {
    if (text !== "") out.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "\\" && i + 1 < s.length && ESCAPABLE.has(s[i + 1]!)) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      const end = s.indexOf("`", i + 1);
      if (end > i + 1) {
        flush();
        out.push({ kind: "code", text: s.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
    }
    if (allow.bold && s.startsWith("**", i)) {
      const end = findClosingBold(s, i + 2);
      if (end > i + 2 && !/\s/.test(s[i + 2]!) && !/\s/.test(s[end - 1]!)) {
        flush();
        out.push({ kind: "bold", children: parseInline(s.slice(i + 2, end), { bold: false, link: allow.link }) });
        i = end + 2;
        continue;
      }
    }
    if (allow.link && c === "[") {
      const link = matchLink(s, i);
      if (link) {
        flush();
        out.push({ kind: "link", children: parseInline(link.text, { bold: false, link: false }), url: link.url });
        i = link.end;
        continue;
      }
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

/** Index of the "**" closing a bold run opened before `from`, skipping code spans; -1 if none. */
function findClosingBold(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === "`") {
      const end = s.indexOf("`", i + 1);
      if (end > i + 1) i = end;
    } else if (s.startsWith("**", i)) return i;
  }
  return -1;
}

/** [text](url) at i: text without brackets, url without whitespace, parentheses balanced. */
function matchLink(s: string, i: number): { text: string; url: string; end: number } | null {
  const close = s.indexOf("]", i + 1);
  if (close <= i + 1 || s[close + 1] !== "(" || s.slice(i + 1, close).includes("[")) return null;
  let depth = 0;
  for (let j = close + 2; j < s.length; j++) {
    const ch = s[j]!;
    if (/\s/.test(ch)) return null;
    if (ch === "(") depth++;
    else if (ch === ")") {
      if (depth === 0) return j > close + 2 ? { text: s.slice(i + 1, close), url: s.slice(close + 2, j), end: j + 1 } : null;
      depth--;
    }
  }
  return null;
}

/** Throws unless `url` is relative, a fragment, or http(s)/mailto (no javascript:, data:, file:). */
export function checkLinkUrl(url: string, where: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined && !["http", "https", "mailto"].includes(scheme)) {
    throw new RangeError(`${where}: link URL must be relative or http(s)/mailto, got '${url}'`);
  }
}

/** Plain text as Markdown that renders as exactly this text. */
export function escapeMarkdownText(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const prev = s[i - 1] ?? " ";
    const next = s[i + 1] ?? " ";
    if (c === "\\" || c === "`" || c === "*" || c === "[" || c === "]" || c === "~") out += `\\${c}`;
    // intraword underscores never make emphasis in GFM; only escape those at a word boundary
    else if (c === "_" && !(/[\p{L}\p{N}]/u.test(prev) && /[\p{L}\p{N}]/u.test(next))) out += "\\_";
    else if (c === "<" && /[A-Za-z/!?]/.test(next)) out += "\\<"; // would start raw HTML or an autolink
    else if (c === "&" && /^&(#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);/i.test(s.slice(i))) out += "\\&"; // would be an entity
    else out += c;
  }
  return out;
}

/** Escapes what would start a block construct at the start of a line (#, >, -, +, =, "1."), trims indentation. */
export function escapeLineStarts(md: string): string {
  return md
    .split("\n")
    .map((line) => line.trimStart().replace(/^([#>+=-]|\d+[.)])/, (m) => (m.length === 1 ? `\\${m}` : `${m.slice(0, -1)}\\${m.slice(-1)}`)))
    .join("\n");
}

/** A code span holding `text` exactly (fence longer than any backtick run inside). */
function markdownCodeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || (text.startsWith(" ") && text.endsWith(" ") && text.trim() !== "") ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

export function inlineToMarkdown(nodes: readonly Inline[]): string {
  return nodes
    .map((n) => {
      switch (n.kind) {
        case "text":
          return escapeMarkdownText(n.text);
        case "code":
          return markdownCodeSpan(n.text);
        case "bold":
          return `**${inlineToMarkdown(n.children)}**`;
        case "link": {
          const url = /[\s()<>]/.test(n.url) ? `<${n.url.replace(/[<>]/g, encodeURIComponent)}>` : n.url;
          return `[${inlineToMarkdown(n.children)}](${url})`;
        }
      }
    })
    .join("");
}

export function inlineToHtml(nodes: readonly Inline[]): string {
  return nodes
    .map((n) => {
      switch (n.kind) {
        case "text":
          return escapeXml(n.text);
        case "code":
          return `<code>${escapeXml(n.text)}</code>`;
        case "bold":
          return `<strong>${inlineToHtml(n.children)}</strong>`;
        case "link":
          return `<a href="${escapeXml(n.url)}">${inlineToHtml(n.children)}</a>`;
      }
    })
    .join("");
}

/** Every link URL in the nodes (for validation). */
export function inlineLinks(nodes: readonly Inline[]): string[] {
  return nodes.flatMap((n) => (n.kind === "link" ? [n.url, ...inlineLinks(n.children)] : n.kind === "bold" ? inlineLinks(n.children) : []));
}
