// Model config validation: defaults, and every problem reported with its key path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MODEL_DEFAULTS, ModelConfigError, resolveModelConfig, validateModelConfig } from "../../src/model/index.ts";

const base = { height: 28, width: 28, vocabSize: 16 };

test("defaults fill everything but the data-given sizes", () => {
  const c = resolveModelConfig(base);
  assert.deepEqual(c, { ...MODEL_DEFAULTS, ...base });
  assert.equal(c.geluApproximate, "none");
  assert.equal(c.attention, "axial");
  assert.equal(c.representationLayer, null);
  assert.deepEqual(validateModelConfig(c), []);
});

test("the divisibility message names the key and both numbers", () => {
  assert.deepEqual(validateModelConfig({ ...MODEL_DEFAULTS, ...base, d: 130, heads: 4 }), ["model.heads: d=130 is not divisible by heads=4"]);
});

test("every problem is reported at once, under the given path", () => {
  const problems = validateModelConfig(
    { ...MODEL_DEFAULTS, height: 0, vocabSize: "16", attention: "sparse", dropout: 1, layerNormEps: 0, geluApproximate: "fast", representationLayer: 5, encoderLayers: 4, mlpRatio: 4.01, colour: true },
    "config.model",
  );
  const expected = [
    /^config\.model\.colour: unknown key/,
    /^config\.model\.height: expected an integer >= 1, got 0$/,
    /^config\.model\.width: expected an integer >= 1, got nothing$/,
    /^config\.model\.vocabSize: expected an integer >= 2, got "16"$/,
    /^config\.model\.mlpRatio: mlpRatio·d = 4\.01·128 is not an integer/,
    /^config\.model\.dropout: expected a number in \[0, 1\), got 1$/,
    /^config\.model\.attention: expected one of "axial", "dense", got "sparse"$/,
    /^config\.model\.geluApproximate: expected one of "none", "tanh", got "fast"$/,
    /^config\.model\.layerNormEps: expected a positive number, got 0$/,
    /^config\.model\.representationLayer: expected null \(the final encoder output\) or an encoder layer in \[1, 4\], got 5$/,
  ];
  assert.equal(problems.length, expected.length, problems.join("\n"));
  for (const re of expected) assert.ok(problems.some((p) => re.test(p)), `no problem matches ${re}:\n${problems.join("\n")}`);
});

test("resolveModelConfig throws one ModelConfigError listing the problems", () => {
  assert.throws(
    () => resolveModelConfig({ ...base, heads: 3, decoderLayers: -1 }),
    (e: unknown) => e instanceof ModelConfigError && e.problems.length === 2 && /model\.decoderLayers/.test(e.message) && /model\.heads: d=128 is not divisible by heads=3/.test(e.message),
  );
  assert.throws(() => resolveModelConfig([1]), /model: expected an object, got an array/);
});
