// Report documents: exact Markdown for a small document, HTML escaping and structure, inline
// markup, n/a cells, image checks in writeReport, clear errors for malformed documents.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ReportDocument, formatNumber, toHtml, toMarkdown, writeReport } from "../../src/report/document.ts";
import { escapeMarkdownText, parseInline } from "../../src/report/inline-markup.ts";
import { checkWellFormed } from "./well-formed.ts";

const doc: ReportDocument = {
  title: "Run report",
  blocks: [
    { kind: "heading", level: 2, text: "Summary" },
    { kind: "paragraph", text: "Test accuracy **84.5%** with `k = 20`; see [the paper](https://arxiv.org/abs/2002.05709). 2*3 is snake_case." },
    { kind: "list", items: ["first", "**bold** item"] },
    { kind: "table", header: ["metric", "value"], align: ["left", "right"], rows: [["a | b", 0.953125], ["FID", null], ["steps", 1200]], caption: "Metrics" },
    { kind: "image", path: "eval/roc.png", alt: "ROC curves", caption: "ROC" },
    { kind: "images", items: [{ path: "a.png", alt: "A", caption: "left" }, { path: "b c.png", alt: "B" }] },
    { kind: "code", text: '{\n  "k": 20\n}' },
  ],
};

const expectedMarkdown = `# Run report

## Summary

Test accuracy **84.5%** with \`k = 20\`; see [the paper](https://arxiv.org/abs/2002.05709). 2\\*3 is snake_case.

- first
- **bold** item

| metric | value |
| :--- | ---: |
| a \\| b | 0.9531 |
| FID | n/a |
| steps | 1200 |

*Metrics*

![ROC curves](eval/roc.png)

*ROC*

| ![A](a.png) | ![B](b%20c.png) |
| :---: | :---: |
| left |  |

\`\`\`
{
  "k": 20
}
\`\`\`
`;

test("toMarkdown: exact GitHub-flavoured Markdown for a small document", () => {
  assert.equal(toMarkdown(doc), expectedMarkdown);
});

test("toHtml: valid self-contained HTML5 with the same content", () => {
  const html = toHtml(doc);
  const elements = checkWellFormed(html, "html");
  assert.ok(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">"));
  assert.equal(elements.filter((e) => e === "h1").length, 1);
  assert.equal(elements.filter((e) => e === "img").length, 3);
  assert.ok(!/<script|<link|@import|url\(/i.test(html), "no scripts, no external resources");
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:;/);
  assert.match(html, /<p>Test accuracy <strong>84\.5%<\/strong> with <code>k = 20<\/code>; see <a href="https:\/\/arxiv\.org\/abs\/2002\.05709">the paper<\/a>\. 2\*3 is snake_case\.<\/p>/);
  assert.match(html, /<h2 id="summary">Summary<\/h2>/);
  assert.match(html, /<td>a \| b<\/td><td class="r">0\.9531<\/td>/);
  assert.match(html, /<td>FID<\/td><td class="r na">n\/a<\/td>/);
  assert.match(html, /<caption>Metrics<\/caption>/);
  assert.match(html, /<figure><img src="eval\/roc\.png" alt="ROC curves"><figcaption>ROC<\/figcaption><\/figure>/);
  assert.match(html, /<div class="images">\n<figure><img src="a\.png" alt="A"><figcaption>left<\/figcaption><\/figure>\n<figure><img src="b%20c\.png" alt="B"><\/figure>\n<\/div>/);
  assert.match(html, /<pre><code>\{\n  &quot;k&quot;: 20\n\}<\/code><\/pre>/);
});

test("toHtml escapes <, &, \" (and ') everywhere text goes", () => {
  const nasty = `<script>alert("x")</script> & 'q'`;
  const html = toHtml({
    title: `A <b> & "c"`,
    blocks: [
      { kind: "heading", level: 3, text: nasty },
      { kind: "paragraph", text: `${nasty} **<i>** \`a<b&c\`` },
      { kind: "list", items: [nasty] },
      { kind: "table", header: [nasty], rows: [[nasty], [null]], caption: nasty },
      { kind: "image", path: `x".png`, alt: nasty, caption: nasty },
      { kind: "code", text: nasty },
    ],
  });
  checkWellFormed(html, "html");
  assert.ok(!html.includes("<script"), "no raw <script");
  assert.ok(!html.includes("<i>"));
  assert.match(html, /<title>A &lt;b&gt; &amp; &quot;c&quot;<\/title>/);
  const escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";
  assert.equal(html.split(escaped).length - 1, 9, "heading, paragraph, item, header, cell, table caption, alt, figcaption, code");
  assert.match(html, /<strong>&lt;i&gt;<\/strong> <code>a&lt;b&amp;c<\/code>/);
  assert.match(html, /<img src="x%22\.png" alt="&lt;script&gt;/);
  assert.match(html, /<td class="na">n\/a<\/td>/);
});

test("inline markup: bold, code, links; unclosed markers and escapes stay literal", () => {
  assert.deepEqual(parseInline("a **b `c`** [d `e`](f.png) `x*y` **open"), [
    { kind: "text", text: "a " },
    { kind: "bold", children: [{ kind: "text", text: "b " }, { kind: "code", text: "c" }] },
    { kind: "text", text: " " },
    { kind: "link", children: [{ kind: "text", text: "d " }, { kind: "code", text: "e" }], url: "f.png" },
    { kind: "text", text: " " },
    { kind: "code", text: "x*y" },
    { kind: "text", text: " **open" },
  ]);
  assert.deepEqual(parseInline("\\*\\*not bold\\*\\* [x] (y) ** spaced **"), [{ kind: "text", text: "**not bold** [x] (y) ** spaced **" }]);
  assert.deepEqual(parseInline("[w](https://en.wikipedia.org/wiki/F_(x))."), [
    { kind: "link", children: [{ kind: "text", text: "w" }], url: "https://en.wikipedia.org/wiki/F_(x)" },
    { kind: "text", text: "." },
  ]);
  // literal text round-trips through Markdown escaping
  assert.equal(toMarkdown({ title: "t", blocks: [{ kind: "paragraph", text: "\\*\\*not bold\\*\\* ** spaced **" }] }), "# t\n\n\\*\\*not bold\\*\\* \\*\\* spaced \\*\\*\n");
});

test("escapeMarkdownText escapes only what would become markup", () => {
  const cases: [string, string][] = [
    ["a*b", "a\\*b"],
    ["snake_case_name", "snake_case_name"],
    ["_x_", "\\_x\\_"],
    ["<div> and </p>", "\\<div> and \\</p>"],
    ["p < 0.05 & q > 1", "p < 0.05 & q > 1"],
    ["&amp; &#39;", "\\&amp; \\&#39;"],
    ["[x](y) `c` ~s~ \\", "\\[x\\](y) \\`c\\` \\~s\\~ \\\\"],
  ];
  for (const [input, expected] of cases) assert.equal(escapeMarkdownText(input), expected, input);
  // what would start a heading, quote, list or setext underline at a line start is escaped
  const md = toMarkdown({ title: "t", blocks: [{ kind: "paragraph", text: "# not a heading\n- not a list\n1. not a list\n> no quote\n  === no underline" }] });
  assert.equal(md, "# t\n\n\\# not a heading\n\\- not a list\n1\\. not a list\n\\> no quote\n\\=== no underline\n");
});

test("formatNumber: integers as they are, 4 significant digits, exponents for extremes", () => {
  const cases: [number, string][] = [[3, "3"], [-120, "-120"], [0.953125, "0.9531"], [12.3456, "12.35"], [1234.5678, "1234.6"], [1.5e-5, "1.5e-5"], [20000000.5, "2e7"], [NaN, "NaN"], [Infinity, "∞"], [-Infinity, "−∞"]];
  for (const [v, s] of cases) assert.equal(formatNumber(v), s, String(v));
});

test("malformed documents: clear errors naming the block", () => {
  const bad = (blocks: unknown[]): ReportDocument => ({ title: "t", blocks: blocks as ReportDocument["blocks"] });
  assert.throws(() => toMarkdown(bad([{ kind: "chart" }])), /toMarkdown: block 0: unknown kind "chart"/);
  assert.throws(() => toHtml(bad([{ kind: "heading", level: 4, text: "x" }])), /toHtml: block 0 \(heading\): heading level must be 1, 2 or 3, got 4/);
  assert.throws(() => toMarkdown(bad([{ kind: "paragraph", text: "x" }, { kind: "table", header: ["a", "b"], rows: [["1"]] }])), /block 1 \(table\) row 0: expected 2 cells, got 1/);
  assert.throws(() => toMarkdown(bad([{ kind: "table", header: ["a"], rows: [[{}]] }])), /row 0 column 0: expected a string, number or null, got object/);
  assert.throws(() => toMarkdown(bad([{ kind: "table", header: ["a"], rows: [], align: ["center"] }])), /align must hold "left" or "right" for each of the 1 columns/);
  assert.throws(() => toMarkdown(bad([{ kind: "image", path: "/abs/x.png", alt: "x" }])), /image path must be relative/);
  assert.throws(() => toMarkdown(bad([{ kind: "image", path: "https://example.com/x.png", alt: "x" }])), /image path must be relative/);
  assert.throws(() => toMarkdown(bad([{ kind: "images", items: [] }])), /items must be a non-empty array/);
  assert.throws(() => toMarkdown(bad([{ kind: "paragraph", text: "[x](javascript:alert(1))" }])), /link URL must be relative or http\(s\)\/mailto/);
  assert.throws(() => toMarkdown(bad([{ kind: "list", items: [3] }])), /block 0 \(list\) item 0: expected a string, got number/);
});

test("writeReport: writes .md and .html; missing images are listed and nothing is written", () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-doc-"));
  try {
    assert.throws(() => writeReport(dir, "report", doc), (err: Error) => {
      assert.match(err.message, /writeReport: 3 images of the report do not exist under .*: eval\/roc\.png, a\.png, b c\.png/);
      return true;
    });
    assert.ok(!existsSync(join(dir, "report.md")) && !existsSync(join(dir, "report.html")));
    mkdirSync(join(dir, "eval"));
    for (const p of ["eval/roc.png", "a.png", "b c.png"]) writeFileSync(join(dir, p), "png");
    const paths = writeReport(dir, "report", doc);
    assert.deepEqual(paths, { markdown: join(dir, "report.md"), html: join(dir, "report.html") });
    assert.equal(readFileSync(paths.markdown, "utf8"), expectedMarkdown);
    assert.equal(readFileSync(paths.html, "utf8"), toHtml(doc));
    assert.throws(() => writeReport(dir, "../report", doc), /baseName must be a file name/);
    assert.throws(() => writeReport(dir, "report.md/x", doc), /baseName must be a file name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
