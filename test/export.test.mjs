// jepa-native export: one Python process (scripts/models/export_cases.py) makes a checkpoint or
// folder of every source with random weights, exports each with the package's exporter, and
// records what the *source* model computes in Python (the official-faithful rewrites for the
// facebookresearch layouts, transformers' and sentence-transformers' own classes for the Hugging
// Face folders). Node loads each exported folder with its class and must give the same outputs
// within 1e-5 relative (max |node - python| <= 1e-5 * max |python|) in float32.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonPath, ROOT, runPython, tmpDir } from './helpers.mjs';
import { loadCases, maxAbsDiff } from './model-fixtures.mjs';

const CLI = path.join(ROOT, 'bin', 'jepa-native.js');
const RTOL = 1e-5;

function maxAbs(t) {
  const x = t.to('float64').contiguous().data();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** max |actual - want| / max |want| (actual cast to want's dtype first). */
function relDiff(actual, want, where) {
  expect(actual, `${where} is a Tensor`).to.be.instanceOf(jepa.Tensor);
  expect(actual.shape, `${where}.shape`).to.deep.equal(want.shape);
  return maxAbsDiff(actual.to('float32'), want) / maxAbs(want);
}

function expectClose(actual, want, where, rtol = RTOL) {
  expect(actual.dtype, `${where}.dtype`).to.equal(want.dtype);
  const d = relDiff(actual, want, where);
  expect(d, `${where}: max |node - python| / max |python|`).to.be.at.most(rtol);
  return d;
}

function cli(args, env = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', ...env },
  });
}

describe('jepa-native export', function () {
  this.timeout(900000);
  let work;
  let m;
  const dirOf = (name) => m.exports[name].dir;
  const refs = (name, role) => loadCases(path.join(m.refs, name, `${role}.pt`));

  before(() => {
    work = tmpDir('export-');
    const r = spawnSync(pythonPath(), [path.join(ROOT, 'scripts', 'models', 'export_cases.py'), work], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    expect(r.status, r.stderr).to.equal(0);
    m = JSON.parse(r.stdout.trim().split('\n').pop());
  });
  after(() => cleanup(work));

  /** Runs the encoder and predictor cases of a JEPA export through the JEPA class. */
  async function checkJepa(name, refName = name, { dtype = 'float32', rtol = RTOL } = {}) {
    const model = await jepa.JEPA.load(dirOf(name));
    const worst = [];
    try {
      const cast = (x) => (dtype === 'float32' ? x : x.to(dtype));
      for (const [role, encoder] of [
        ['context_encoder', 'context'],
        ['target_encoder', 'target'],
      ]) {
        const cases = refs(refName, role);
        for (const c of cases.cases) {
          const [x, masks] = c.args;
          const got = await model.encode(cast(x), { encoder, ...(masks ? { masks } : {}) });
          expect(got.dtype).to.equal(dtype);
          worst.push(expectClose(got.to('float32'), cases.decode(c.expected), `${name} ${role} [${c.note}]`, rtol));
        }
      }
      const cases = refs(refName, 'predictor');
      for (const c of cases.cases) {
        const [ctx, mx, mt, maskIndex] = c.args;
        const got =
          maskIndex === undefined
            ? await model.predict(cast(ctx), mx, mt)
            : await model.predictor.forward(cast(ctx), mx, mt, maskIndex);
        worst.push(expectClose(got.to('float32'), cases.decode(c.expected), `${name} predictor [${c.note}]`, rtol));
      }
      return Math.max(...worst);
    } finally {
      model.dispose();
    }
  }

  describe('one export per source equals the source model in Python (1e-5 relative, float32)', () => {
    for (const name of ['ijepa', 'vjepa', 'vjepa2', 'vjepa2-sincos']) {
      it(`${name}: context encoder, target encoder and predictor through jepa.JEPA.load(dir)`, async () => {
        await checkJepa(name);
      });
    }

    it('hjepa: the H-JEPA model (forward per level, extract_features) through jepa.HJEPA.load(dir)', async () => {
      const model = await jepa.HJEPA.load(dirOf('hjepa'));
      expect(model.numLevels).to.equal(3);
      const cases = refs('hjepa', 'model');
      const [fwd, ...features] = cases.cases;
      const got = await model.forward(...fwd.args);
      const want = cases.decode(fwd.expected);
      for (const key of ['predictions', 'targets']) {
        want[key].forEach((w, level) => expectClose(got[key][level], w, `hjepa ${key}[${level}]`));
      }
      want.masks_valid.forEach((w, level) =>
        expect(maxAbsDiff(got.masks_valid[level], w), `masks_valid[${level}]`).to.equal(0),
      );
      for (const c of features) {
        const [x, level, target] = c.args;
        const f = await model.extractFeatures(x, level, { encoder: target ? 'target' : 'context' });
        expectClose(f, cases.decode(c.expected), `hjepa extract_features [${c.note}]`);
      }
      expect(jepa.readModelInfo(dirOf('hjepa'))).to.include({ source: 'hjepa', kind: 'hjepa', numPatches: 16 });
      model.dispose();
    });

    for (const name of ['hf-ijepa', 'hf-ijepa-bin']) {
      it(`${name}: IJepaModel (${name.endsWith('bin') ? 'pytorch_model.bin' : 'model.safetensors'}) -> an encoder-only JEPA`, async () => {
        const model = await jepa.JEPA.load(dirOf(name));
        expect(model.hasPredictor).to.equal(false);
        expect(model.contextEncoder).to.equal(model.targetEncoder); // one file, loaded once
        const cases = refs(name, 'encoder');
        for (const c of cases.cases)
          expectClose(await model.encode(c.args[0]), cases.decode(c.expected), `${name} encoder`);
        let err;
        try {
          await model.predict(cases.decode(cases.cases[0].expected), [], []);
        } catch (e) {
          err = e;
        }
        expect(err?.code).to.equal('JEPA_INVALID_MODULE');
        expect(err.message).to.match(/no predictor.*hf-ijepa/);
        model.dispose();
      });
    }

    for (const name of ['hf-vjepa2', 'hf-vjepa2-via-vjepa2']) {
      it(`${name}: VJEPA2Model's encoder ([B, C, T, H, W] here) and predictor`, async () => {
        const model = await jepa.JEPA.load(dirOf(name));
        expect(model.info.source).to.equal('hf-vjepa2');
        const enc = refs('hf-vjepa2', 'encoder');
        for (const c of enc.cases)
          expectClose(await model.encode(c.args[0]), enc.decode(c.expected), `${name} encoder`);
        const pred = refs('hf-vjepa2', 'predictor');
        for (const c of pred.cases) {
          expectClose(await model.predict(...c.args), pred.decode(c.expected), `${name} predictor [${c.note}]`);
        }
        model.dispose();
      });
    }

    for (const name of ['clip-vision', 'clip-full']) {
      it(`${name}: jepa.ImageEncoder gives the L2-normalised projected embedding of ${name === 'clip-full' ? 'CLIPModel' : 'CLIPVisionModelWithProjection'}`, async () => {
        const enc = await jepa.ImageEncoder.load(dirOf(name));
        expect(enc.inputShape).to.deep.equal([3, 32, 32]);
        expect(enc.embedDim).to.equal(16);
        expect(enc.info.preprocess.preset).to.equal('clip');
        const cases = refs(name, 'image_encoder');
        for (const c of cases.cases) expectClose(await enc.encode(c.args[0]), cases.decode(c.expected), `${name}`);
        enc.dispose();
      });
    }

    it('minilm: jepa.TextEncoder equals SentenceTransformer.encode, and tokenizer.json is the source one', async () => {
      const enc = await jepa.TextEncoder.load(dirOf('minilm'));
      expect(enc.embedDim).to.equal(32);
      expect(enc.maxLength).to.equal(24);
      expect(enc.info.output).to.deep.equal({ dim: 32, pooling: 'mean', normalized: true });
      const cases = refs('minilm', 'text_encoder');
      for (const c of cases.cases)
        expectClose(await enc.encode(c.args[0], c.args[1]), cases.decode(c.expected), 'minilm');
      const source = fs.readFileSync(path.join(m.inputs.minilm.input, 'tokenizer.json'));
      expect(fs.readFileSync(enc.tokenizerFile).equals(source)).to.equal(true);
      enc.dispose();
    });

    it('module: a user class (seed 003 motion autoencoder, seed 004 predictor) loads with its class', async () => {
      const mae = await jepa.MotionAutoencoder.load(dirOf('motion-ae'));
      const cases = refs('motion-ae', 'model');
      const [enc, fwd] = cases.cases;
      const e = await mae.encode(enc.args[0]);
      const want = cases.decode(enc.expected);
      expectClose(e.latent, want[0], 'motion latent');
      expectClose(e.motionEmbedding, want[1], 'motion embedding');
      expect(e.compressionRatio).to.equal(3);
      const f = await mae.forward(fwd.args[0]);
      expectClose(f.reconstruction, cases.decode(fwd.expected)[0], 'motion reconstruction');
      mae.dispose();
      const vl = await jepa.VisionLanguagePredictor.load(dirOf('vl-predictor'));
      const vc = refs('vl-predictor', 'model');
      expectClose(await vl.predict(vc.cases[0].args[0]), vc.decode(vc.cases[0].expected), 'vl predictor');
      vl.dispose();
    });
  });

  describe('--config: the official training YAML gives the architecture', () => {
    it('ijepa: a vit_tiny checkpoint exported with its YAML alone (meta.model_name, pred_depth, pred_emb_dim, mask.patch_size, data.crop_size)', async () => {
      const info = jepa.readModelInfo(dirOf('ijepa-config'));
      expect(info.architecture).to.include({
        name: 'vit_tiny',
        embedDim: 192,
        depth: 12,
        numHeads: 3,
        predictorDepth: 1,
        predictorEmbedDim: 24,
      });
      expect(info).to.include({ patchSize: 16, numPatches: 4 });
      expect(info.input.size).to.deep.equal([32, 32]);
      await checkJepa('ijepa-config');
    });

    for (const name of ['vjepa', 'vjepa2']) {
      it(`${name}: the YAML's crop size, clip length, mask tokens${name === 'vjepa2' ? ', RoPE and predictor heads' : ''} give the model the flags gave`, async () => {
        const flags = jepa.readModelInfo(dirOf(name));
        const info = jepa.readModelInfo(dirOf(`${name}-config`));
        for (const key of ['input', 'grid', 'numPatches', 'patchSize'])
          expect(info[key], key).to.deep.equal(flags[key]);
        // model.uniform_power is recorded (the position tables come from the checkpoint); the flags left it off.
        expect(info.architecture).to.deep.equal({ ...flags.architecture, uniformPower: true });
        await checkJepa(`${name}-config`, name);
      });
    }

    it("hjepa: model.predictor.* and model.ema.* of H-JEPA's YAML; its unsupported options are refused", async () => {
      const info = jepa.readModelInfo(dirOf('hjepa-config'));
      expect(info.architecture).to.include({
        name: 'vit_base_patch16_224',
        predictorNumHeads: 2,
        emaMomentum: 0.99,
        emaMomentumEnd: 1,
        emaWarmupSteps: 3000,
        numLevels: 3,
      });
      const model = await jepa.HJEPA.load(dirOf('hjepa-config'));
      const cases = refs('hjepa', 'model');
      const got = await model.forward(...cases.cases[0].args);
      const want = cases.decode(cases.cases[0].expected);
      want.predictions.forEach((w, level) => expectClose(got.predictions[level], w, `predictions[${level}]`));
      model.dispose();
      const e = m.errors.unsupported;
      expect(e.code).to.equal(1);
      expect(e.stderr).to.contain('model.rope.use_rope: not supported by the H-JEPA export');
      expect(fs.existsSync(e.outdir)).to.equal(false);
    });
  });

  describe('jepa.json', () => {
    it('says what each folder is: source, kind, files, input, grid, patches, preprocessing, dtype', () => {
      const ij = jepa.readModelInfo(dirOf('ijepa'));
      expect(ij).to.include({
        format: 'jepa-native/model',
        formatVersion: 1,
        source: 'ijepa',
        kind: 'jepa',
        dtype: 'float32',
        patchSize: 8,
        numPatches: 16,
        embedDim: 32,
      });
      expect(ij.files).to.deep.equal({
        contextEncoder: 'context_encoder.pt',
        targetEncoder: 'target_encoder.pt',
        predictor: 'predictor.pt',
      });
      expect(ij.input).to.deep.equal({ modality: 'image', channels: 3, size: [32, 32] });
      expect(ij.grid).to.deep.equal([4, 4]);
      expect(ij.preprocess).to.deep.equal({ preset: 'ijepa', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
      expect(ij.architecture).to.include({
        embedDim: 32,
        depth: 2,
        numHeads: 2,
        predictorEmbedDim: 16,
        predictorDepth: 2,
      });
      expect(ij.checkpoint).to.deep.equal({ file: 'ckpt.pth.tar', epoch: 3 });
      const v2 = jepa.readModelInfo(dirOf('vjepa2'));
      expect(v2.input).to.deep.equal({ modality: 'video', channels: 3, size: [16, 16], frames: 4, tubeletSize: 2 });
      expect(v2.grid).to.deep.equal([2, 4, 4]);
      expect(v2.architecture).to.include({ useRope: true, numMaskTokens: 3, predictorNumHeads: 2, numFrames: 4 });
      expect(v2.preprocess.preset).to.equal('vjepa2');
      const hf = jepa.readModelInfo(dirOf('hf-ijepa'));
      expect(hf.files).to.deep.equal({ contextEncoder: 'encoder.pt', targetEncoder: 'encoder.pt' });
      expect(jepa.readModelInfo(dirOf('minilm')).files).to.deep.equal({
        encoder: 'text_encoder.pt',
        tokenizer: 'tokenizer.json',
      });
      expect(jepa.readModelInfo(dirOf('motion-ae'))).to.include({ source: 'module', kind: 'motion-autoencoder' });
    });

    it('a folder that is not a valid model folder fails with a code and the file named', () => {
      const copy = path.join(work, 'copy');
      fs.cpSync(dirOf('ijepa'), copy, { recursive: true });
      const file = path.join(copy, 'jepa.json');
      const good = fs.readFileSync(file, 'utf8');
      const attempt = (fn) => {
        try {
          fn();
        } catch (e) {
          return e;
        }
        throw new Error('expected an error');
      };
      fs.writeFileSync(file, '{"format": ');
      let e = attempt(() => jepa.JEPA.loadSync(copy));
      expect(e.code).to.equal('JEPA_MODEL_FOLDER_INVALID');
      expect(e.message).to.contain(file);
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(good), formatVersion: 99 }));
      e = attempt(() => jepa.readModelInfo(copy));
      expect(e.code).to.equal('JEPA_MODEL_FOLDER_INVALID');
      expect(e.message).to.match(/newer than this jepa-native reads/);
      fs.writeFileSync(file, good);
      fs.rmSync(path.join(copy, 'predictor.pt'));
      e = attempt(() => jepa.JEPA.loadSync(copy));
      expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
      expect(e.message).to.contain('predictor.pt');
      e = attempt(() => jepa.ImageEncoder.loadSync(dirOf('ijepa')));
      expect(e.code).to.equal('JEPA_INVALID_MODULE');
      expect(e.message).to.contain('jepa.JEPA.load');
      e = attempt(() => jepa.MotionAutoencoder.loadSync(dirOf('vl-predictor')));
      expect(e.code).to.equal('JEPA_INVALID_MODULE');
      expect(e.message).to.contain('jepa.VisionLanguagePredictor.load');
    });
  });

  describe('--dtype float16 / bfloat16 (for inference)', () => {
    // Tolerances: float16 keeps 11 significant bits (relative rounding 2^-11 = 4.9e-4 per
    // operation), bfloat16 8 (2^-8 = 3.9e-3). Two blocks of attention, MLP and layer norm over
    // O(1) activations compound that to a few units of the rounding: measured at most 1.1e-3
    // (float16) and 1.1e-2 (bfloat16) over these cases; the bounds are about 4.5x that.
    it('float16 I-JEPA: weights and outputs in float16, within 5e-3 of the float32 source', async () => {
      const model = await jepa.JEPA.load(dirOf('ijepa-float16'));
      expect(model.info.dtype).to.equal('float16');
      expect(model.contextEncoder.dtype).to.equal('float16');
      model.dispose();
      const worst = await checkJepa('ijepa-float16', 'ijepa', { dtype: 'float16', rtol: 5e-3 });
      expect(worst).to.be.above(0); // really reduced precision, not a float32 copy
    });

    it('bfloat16 V-JEPA 2 (RoPE): within 5e-2 of the float32 source', async () => {
      const worst = await checkJepa('vjepa2-bfloat16', 'vjepa2', { dtype: 'bfloat16', rtol: 5e-2 });
      expect(worst).to.be.above(0);
    });
  });

  describe('errors', () => {
    const leftovers = (outdir) =>
      fs.readdirSync(path.dirname(outdir)).filter((f) => f.includes(`${path.basename(outdir)}.partial-`));

    it('a checkpoint that does not fit: the missing, unexpected and mismatched keys (first 10) with their counts; no OUTDIR', () => {
      const e = m.errors.mismatch;
      expect(e.code).to.equal(1);
      expect(e.stderr).to.contain('does not fit');
      expect(e.stderr).to.contain('missing keys: 1 (norm.weight)');
      expect(e.stderr).to.match(/unexpected keys: 12 \(extra\.0\.weight, .*extra\.9\.weight, \.\.\. \(2 more\)\)/);
      expect(e.stderr).to.contain('shape mismatches: 2 (');
      expect(e.stderr).to.contain('blocks.0.mlp.fc1.weight: checkpoint [100, 32], model [128, 32]');
      expect(e.stderr).to.contain('blocks.1.attn.qkv.weight: checkpoint [96, 30], model [96, 32]');
      expect(fs.existsSync(e.outdir)).to.equal(false);
      expect(leftovers(e.outdir)).to.deep.equal([]);
    });

    it('a file torch.load(weights_only=True) refuses: says so and names the global, runs nothing', () => {
      const e = m.errors.unsafe;
      expect(e.code).to.equal(1);
      expect(e.stderr).to.contain('torch.load(weights_only=True) refuses');
      expect(e.stderr).to.contain('__main__.Unsafe');
      expect(fs.existsSync(e.outdir)).to.equal(false);
    });

    it('an unknown SOURCE lists the valid ones (Node checks before starting Python; so does the exporter)', () => {
      const r = cli(['export', 'nonsense', 'in', 'out']);
      expect(r.status).to.equal(2);
      for (const s of [
        'ijepa',
        'vjepa',
        'vjepa2',
        'hf-vjepa2',
        'hf-ijepa',
        'hjepa',
        'clip-vision',
        'minilm',
        'module',
      ]) {
        expect(r.stderr).to.contain(s);
        expect(m.errors.source.stderr).to.contain(s);
      }
      expect(m.errors.source.code).to.equal(2);
    });

    it('OUTDIR that exists is left alone (usage error) unless --overwrite; a missing INPUT is named', () => {
      expect(m.errors.exists.code).to.equal(2);
      expect(m.errors.exists.stderr).to.contain('already exists');
      expect(fs.readdirSync(dirOf('ijepa')).sort()).to.deep.equal([
        'context_encoder.pt',
        'jepa.json',
        'predictor.pt',
        'target_encoder.pt',
      ]);
      const o = m.errors.overwrite;
      expect(o.code, o.stderr).to.equal(0);
      expect(fs.readdirSync(o.outdir).sort()).to.deep.equal([
        'context_encoder.pt',
        'jepa.json',
        'predictor.pt',
        'target_encoder.pt',
      ]);
      expect(jepa.readModelInfo(o.outdir).source).to.equal('ijepa');
      expect(fs.readdirSync(path.dirname(o.outdir)).filter((f) => f.startsWith('.overwritten.'))).to.deep.equal([]);
      expect(m.errors.missing.code).to.equal(1);
      expect(m.errors.missing.stderr).to.contain('no such file');
    });

    it('a missing Python package (safetensors for a Hugging Face folder): exit 1 and the exact pip command', () => {
      const e = m.errors.package;
      expect(e.code).to.equal(1);
      expect(e.stderr).to.contain('needs the Python package `safetensors`');
      expect(e.stderr).to.match(/\n {2}\S*python\S* -m pip install safetensors/);
      expect(fs.existsSync(e.outdir)).to.equal(false);
      expect(leftovers(e.outdir)).to.deep.equal([]);
    });

    it('module: a class that misses the contract of its --kind is refused, naming what is missing', () => {
      const e = m.errors.contract;
      expect(e.code).to.equal(1);
      expect(e.stderr).to.contain('does not meet the motion-autoencoder contract');
      expect(e.stderr).to.contain('encoder.out_proj.weight');
      expect(fs.existsSync(e.outdir)).to.equal(false);
    });
  });

  describe('the command line', () => {
    it('`jepa-native export --help` lists the sources without starting Python', () => {
      const r = cli(['export', '--help'], { JEPA_PYTHON: '/nonexistent/python' });
      expect(r.status).to.equal(0);
      for (const s of [
        'ijepa',
        'vjepa',
        'vjepa2',
        'hf-vjepa2',
        'hf-ijepa',
        'hjepa',
        'clip-vision',
        'minilm',
        'module',
      ]) {
        expect(r.stdout).to.match(new RegExp(`^  ${s} `, 'm'));
      }
      expect(r.stdout).to.contain('--dtype');
    });

    it('runs the exporter with the chosen Python: the folder it writes equals the in-process export', async () => {
      const out = path.join(work, 'cli-ijepa');
      const r = cli(['export', 'ijepa', m.inputs.ijepa.input, out, ...m.inputs.ijepa.flags, '--json'], {
        JEPA_PYTHON: pythonPath(),
      });
      expect(r.status, r.stderr).to.equal(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop());
      expect(summary.info.exporter.jepaNative).to.equal(
        JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
      );
      expect(summary.checks.contextEncoder.checked).to.equal(2);
      const a = jepa.JEPA.loadSync(out);
      const b = jepa.JEPA.loadSync(dirOf('ijepa'));
      const x = jepa.randn([1, 3, 32, 32], { seed: 3 });
      expect(maxAbsDiff(await a.encode(x), await b.encode(x))).to.equal(0);
      a.dispose();
      b.dispose();
    });

    it('a Python without torch: exit 1 and the exact pip command', () => {
      const fake = path.join(work, 'no-torch');
      fs.mkdirSync(path.join(fake, 'torch'), { recursive: true });
      fs.writeFileSync(
        path.join(fake, 'torch', '__init__.py'),
        'raise ModuleNotFoundError("No module named \'torch\'", name="torch")\n',
      );
      const r = cli(['export', 'ijepa', m.inputs.ijepa.input, path.join(work, 'never')], {
        JEPA_PYTHON: pythonPath(),
        PYTHONPATH: fake,
      });
      expect(r.status).to.equal(1);
      // The command names the interpreter as Python sees itself (sys.executable): under
      // `npm run test:asan` pythonPath() is a wrapper script that execs it.
      const executable = runPython('import sys; print(sys.executable)').trim();
      expect(r.stderr).to.contain(`${executable} -m pip install torch`);
      expect(fs.existsSync(path.join(work, 'never'))).to.equal(false);
    });
  });
});
