// Seed 003 in Node: `jepa-native motion train | encode | features`, spawned as users run them,
// against scripts/reference/seed003_reference.py (train.py, encode.py, vfm_feature.py restated
// from the seed's README) on the same fixtures. One Python process writes the fixtures and the
// reference results (before), one reads Node's files with torch.load(weights_only=True) (compare).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, ROOT, tmpDir } from './helpers.mjs';

const BIN = path.join(ROOT, 'bin', 'jepa-native.js');
const REF = path.join(ROOT, 'scripts', 'reference', 'seed003_reference.py');
// dropout 0.1 as the seed's default: Node's and Python's dropout draws agree for the same seed.
const MAE = {
  input_dim: 12,
  model_dim: 16,
  latent_dim: 4,
  num_heads: 2,
  num_layers: 1,
  dropout: 0.1,
  use_token: true,
  max_frames: 8,
};

function cli(cwd, ...args) {
  const r = spawnSync(process.execPath, [BIN, 'motion', ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function python(...args) {
  return pythonJson(
    `import runpy, sys; sys.argv = ${JSON.stringify([REF, ...args])}; runpy.run_path(sys.argv[0], run_name='__main__')`,
  );
}

describe('jepa-native motion (seed 003)', function () {
  this.timeout(600000);
  let dir;
  let ref;

  before(function () {
    if (!jepa.video.ffmpegAvailable()) this.skip();
    dir = tmpDir('motion-');
    ref = python('cases', dir, JSON.stringify({ mae: MAE, T: 6, N: 3 }));
  });
  after(() => dir && cleanup(dir));

  it("train: train.py's losses per step and weights after 2 epochs (6 steps, dropout on), motion_ae_epoch{N}.pt", () => {
    const r = cli(
      dir,
      'train',
      '--feature-dir',
      'features',
      '--save-dir',
      'node-ckpt',
      '--model',
      'motion-model',
      '--epochs',
      '2',
      '--lr',
      '1e-3',
      '--seed',
      '7',
      '--input-dim',
      '12',
      '--use-token',
      '--json',
    );
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    // 5 feature files found recursively (.pt dicts with 'feature' / 'features' / another key, a bare tensor, an .npy), batch 2: 3 steps per epoch.
    expect(out.losses).to.have.length(6);
    out.losses.forEach((l, i) => expect(l, `step ${i}`).to.be.closeTo(ref.train.losses[i], 1e-5));
    expect(fs.readdirSync(path.join(dir, 'node-ckpt')).sort()).to.deep.equal([
      'motion_ae_epoch1.pt',
      'motion_ae_epoch2.pt',
    ]);
  });

  it('train: --model sizes that differ from the model are a usage error (exit 2)', () => {
    const r = cli(
      dir,
      'train',
      '--feature-dir',
      'features',
      '--model',
      'motion-model',
      '--input-dim',
      '768',
      '--latent-dim',
      '192',
    );
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--input-dim 768 \(the model has 12\), --latent-dim 192 \(the model has 4\)/);
  });

  it("encode: encode.py's {latent, motion_embedding, compression_ratio} from Python's checkpoint", () => {
    const r = cli(
      dir,
      'encode',
      '--model',
      'motion-model',
      '--checkpoint',
      'py-ckpt/motion_ae_epoch2.pt',
      '--input',
      'features/b/d.npy',
      '--output',
      'out/node-latent.pt',
      '--json',
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ latent: [6, 3, 4], motion_embedding: [4], compression_ratio: 3 });
  });

  it('features: the vfm_feature.py flow with an exported V-JEPA 2 (captions, failed list, vfm_dimensions.txt)', () => {
    const r = cli(
      dir,
      'features',
      '--video-dir',
      'videos',
      '--csv-path',
      'captions.csv',
      '--output-root',
      'node-vfm',
      '--num-frames',
      '4',
      '--videomae-resize-h',
      '16',
      '--videomae-resize-w',
      '24',
      '--vjepa2-model',
      'vjepa2-model',
      '--models',
      'VJEPA2',
      'DINOv2',
      '--allow-skip-missing',
      '--json',
    );
    expect(r.code, r.stderr).to.equal(3); // done, with a failed video
    expect(r.stderr).to.match(/skipped DINOv2/);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()).VJEPA2).to.deep.equal(ref.features);
    for (const f of ['vfm_dimensions.txt', 'VJEPA2/failed_videos.txt']) {
      expect(fs.readFileSync(path.join(dir, 'node-vfm', f), 'utf8'), f).to.equal(
        fs.readFileSync(path.join(dir, 'py-vfm', f), 'utf8'),
      );
    }
    expect(fs.readFileSync(path.join(dir, 'node-vfm', 'vfm_dimensions.txt'), 'utf8')).to.equal('VJEPA2: 48\n');
    const bad = cli(
      dir,
      'features',
      '--video-dir',
      'videos',
      '--output-root',
      'x',
      '--models',
      'DINOv2',
      '--vjepa2-model',
      'vjepa2-model',
    );
    expect(bad.code).to.equal(2);
  });

  it('Python reads what Node wrote (torch.load weights_only=True): weights, latents and feature dicts equal', () => {
    const p = (...s) => path.join(dir, ...s);
    const cmp = python(
      'compare',
      JSON.stringify({
        ckpt: [p('node-ckpt', 'motion_ae_epoch2.pt'), p('py-ckpt', 'motion_ae_epoch2.pt')],
        latent: [p('out', 'node-latent.pt'), p('py-latent.pt')],
        f1: [p('node-vfm', 'VJEPA2', 'clip1.pt'), p('py-vfm', 'VJEPA2', 'clip1.pt')],
        f2: [p('node-vfm', 'VJEPA2', 'clip2.pt'), p('py-vfm', 'VJEPA2', 'clip2.pt')],
      }),
    );
    expect(cmp.ckpt.keys).to.equal(true);
    expect(cmp.ckpt.max).to.be.at.most(1e-6);
    expect(cmp.latent).to.include({ keys: true, max: 0 });
    expect(cmp.latent.types).to.deep.equal(['float', 'float']);
    expect(cmp.latent.shapes).to.deep.equal([true, true]);
    expect(cmp.f1.meta).to.deep.equal([
      ['a test pattern', 'a test pattern'],
      ['clip1.mp4', 'clip1.mp4'],
      ['VJEPA2', 'VJEPA2'],
    ]);
    expect(cmp.f2.meta[0]).to.deep.equal(['a fractal, zooming', 'a fractal, zooming']);
    for (const f of [cmp.f1, cmp.f2]) {
      expect(f.keys).to.equal(true);
      expect(f.shape).to.deep.equal([
        [2, 24, 48],
        [2, 24, 48],
      ]);
      expect(f.max).to.be.at.most(1e-5);
    }
  });
});
