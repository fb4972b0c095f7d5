// GCRLModel.encode(tokens, { representationLayer }): r(x) pooled from any encoder layer, checked
// against a hand composition of the blocks (embed → the first L layers' blocks → LN_r → mean over
// positions), for axial (2 blocks per layer) and dense (1 block per layer) models; the option
// overrides the config's representationLayer, `hidden` stays the final encoder output, and bad
// values are rejected with a message naming the option.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, manualSeed, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { assertClose } from "../helpers/assert-close.ts";
import { prng } from "../helpers/gradcheck.ts";

const cfg = { height: 4, width: 5, vocabSize: 6, d: 12, heads: 2, encoderLayers: 3, decoderLayers: 1, projectionDim: 4 } as const;

function randomTokens(b: number, seed: number): Tensor {
  const next = prng(seed);
  return tensor(Array.from({ length: b * cfg.height * cfg.width }, () => Math.floor(next() * cfg.vocabSize)), { dtype: "int64", shape: [b, cfg.height, cfg.width] });
}

/** r(x) by hand: the first `layer` encoder layers' blocks, then LN_r and the mean over (H, W). */
function handRepresentation(m: GCRLModel, x: Tensor, layer: number): { rep: number[]; hidden: number[] } {
  const perLayer = m.config.attention === "axial" ? 2 : 1;
  let h = m.embed(x);
  let rep: number[] = [];
  for (let i = 0; i < m.enc.length; i++) {
    h = m.enc.at(i).forward(h);
    if (i + 1 === layer * perLayer) rep = m.ln_r.forward(h).mean([1, 2]).toArray();
  }
  return { rep, hidden: h.toArray() };
}

for (const attention of ["axial", "dense"] as const) {
  test(`${attention}: encode(x, { representationLayer: l }) pools layer l, for every l; hidden is always the final output`, () =>
    tidy(() =>
      noGrad(() => {
        manualSeed(5);
        const m = new GCRLModel({ ...cfg, attention }).to("float64").eval();
        const x = randomTokens(3, 9);
        const reps: number[][] = [];
        for (let layer = 1; layer <= cfg.encoderLayers; layer++) {
          const want = handRepresentation(m, x, layer);
          const got = m.encode(x, { representationLayer: layer });
          assert.deepEqual(got.representation.shape, [3, cfg.d]);
          assertClose(got.representation, want.rep, 1e-13, `r(x) at layer ${layer}`);
          assertClose(got.hidden, want.hidden, 1e-13, `hidden with representationLayer ${layer}`);
          reps.push(got.representation.toArray());
        }
        // the layers really differ, and the default is the last layer
        assert.notDeepEqual(reps[0], reps[1]);
        assert.deepEqual(m.encode(x).representation.toArray(), reps[cfg.encoderLayers - 1]);
        m.dispose();
      }),
    ));
}

test("the option overrides the config's representationLayer; without it the config's layer is used", () =>
  tidy(() =>
    noGrad(() => {
      manualSeed(6);
      const m = new GCRLModel({ ...cfg, representationLayer: 2 }).to("float64").eval();
      const x = randomTokens(2, 10);
      assertClose(m.encode(x).representation, handRepresentation(m, x, 2).rep, 1e-13, "config layer 2");
      assertClose(m.encode(x, { representationLayer: 1 }).representation, handRepresentation(m, x, 1).rep, 1e-13, "option layer 1");
      assertClose(m.encode(x, { representationLayer: 3 }).representation, handRepresentation(m, x, 3).rep, 1e-13, "option layer 3");
      m.dispose();
    }),
  ));

test("representationLayer outside 1..encoderLayers or not an integer is a RangeError naming the option", () =>
  tidy(() => {
    const m = new GCRLModel(cfg);
    const x = randomTokens(1, 11);
    for (const bad of [0, 4, -1, 1.5, Number.NaN]) {
      assert.throws(() => m.encode(x, { representationLayer: bad }), (err: Error) => err instanceof RangeError && /representationLayer must be an integer in \[1, 3\]/.test(err.message), `value ${bad}`);
    }
    m.dispose();
  }));

for (const attention of ["axial", "dense"] as const) {
  test(`${attention}: encodeAllLayers gives every layer's r(x) (equal to the hand composition) and the final hidden, in one pass`, () =>
    tidy(() =>
      noGrad(() => {
        manualSeed(6);
        const m = new GCRLModel({ ...cfg, attention }).to("float64").eval();
        const x = randomTokens(2, 4);
        const { hidden, representations } = m.encodeAllLayers(x);
        assert.equal(representations.length, cfg.encoderLayers);
        for (let layer = 1; layer <= cfg.encoderLayers; layer++) {
          const hand = handRepresentation(m, x, layer);
          assertClose(representations[layer - 1]!, hand.rep, 1e-13, `r(x) of layer ${layer}`);
          if (layer === cfg.encoderLayers) assertClose(hidden, hand.hidden, 1e-13, "hidden");
        }
      }),
    ));
}

test("axial: encodeAllLayers with rowBlocks adds each layer's row block as layer l − ½ (hand composition), in encoder order", () =>
  tidy(() =>
    noGrad(() => {
      manualSeed(7);
      const m = new GCRLModel(cfg).to("float64").eval();
      const x = randomTokens(2, 12);
      assert.deepEqual(m.representationTaps(), [1, 2, 3]);
      assert.deepEqual(m.representationTaps(true), [0.5, 1, 1.5, 2, 2.5, 3]);
      const { hidden, representations } = m.encodeAllLayers(x, { rowBlocks: true });
      assert.equal(representations.length, 2 * cfg.encoderLayers);
      m.representationTaps(true).forEach((tap, i) => assertClose(representations[i]!, handRepresentation(m, x, tap).rep, 1e-13, `r(x) of tap ${tap}`));
      assertClose(hidden, handRepresentation(m, x, cfg.encoderLayers).hidden, 1e-13, "hidden");
      // a row block's r(x) is not its layer's
      assert.ok(representations[0]!.sub(representations[1]!).abs().max().item() > 1e-6);
      m.dispose();
    }),
  ));

test("dense: rowBlocks is refused (a dense layer is one block)", () =>
  tidy(() => {
    const m = new GCRLModel({ ...cfg, attention: "dense" });
    assert.throws(() => m.encodeAllLayers(randomTokens(1, 13), { rowBlocks: true }), (err: Error) => err instanceof RangeError && /row blocks exist only with attention "axial"/.test(err.message));
    m.dispose();
  }));
