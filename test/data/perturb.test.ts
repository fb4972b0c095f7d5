// perturbTokens (src/data/perturb.ts): each token replaced with probability μ by a uniform token of
// [0, K); the fraction changed is μ·(1 − 1/K) within binomial noise, the replacements are uniform,
// the same Rng state gives the same result, μ = 0 changes nothing; and PairLoader's perturb option
// keeps batches a pure function of (seed, epoch, index).
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, zeros } from "../../src/torch/index.ts";
import { perturbTokens } from "../../src/data/perturb.ts";
import { Rng } from "../../src/data/rng.ts";
import { PairLoader } from "../../src/data/loader.ts";
import { disposeSet, imageSet } from "../../src/data/image-set.ts";
import { PaletteQuantizer } from "../../src/data/palette.ts";

test("perturbTokens: fraction changed μ·(1 − 1/K), uniform replacements, deterministic, μ = 0 is the identity", () =>
  tidy(() => {
    const [n, k, mu] = [200_000, 8, 0.2];
    const tokens = zeros([n / 1000, 10, 100], { dtype: "int64" }); // every token 0
    const out = perturbTokens(tokens, mu, k, new Rng(1));
    const values = out.toArray();
    const changed = values.filter((v) => v !== 0).length / n;
    const expected = mu * (1 - 1 / k); // a replacement equal to 0 changes nothing
    const sd = Math.sqrt((expected * (1 - expected)) / n);
    assert.ok(Math.abs(changed - expected) < 5 * sd, `changed ${changed}, expected ${expected} ± ${sd}`);
    const counts = new Array<number>(k).fill(0);
    for (const v of values) counts[v]!++;
    for (let c = 1; c < k; c++) assert.ok(Math.abs(counts[c]! / n - mu / k) < 5 * Math.sqrt(mu / k / n), `colour ${c}: ${counts[c]! / n}`);
    assert.deepEqual(perturbTokens(tokens, mu, k, new Rng(1)).toArray(), values, "same Rng state, same result");
    assert.notDeepEqual(perturbTokens(tokens, mu, k, new Rng(2)).toArray(), values);
    const some = tensor([[[3, 1], [2, 0]]], { dtype: "int64" });
    assert.deepEqual(perturbTokens(some, 0, k, new Rng(1)).toArray(), [3, 1, 2, 0]);
    assert.throws(() => perturbTokens(some, 1, k, new Rng(1)), /mu must be a probability in \[0, 1\), got 1/);
    assert.throws(() => perturbTokens(some, 0.1, 0, new Rng(1)), /k must be a positive integer/);
  }));

test("PairLoader with perturb: batches stay a pure function of (seed, epoch, index); the views differ from the clean loader's", () => {
  const images = tidy(() => tensor(Uint8Array.from({ length: 16 * 4 * 4 }, (_, i) => (i * 37) % 256), { dtype: "uint8", shape: [16, 4, 4, 1] }));
  const set = imageSet(images, null, null, "test images");
  const palette = new PaletteQuantizer(Array.from({ length: 16 }, (_, i) => [i * 16 + 8]));
  const identity = (x: typeof images, _rng: Rng, withStrong: boolean) => ({ weak: x, strong: withStrong ? x : null });
  const noisy = new PairLoader(set, palette, identity, { batchSize: 8, seed: 3, perturb: { mu: 0.3, k: 16 } });
  const clean = new PairLoader(set, palette, identity, { batchSize: 8, seed: 3 });
  const a = noisy.batch(1, 1);
  const b = noisy.batch(1, 1);
  const c = clean.batch(1, 1);
  assert.deepEqual(a.weak.toArray(), b.weak.toArray());
  assert.deepEqual(a.strong!.toArray(), b.strong!.toArray());
  assert.notDeepEqual(a.weak.toArray(), c.weak.toArray());
  const differ = a.weak.toArray().filter((v, i) => v !== c.weak.toArray()[i]).length / a.weak.numel;
  assert.ok(differ > 0.1 && differ < 0.5, `fraction perturbed ${differ}`);
  for (const x of [a, b, c]) for (const t of [x.weak, x.strong]) t?.dispose();
  disposeSet(set);
  palette.dispose();
});
