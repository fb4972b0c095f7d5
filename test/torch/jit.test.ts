// TorchScript: modules scripted and saved by PyTorch (test/fixtures/make_fixtures.py) load, run and
// match PyTorch's outputs; bad paths, non-TorchScript files and bad inputs give errors, not crashes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { jit, tensor, Tensor, TorchError } from "../../src/torch/index.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
interface Values {
  shape: number[];
  values: number[];
}
const expected = JSON.parse(readFileSync(join(fixtures, "jit.expected.json"), "utf8")) as {
  input: Values;
  linear_relu: Values & { parameters: Record<string, number[]> };
  tuple_out: { y: Values; relu: Values; sum: Values };
};
const TOLERANCE = 1e-6;

function input(): Tensor {
  return tensor(Float32Array.from(expected.input.values), { shape: expected.input.shape });
}

function assertClose(label: string, got: unknown, want: Values): void {
  assert.ok(got instanceof Tensor, `${label}: expected a Tensor`);
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  const g = got.toArray();
  const maxDiff = Math.max(0, ...g.map((v, i) => Math.abs(v - want.values[i]!)));
  console.log(`${label}: max |gcrl - PyTorch| = ${maxDiff.toExponential(2)} (tolerance ${TOLERANCE})`);
  assert.ok(maxDiff <= TOLERANCE, `${label}: max difference ${maxDiff} > ${TOLERANCE}`);
}

test("forward of a scripted Linear+ReLU matches PyTorch's output", () => {
  const m = jit.load(join(fixtures, "linear_relu.pt"));
  assert.equal(m.training, false);
  assertClose("linear_relu", m.forwardTensor(input()), expected.linear_relu);
  assertClose("linear_relu via forward()", m.forward(input()), expected.linear_relu);
  m.dispose();
});

test("tuple and list results come back as nested arrays of tensors", () => {
  const m = jit.load(join(fixtures, "tuple_out.pt"), { device: "cpu" });
  const out = m.forward(input());
  assert.ok(Array.isArray(out) && out.length === 2);
  const [y, rest] = out;
  assertClose("tuple_out y", y, expected.tuple_out.y);
  assert.ok(Array.isArray(rest) && rest.length === 2);
  assertClose("tuple_out relu", rest[0], expected.tuple_out.relu);
  assertClose("tuple_out sum", rest[1], expected.tuple_out.sum);
  assert.throws(() => m.forwardTensor(input()), /expected forward\(\) to return one tensor, got an array of 2/);
});

test("namedParameters, train() and eval()", () => {
  const m = jit.load(join(fixtures, "linear_relu.pt"));
  const params = m.namedParameters();
  assert.deepEqual(
    Object.fromEntries([...params].map(([k, v]) => [k, v.shape])),
    expected.linear_relu.parameters,
  );
  assert.equal(m.parameters().length, 2);
  assert.equal(m.train().training, true);
  assertClose("linear_relu in train mode", m.forwardTensor(input()), expected.linear_relu); // no dropout: same output
  assert.equal(m.eval().training, false);
  assert.match(m.toString(), /linear_relu\.pt/);
});

test("a missing path or a directory → a clear error naming the path", () => {
  const missing = join(fixtures, "does_not_exist.pt");
  assert.throws(
    () => jit.load(missing),
    (e: unknown) => e instanceof TorchError && e.message.includes(missing) && /no such file/.test(e.message),
  );
  assert.throws(() => jit.load(fixtures), /not a file/);
  assert.throws(() => jit.load(""), /expected a file path/);
  assert.throws(() => jit.load(join(fixtures, "linear_relu.pt"), { device: "tpu" }), /device must be "cpu", "cuda" or "cuda:N"/);
});

test("a file that is not TorchScript → an error, not a crash", () => {
  for (const name of ["all_dtypes.safetensors", "state_dict.pt", "make_fixtures.py"]) {
    const path = join(fixtures, name);
    assert.throws(
      () => jit.load(path),
      (e: unknown) => e instanceof TorchError && e.message.includes(path) && /cannot load .* as a TorchScript module/.test(e.message),
      name,
    );
  }
});

test("wrong input shape or type → an error naming the file, and the module still works after", () => {
  const path = join(fixtures, "linear_relu.pt");
  const m = jit.load(path);
  const wrong = tensor(new Float32Array(10), { shape: [2, 5] });
  assert.throws(
    () => m.forward(wrong),
    (e: unknown) => e instanceof TorchError && e.message.includes(path) && /shapes cannot be multiplied \(2x5 and 4x3\)/.test(e.message),
  );
  assert.throws(() => m.forward(3), /linear_relu\.pt: expected a tensor for x/);
  assert.throws(() => m.forward(), /linear_relu\.pt: forward: missing argument 'x'/);
  assert.throws(() => m.forward({} as unknown as Tensor), /input 0 must be a Tensor/);
  const gone = input();
  gone.dispose();
  assert.throws(() => m.forward(gone), /input 0 was disposed/);
  assertClose("linear_relu after errors", m.forwardTensor(input()), expected.linear_relu);
  m.dispose();
  assert.equal(m.isDisposed, true);
  assert.throws(() => m.forward(input()), /was disposed/);
});
