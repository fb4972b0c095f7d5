// The tables of settings in docs/ are generated from the declarations; these tests keep them equal
// and check that the declarations carry what --help and docs need.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { generatedBlocks, withBlock } from "../../src/cli/settings-docs.ts";
import { settingPaths, settingRows } from "../../src/util/settings.ts";
import { RUN_SETTINGS, RUN_DEFAULTS } from "../../src/train/run-config.ts";
import { EVAL_SETTINGS, EVAL_DEFAULTS, resolveEvalSettings } from "../../src/eval/eval-settings.ts";

test("docs/configs.md and docs/evaluation.md hold the generated tables (run `node --import tsx scripts/docs-settings.ts` after changing a declaration)", () => {
  for (const block of generatedBlocks()) {
    const doc = readFileSync(block.file, "utf8");
    assert.equal(withBlock(doc, block), doc, `${block.file}: the "${block.name}" table is not the generated one`);
  }
});

test("every declared setting has help and a default, and the defaults are the declarations'", () => {
  for (const schema of [RUN_SETTINGS, EVAL_SETTINGS]) {
    for (const row of settingRows(schema)) {
      assert.ok(row.help.length > 10, `${row.path}: help`);
      assert.ok(row.value !== undefined || row.defaultText !== undefined, `${row.path}: default`);
    }
  }
  assert.equal(settingPaths(RUN_SETTINGS).length, settingRows(RUN_SETTINGS, RUN_DEFAULTS).length);
  assert.deepEqual(Object.keys(EVAL_DEFAULTS), settingPaths(EVAL_SETTINGS));
  assert.equal(RUN_DEFAULTS.augment.strong.brightness, 0.8 * RUN_DEFAULTS.augment.strong.jitterStrength);
});

test("library callers' eval settings are checked: each bad key named, unknown keys refused", () => {
  assert.deepEqual(resolveEvalSettings({ knnK: 5 }).knnK, 5);
  assert.equal(resolveEvalSettings({ knnK: undefined }).knnK, EVAL_DEFAULTS.knnK);
  assert.throws(() => resolveEvalSettings({ knnK: 0, compressor: "zip" as "png" }), {
    message: 'eval settings: knnK: expected an integer >= 1, got 0\neval settings: compressor: expected png or deflate, got "zip"',
  });
  assert.throws(() => resolveEvalSettings({ knnk: 5 } as never), { message: /^eval settings: knnk: unknown key; did you mean knnK or oodKnnK\? \(known: batchSize, / });
  assert.throws(() => resolveEvalSettings({ representationLayer: 0 }), { message: /representationLayer: expected "auto", an encoder layer >= 1, or \(with --row-blocks\) a layer.s row block l - 0.5, got 0/ });
});
