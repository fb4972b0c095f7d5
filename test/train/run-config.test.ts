// Run configs: defaults, shipped files, unknown keys and wrong types with their paths, cross-key
// rules, "extends", command-line overrides, and a --help table that covers every key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUN_DEFAULTS, type RunConfig } from "../../src/train/run-config.ts";
import { datasetInfo } from "../../src/data/datasets/registry.ts";
import { applyOverrides, describeOptions, loadRunConfigFile, readRunConfigOverrides, resolveRunConfig, RunConfigError } from "../../src/train/run-config-validate.ts";
import { configHelpText, extractConfigFlags, shortcutHelpText } from "../../src/cli/config-flags.ts";

/** The problems of a config that must fail (the test fails if it resolves). */
function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    if (err instanceof RunConfigError) return err.problems;
    throw err;
  }
  assert.fail("expected a RunConfigError");
}

const resolveProblems = (overrides: unknown): string[] => problemsOf(() => resolveRunConfig(overrides, "configs/x.json"));

/** Dotted paths of every leaf of a plain object (arrays are leaves). */
function leafPaths(obj: unknown, prefix = ""): string[] {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return [prefix];
  return Object.entries(obj).flatMap(([k, v]) => leafPaths(v, prefix === "" ? k : `${prefix}.${k}`));
}

function withTempDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "gcrl-config-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the defaults resolve to RUN_DEFAULTS, and resolving a resolved config changes nothing", () => {
  const c = resolveRunConfig({}, "defaults");
  assert.deepEqual(c, JSON.parse(JSON.stringify(RUN_DEFAULTS)));
  assert.deepEqual(resolveRunConfig(c, "again"), c);
  assert.deepEqual(resolveRunConfig(null, "none"), c);
  // A fully resolved config: the augment sections have every key.
  assert.equal(c.augment.strong.brightness, 0.4);
  assert.equal(c.augment.weak.pad, 2);
  // Fresh objects: changing the result does not touch the defaults.
  c.optim.lr = 0.5;
  assert.equal(RUN_DEFAULTS.optim.lr, 3e-4);
  assert.ok(Object.isFrozen(c.optim.betas), "pairs are frozen tuples");
});

test("every shipped config resolves", () => {
  const files = readdirSync("configs").filter((f) => f.endsWith(".json"));
  assert.ok(files.includes("reference.json") && files.includes("demo.json") && files.includes("cifar.json"), files.join(", "));
  for (const f of files) {
    const c = loadRunConfigFile(join("configs", f));
    assert.ok(c.model.d > 0, f);
    const raw = JSON.parse(readFileSync(join("configs", f), "utf8")) as Record<string, unknown>;
    assert.equal(typeof raw.$comment === "string" || Array.isArray(raw.$comment), true, `${f} explains itself in a "$comment"`);
  }
});

test("reference.json has the sizes of torch_ref.py; cifar.json those of GCRL.md's table", () => {
  const ref = loadRunConfigFile("configs/reference.json");
  assert.deepEqual(
    [ref.train.batchSize, ref.data.name, ref.palette.k, ref.model.d, ref.model.heads, ref.model.encoderLayers, ref.model.decoderLayers, ref.model.geluApproximate, ref.model.attention],
    [32, "fashion-mnist", 16, 128, 4, 4, 2, "none", "axial"],
  );
  const cifar = loadRunConfigFile("configs/cifar.json");
  assert.deepEqual(
    [cifar.data.name, cifar.palette.k, cifar.model.d, cifar.model.heads, cifar.model.encoderLayers, cifar.model.decoderLayers, cifar.train.batchSize],
    ["cifar10", 512, 512, 8, 8, 4, 128],
  );
  const demo = loadRunConfigFile("configs/demo.json");
  assert.equal(demo.data.name, "fashion-mnist");
  assert.ok(demo.model.d < ref.model.d && demo.budget.steps !== null && demo.budget.steps <= 1500);
});

test("unknown keys are rejected at every depth, with their path and close matches", () => {
  assert.deepEqual(resolveProblems({ modle: {} }), ["modle: unknown key; did you mean model? (known: model, data, palette, augment, objective, optim, budget, train)"]);
  const [depth2] = resolveProblems({ model: { depth: 3 } });
  assert.match(depth2!, /^model\.depth: unknown key \(known: d, heads, encoderLayers, /);
  assert.deepEqual(resolveProblems({ model: { heds: 4 } }).map((p) => p.split(" (known")[0]), ["model.heds: unknown key; did you mean model.heads?"]);
  assert.deepEqual(resolveProblems({ augment: { strong: { blurr: true } } }).map((p) => p.split(" (known")[0]), ["augment.strong.blurr: unknown key; did you mean augment.strong.blur?"]);
  // The data-given model sizes are not config keys.
  assert.match(resolveProblems({ model: { height: 28 } })[0]!, /^model\.height: unknown key/);
  // The message of the error prefixes each problem with the source.
  assert.throws(() => resolveRunConfig({ model: { depth: 3 } }, "configs/x.json"), { message: /^configs\/x\.json: model\.depth: unknown key/ });
});

test("wrong types are rejected with their path", () => {
  assert.deepEqual(resolveProblems({ optim: { lr: "fast" } }), ['optim.lr: expected a positive number, got "fast"']);
  assert.throws(() => resolveRunConfig({ optim: { lr: "fast" } }, "configs/x.json"), { message: 'configs/x.json: optim.lr: expected a positive number, got "fast"' });
  assert.deepEqual(resolveProblems({ model: { d: "128" } }), ['model.d: expected an integer >= 1, got "128"']);
  assert.deepEqual(resolveProblems({ augment: { strong: { flip: "yes" } } }), ['augment.strong.flip: expected true or false, got "yes"']);
  assert.deepEqual(resolveProblems({ augment: { weak: { pad: 1.5 } } }), ["augment.weak.pad: expected an integer >= 0, got 1.5"]);
  assert.deepEqual(resolveProblems({ data: { classes: "0,1" } }), ['data.classes: expected null or a non-empty list of class names or label numbers, got "0,1"']);
  assert.deepEqual(resolveProblems({ budget: { steps: 10.5 } }), ["budget.steps: expected null or an integer >= 1, got 10.5"]);
  assert.deepEqual(resolveProblems({ train: 5 }), ["train: expected an object, got 5"]);
  assert.deepEqual(resolveProblems({ data: { name: 5 } }), ["data.name: expected a non-empty string, got 5"]);
  assert.deepEqual(resolveProblems({ augment: { weak: [] } }), ["augment.weak: expected an object, got []"]);
  assert.deepEqual(resolveProblems([1]), ["expected an object of config sections, got [1]"]);
  assert.deepEqual(resolveProblems({ $comment: 3 }), ["$comment: expected a string or a list of strings, got 3"]);
});

test("several problems are reported at once", () => {
  const err = (() => {
    try {
      resolveRunConfig({ extra: 1, model: { depth: 3, d: 130 }, optim: { lr: "fast", betas: [0.9, 1] }, augment: { weak: { pad: -1 }, strong: { scale: [0.5, 0.2], hue: 0.7 } }, train: { seed: -1 } }, "configs/x.json");
    } catch (e) {
      return e as RunConfigError;
    }
    assert.fail("resolved");
  })();
  const expected = [
    /^extra: unknown key/,
    /^model\.depth: unknown key/,
    /^model\.heads: d=130 is not divisible by heads=4$/,
    /^optim\.lr: expected a positive number, got "fast"$/,
    /^optim\.betas: expected \[β1, β2\] with both in \[0, 1\), got \[0\.9, 1\]$/,
    /^augment\.weak\.pad: expected an integer >= 0, got -1$/,
    /^augment\.strong\.scale: expected \[min, max\] with 0 < min <= max <= 1, got \[0\.5, 0\.2\]$/,
    /^augment\.strong\.hue: expected a number in \[0, 0\.5\], got 0\.7$/,
    /^train\.seed: expected an integer in \[0, 4294967295\], got -1$/,
  ];
  assert.equal(err.problems.length, expected.length, err.problems.join("\n"));
  for (const re of expected) assert.ok(err.problems.some((p) => re.test(p)), `no problem matches ${re}:\n${err.problems.join("\n")}`);
  assert.equal(err.message.split("\n").length, expected.length);
  assert.ok(err.message.split("\n").every((line) => line.startsWith("configs/x.json: ")));
});

test("cross-key rules: the mode decides which losses (and which weights) matter", () => {
  assert.match(resolveProblems({ train: { batchSize: 1 } })[0]!, /^train\.batchSize: must be >= 2: mode "gcrl" trains the contrastive loss/);
  assert.match(resolveProblems({ objective: { mode: "simclr" }, train: { batchSize: 1 } })[0]!, /^train\.batchSize: must be >= 2/);
  assert.equal(resolveRunConfig({ objective: { mode: "igpt" }, train: { batchSize: 1 } }, "x").train.batchSize, 1);
  assert.match(resolveProblems({ objective: { alpha: 0 } })[0]!, /^objective\.alpha: must be > 0: mode "gcrl" trains the generative loss/);
  assert.match(resolveProblems({ objective: { mode: "simclr", beta: 0 } })[0]!, /^objective\.beta: must be > 0/);
  // A weight the mode does not use is ignored, whatever it is (but still a number >= 0).
  assert.equal(resolveRunConfig({ objective: { mode: "simclr", alpha: 0 } }, "x").objective.alpha, 0);
  assert.equal(resolveRunConfig({ objective: { mode: "igpt", beta: 0 } }, "x").objective.beta, 0);
  assert.deepEqual(resolveProblems({ objective: { mode: "igpt", beta: -1 } }), ["objective.beta: expected a number >= 0, got -1"]);
  assert.deepEqual(resolveProblems({ objective: { mode: "byol" } }), ['objective.mode: expected one of "gcrl", "igpt", "simclr", got "byol"']);
  assert.deepEqual(resolveProblems({ objective: { tau: 0 } }), ["objective.tau: expected a positive number, got 0"]);
});

test("objective.generativeReduction: pixel (default) or image; other values name the key; old configs without it load as pixel", () => {
  assert.equal(resolveRunConfig({}, "x").objective.generativeReduction, "pixel");
  assert.equal(resolveRunConfig({ objective: { generativeReduction: "image" } }, "x").objective.generativeReduction, "image");
  assert.deepEqual(resolveProblems({ objective: { generativeReduction: "sum" } }), ['objective.generativeReduction: expected one of "pixel", "image", got "sum"']);
  assert.deepEqual(resolveProblems({ objective: { generativeReduction: null } }), ['objective.generativeReduction: expected one of "pixel", "image", got null']);
  const base = resolveRunConfig({}, "defaults");
  assert.equal(applyOverrides(base, { "objective.generativeReduction": "image" }).objective.generativeReduction, "image");
  assert.deepEqual(problemsOf(() => applyOverrides(base, { "objective.generativeReduction": "mean" })), ['--objective.generativeReduction: expected one of "pixel", "image", got "mean"']);
  // A config.json written before the key existed: the full resolved config of the time, without it.
  const old = JSON.parse(JSON.stringify(base)) as { objective: Record<string, unknown> };
  delete old.objective.generativeReduction;
  assert.deepEqual(Object.keys(old.objective), ["mode", "alpha", "beta", "tau"]);
  const loaded = resolveRunConfig(old, "runs/old/config.json");
  assert.equal(loaded.objective.generativeReduction, "pixel");
  assert.deepEqual(loaded, base);
  withTempDir((dir) => {
    writeFileSync(join(dir, "old.json"), JSON.stringify(old));
    assert.equal(loadRunConfigFile(join(dir, "old.json")).objective.generativeReduction, "pixel");
  });
});

test("the flips follow the dataset: off for mnist and mnist-digits, on for the others, unless set", () => {
  const flips = (c: RunConfig): [boolean | undefined, boolean | undefined] => [c.augment.weak.flip, c.augment.strong.flip];
  assert.deepEqual(flips(RUN_DEFAULTS), [datasetInfo(RUN_DEFAULTS.data.name).hflip, datasetInfo(RUN_DEFAULTS.data.name).hflip], "RUN_DEFAULTS agree with the default dataset");
  assert.deepEqual(flips(resolveRunConfig({ data: { name: "mnist" } }, "x")), [false, false]);
  assert.deepEqual(flips(resolveRunConfig({ data: { name: "mnist-digits" } }, "x")), [false, false]);
  assert.deepEqual(flips(resolveRunConfig({ data: { name: "fashion-mnist" } }, "x")), [true, true]);
  assert.deepEqual(flips(resolveRunConfig({ data: { name: "cifar10" } }, "x")), [true, true]);
  assert.deepEqual(flips(resolveRunConfig({ data: { name: "folder:/some/photos" } }, "x")), [true, true]);
  // Set explicitly: kept, each view on its own.
  assert.deepEqual(flips(resolveRunConfig({ data: { name: "mnist" }, augment: { weak: { flip: true } } }, "x")), [true, false]);
  assert.deepEqual(flips(resolveRunConfig({ augment: { strong: { flip: false } } }, "x")), [true, false]);
  // --data on a resolved config (a config file, then the flag): the flips follow the new dataset...
  const fashion = loadRunConfigFile("configs/demo.json");
  const mnist = applyOverrides(fashion, { data: "mnist" });
  assert.deepEqual(flips(mnist), [false, false]);
  assert.deepEqual(flips(applyOverrides(mnist, { "data.name": "cifar10" })), [true, true]);
  assert.deepEqual(flips(applyOverrides(fashion, { data: "mnist", "augment.weak.flip": "true" })), [true, false]);
  // ...unless a flip was set away from the old dataset's default; a config file naming mnist gets none.
  assert.deepEqual(flips(applyOverrides(resolveRunConfig({ augment: { weak: { flip: false } } }, "x"), { data: "cifar10" })), [false, true]);
  withTempDir((dir) => {
    writeFileSync(join(dir, "base.json"), readFileSync("configs/demo.json", "utf8"));
    writeFileSync(join(dir, "digits.json"), JSON.stringify({ extends: "base.json", data: { name: "mnist-digits" } }));
    assert.deepEqual(flips(loadRunConfigFile(join(dir, "digits.json"))), [false, false]);
  });
  // A config.json of an mnist run from before this rule (flips on, written out) keeps them: it is what the run trained with.
  const oldRun = JSON.parse(JSON.stringify(resolveRunConfig({}, "x"))) as RunConfig;
  oldRun.data.name = "mnist";
  assert.deepEqual(flips(resolveRunConfig(oldRun, "runs/old/config.json")), [true, true]);
});

test("cross-key rules: budget, schedule, data and palette", () => {
  assert.deepEqual(resolveProblems({ budget: { steps: null } }), ["budget: no limit: set at least one of budget.epochs, budget.steps, budget.minutes"]);
  assert.equal(resolveRunConfig({ budget: { steps: null, minutes: 0.5 } }, "x").budget.minutes, 0.5);
  assert.deepEqual(resolveProblems({ optim: { lr: 1e-3, minLr: 2e-3 } }), ["optim.minLr: must be <= optim.lr (0.001), got 0.002"]);
  assert.deepEqual(resolveProblems({ optim: { warmupSteps: -1 } }), ["optim.warmupSteps: expected an integer >= 0, got -1"]);
  assert.deepEqual(resolveProblems({ data: { evalImages: -1 } }), ["data.evalImages: expected an integer >= 0, got -1"]);
  assert.match(resolveProblems({ data: { name: "imagenet" } })[0]!, /^data\.name: unknown dataset "imagenet" \(known: fashion-mnist, mnist, .*folder:PATH/);
  assert.equal(resolveRunConfig({ data: { name: "folder:/some/images" } }, "x").data.name, "folder:/some/images");
  assert.match(resolveProblems({ data: { classes: ["Coat", 12, "Shirtt"] } })[0]!, /^data\.classes: fashion-mnist has no class 12, "Shirtt" \(classes: 0 T-shirt\/top, /);
  assert.deepEqual(resolveRunConfig({ data: { classes: ["Coat", 0, "6"] } }, "x").data.classes, ["Coat", 0, "6"]);
  assert.deepEqual(resolveProblems({ data: { limit: 16 } }), ["data.limit: 16 images make no complete batch of train.batchSize = 32"]);
  assert.deepEqual(resolveProblems({ palette: { k: 1 } }), ["palette.k: expected null or an integer in [2, 4096], got 1"]);
  assert.deepEqual(resolveProblems({ palette: { k: 512 } }), ["palette.k: fashion-mnist is grayscale (256 levels): expected at most 256 colors, got 512"]);
  assert.equal(resolveRunConfig({ data: { name: "cifar10" }, palette: { k: 4096 } }, "x").palette.k, 4096);
  assert.deepEqual(resolveProblems({ data: { name: "cifar10" }, palette: { samplePixels: 100 } }), ["palette.samplePixels: k-means needs at least K = 512 pixels, got 100"]);
  assert.match(resolveProblems({ model: { representationLayer: 5 } })[0]!, /^model\.representationLayer: expected null \(the final encoder output\) or an encoder layer in \[1, 4\], got 5$/);
});

test("arrays replace, objects merge; jitter ranges follow jitterStrength unless set", () => {
  const c = resolveRunConfig({ optim: { betas: [0.8, 0.9] }, data: { classes: [1] }, model: { d: 64 } }, "x");
  assert.deepEqual(c.optim.betas, [0.8, 0.9]);
  assert.deepEqual(c.data.classes, [1]);
  assert.equal(c.model.heads, 4); // the rest of the section stays
  const strong = resolveRunConfig({ augment: { strong: { jitterStrength: 1, hue: 0.05 } } }, "x").augment.strong;
  assert.deepEqual([strong.brightness, strong.contrast, strong.saturation, strong.hue], [0.8, 0.8, 0.8, 0.05]);
  // On a resolved config too (a run folder's config.json, then a flag).
  const again = applyOverrides(resolveRunConfig({ augment: { strong: { brightness: 0.3 } } }, "x"), { "augment.strong.jitterStrength": "1" });
  assert.deepEqual([again.augment.strong.brightness, again.augment.strong.contrast, again.augment.strong.hue], [0.3, 0.8, 0.2]);
});

test("config files: extends (recursive, relative), $comment anywhere, problems traced to the file that set them", () => {
  withTempDir((dir) => {
    writeFileSync(join(dir, "base.json"), JSON.stringify({ $comment: "the base", model: { d: 64, heads: 4 }, optim: { betas: [0.8, 0.9] }, budget: { steps: 100 } }));
    writeFileSync(join(dir, "mid.json"), JSON.stringify({ extends: "base.json", model: { $comment: ["why", "so"], heads: 2 } }));
    writeFileSync(join(dir, "sub-child.json"), "");
    writeFileSync(join(dir, "child.json"), JSON.stringify({ extends: "./mid.json", $comment: ["a", "b"], optim: { betas: [0.9, 0.99] }, train: { batchSize: 8 } }));
    const c = loadRunConfigFile(join(dir, "child.json"));
    assert.deepEqual([c.model.d, c.model.heads, c.optim.betas, c.budget.steps, c.train.batchSize], [64, 2, [0.9, 0.99], 100, 8]);
    assert.deepEqual(readRunConfigOverrides(join(dir, "child.json")), { model: { d: 64, heads: 2 }, optim: { betas: [0.9, 0.99] }, budget: { steps: 100 }, train: { batchSize: 8 } });

    writeFileSync(join(dir, "bad-base.json"), JSON.stringify({ model: { d: 66, depth: 2 } }));
    writeFileSync(join(dir, "bad-child.json"), JSON.stringify({ extends: "bad-base.json", optim: { lr: 0 } }));
    const problems = problemsOf(() => loadRunConfigFile(join(dir, "bad-child.json")));
    assert.ok(problems.some((p) => p.startsWith("model.depth: unknown key") && p.endsWith(`(set in ${join(dir, "bad-base.json")})`)), problems.join("\n"));
    assert.ok(problems.includes("optim.lr: expected a positive number, got 0"), problems.join("\n"));
    assert.ok(problems.includes("model.heads: d=66 is not divisible by heads=4"), problems.join("\n"));

    writeFileSync(join(dir, "missing.json"), JSON.stringify({ extends: "nowhere.json" }));
    assert.throws(() => loadRunConfigFile(join(dir, "missing.json")), { message: `${join(dir, "nowhere.json")}: no such file` });
    writeFileSync(join(dir, "bad-extends.json"), JSON.stringify({ extends: 3 }));
    assert.throws(() => loadRunConfigFile(join(dir, "bad-extends.json")), /bad-extends\.json: extends: expected the path of another config file/);
    assert.throws(() => resolveRunConfig({ extends: "x.json" }, "object"), { message: /^object: extends: only config files/ });
  });
});

test("config files: extends cycles are detected", () => {
  withTempDir((dir) => {
    writeFileSync(join(dir, "a.json"), JSON.stringify({ extends: "b.json" }));
    writeFileSync(join(dir, "b.json"), JSON.stringify({ extends: "a.json" }));
    writeFileSync(join(dir, "self.json"), JSON.stringify({ extends: "self.json" }));
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    assert.throws(() => loadRunConfigFile(a), { message: `${b}: extends: a cycle: ${a} → ${b} → ${a}` });
    assert.throws(() => loadRunConfigFile(join(dir, "self.json")), /self\.json: extends: a cycle: .*self\.json → .*self\.json$/);
  });
});

test("config files: JSON syntax errors name the file, line and column", () => {
  withTempDir((dir) => {
    const file = join(dir, "x.json");
    writeFileSync(file, '{\n  "model": {\n    "d": 64,\n  }\n}\n');
    assert.throws(() => loadRunConfigFile(file), { message: `${file}:4:3: invalid JSON: Expected double-quoted property name` });
    writeFileSync(file, '{\n  // a comment\n  "model": {}\n}');
    assert.throws(() => loadRunConfigFile(file), { message: `${file}:2:3: invalid JSON: Expected property name or '}' (JSON has no comments: write notes in "$comment" keys)` });
    writeFileSync(file, '{"model": {"d": tru}}');
    assert.throws(() => loadRunConfigFile(file), { message: `${file}:1:17: invalid JSON: Unexpected token '}'` });
    writeFileSync(file, '[1, 2]');
    assert.throws(() => loadRunConfigFile(file), { message: `${file}: expected a JSON object of config sections, got [1, 2]` });
  });
});

test("command-line overrides of every type", () => {
  const base = resolveRunConfig({}, "defaults");
  const c = applyOverrides(base, {
    "model.d": "256", // number
    "--optim.lr": "1e-3", // number, dashes allowed
    "augment.weak.flip": "false", // boolean
    "objective.mode": "simclr", // string (one of)
    "model.representationLayer": "null", // null
    "palette.k": "8", // null-able number, given a number
    "data.classes": "0,1,Coat", // list
    "optim.betas": "0.8,0.9", // pair
  });
  assert.equal(c.model.d, 256);
  assert.equal(c.optim.lr, 1e-3);
  assert.equal(c.augment.weak.flip, false);
  assert.equal(c.objective.mode, "simclr");
  assert.equal(c.model.representationLayer, null);
  assert.equal(c.palette.k, 8);
  assert.deepEqual(c.data.classes, [0, 1, "Coat"]);
  assert.deepEqual(c.optim.betas, [0.8, 0.9]);
  assert.equal(applyOverrides(c, { "model.representationLayer": "2" }).model.representationLayer, 2);
  assert.equal(applyOverrides(c, { "data.classes": "null" }).data.classes, null);
  assert.equal(applyOverrides(base, { "data.dataDir": "/data/fm" }).data.dataDir, "/data/fm");
  // The input is not modified.
  assert.equal(base.model.d, 128);
  // Shortcuts; a budget shortcut replaces the whole budget.
  const s = applyOverrides(base, { data: "mnist", mode: "igpt", epochs: "3", "batch-size": "64" });
  assert.deepEqual([s.data.name, s.objective.mode, s.budget, s.train.batchSize], ["mnist", "igpt", { epochs: 3, steps: null, minutes: null }, 64]);
  assert.deepEqual(applyOverrides(base, { "budget.epochs": "3" }).budget, { epochs: 3, steps: 10_000, minutes: null });
});

test("bad command-line overrides fail, naming the flag", () => {
  const base = resolveRunConfig({}, "defaults");
  const bad = (flags: Record<string, string>): string[] => problemsOf(() => applyOverrides(base, flags));
  assert.deepEqual(bad({ "optim.lr": "fast" }), ["--optim.lr: expected a number, got 'fast'"]);
  assert.throws(() => applyOverrides(base, { "optim.lr": "fast" }), { message: "command line: --optim.lr: expected a number, got 'fast'" });
  assert.deepEqual(bad({ "augment.weak.flip": "no" }), ["--augment.weak.flip: expected true or false, got 'no'"]);
  assert.deepEqual(bad({ "optim.betas": "0.9" }), ["--optim.betas: expected two numbers A,B, got '0.9'"]);
  assert.deepEqual(bad({ "model.d": "null" }), ["--model.d: expected a number, got 'null'"]);
  assert.deepEqual(bad({ "model.d": "1.5" }), ["--model.d: expected an integer >= 1, got 1.5"]);
  assert.deepEqual(bad({ "model.heads": "3" }), ["--model.heads: d=128 is not divisible by heads=3"]);
  assert.deepEqual(bad({ "optim.lr": "-1" }), ["--optim.lr: expected a positive number, got -1"]);
  assert.deepEqual(bad({ "objective.mode": "byol" }), ['--objective.mode: expected one of "gcrl", "igpt", "simclr", got "byol"']);
  assert.deepEqual(bad({ "model.heds": "2" }), ["unknown option --model.heds; did you mean --model.heads?"]);
  assert.deepEqual(bad({ "optim.learningRate": "1" }), ["unknown option --optim.learningRate"]);
  assert.deepEqual(bad({ d: "64" }), ["unknown option --d; did you mean --model.d?"]);
  assert.deepEqual(bad({ warmup: "10" }), ["unknown option --warmup; did you mean --optim.warmupSteps?"]);
  assert.deepEqual(bad({ model: "simclr" }), ["--model names a section, not a value; did you mean --mode?"]);
  assert.deepEqual(bad({ steps: "10", "budget.steps": "20" }), ["--budget.steps: --steps sets budget.steps too"]);
  // All at once.
  assert.equal(bad({ "optim.lr": "fast", "model.depth": "3", "model.heads": "3" }).length, 3);
});

test("extractConfigFlags splits dotted flags from a command's own options", () => {
  assert.deepEqual(extractConfigFlags(["--config", "configs/demo.json", "--model.d", "256", "--optim.lr=1e-3", "--out", "runs/x", "--augment.weak.flip", "--optim.minLr", "-1"]), {
    flags: { "model.d": "256", "optim.lr": "1e-3", "augment.weak.flip": "true", "optim.minLr": "-1" },
    rest: ["--config", "configs/demo.json", "--out", "runs/x"],
  });
  assert.throws(() => extractConfigFlags(["--model.d"]), { message: "command line: --model.d: expected a value" });
  assert.throws(() => extractConfigFlags(["--model.d", "1", "--model.d=2"]), /--model\.d is given twice/);
});

test("describeOptions covers every key of RUN_DEFAULTS, so --help cannot go stale", () => {
  const options = describeOptions();
  assert.deepEqual(options.map((o) => o.path), leafPaths(RUN_DEFAULTS));
  for (const o of options) {
    assert.ok(o.help.length > 10 && !o.help.includes("\n"), `${o.path}: help`);
    assert.ok(o.type.length > 0, `${o.path}: type`);
    let v: unknown = RUN_DEFAULTS;
    for (const part of o.path.split(".")) v = (v as Record<string, unknown>)[part];
    assert.deepEqual(o.default, v, o.path);
  }
  const help = configHelpText();
  assert.equal(help.split("\n").length, options.length);
  assert.match(help, /^ {2}--model\.d N +model width d \(embedding and residual stream\) \(default 128\)$/m);
  assert.match(help, /^ {2}--palette\.k N\|null +.*\(default null\)$/m);
  assert.match(help, /^ {2}--optim\.betas A,B +.*\(default 0\.9,0\.95\)$/m);
  assert.match(help, /^ {2}--augment\.weak\.flip true\|false +.*\(default true\)$/m);
  // With another base config, its values are the defaults shown.
  const demo: RunConfig = loadRunConfigFile("configs/demo.json");
  assert.match(configHelpText(demo), new RegExp(`--model\\.d N +.*\\(default ${demo.model.d}\\)`));
  assert.match(shortcutHelpText(), /--steps N\|null +?= --budget\.steps/);
});

test("docs/configs.md describes every key", () => {
  const doc = readFileSync("docs/configs.md", "utf8");
  for (const o of describeOptions()) assert.ok(doc.includes(`\`${o.path}\``), `docs/configs.md does not mention \`${o.path}\``);
});

test("a resolved config is checked once: checkedRunConfig passes it (and an equal copy) as it is, and checks anything else", async () => {
  const { checkedRunConfig } = await import("../../src/train/run-config-validate.ts");
  const c = resolveRunConfig({ model: { d: 64 } }, "x");
  assert.equal(checkedRunConfig(c, "again"), c, "the same object comes back, unchecked");
  const copy = structuredClone(c);
  assert.equal(checkedRunConfig(copy, "copy"), copy);
  copy.model.heads = 3; // changed after resolution: checked again
  assert.throws(() => checkedRunConfig(copy, "changed"), { message: "changed: model.heads: d=64 is not divisible by heads=3" });
});
