// JEPA-level APIs (JEPA, HJEPA, MotionAutoencoder, VisionLanguagePredictor): results equal the
// Python modules' on the fixtures; bad input names what was expected.
import path from 'node:path';
import { expect } from 'chai';
import { before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { expectMatches, FIXTURES, loadCases, maxAbsDiff } from './model-fixtures.mjs';
import { rejection } from './helpers.mjs';

const fixture = (...p) => path.join(FIXTURES, ...p);

for (const kind of ['ijepa', 'vjepa']) {
  describe(`JEPA (${kind === 'ijepa' ? 'I-JEPA, images' : 'V-JEPA, videos'})`, () => {
    let model;
    const ctxCases = loadCases(fixture(kind, 'context_encoder.pt'));
    const tgtCases = loadCases(fixture(kind, 'target_encoder.pt'));
    const predCases = loadCases(fixture(kind, 'predictor.pt'));
    const images = predCases.extra('images');
    const ctxMasks = predCases.extra('contextMasks');
    const tgtMasks = predCases.extra('targetMasks');

    before(async () => {
      model = await jepa.JEPA.load(fixture(kind));
    });

    it('reads what the encoders take from the modules', () => {
      expect(model.numPatches).to.equal(predCases.doc.extra.numPatches);
      expect(model.spec.input).to.deep.equal(kind === 'ijepa' ? [3, 32, 32] : [3, 4, 32, 32]);
      expect(model.spec.video).to.equal(kind === 'vjepa');
    });

    it('encode() with the target (default) and the context encoder equals Python', async () => {
      expectMatches(await model.encode(images), tgtCases.doc.cases[0].result, tgtCases, 'target encode');
      const ctx = await model.encode(images, { encoder: 'context', masks: ctxMasks });
      expectMatches(ctx, ctxCases.doc.cases[1].result, ctxCases, 'context encode');
      const two = await model.encode(images, { encoder: 'context', masks: tgtMasks });
      expectMatches(two, ctxCases.doc.cases[2].result, ctxCases, 'two masks');
    });

    it('predict(context, contextMasks, targetMasks) equals Python', async () => {
      const ctx = await model.encode(images, { encoder: 'context', masks: ctxMasks });
      const pred = await model.predict(ctx, ctxMasks, tgtMasks);
      expectMatches(pred, predCases.doc.cases[0].result, predCases, 'predict');
      const one = await model.predict(ctx, ctxMasks[0], tgtMasks[0]);
      expectMatches(one, predCases.doc.cases[1].result, predCases, 'predict, one mask');
    });

    it('loads from three paths too', () => {
      const m = jepa.JEPA.loadSync({
        contextEncoder: fixture(kind, 'context_encoder.pt'),
        targetEncoder: fixture(kind, 'target_encoder.pt'),
        predictor: fixture(kind, 'predictor.pt'),
      });
      expect(m.numPatches).to.equal(model.numPatches);
      m.dispose();
    });

    it('bad input', async () => {
      const wrongSize = kind === 'ijepa' ? jepa.zeros([1, 3, 16, 16]) : jepa.zeros([1, 3, 2, 32, 32]);
      let e = await rejection(model.encode(wrongSize));
      expect(e.code).to.equal('JEPA_SHAPE_MISMATCH');
      expect(e.message).to.include(
        kind === 'ijepa' ? 'to have shape [B, 3, 32, 32]' : 'to have shape [B, 3, 4, 32, 32]',
      );
      expect(e.message).to.include(kind === 'ijepa' ? '16 patches of 8x8' : '32 tubelets of 2x8x8');
      e = await rejection(model.encode(images.to('float64')));
      expect(e.message).to.equal(
        "expected `images` to have dtype float32 (the model's), got float64: convert it with tensor.to('float32')",
      );
      e = await rejection(
        model.encode(images, {
          masks: [
            jepa.tensor(
              [
                [0, 99],
                [1, 2],
              ],
              { dtype: 'int64' },
            ),
          ],
        }),
      );
      expect(e.message).to.equal(
        `expected \`options.masks[0]\` to hold patch indices in [0, ${model.numPatches}), got 99`,
      );
      e = await rejection(
        model.encode(images, {
          masks: [
            jepa.tensor(
              [
                [0, 1],
                [1, 2],
              ],
              { dtype: 'int32' },
            ),
          ],
        }),
      );
      expect(e.message).to.include('to hold int64 patch indices, got dtype int32');
      e = await rejection(model.encode(images, { masks: [jepa.tensor([[0, 1]], { dtype: 'int64' })] }));
      expect(e.message).to.include('to have 2 rows (one per sample)');
      e = await rejection(model.encode('x'));
      expect(e.message).to.equal('expected `images` to be a Tensor, got "x"');
      const ctx = await model.encode(images, { encoder: 'context', masks: ctxMasks });
      e = await rejection(model.predict(ctx, [tgtMasks[0]], tgtMasks));
      expect(e.message).to.include('tokens per sample but `contextMasks` keep');
      e = await rejection(model.predict(jepa.zeros([2, 3, 5]), ctxMasks, tgtMasks));
      expect(e.message).to.include('expected `context` to have shape [len(contextMasks) * B, K, 32]');
      e = await rejection(jepa.JEPA.load(fixture('nope')));
      expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
      e = await rejection(jepa.JEPA.load(FIXTURES));
      expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
      expect(e.message).to.include('context_encoder.pt');
      e = await rejection(
        jepa.JEPA.load({
          contextEncoder: fixture('hjepa.pt'),
          targetEncoder: fixture('hjepa.pt'),
          predictor: fixture('hjepa.pt'),
        }),
      );
      expect(e.code).to.equal('JEPA_INVALID_MODULE');
    });
  });
}

describe('HJEPA', () => {
  const file = fixture('hjepa.pt');
  const cases = loadCases(file);
  const [fwd, l0, l1, l2, ctx1, , momentum] = cases.cases;
  let h;
  before(async () => {
    h = await jepa.HJEPA.load(file);
  });

  it('reads levels, pooling and grid from the module', () => {
    expect(h.numLevels).to.equal(3);
    expect(h.pooling).to.equal('1d');
    expect(h.numPatches).to.equal(16);
    expect(h.gridSize).to.equal(4);
    expect([0, 1, 2].map((l) => h.cellsAt(l))).to.deep.equal([16, 8, 4]);
  });

  it('forward(images, mask) gives per-level predictions, targets and masks_valid equal to Python', async () => {
    const out = await h.forward(...fwd.args);
    expectMatches(out, fwd.expected, cases, 'hjepa forward');
    // 5 and 6 masked patches: the masked-token sequence (padded to 6), pooled in 1-D by 2 and 4.
    expect(out.predictions.map((p) => p.shape)).to.deep.equal([
      [2, 6, 32],
      [2, 3, 32],
      [2, 1, 32],
    ]);
    expect([...out.masks_valid[0].data()].map(Number)).to.deep.equal([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('extractFeatures(images, level) pools 2^level consecutive tokens, as Python', async () => {
    for (const c of [l0, l1, l2]) {
      expectMatches(await h.extractFeatures(c.args[0], c.args[1]), c.expected, cases, `level ${c.args[1]}`);
    }
    expectMatches(await h.extractFeatures(ctx1.args[0], 1, { encoder: 'context' }), ctx1.expected, cases, 'context');
    const t = await h.extractFeatures(ctx1.args[0], 1);
    expect(maxAbsDiff(t, cases.tensor(l1.expected.$tensor))).to.be.below(1e-5);
    expect(t.shape).to.deep.equal([2, h.cellsAt(1), 32]);
  });

  it("momentumAt / updateTargetEncoder follow the model's update_target_encoder(step)", async () => {
    expect(h.momentumAt(momentum.args[0])).to.equal(momentum.expected.$float);
    const m = await jepa.HJEPA.load(file);
    const params = m.module.namedParameters();
    const t0 = params.get('target_encoder.vit.blocks.0.attn.qkv.weight').clone();
    const c0 = params.get('context_encoder.vit.blocks.0.attn.qkv.weight');
    expect(await m.updateTargetEncoder(0)).to.equal(0.996);
    // target * m + context * (1 - m), elementwise (float32, as torch's mul_ then add_(alpha)).
    const c = c0.data();
    const want = t0.data().map((x, i) => Math.fround(x * 0.996) + c[i] * (1 - 0.996));
    const got = params.get('target_encoder.vit.blocks.0.attn.qkv.weight').data();
    expect(maxAbsDiff(t0, c0)).to.be.greaterThan(1e-3); // the EMA moves it
    let worst = 0;
    got.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - want[i]))));
    expect(worst).to.be.below(1e-7);
    expect(m.updateTargetEncoderSync(30000)).to.equal(1);
    m.dispose();
  });

  it('bad input', async () => {
    const images = fwd.args[0];
    let e = await rejection(h.extractFeatures(images, 3));
    expect(e.message).to.equal('expected `level` to be an integer in [0, 2] (this model has 3 levels), got 3');
    e = await rejection(h.extractFeatures(jepa.zeros([2, 3, 64, 64])));
    expect(e.message).to.include('to have shape [B, 3, 32, 32]');
    e = await rejection(h.forward(images, jepa.zeros([2, 15])));
    expect(e.message).to.include('expected `mask` to have shape [2, 16]');
    e = await rejection(h.extractFeatures(images, 0, { encoder: 'ema' }));
    expect(e.message).to.include("'context' or 'target'");
    expect(() => h.momentumAt(-1)).to.throw('expected `step` to be a non-negative integer, got -1');
    e = await rejection(jepa.HJEPA.load(fixture('values.pt')));
    expect(e.code).to.equal('JEPA_INVALID_MODULE');
  });
});

describe('MotionAutoencoder', () => {
  const file = fixture('motion_ae.pt');
  const cases = loadCases(file);
  const [fwd4, fwd5, enc4, enc5, dec] = cases.cases;
  let ae;
  before(async () => {
    ae = await jepa.MotionAutoencoder.load(file);
  });

  it('encode() returns {latent, motionEmbedding, compressionRatio} equal to Python, for [B,T,N,C] and [B,T,H,W,C]', async () => {
    expect([ae.inputDim, ae.latentDim, ae.maxFrames]).to.deep.equal([24, 8, 16]);
    for (const c of [enc4, enc5]) {
      const r = await ae.encode(c.args[0]);
      expectMatches(
        jepa.Tuple.fromItems([r.latent, r.motionEmbedding, r.compressionRatio]),
        c.expected,
        cases,
        'encode',
      );
      expect(r.compressionRatio).to.equal(3);
    }
  });

  it('decode() and forward() equal Python', async () => {
    expectMatches(await ae.decode(dec.args[0]), dec.expected, cases, 'decode');
    for (const c of [fwd4, fwd5]) {
      const r = await ae.forward(c.args[0]);
      expectMatches(
        jepa.Tuple.fromItems([r.reconstruction, r.latent, r.motionEmbedding]),
        c.expected,
        cases,
        'forward',
      );
    }
  });

  it('bad input', async () => {
    let e = await rejection(ae.encode(jepa.zeros([1, 4, 6, 23])));
    expect(e.message).to.equal(
      'expected `features` to have shape [B, T, N, 24] or [B, T, H, W, 24] (the feature width C is 24), got [1, 4, 6, 23]',
    );
    e = await rejection(ae.encode(jepa.zeros([1, 17, 6, 24])));
    expect(e.message).to.include('to have 1 to 16 frames');
    e = await rejection(ae.encode(jepa.zeros([4, 6, 24])));
    expect(e.code).to.equal('JEPA_SHAPE_MISMATCH');
    e = await rejection(ae.decode(jepa.zeros([1, 4, 6, 24])));
    expect(e.message).to.include('(the latent width L is 8)');
  });
});

describe('VisionLanguagePredictor', () => {
  const file = fixture('vl_predictor.pt');
  const cases = loadCases(file);
  let vl;
  before(async () => {
    vl = await jepa.VisionLanguagePredictor.load(file);
  });

  it('predict() equals Python (L2-normalised 384-d embeddings)', async () => {
    const c = cases.cases[0];
    const p = await vl.predict(c.args[0]);
    expectMatches(p, c.expected, cases, 'predict');
    expect([vl.inputDim, vl.outputDim]).to.deep.equal([512, 384]);
  });

  it('zeroShot() ranks labels by cosine score as torch.cosine_similarity does', async () => {
    const images = cases.extra('imageEmbeddings');
    const labelEmb = cases.extra('labelEmbeddings');
    const labels = cases.doc.extra.labels;
    const scores = cases.extra('scores');
    const rankings = await vl.zeroShot(images, labelEmb, labels);
    expect(rankings.map((r) => r.map((x) => x.label))).to.deep.equal(cases.doc.extra.ranking);
    const want = scores.data();
    rankings.forEach((r, i) =>
      r.forEach((x) => expect(Math.abs(x.score - want[i * labels.length + x.index])).to.be.below(1e-5)),
    );
    expect(rankings.length).to.equal(3);
  });

  it('a single image gives one ranking; bad input', async () => {
    const images = cases.extra('imageEmbeddings');
    const labelEmb = cases.extra('labelEmbeddings');
    const labels = cases.doc.extra.labels;
    const first = jepa.tensor(images.contiguous().data().slice(0, 512), [512]);
    const r = await vl.zeroShot(first, labelEmb, labels);
    expect(r[0].label).to.equal(cases.doc.extra.ranking[0][0]);
    let e = await rejection(vl.zeroShot(images, labelEmb, labels.slice(1)));
    expect(e.message).to.equal('expected `labelEmbeddings` to have shape [3, 384] (one row per label), got [4, 384]');
    e = await rejection(vl.predict(jepa.zeros([2, 384])));
    expect(e.message).to.include('expected `imageEmbeddings` to have shape [B, 512] or [512]');
  });
});
