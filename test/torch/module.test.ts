// Module: names and order of parameters, state dict round trip and its errors, modes, gradients,
// dtype conversion and disposal.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, dispose, manualSeed, randn, zeros, noGrad, Tensor } from "../../src/torch/index.ts";
import { Module, ModuleList, Sequential, Linear, LayerNorm, Embedding, Dropout } from "../../src/torch/nn/index.ts";

class Attention extends Module {
  readonly qkv = this.child("qkv", new Linear(4, 12));
  readonly proj = this.child("proj", new Linear(4, 4));
}

class Block extends Module {
  readonly ln = this.child("ln", new LayerNorm(4));
  readonly attn = this.child("attn", new Attention());
  readonly drop = this.child("drop", new Dropout(0.1));
}

/** A model shaped like a small transformer: names as in nanoGPT-style checkpoints. */
class Model extends Module {
  readonly tok = this.child("tok", new Embedding(10, 4));
  readonly pos: Tensor;
  readonly blocks = this.child("blocks", new ModuleList([new Block(), new Block()]));
  readonly head = this.child("head", new Linear(4, 10, { bias: false }));
  readonly counter: Tensor;
  readonly scratch: Tensor;

  constructor() {
    super();
    this.pos = this.param("pos", noGrad(() => randn([3, 4]).mul(0.02)));
    this.counter = this.buffer("counter", zeros([1]));
    this.scratch = this.buffer("scratch", zeros([2]), { persistent: false });
  }
}

const BLOCK_NAMES = (i: number): string[] => [
  `blocks.${i}.ln.weight`,
  `blocks.${i}.ln.bias`,
  `blocks.${i}.attn.qkv.weight`,
  `blocks.${i}.attn.qkv.bias`,
  `blocks.${i}.attn.proj.weight`,
  `blocks.${i}.attn.proj.bias`,
];
// PyTorch's order: a module's own parameters first, then each child's, in registration order.
const PARAM_NAMES = ["pos", "tok.weight", ...BLOCK_NAMES(0), ...BLOCK_NAMES(1), "head.weight"];

function seeded(seed: number): Model {
  manualSeed(seed);
  return new Model();
}

describe("Module", () => {
  test("namedParameters: dotted names in registration order; parameters require grad", () => {
    const m = seeded(0);
    assert.deepEqual(m.namedParameters().map(([n]) => n), PARAM_NAMES);
    assert.ok(m.parameters().every((p) => p.requiresGrad && p.isLeaf));
    assert.deepEqual(m.namedBuffers().map(([n]) => n), ["counter", "scratch"]);
    assert.deepEqual(
      m.namedModules().map(([n]) => n),
      ["", "tok", "blocks", "blocks.0", "blocks.0.ln", "blocks.0.attn", "blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.0.drop", "blocks.1", "blocks.1.ln", "blocks.1.attn", "blocks.1.attn.qkv", "blocks.1.attn.proj", "blocks.1.drop", "head"],
    );
    // 3·4 + 10·4 + 2·(4 + 4 + 12·4 + 12 + 4·4 + 4) + 4·10
    assert.equal(m.numParameters(), 12 + 40 + 2 * (8 + 60 + 20) + 40);
    m.dispose();
  });

  test("parameters survive tidy scopes (kept)", () => {
    const m = tidy(() => seeded(0));
    assert.ok(m.parameters().every((p) => !p.isDisposed));
    m.dispose();
  });

  test("stateDict: parameters and persistent buffers; loadStateDict round trip", () => {
    const a = seeded(1);
    const b = seeded(2);
    const sd = a.stateDict();
    assert.deepEqual([...sd.keys()], [...PARAM_NAMES.slice(0, 1), "counter", ...PARAM_NAMES.slice(1)]);
    assert.ok([...sd.values()].every((t) => !t.requiresGrad));
    const result = b.loadStateDict(sd);
    assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
    for (const [[na, pa], [nb, pb]] of a.namedParameters().map((e, i) => [e, b.namedParameters()[i]!] as const)) {
      assert.equal(na, nb);
      assert.deepEqual(pb.toArray(), pa.toArray());
    }
    // The same outputs, and b's parameters are its own (not views of a's).
    const x = tensor([[1, 2, 3]], { dtype: "int64" });
    tidy(() => assert.deepEqual(b.head.forward(b.tok.forward(x)).toArray(), a.head.forward(a.tok.forward(x)).toArray()));
    noGrad(() => a.pos.fill_(5));
    assert.notDeepEqual(b.pos.toArray(), a.pos.toArray());
    dispose([sd, x]);
    a.dispose();
    b.dispose();
  });

  test("loadStateDict errors name the missing, unexpected and mismatched keys and change nothing", () => {
    const m = seeded(3);
    const before = m.pos.toArray();
    const src = seeded(4);
    const sd = src.stateDict();
    sd.delete("blocks.1.attn.qkv.bias");
    sd.set("blocks.2.ln.weight", tensor([1, 2, 3, 4]));
    assert.throws(() => m.loadStateDict(sd), (err: Error) => {
      assert.match(err.message, /missing key\(s\): "blocks\.1\.attn\.qkv\.bias"/);
      assert.match(err.message, /unexpected key\(s\): "blocks\.2\.ln\.weight"/);
      return true;
    });
    assert.deepEqual(m.pos.toArray(), before);

    // Non-strict: reports the keys, loads the rest.
    const r = m.loadStateDict(sd, { strict: false });
    assert.deepEqual(r, { missingKeys: ["blocks.1.attn.qkv.bias"], unexpectedKeys: ["blocks.2.ln.weight"] });
    assert.deepEqual(m.pos.toArray(), src.pos.toArray());

    const badShape = new Map(sd);
    badShape.set("head.weight", zeros([10, 5]));
    assert.throws(() => m.loadStateDict(badShape, { strict: false }), /shape mismatch for "head\.weight": the state has \[10, 5\], the module has \[10, 4\]/);
    const badDtype = new Map(sd);
    badDtype.set("tok.weight", zeros([10, 4], { dtype: "float64" }));
    assert.throws(() => m.loadStateDict(badDtype, { strict: false }), /dtype mismatch for "tok\.weight": the state has float64, the module has float32/);
    dispose([sd, badShape.get("head.weight"), badDtype.get("tok.weight")]);
    m.dispose();
    src.dispose();
  });

  test("train()/eval() reach every descendant; Dropout is the identity in eval mode", () => {
    const m = seeded(5);
    assert.ok(m.modules().every((x) => x.training));
    m.eval();
    assert.ok(m.modules().every((x) => !x.training));
    const x = randn([4, 16]);
    const drop = m.blocks.at(0).drop;
    tidy(() => assert.deepEqual(drop.forward(x).toArray(), x.toArray()));
    m.train();
    assert.ok(m.modules().every((x) => x.training));
    tidy(() => assert.ok(drop.forward(x).eq(0).sum().item() > 0, "dropout in training mode zeroes something"));
    x.dispose();
    m.dispose();
  });

  test("zeroGrad drops gradients", () => {
    const m = seeded(6);
    tidy(() => m.head.forward(m.tok.forward(tensor([1, 2], { dtype: "int64" }))).sum().backward());
    assert.ok(tidy(() => m.head.weight.grad !== null && m.tok.weight.grad !== null));
    m.zeroGrad();
    assert.ok(tidy(() => m.parameters().every((p) => p.grad === null)));
    m.dispose();
  });

  test("tied parameters are listed once but saved under every name", () => {
    class Tied extends Module {
      readonly emb = this.child("emb", new Embedding(5, 3));
      readonly out: Tensor;
      constructor() {
        super();
        this.out = this.param("out", this.emb.weight);
      }
    }
    const m = new Tied();
    assert.deepEqual(m.namedParameters().map(([n]) => n), ["out"]);
    assert.equal(m.numParameters(), 15);
    const sd = m.stateDict();
    assert.deepEqual([...sd.keys()], ["out", "emb.weight"]);
    dispose(sd);
    m.dispose();
  });

  test("registration errors name the problem", () => {
    class Bad extends Module {
      constructor(kind: "dup" | "dot" | "nonleaf" | "int") {
        super();
        const a = zeros([2]);
        if (kind === "dup") {
          this.param("w", a);
          this.param("w", zeros([2]));
        } else if (kind === "dot") this.param("a.b", a);
        else if (kind === "nonleaf") {
          const leaf = zeros([2], { requiresGrad: true });
          this.param("w", leaf.mul(2));
        } else this.param("w", zeros([2], { dtype: "int64" }));
      }
    }
    tidy(() => {
      assert.throws(() => new Bad("dup"), /the name "w" is already registered/);
      assert.throws(() => new Bad("dot"), /'name' must be a non-empty name without dots, got "a\.b"/);
      assert.throws(() => new Bad("nonleaf"), /a leaf tensor for parameter "w"/);
      assert.throws(() => new Bad("int"), /a floating-point tensor for parameter "w"/);
    });
  });

  test("to(dtype) converts in place: same Tensor objects, new dtype", () => {
    const m = new Linear(3, 2);
    const w = m.weight;
    const before = w.toArray();
    m.to("float64");
    assert.equal(m.weight, w);
    assert.equal(w.dtype, "float64");
    assert.equal(m.bias!.dtype, "float64");
    assert.ok(w.requiresGrad);
    assert.deepEqual(w.toArray(), before); // float32 values are exact in float64
    tidy(() => assert.deepEqual(m.forward(tensor([[1, 2, 3]], { dtype: "float64" })).shape, [1, 2]));
    assert.throws(() => m.to("int64"), /'dtype' must be a floating-point dtype/);
    m.dispose();
  });

  test("dispose frees every parameter and buffer", () => {
    const m = seeded(7);
    const tensors = [...m.parameters(), ...m.namedBuffers().map(([, b]) => b)];
    m.dispose();
    assert.ok(tensors.every((t) => t.isDisposed));
    m.dispose(); // idempotent
  });

  test("ModuleList and Sequential", () => {
    const list = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
    list.push(new Linear(2, 3));
    assert.equal(list.length, 3);
    assert.equal(list.at(-1).outFeatures, 3);
    assert.deepEqual([...list].map((l) => l.outFeatures), [2, 2, 3]);
    assert.throws(() => list.at(3), /'index' must be an integer in \[-3, 2\]/);
    assert.deepEqual(list.namedParameters().map(([n]) => n), ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]);

    const seq = new Sequential(new Linear(2, 4), new LayerNorm(4), new Linear(4, 1));
    tidy(() => {
      const x = randn([5, 2]);
      const want = seq.at(2).forward(seq.at(1).forward(seq.at(0).forward(x)));
      assert.deepEqual(seq.forward(x).toArray(), want.toArray());
    });
    list.dispose();
    seq.dispose();
  });
});
