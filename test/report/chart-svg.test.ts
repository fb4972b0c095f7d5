// SVG charts: well-formed XML that sharp renders at the expected size, numpy-compatible histogram
// bins, escaped text, skipped non-finite values reported, clear errors for bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { histogramBins, histogramDensity, histogramSvg, lineChartSvg, rocSvg, thinPerColumn, trapezoidArea } from "../../src/report/chart-svg.ts";
import { renderSvgPng, writeSvg, writeSvgPng } from "../../src/report/svg-png.ts";
import { checkWellFormed } from "./well-formed.ts";

const s1 = Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 7) * 0.01);
const s2 = Array.from({ length: 57 }, (_, i) => Math.cos(i * 0.3) ** 3 * 2 + 1);

test("histogramBins matches numpy.histogram (half-open bins, last bin closed, edges from linspace)", () => {
  // np.histogram([i/10 for i in range(11)], bins=5): 0.6 < edge 3·0.2 = 0.6000000000000001 falls in bin 2
  const a = histogramBins([Array.from({ length: 11 }, (_, i) => i / 10)], 5);
  assert.deepEqual([...a.edges], [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
  assert.deepEqual([...a.counts[0]!], [2, 2, 3, 1, 3]);
  // two series on shared edges: np.histogram(s, bins=7, range=(min, max over both))
  const b = histogramBins([s1, s2], 7);
  assert.equal(b.edges[0], -2.9844098477981102);
  assert.equal(b.edges[7], 3.0583052764799765);
  assert.deepEqual([...b.counts[0]!], [49, 23, 20, 19, 19, 21, 49]);
  assert.deepEqual([...b.counts[1]!], [0, 0, 11, 7, 21, 9, 9]);
  // constant data: numpy widens to [v - 0.5, v + 0.5]
  const c = histogramBins([[3, 3]], 4);
  assert.deepEqual([...c.edges], [2.5, 2.75, 3, 3.25, 3.5]);
  assert.deepEqual([...c.counts[0]!], [0, 0, 2, 0]);
});

test("histogramBins: explicit range drops and counts outside values; non-finite counted apart", () => {
  const r = histogramBins([[...s1, NaN, Infinity, -Infinity]], 10, [-1, 1]);
  assert.deepEqual([...r.counts[0]!], [5, 5, 5, 4, 4, 4, 4, 5, 3, 4]); // numpy, range=(-1, 1)
  assert.deepEqual(r.outside, [157]);
  assert.deepEqual(r.nonFinite, [3]);
  // numpy density=True on the same bins
  const expected = [0.5813953488372094, 0.5813953488372091, 0.5813953488372091, 0.46511627906976755, 0.46511627906976755, 0.46511627906976705, 0.46511627906976755, 0.5813953488372094, 0.34883720930232565, 0.46511627906976755];
  const d = histogramDensity(r.counts[0]!, r.edges);
  d.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-15, `bin ${i}: ${v} vs ${expected[i]}`));
  assert.throws(() => histogramBins([[NaN]], 5), /no finite values/);
  assert.throws(() => histogramBins([[1]], 0), /bins must be an integer/);
  assert.throws(() => histogramBins([[1]], 5, [2, 1]), /range must be finite/);
});

test("histogramSvg: well-formed, one outline per series, escaped labels, skipped values noted", async () => {
  const svg = histogramSvg(
    [
      { label: 'in <test> & "co"', values: s1 },
      { label: "OOD", values: [...s2, NaN, NaN], color: "#d62728" },
    ],
    { title: "Scores <1> & more", xLabel: "score", bins: 20 },
  );
  checkWellFormed(svg, "xml");
  assert.equal(svg.match(/<path /g)?.length, 2);
  assert.match(svg, /in &lt;test&gt; &amp; &quot;co&quot;/);
  assert.match(svg, /Scores &lt;1&gt; &amp; more/);
  assert.match(svg, /skipped 2 non-finite values \(OOD: 2\)/);
  assert.match(svg, />density</);
  assert.match(svg, /font-family="DejaVu Sans, sans-serif"/);
  const meta = await sharp(await renderSvgPng(svg)).metadata();
  assert.equal(meta.width, 640);
  assert.equal(meta.height, 400);
  assert.match(histogramSvg([{ label: "a", values: [1, 2, 3] }], { density: false }), />count</);
});

test("histogramSvg: bad input is a clear error", () => {
  assert.throws(() => histogramSvg([]), /histogramSvg: expected at least one series/);
  assert.throws(() => histogramSvg([{ label: "a", values: [NaN, Infinity] }]), /histogramSvg: no finite values/);
  assert.throws(() => histogramSvg([{ label: "a", values: [1], color: "red; fill:url(x)" }]), /color must be/);
  assert.throws(() => histogramSvg([{ label: "a", values: [1] }], { width: 50 }), /width must be an integer in \[120, 4096\]/);
  assert.throws(() => histogramSvg([{ label: "a", values: [1] }], { bins: 2.5 }), /bins must be an integer/);
});

test("rocSvg: trapezoidal AUROC in the legend (or the given one), diagonal, well-formed", async () => {
  assert.equal(trapezoidArea([0, 0.5, 1], [0, 1, 1]), 0.75);
  assert.equal(trapezoidArea([1, 0.5, 0], [1, 1, 0]), 0.75); // descending order gives the same area
  assert.equal(trapezoidArea([0, 0, 1], [0, 1, 1]), 1);
  const svg = rocSvg([
    { label: "knn", fpr: [0, 0.5, 1], tpr: [0, 1, 1] },
    { label: "nll", fpr: Float64Array.from([0, 0.2, 1]), tpr: Float64Array.from([0, 0.1, 1]), auroc: 0.4567 },
  ], { title: "ROC" });
  checkWellFormed(svg, "xml");
  assert.match(svg, /knn \(AUROC 0\.750\)/);
  assert.match(svg, /nll \(AUROC 0\.457\)/);
  assert.match(svg, /stroke-dasharray="4 3"/); // chance diagonal
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  const meta = await sharp(await renderSvgPng(svg, { scale: 2 })).metadata();
  assert.equal(meta.width, 960);
  assert.equal(meta.height, 920);
});

test("rocSvg: rates outside [0, 1], mismatched lengths, non-monotone fpr are errors", () => {
  assert.throws(() => rocSvg([{ label: "a", fpr: [0, 1.5], tpr: [0, 1] }]), /curve 0 \('a'\) fpr\[1\] must be a rate in \[0, 1\], got 1\.5/);
  assert.throws(() => rocSvg([{ label: "a", fpr: [0, NaN], tpr: [0, 1] }]), /fpr\[1\] must be a rate/);
  assert.throws(() => rocSvg([{ label: "a", fpr: [0, 1], tpr: [0, 0.5, 1] }]), /same length/);
  assert.throws(() => rocSvg([{ label: "a", fpr: [0, 0.6, 0.4, 1], tpr: [0, 0.5, 0.6, 1] }]), /monotone/);
  assert.throws(() => rocSvg([{ label: "a", fpr: [0, 1], tpr: [0, 1], auroc: 1.2 }]), /auroc must be in \[0, 1\]/);
  assert.throws(() => rocSvg([]), /expected at least one series/);
});

test("thinPerColumn keeps first, lowest, highest and last point of each column run, in order", () => {
  const cols = [0, 0, 0, 0, 0, 1, 1, 2];
  const ys = [5, 9, 1, 7, 6, 3, 4, 8];
  assert.deepEqual(thinPerColumn(cols.length, (i) => cols[i]!, (i) => ys[i]!), [0, 1, 2, 4, 5, 6, 7]);
  assert.deepEqual(thinPerColumn(0, () => 0, () => 0), []);
});

test("lineChartSvg: breaks at non-finite points, log axis skips y <= 0, long series stay small", async () => {
  const svg = lineChartSvg(
    [
      { label: "train", x: [0, 1, 2, 3, 4], y: [4, 3, NaN, 2, 1.5] },
      { label: "test", x: [0, 2, 4], y: [4.5, 0, 2] },
    ],
    { title: "bits/dim", xLabel: "step", yLabel: "bits/dim", logY: true },
  );
  checkWellFormed(svg, "xml");
  assert.match(svg, /skipped 1 non-finite value \(train: 1\)/);
  assert.match(svg, /skipped 1 non-positive \(log scale\) value \(test: 1\)/);
  const trainPath = /<path d="([^"]+)"[^>]*stroke="#1f77b4"/.exec(svg)![1]!;
  assert.equal(trainPath.match(/M/g)?.length, 2, "the NaN breaks the train line in two");
  const n = 100_000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = x.map((i) => 3 * Math.exp(-i / 20_000) + 0.1 * Math.sin(i));
  const big = lineChartSvg([{ label: "loss", x, y }], { width: 640, height: 360 });
  assert.ok(big.length < 60_000, `${big.length} bytes for ${n} points`);
  const meta = await sharp(await renderSvgPng(big)).metadata();
  assert.equal(meta.width, 640);
  assert.equal(meta.height, 360);
  assert.throws(() => lineChartSvg([{ label: "a", x: [1, 2], y: [1] }]), /has 2 x values but 1 y values/);
  assert.throws(() => lineChartSvg([{ label: "a", x: [1, 2], y: [-1, 0] }], { logY: true }), /no finite, positive points/);
});

test("writeSvgPng / writeSvg write files atomically; malformed SVG is an error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-svg-"));
  try {
    const svg = rocSvg([{ label: "a", fpr: [0, 1], tpr: [0, 1] }]);
    await writeSvgPng(join(dir, "sub", "roc.png"), svg, { scale: 1.5 });
    const meta = await sharp(join(dir, "sub", "roc.png")).metadata();
    assert.equal(meta.format, "png");
    assert.equal(meta.width, 720);
    assert.equal(meta.height, 690);
    writeSvg(join(dir, "roc.svg"), svg);
    assert.equal(readFileSync(join(dir, "roc.svg"), "utf8"), svg);
    await assert.rejects(renderSvgPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><g></svg>'), /the SVG could not be rendered/);
    await assert.rejects(renderSvgPng(svg, { scale: 0 }), /scale must be a number in \(0, 8\]/);
    await assert.rejects(writeSvgPng(join(dir, "x.png"), "not svg"), /expected an SVG document/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the well-formedness checker itself rejects broken markup", () => {
  assert.throws(() => checkWellFormed("<svg><g></svg>", "xml"), /closes <g>/);
  assert.throws(() => checkWellFormed("<svg><text>a & b</text></svg>", "xml"), /bare '&'/);
  assert.throws(() => checkWellFormed('<svg a="1" a="2"></svg>', "xml"), /duplicate attribute/);
  assert.throws(() => checkWellFormed("<svg>x < y</svg>", "xml"), /starts no tag/);
  assert.throws(() => checkWellFormed("<html></html>", "html"), /DOCTYPE/);
  assert.deepEqual(checkWellFormed('<!DOCTYPE html><html><head><meta charset="utf-8"><style>a>b{}</style></head><body><img src="x"></body></html>', "html"), ["html", "head", "meta", "style", "body", "img"]);
});
