// Seed 004 (VL-JEPA) in Node against the Python pipeline: transformers' tokenizer, BertModel with
// mean pooling and L2 normalisation, CLIPImageProcessor + CLIPVisionModelWithProjection, the
// seed's predictor and scoring, and its training loop over a caption CSV
// (scripts/models/vl_cases.py writes the models, images and references in one Python process).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonPath, ROOT, tmpDir } from './helpers.mjs';

const CLI = path.join(ROOT, 'bin', 'jepa-native.js');

function rows(t) {
  const x = t.to('float64').contiguous().data();
  const [r, c] = t.shape;
  return Array.from({ length: r }, (_, i) => Array.from(x.subarray(i * c, (i + 1) * c)));
}

function ints(t) {
  return rows(t).map((r) => r.map(Number));
}

function maxDiff(a, b) {
  expect(a.length).to.equal(b.length);
  let m = 0;
  a.flat(Infinity).forEach((v, i) => {
    m = Math.max(m, Math.abs(v - b.flat(Infinity)[i]));
  });
  return m;
}

describe('VL-JEPA (seed 004)', function () {
  this.timeout(300000);
  let dir;
  let ref;
  let vl;
  const images = () => ref.images.map((n) => path.join(dir, 'images', n));

  before(async () => {
    dir = tmpDir('jepa-vl-');
    const r = spawnSync(pythonPath(), [path.join(ROOT, 'scripts', 'models', 'vl_cases.py'), dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`vl_cases.py failed:\n${r.stderr}`);
    ref = JSON.parse(fs.readFileSync(path.join(dir, 'ref.json'), 'utf8'));
    vl = await jepa.VisionLanguageModel.load(path.join(dir, 'vl'));
  });

  after(() => {
    vl?.dispose();
    if (dir) cleanup(dir);
  });

  it('tokenises as transformers does (ids and masks identical): accents, punctuation, CJK, word pieces, truncation', () => {
    const t = ref.tokenizer;
    const tok = jepa.TextTokenizer.fromFile(t.file, { maxLength: t.maxLength });
    const { inputIds, attentionMask, lengths } = tok.tokenize(t.texts);
    expect(inputIds.dtype).to.equal('int64');
    expect(ints(inputIds)).to.deep.equal(t.inputIds);
    expect(ints(attentionMask)).to.deep.equal(t.attentionMask);
    expect(lengths).to.deep.equal(t.attentionMask.map((m) => m.reduce((a, b) => a + b, 0)));
    // Truncation keeps [SEP] at the end, as transformers' does.
    expect(tok.encode(t.texts[7])).to.have.length(t.maxLength);
    expect(tok.encode(t.texts[7]).at(-1)).to.equal(3);
  });

  it("the exported text encoder's tokenizer and embeddings equal AutoTokenizer + BertModel + mean pooling + L2 norm (1e-5)", async () => {
    expect(vl.text.maxLength).to.equal(ref.maxLength);
    const { inputIds, attentionMask } = vl.text.tokenizer.tokenize(ref.texts);
    expect(ints(inputIds)).to.deep.equal(ref.inputIds);
    expect(ints(attentionMask)).to.deep.equal(ref.attentionMask);
    const e = await vl.encodeTexts(ref.texts);
    expect(e.shape).to.deep.equal([ref.texts.length, 32]);
    expect(maxDiff(rows(e), ref.textEmbeddings)).to.be.below(1e-5);
  });

  it('image embeddings equal CLIPImageProcessor + CLIPVisionModelWithProjection, L2-normalised (1e-5)', async () => {
    expect(vl.vision.preprocess.preset).to.equal('clip');
    const e = await vl.encodeImages(images());
    expect(maxDiff(rows(e), ref.imageEmbeddings)).to.be.below(1e-5);
    const p = await vl.predictTexts(images());
    expect(maxDiff(rows(p), ref.predicted)).to.be.below(1e-5);
  });

  it('zeroShot ranks the labels by the scores of the Python pipeline (1e-5)', async () => {
    const rankings = await vl.zeroShot(images(), ref.labels);
    expect(rankings).to.have.length(ref.images.length);
    rankings.forEach((ranking, i) => {
      const want = ref.scores[i];
      expect(ranking.map((s) => s.index).sort()).to.deep.equal(ref.labels.map((_, j) => j));
      for (const s of ranking) {
        expect(s.label).to.equal(ref.labels[s.index]);
        expect(Math.abs(s.score - want[s.index])).to.be.below(1e-5);
      }
      const best = want.indexOf(Math.max(...want));
      expect(ranking[0].index).to.equal(best);
    });
  });

  it('`jepa-native zero-shot MODEL_DIR IMAGE --labels` prints the same ranking', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'zero-shot', path.join(dir, 'vl'), ...images().slice(0, 2), '--labels', ref.labels.join(','), '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.labels).to.deep.equal(ref.labels);
    out.results.forEach((res, i) => {
      for (const s of res.scores) expect(Math.abs(s.score - ref.scores[i][s.index])).to.be.below(1e-5);
      expect(res.prediction).to.equal(res.scores[0].label);
    });
    const text = spawnSync(
      process.execPath,
      [CLI, 'zero-shot', path.join(dir, 'vl'), images()[0], '--labels', ref.labels.join(','), '--top', '1'],
      {
        encoding: 'utf8',
      },
    );
    expect(text.status, text.stderr).to.equal(0);
    expect(text.stdout.trim().split('\n')).to.have.length(2);
  });

  it('trains the predictor from the caption CSV as seed 004 does: losses (1e-6) and weights (1e-5) equal Python', async () => {
    const model = await jepa.VisionLanguageModel.load(path.join(dir, 'vl'));
    try {
      const t = ref.train;
      const losses = [];
      const { trainer, result } = await model.train({
        csv: path.join(dir, 'captions.csv'),
        imageDir: path.join(dir, 'images'),
        epochs: t.epochs,
        batchSize: t.batchSize,
        seed: t.seed,
        lr: t.lr,
        fit: { progress: false, onStep: ({ stats }) => losses.push(stats.loss) },
      });
      expect(result.steps).to.equal(t.losses.length);
      expect(losses).to.have.length(t.losses.length);
      losses.forEach((l, i) => expect(Math.abs(l - t.losses[i]), `step ${i}`).to.be.below(1e-6));
      expect(losses.at(-1)).to.be.below(losses[0]);
      const params = model.predictor.module.namedParameters();
      expect([...params.keys()].sort()).to.deep.equal(Object.keys(t.weights).sort());
      for (const [k, p] of params) {
        const got = p.ndim === 1 ? [Array.from(p.to('float64').data())] : rows(p);
        const want = p.ndim === 1 ? [t.weights[k]] : t.weights[k];
        expect(maxDiff(got, want), k).to.be.below(1e-5);
      }
      expect(trainer.kind).to.equal('vl');
    } finally {
      model.dispose();
    }
  });

  it('bad input is a JepaError with a message saying what was expected', async () => {
    const empty = tmpDir('jepa-vl-empty-');
    try {
      const e = await jepa.VisionLanguageModel.load(empty).catch((x) => x);
      expect(e).to.be.instanceOf(jepa.JepaError);
      expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
      expect(e.message).to.match(/image-encoder/);
    } finally {
      cleanup(empty);
    }
    const e2 = await vl.zeroShot(images()[0], []).catch((x) => x);
    expect(e2.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(() => jepa.TextTokenizer.fromJSON('{"version": "1.0"}')).to.throw(jepa.JepaError, /tokenizer.json/);
    expect(() => vl.text.tokenizer.tokenize([])).to.throw(jepa.JepaError, /non-empty array of strings/);
    const r = spawnSync(process.execPath, [CLI, 'zero-shot', path.join(dir, 'vl'), images()[0]], { encoding: 'utf8' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/--labels/);
  });
});
