// GCRLModel against the PyTorch reference network of ../shared/bench/torch_ref.py: same state-dict
// keys, and with the same deterministic weights the same generative and contrastive losses and
// encoder output in float64. The numbers were printed by test/fixtures/make_model_reference.py
// (which executes torch_ref.py's own classes); torch_ref.py pads shift_right with zeros, so the
// learned start vector is set to 0 here. Sizes: B=3, 4×5, K=6, d=16, 2 heads, enc=2, dec=1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor, tidy, noGrad, type Tensor } from "../../src/torch/index.ts";
import { GCRLModel } from "../../src/model/index.ts";
import { generativeLoss, ntXentLoss } from "../../src/train/objectives.ts";
import { assertClose } from "../helpers/assert-close.ts";

const TORCH_REF = { generative: 2.322504641014405, contrastive: 1.6077024139075544, hiddenSum: -379.8070891811226, hiddenFirst: [-3.6261813529409084, 3.7701493944509594, 3.9532656812932547, -3.824401976513493, -4.393999680058985, -0.4491874948134462] };
const TORCH_KEYS_AFTER_ENC = ["dec.0.ln1.weight", "dec.0.ln1.bias", "dec.0.ln2.weight", "dec.0.ln2.bias", "dec.0.qkv.weight", "dec.0.qkv.bias", "dec.0.proj.weight", "dec.0.proj.bias", "dec.0.fc1.weight", "dec.0.fc1.bias", "dec.0.fc2.weight", "dec.0.fc2.bias", "ln_r.weight", "ln_r.bias", "ln_f.weight", "ln_f.bias", "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias", "out.weight", "out.bias"];

const [B, H, W, K] = [3, 4, 5, 6];

/** The weights of make_model_reference.py: base + 0.3·sin(0.61·i + 0.013·Σ char codes of the key). */
function referenceValue(key: string, i: number): number {
  let codes = 0;
  for (const ch of key) codes += ch.charCodeAt(0);
  const base = key.includes("ln") && key.endsWith(".weight") ? 1 : 0;
  return base + 0.3 * Math.sin(0.61 * i + 0.013 * codes);
}

test("same network as torch_ref.py: state-dict keys, losses and encoder output (float64)", () => {
  tidy(() => {
    const model = new GCRLModel({ height: H, width: W, vocabSize: K, d: 16, heads: 2, encoderLayers: 2, decoderLayers: 1, projectionDim: 128 }).to("float64").eval();
    const keys = model.namedParameters().map(([k]) => k);
    assert.deepEqual(keys.slice(0, 4), ["row", "col", "start", "tok.weight"]);
    assert.deepEqual(keys.slice(-TORCH_KEYS_AFTER_ENC.length), TORCH_KEYS_AFTER_ENC);
    assert.equal(keys.filter((k) => k.startsWith("enc.")).length, 4 * 12); // enc.0..3 (row, column, row, column)

    const state = new Map<string, Tensor>();
    for (const [key, p] of model.namedParameters()) {
      const values = key === "start" ? new Float64Array(p.numel) : Float64Array.from({ length: p.numel }, (_, i) => referenceValue(key, i));
      state.set(key, tensor(values, { shape: p.shape }));
    }
    model.loadStateDict(state);

    const t1 = tensor(Array.from({ length: B * H * W }, (_, n) => { const [b, i, j] = [Math.floor(n / (H * W)), Math.floor(n / W) % H, n % W]; return (b * 7 + i * 3 + j * 5 + i * j) % K; }), { dtype: "int64", shape: [B, H, W] });
    const t2 = tensor(Array.from({ length: B * H * W }, (_, n) => { const [b, i, j] = [Math.floor(n / (H * W)), Math.floor(n / W) % H, n % W]; return (b * 5 + 2 * i * j + j + 1) % K; }), { dtype: "int64", shape: [B, H, W] });
    noGrad(() => {
      const e1 = model.encode(t1);
      const e2 = model.encode(t2);
      assertClose(e1.hidden.sum().item(), TORCH_REF.hiddenSum, 1e-12, "sum of h_enc");
      assertClose(e1.hidden.flatten().narrow(0, 0, 6), TORCH_REF.hiddenFirst, 1e-12, "first values of h_enc");
      assertClose(generativeLoss(model.decode(t1, e1.hidden), t1).item(), TORCH_REF.generative, 1e-12, "generative loss");
      const z1 = model.project(e1.representation);
      const z2 = model.project(e2.representation);
      assertClose(ntXentLoss(z1, z2, 0.1).loss.item(), TORCH_REF.contrastive, 1e-12, "contrastive loss");
    });
  });
});
