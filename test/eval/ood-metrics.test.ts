// OOD metrics (src/eval/ood-metrics.ts): hand-computed known answers (ties, perfect, reversed,
// all-equal), a cross-check against scikit-learn 1.2.1 on a fixed 50-score list, speed at 10^5.
// Convention: higher score = more OOD; OOD is the positive class.
import { test } from "node:test";
import assert from "node:assert/strict";
import { auroc, averagePrecision, fprAtTpr, oodMetrics, rocCurve } from "../../src/eval/ood-metrics.ts";
import { Rng } from "../../src/data/rng.ts";
import { assertClose } from "../helpers/assert-close.ts";

const close = (a: number, e: number, what: string): void => assertClose(a, e, 1e-12, what);

test("ood metrics: a list with ties between in and out scores", () => {
  const ins = [1, 2, 3, 4];
  const outs = [2, 3, 5];
  // AUROC: out 2 beats in 1 and ties in 2 → 1.5; out 3 → 2 + ½ = 2.5; out 5 → 4. (1.5+2.5+4)/12 = 2/3.
  close(auroc(ins, outs), 2 / 3, "auroc");
  // AUPR-OUT, thresholds 5, 4, 3, 2: (tp, fp) = (1,0) (1,1) (2,2) (3,3)
  //   → ⅓·1 + 0 + ⅓·½ + ⅓·½ = 2/3.
  close(averagePrecision(outs, ins), 2 / 3, "auprOut");
  // AUPR-IN on negated scores, thresholds −1, −2, −3, −4, −5: (tp, fp) = (1,0) (2,1) (3,2) (4,2) (4,3)
  //   → ¼·1 + ¼·⅔ + ¼·⅗ + ¼·⁴⁄₆ = 15/60 + 10/60 + 9/60 + 10/60 = 11/15.
  close(averagePrecision([-1, -2, -3, -4], [-2, -3, -5]), 11 / 15, "auprIn");
  // FPR95: TPR >= 0.95 needs all 3 OOD flagged → t = 2 → in >= 2: 3 of 4.
  close(fprAtTpr(ins, outs), 0.75, "fpr95");
  // TPR >= 0.5 needs 2 of 3 → t = 3 → in >= 3: 2 of 4.
  close(fprAtTpr(ins, outs, 0.5), 0.5, "fpr@tpr0.5");
  const m = oodMetrics(ins, outs);
  assert.deepEqual({ ...m }, { auroc: m.auroc, auprIn: m.auprIn, auprOut: m.auprOut, fpr95: 0.75, nIn: 4, nOut: 3 });
  close(m.auroc, 2 / 3, "oodMetrics.auroc");
  close(m.auprOut, 2 / 3, "oodMetrics.auprOut");
  close(m.auprIn, 11 / 15, "oodMetrics.auprIn");
  // ROC: thresholds ∞, 5, 4, 3, 2, 1.
  const roc = rocCurve(ins, outs);
  assert.deepEqual([...roc.thresholds], [Infinity, 5, 4, 3, 2, 1]);
  assert.deepEqual([...roc.fpr], [0, 0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual([...roc.tpr], [0, 1 / 3, 1 / 3, 2 / 3, 1, 1]);
});

test("ood metrics: perfect separation, reversed scores and all-equal scores", () => {
  // Every OOD score above every in score.
  assert.deepEqual(oodMetrics([0, 1, 2], [3, 4]), { auroc: 1, auprIn: 1, auprOut: 1, fpr95: 0, nIn: 3, nOut: 2 });
  // Reversed: in [3, 4], out [0, 1, 2]. AUROC 0. FPR95: all 3 OOD flagged only at t = 0 → FPR 1.
  // AUPR-OUT: thresholds 4, 3 add false positives; 2 → (1,2): ⅓·⅓; 1 → (2,2): ⅓·½; 0 → (3,2): ⅓·⅗
  //   = 1/9 + 1/6 + 1/5 = 43/90.
  // AUPR-IN (negated): −in = {−3, −4} rank below −out = {0, −1, −2}: thresholds 0, −1, −2 add false
  //   positives; −3 → (1,3): ½·¼; −4 → (2,3): ½·⅖ → 0.125 + 0.2 = 0.325.
  const r = oodMetrics([3, 4], [0, 1, 2]);
  assert.equal(r.auroc, 0);
  assert.equal(r.fpr95, 1);
  close(r.auprOut, 43 / 90, "reversed auprOut");
  close(r.auprIn, 0.325, "reversed auprIn");
  // All equal: one threshold flags everything: AUROC ½, AUPR-OUT = 2/5, AUPR-IN = 3/5, FPR95 = 1.
  const e = oodMetrics([5, 5, 5], [5, 5]);
  assert.equal(e.auroc, 0.5);
  close(e.auprOut, 0.4, "equal auprOut");
  close(e.auprIn, 0.6, "equal auprIn");
  assert.equal(e.fpr95, 1);
  const roc = rocCurve([5, 5, 5], [5, 5]);
  assert.deepEqual([...roc.fpr], [0, 1]);
  assert.deepEqual([...roc.tpr], [0, 1]);
  assert.deepEqual([...roc.thresholds], [Infinity, 5]);
});

test("ood metrics: fprAtTpr takes the largest threshold reaching the TPR (20 OOD scores, exact 0.95)", () => {
  // 20 OOD scores 1..20, so TPR 0.95 = 19/20 is reached first at t = 2; in scores 0.5, 1.5, 2, 2.5:
  // in >= 2: 2 of 4 → 0.5. At tpr = 1, t = 1 → in >= 1: 3 of 4.
  const outs = Array.from({ length: 20 }, (_, i) => i + 1);
  const ins = [0.5, 1.5, 2, 2.5];
  assert.equal(fprAtTpr(ins, outs), 0.5);
  assert.equal(fprAtTpr(ins, outs, 1), 0.75);
  // Tied OOD scores are flagged together: [3, 3, 3, 1] reaches TPR 0.75 at t = 3 (not only 2 of the 3s).
  assert.equal(fprAtTpr([2, 3, 4], [3, 3, 3, 1], 0.5), 2 / 3);
});

test("ood metrics: scikit-learn 1.2.1 reference on a fixed 50-score list with ties", () => {
  // Generated and scored offline (Debian python3-sklearn 1.2.1):
  //   rng = np.random.default_rng(20240527); ins = round(normal(0, 1, 22), 1); outs = round(normal(0.8, 1.2, 28), 1)
  //   roc_auc_score(y, s), average_precision_score(y, s), average_precision_score(1 - y, -s),
  //   roc_curve(y, s, drop_intermediate=False) → fpr at the first tpr >= 0.95.
  const ins = [-0.2, 0.3, -0.2, 0.1, -1.2, 0.3, 0.6, 0.9, 0.6, -0.1, 0.7, -0.2, -0.3, 1.4, -0.3, -1.9, -0.0, 0.6, -0.1, 0.4, -1.3, -0.3];
  const outs = [-0.3, 2.2, -0.5, -0.9, -0.1, 1.9, 1.7, 0.9, 0.7, 1.2, 0.5, 0.7, -1.5, -0.8, 0.8, 0.3, 1.1, 0.9, -0.3, -1.3, 1.0, -0.9, -0.6, 2.1, 1.4, 0.4, 0.7, 0.6];
  const m = oodMetrics(ins, outs);
  close(m.auroc, 0.635551948051948, "auroc");
  close(m.auprOut, 0.7439253694420966, "auprOut");
  close(m.auprIn, 0.5428106804082896, "auprIn");
  close(m.fpr95, 0.9545454545454546, "fpr95");
  const roc = rocCurve(ins, outs);
  const skFpr = [0.0, 0.0, 0.0, 0.0, 0.0, 0.045454545454545456, 0.045454545454545456, 0.045454545454545456, 0.045454545454545456, 0.09090909090909091, 0.09090909090909091, 0.13636363636363635, 0.2727272727272727, 0.2727272727272727, 0.3181818181818182, 0.4090909090909091, 0.45454545454545453, 0.5, 0.5909090909090909, 0.7272727272727273, 0.8636363636363636, 0.8636363636363636, 0.8636363636363636, 0.8636363636363636, 0.8636363636363636, 0.9090909090909091, 0.9545454545454546, 0.9545454545454546, 1.0];
  const skTpr = [0.0, 0.03571428571428571, 0.07142857142857142, 0.10714285714285714, 0.14285714285714285, 0.17857142857142858, 0.21428571428571427, 0.25, 0.2857142857142857, 0.35714285714285715, 0.39285714285714285, 0.5, 0.5357142857142857, 0.5714285714285714, 0.6071428571428571, 0.6428571428571429, 0.6428571428571429, 0.6428571428571429, 0.6785714285714286, 0.6785714285714286, 0.75, 0.7857142857142857, 0.8214285714285714, 0.8571428571428571, 0.9285714285714286, 0.9285714285714286, 0.9642857142857143, 1.0, 1.0];
  assertClose([...roc.fpr], skFpr, 1e-12, "roc fpr");
  assertClose([...roc.tpr], skTpr, 1e-12, "roc tpr");
  // Swapping the roles mirrors AUROC; adding a constant changes nothing.
  close(auroc(outs, ins), 1 - m.auroc, "mirrored auroc");
  close(auroc(ins.map((v) => v + 7), outs.map((v) => v + 7)), m.auroc, "shifted auroc");
});

test("ood metrics: 10^5 scores per side in well under a second; AUROC of N(0,1) vs N(1,1) is Φ(1/√2)", () => {
  const rng = new Rng(7);
  const n = 100_000;
  const ins = Float64Array.from({ length: n }, () => rng.normal());
  const outs = Float64Array.from({ length: n }, () => rng.normal() + 1);
  const t0 = performance.now();
  const m = oodMetrics(ins, outs);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `oodMetrics took ${ms.toFixed(0)} ms`);
  // Φ(0.70711) = 0.76025; standard error at n = 10^5 is about 0.0011.
  assert.ok(Math.abs(m.auroc - 0.76025) < 0.006, `auroc ${m.auroc}`);
  // FPR at 95% TPR: t = 1 − 1.6449 → FPR = 1 − Φ(−0.6449) = 0.7405.
  assert.ok(Math.abs(m.fpr95 - 0.7405) < 0.01, `fpr95 ${m.fpr95}`);
  const roc = rocCurve(ins, outs);
  assert.equal(roc.fpr.length, 2 * n + 1);
});

test("ood metrics: empty lists, NaN and Infinity are refused naming the list and index", () => {
  assert.throws(() => oodMetrics([], [1]), /oodMetrics: inScores is empty/);
  assert.throws(() => auroc([1], []), /auroc: outScores is empty/);
  assert.throws(() => oodMetrics([0, 1, NaN, NaN], [1]), /oodMetrics: inScores\[2\] is NaN/);
  assert.throws(() => fprAtTpr([0], [1, Infinity]), /fprAtTpr: outScores\[1\] is Infinity/);
  assert.throws(() => averagePrecision([1, -Infinity], [0]), /averagePrecision: positive\[1\] is -Infinity/);
  assert.throws(() => rocCurve([0], [1, 2, NaN]), (e: unknown) => e instanceof RangeError && /outScores\[2\]/.test((e as Error).message));
  assert.throws(() => fprAtTpr([0], [1], 0), /tpr must be a number in \(0, 1\]/);
  assert.throws(() => fprAtTpr([0], [1], 1.5), /tpr must be a number in \(0, 1\]/);
});
