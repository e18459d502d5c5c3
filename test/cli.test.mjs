// The jepa-native command line, spawned as users run it (node bin/jepa-native.js ...): inspect on
// files Python wrote (the V-JEPA 2 feature file among them), convert round trips checked by
// Python, masks --png, extract over folders of images, videos and feature files (outputs read
// back by Python with weights_only=True and compared with the model run from Node), resuming,
// sharding, bad inputs, and exit codes (0 ok, 1 error, 2 usage, 3 some inputs skipped).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { cleanup, pythonJson, ROOT, runPython, tmpDir } from './helpers.mjs';

const BIN = path.join(ROOT, 'bin', 'jepa-native.js');
const MODELS = path.join(ROOT, 'test', 'fixtures', 'models');

/** Runs the CLI; resolves {status, stdout, stderr}. */
function cli(args, { env = {}, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const FEATURES = 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1_features';

describe('CLI: usage and exit codes', function () {
  this.timeout(60000);

  it('--help lists the commands and the exit codes (exit 0); --version prints the package version', async () => {
    const help = await cli(['--help']);
    expect(help.status).to.equal(0);
    for (const c of ['inspect', 'convert', 'masks', 'extract', 'bench']) expect(help.stdout).to.contain(c);
    expect(help.stdout).to.contain('Exit codes:');
    const v = await cli(['--version']);
    expect(v.status).to.equal(0);
    expect(v.stdout.trim()).to.equal(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const sub = await cli(['help', 'extract']);
    expect(sub.status).to.equal(0);
    expect(sub.stdout).to.contain('--batch-size');
  });

  it('usage errors exit 2 with a message: no command, unknown command or option, missing or malformed argument', async () => {
    const cases = [
      [[], /Usage: jepa-native/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['inspect'], /missing required argument 'file'/],
      [['inspect', 'x.pt', '--colour'], /unknown option '--colour'/],
      [
        ['masks', 'multiblock', '--batch-size', 'two'],
        /argument 'two' is invalid. expected a positive integer, got 'two'/,
      ],
      [
        ['masks', 'hexagons'],
        /'hexagons' is invalid for argument 'kind'. Allowed choices are multiblock, multiblock3d, randomTube/,
      ],
      [['convert', 'a.pt'], /missing required argument 'out'/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.status, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(re);
    }
  });
});

describe('CLI: inspect and convert', function () {
  this.timeout(120000);
  let dir;
  const f = (name) => path.join(dir, name);

  before(function () {
    dir = tmpDir('cli-');
    runPython(
      `
import collections, sys, torch
import numpy as np
from safetensors.torch import save_file
d = sys.argv[1]
torch.manual_seed(0)
feats = torch.randn(4608, 1408).half()
torch.save({"features": feats, "shape": feats.shape, "dtype": "float16", "source_chunk": "chunk_000123.pt",
            "image_id": "gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1"}, f"{d}/${FEATURES}.pt")
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.LayerNorm(16), torch.nn.Linear(16, 4))
model.register_buffer("steps", torch.tensor([3, 1, 4], dtype=torch.int64))
sd = model.state_dict()
torch.save(sd, f"{d}/state_dict.pt")
save_file({k: v.contiguous() for k, v in sd.items()}, f"{d}/python.safetensors", metadata={"source": "python"})
np.save(f"{d}/array.npy", np.arange(12, dtype=np.float64).reshape(3, 4))
torch.save({"w": torch.randn(2, 2).bfloat16()}, f"{d}/bf16.pt")
`,
      { args: [dir] },
    );
    fs.writeFileSync(f('garbage.pt'), 'PK\x03\x04 this is not a zip archive at all');
  });
  after(() => cleanup(dir));

  it('inspect on the V-JEPA 2 feature file prints its keys, dtype float16 and shape [4608, 1408]', async () => {
    const r = await cli(['inspect', f(`${FEATURES}.pt`)]);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).to.contain(`${FEATURES}.pt (torch.save,`).and.to.contain('dict (5 items)');
    expect(lines[1]).to.match(/^├── features\s+float16 {2}\[4608, 1408\] {2}12\.4 MiB$/);
    expect(lines[2]).to.match(/^├── shape\s+torch\.Size\(\[4608, 1408\]\)$/);
    expect(lines[3]).to.match(/^├── dtype\s+str "float16"$/);
    expect(lines[4]).to.match(/^├── source_chunk\s+str "chunk_000123.pt"$/);
    expect(lines[5]).to.match(/^└── image_id\s+str "gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1"$/);
    expect(lines[6]).to.equal('1 tensor, 12,976,128 bytes of tensor data');
  });

  it('inspect --json gives every key with its type, dtype, shape and bytes', async () => {
    const r = await cli(['inspect', '--json', f(`${FEATURES}.pt`)]);
    expect(r.status).to.equal(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).to.include({ format: 'pt', tensors: 1, tensorBytes: 4608 * 1408 * 2 });
    expect(doc.fileBytes).to.equal(fs.statSync(f(`${FEATURES}.pt`)).size);
    expect(doc.entries).to.deep.equal([
      { key: 'features', type: 'tensor', dtype: 'float16', shape: [4608, 1408], nbytes: 12976128 },
      { key: 'shape', type: 'torch.Size', value: [4608, 1408] },
      { key: 'dtype', type: 'str', value: 'float16' },
      { key: 'source_chunk', type: 'str', value: 'chunk_000123.pt' },
      { key: 'image_id', type: 'str', value: 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1' },
    ]);
  });

  it('inspect reads a state_dict, safetensors (with metadata), .npy and a TorchScript module', async () => {
    const sd = JSON.parse((await cli(['inspect', '--json', f('state_dict.pt')])).stdout);
    expect(sd.entries.map((e) => [e.key, e.dtype, e.shape])).to.deep.equal([
      ['steps', 'int64', [3]],
      ['0.weight', 'float32', [16, 8]],
      ['0.bias', 'float32', [16]],
      ['2.weight', 'float32', [16]],
      ['2.bias', 'float32', [16]],
      ['3.weight', 'float32', [4, 16]],
      ['3.bias', 'float32', [4]],
    ]);
    const st = JSON.parse((await cli(['inspect', '--json', f('python.safetensors')])).stdout);
    expect(st.format).to.equal('safetensors');
    expect(st.metadata).to.deep.equal({ source: 'python' });
    expect(st.tensors).to.equal(7);
    const npy = await cli(['inspect', f('array.npy')]);
    expect(npy.stdout).to.match(/\(\.npy, .*\)\s+float64 {2}\[3, 4\] {2}96 B/);
    const ts = JSON.parse((await cli(['inspect', '--json', path.join(MODELS, 'vl_predictor.pt')])).stdout);
    expect(ts.format).to.equal('torchscript');
    expect(ts.methods).to.include('forward');
    expect(ts.entries[0]).to.deep.equal({
      key: 'net.0.weight',
      type: 'parameter',
      dtype: 'float32',
      shape: [128, 512],
      nbytes: 262144,
    });
  });

  it('inspect errors exit 1 with the file and the reason', async () => {
    const missing = await cli(['inspect', f('nope.pt')]);
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.equal(`jepa-native: error: ${f('nope.pt')}: no such file\n`);
    const bad = await cli(['inspect', f('garbage.pt')]);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.contain(f('garbage.pt')).and.to.contain('JEPA_PT_CORRUPT');
    const folder = await cli(['inspect', dir]);
    expect(folder.status).to.equal(1);
    expect(folder.stderr).to.contain('is a folder');
  });

  it('convert round-trips a state_dict .pt -> safetensors -> .pt with equal tensors (checked by Python)', async () => {
    const a = await cli(['convert', f('state_dict.pt'), f('sd.safetensors')]);
    expect(a.status, a.stderr).to.equal(0);
    expect(a.stderr).to.contain('wrote').and.to.contain('7 tensors');
    const b = await cli(['convert', f('sd.safetensors'), f('sd_back.pt')]);
    expect(b.status, b.stderr).to.equal(0);
    const result = pythonJson(
      `
import json, sys, torch
from safetensors.torch import load_file
d = sys.argv[1]
orig = torch.load(f"{d}/state_dict.pt", weights_only=True)
st = load_file(f"{d}/sd.safetensors")
back = torch.load(f"{d}/sd_back.pt", weights_only=True)
def same(x):
    return sorted(x) == sorted(orig) and all(torch.equal(x[k], orig[k]) and x[k].dtype == orig[k].dtype for k in orig)
print(json.dumps({"safetensors": same(st), "back": same(back), "keys": sorted(back)}))
`,
      { args: [dir] },
    );
    expect(result).to.deep.equal({
      safetensors: true,
      back: true,
      keys: ['0.bias', '0.weight', '2.bias', '2.weight', '3.bias', '3.weight', 'steps'],
    });
  });

  it('convert to .npy takes --key, to safetensors keeps strings as metadata, --dtype casts; numpy and safetensors read the results', async () => {
    expect((await cli(['convert', f(`${FEATURES}.pt`), f('features.npy'), '--key', 'features'])).status).to.equal(0);
    const st = await cli(['convert', f(`${FEATURES}.pt`), f('features.safetensors')]);
    expect(st.status).to.equal(0);
    expect(st.stderr).to.contain('skipped: shape');
    expect((await cli(['convert', f('array.npy'), f('array32.pt'), '--dtype', 'float32'])).status).to.equal(0);
    const r = pythonJson(
      `
import json, sys, torch
import numpy as np
from safetensors import safe_open
d, name = sys.argv[1], sys.argv[2]
orig = torch.load(f"{d}/{name}.pt", weights_only=True)
npy = np.load(f"{d}/features.npy")
with safe_open(f"{d}/features.safetensors", "pt") as f:
    meta = f.metadata()
    st = f.get_tensor("features")
a32 = torch.load(f"{d}/array32.pt", weights_only=True)
print(json.dumps({"npy": bool(np.array_equal(npy, orig["features"].numpy())) and str(npy.dtype) == "float16",
                  "st": torch.equal(st, orig["features"]), "meta": meta,
                  "a32": [str(a32.dtype), a32.tolist()]}))
`,
      { args: [dir, FEATURES] },
    );
    expect(r.npy).to.equal(true);
    expect(r.st).to.equal(true);
    expect(r.meta).to.deep.equal({
      dtype: 'float16',
      source_chunk: 'chunk_000123.pt',
      image_id: 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1',
    });
    expect(r.a32).to.deep.equal([
      'torch.float32',
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
      ],
    ]);
  });

  it('convert errors: several tensors to .npy without --key (2), unknown output extension (2), bfloat16 to .npy (1), missing input (1)', async () => {
    const many = await cli(['convert', f('state_dict.pt'), f('x.npy')]);
    expect(many.status).to.equal(2);
    expect(many.stderr).to.contain('holds 7 tensors and .npy holds one: choose it with --key');
    const ext = await cli(['convert', f('state_dict.pt'), f('x.bin')]);
    expect(ext.status).to.equal(2);
    expect(ext.stderr).to.contain("cannot tell the output format from '");
    const bf = await cli(['convert', f('bf16.pt'), f('bf.npy')]);
    expect(bf.status).to.equal(1);
    expect(bf.stderr).to.contain('a bfloat16 tensor cannot be saved as .npy');
    expect(fs.existsSync(f('bf.npy'))).to.equal(false);
    const missing = await cli(['convert', f('nope.pt'), f('x.safetensors')]);
    expect(missing.status).to.equal(1);
    const dtype = await cli(['convert', f('array.npy'), f('x.pt'), '--dtype', 'float7']);
    expect(dtype.status).to.equal(2);
  });
});

describe('CLI: masks', function () {
  this.timeout(60000);
  let dir;
  before(() => (dir = tmpDir('cli-masks-')));
  after(() => cleanup(dir));

  it('renders a preset configuration as a PNG and prints the mask shapes; --json; the same masks as jepa.masks', async () => {
    const png = path.join(dir, 'ijepa.png');
    const r = await cli([
      'masks',
      'multiblock',
      '--preset',
      'ijepaImageNet',
      '--batch-size',
      '3',
      '--png',
      png,
      '--json',
    ]);
    expect(r.status, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    const m = jepa.masks.multiblock({ ...jepa.masks.presets.ijepaImageNet, batchSize: 3 });
    expect(doc.context).to.deep.equal(m.context.map((t) => t.shape));
    expect(doc.targets).to.deep.equal(m.targets.map((t) => t.shape));
    expect(doc.grid).to.deep.equal({ duration: 1, height: 14, width: 14 });
    const img = PNG.sync.read(fs.readFileSync(png));
    const expected = PNG.sync.read(jepa.masks.render(m));
    expect([img.width, img.height]).to.deep.equal([expected.width, expected.height]);
    expect(Buffer.compare(img.data, expected.data)).to.equal(0);

    const v = await cli([
      'masks',
      'multiblock3d',
      '--preset',
      'vjepaShortRange',
      '--num-frames',
      '8',
      '--input-size',
      '64',
      '--png',
      path.join(dir, 'v.png'),
    ]);
    expect(v.status, v.stderr).to.equal(0);
    expect(v.stdout).to.match(/^multiblock3d masks, batch 4, grid 4 x 4 x 4 patches\n/);
    expect(fs.existsSync(path.join(dir, 'v.png'))).to.equal(true);
  });

  it('bad configurations are usage errors (2) with the library message', async () => {
    const bad = await cli(['masks', 'multiblock', '--options', '{"npred": 0}']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('expected `options.npred`');
    const preset = await cli(['masks', 'randomTube', '--preset', 'ijepaImageNet']);
    expect(preset.status).to.equal(2);
    expect(preset.stderr).to.contain("preset 'ijepaImageNet' is for multiblock masks, not randomTube");
    const json = await cli(['masks', 'multiblock', '--options', '{npred: 1}']);
    expect(json.status).to.equal(2);
    expect(json.stderr).to.contain('expected a JSON object');
  });
});

describe('CLI: extract', function () {
  this.timeout(300000);
  let dir;
  const f = (...p) => path.join(dir, ...p);
  const ijepa = path.join(MODELS, 'ijepa', 'target_encoder.pt');
  const haveFfmpeg = jepa.video.ffmpegAvailable();

  async function png(file, w, h, seed) {
    const data = Buffer.alloc(w * h * 3);
    let s = seed;
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[i] = s >>> 24;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).toFile(file);
  }

  before(async function () {
    dir = tmpDir('cli-extract-');
    await png(f('images', 'a.png'), 40, 30, 1);
    await png(f('images', 'b.jpg'), 33, 47, 2);
    await png(f('images', 'sub', 'gbif_77_taxon_42_quercus_robur_img_2.png'), 50, 50, 3);
    await png(f('images', 'c.webp'), 32, 32, 4);
    await png(f('images', 'd.png'), 64, 20, 5);
    fs.writeFileSync(f('images', 'broken.jpg'), 'not an image');
    fs.writeFileSync(f('images', 'notes.txt'), 'ignored: not an input');
    if (haveFfmpeg) {
      fs.mkdirSync(f('videos'));
      spawnSync('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=48x40:rate=10',
        '-frames:v',
        '12',
        '-pix_fmt',
        'yuv420p',
        f('videos', 'clip.mp4'),
      ]);
      fs.copyFileSync(f('images', 'a.png'), f('videos', 'still.png'));
    } else if (process.env.CI) {
      throw new Error('ffmpeg is missing on CI');
    }
  });
  after(() => cleanup(dir));

  it('images through the I-JEPA encoder: one seed-000 feature file per image, equal to the model run from Node, read by Python; a bad input is reported, listed and skipped (exit 3)', async () => {
    const out = f('out');
    const r = await cli(['extract', ijepa, f('images'), out, '--batch-size', '2', '--json']);
    expect(r.status, r.stderr).to.equal(3);
    expect(r.stderr).to.contain(`jepa-native: skipped broken.jpg: `).and.to.contain('cannot decode the image');
    expect(r.stderr).to.contain(
      `extracted 5 of 6 inputs; 0 already done; 1 failed (listed in ${path.join(out, 'failed.txt')})`,
    );
    const summary = JSON.parse(r.stdout);
    expect(summary).to.include({ inputs: 6, written: 5, alreadyDone: 0 });
    expect(fs.readFileSync(path.join(out, 'failed.txt'), 'utf8')).to.match(/^broken\.jpg\t.*cannot decode the image/);
    const expectedFiles = [
      'a_features.pt',
      'b_features.pt',
      'c_features.pt',
      'd_features.pt',
      path.join('taxon_42', 'gbif_77_taxon_42_quercus_robur_img_2_features.pt'),
    ];
    for (const x of expectedFiles) expect(fs.existsSync(path.join(out, x)), x).to.equal(true);

    // Node: the same images through the same model, cast to float16, equal bit for bit.
    const model = jepa.loadModuleSync(ijepa);
    for (const [input, output] of [
      ['a.png', 'a_features.pt'],
      [path.join('sub', 'gbif_77_taxon_42_quercus_robur_img_2.png'), expectedFiles[4]],
    ]) {
      const x = await jepa.image.load(f('images', input), { size: 32 });
      const want = model
        .forwardSync(x.reshape([1, 3, 32, 32]))
        .reshape([16, 32])
        .to('float16');
      const got = await jepa.load(path.join(out, output));
      expect(got.features.shape).to.deep.equal([16, 32]);
      expect(
        Buffer.compare(Buffer.from(got.features.data().buffer), Buffer.from(want.contiguous().data().buffer)),
      ).to.equal(0);
    }
    // Python: the files load with weights_only=True and hold seed 000's dict.
    const py = pythonJson(
      `
import json, sys, torch
from pathlib import Path
out = {}
for p in sorted(Path(sys.argv[1]).rglob("*_features.pt")):
    d = torch.load(p, weights_only=True)
    out[str(p.relative_to(sys.argv[1]))] = [list(d), str(d["features"].dtype), list(d["shape"]), d["dtype"], d["source_chunk"], d["image_id"]]
print(json.dumps(out))
`,
      { args: [out] },
    );
    expect(Object.keys(py).sort()).to.deep.equal([...expectedFiles].sort());
    expect(py[expectedFiles[4]]).to.deep.equal([
      ['features', 'shape', 'dtype', 'source_chunk', 'image_id'],
      'torch.float16',
      [16, 32],
      'float16',
      path.join('sub', 'gbif_77_taxon_42_quercus_robur_img_2.png'),
      'gbif_77_taxon_42_quercus_robur_img_2',
    ]);
  });

  it('resumes: outputs already written are skipped (not rewritten); --overwrite recomputes them', async () => {
    const out = f('out');
    const before = fs.statSync(path.join(out, 'a_features.pt')).mtimeMs;
    const again = await cli(['extract', ijepa, f('images'), out]);
    expect(again.status).to.equal(3); // broken.jpg is still bad
    expect(again.stderr).to.contain('extracted 0 of 6 inputs; 5 already done; 1 failed');
    expect(fs.statSync(path.join(out, 'a_features.pt')).mtimeMs).to.equal(before);
    fs.rmSync(path.join(out, 'c_features.pt'));
    const resumed = await cli(['extract', ijepa, f('images'), out]);
    expect(resumed.stderr).to.contain('extracted 1 of 6 inputs; 4 already done; 1 failed');
    const over = await cli(['extract', ijepa, f('images'), out, '--overwrite', '--json']);
    expect(JSON.parse(over.stdout).written).to.equal(5);
  });

  it('shards with --rank/--world-size: two ranks write disjoint halves that together are everything', async () => {
    const out = f('sharded');
    const r0 = await cli(['extract', ijepa, f('images'), out, '--rank', '0', '--world-size', '2', '--json']);
    const r1 = await cli(['extract', ijepa, f('images'), out, '--json'], { env: { RANK: '1', WORLD_SIZE: '2' } });
    const s0 = JSON.parse(r0.stdout);
    const s1 = JSON.parse(r1.stdout);
    expect(s0.inputs + s1.inputs).to.equal(6);
    expect(s0.outputs.filter((o) => s1.outputs.includes(o))).to.deep.equal([]);
    expect(s0.written + s1.written).to.equal(5);
    expect(
      fs.existsSync(path.join(out, 'failed.rank0.txt')) !== fs.existsSync(path.join(out, 'failed.rank1.txt')),
    ).to.equal(true);
  });

  it('videos and stills through video encoders: V-JEPA (CTHW, input_shape) and V-JEPA 2 HF (TCHW, --input-shape)', async function () {
    if (!haveFfmpeg) this.skip();
    const vjepa = path.join(MODELS, 'vjepa', 'target_encoder.pt');
    const a = await cli(['extract', vjepa, f('videos'), f('vout'), '--json']);
    expect(a.status, a.stderr).to.equal(0);
    expect(JSON.parse(a.stdout).written).to.equal(2);
    // Node: the clip through the model by hand ([T, 3, H, W] -> [1, 3, T, H, W]).
    const clip = await jepa.video.frames(f('videos', 'clip.mp4'), { numFrames: 4, size: 32 });
    const x = clip.permute(1, 0, 2, 3).contiguous().reshape([1, 3, 4, 32, 32]);
    const want = jepa.loadModuleSync(vjepa).forwardSync(x).reshape([32, 32]).to('float16');
    const got = await jepa.load(f('vout', 'clip_features.pt'));
    expect(
      Buffer.compare(Buffer.from(got.features.data().buffer), Buffer.from(want.contiguous().data().buffer)),
    ).to.equal(0);

    const hf = path.join(MODELS, 'vjepa2_tiny.pt');
    const noShape = await cli(['extract', hf, f('videos'), f('hfout')]);
    expect(noShape.status).to.equal(2);
    expect(noShape.stderr).to.contain('give its input shape (--input-shape');
    const b = await cli([
      'extract',
      hf,
      f('videos'),
      f('hfout'),
      '--input-shape',
      '4,3,16,16',
      '--dtype',
      'float32',
      '--json',
    ]);
    expect(b.status, b.stderr).to.equal(0);
    const still = await jepa.load(f('hfout', 'still_features.pt'));
    expect(still.features.dtype).to.equal('float32');
    expect(still.features.shape).to.deep.equal([32, 32]);
  });

  it('feature files through a feature model (VL-JEPA predictor on [512] embeddings from .npy, .pt and safetensors)', async () => {
    runPython(
      `
import sys, torch, numpy as np
from safetensors.torch import save_file
d = sys.argv[1]
import os; os.makedirs(d, exist_ok=True)
g = torch.Generator().manual_seed(0)
np.save(f"{d}/e0.npy", torch.randn(512, generator=g).numpy())
torch.save({"feature": torch.randn(512, generator=g), "caption": "x"}, f"{d}/e1.pt")
save_file({"emb": torch.randn(512, generator=g)}, f"{d}/e2.safetensors")
np.save(f"{d}/wrong.npy", np.zeros(3, np.float32))
`,
      { args: [f('feats')] },
    );
    const vl = path.join(MODELS, 'vl_predictor.pt');
    const r = await cli(['extract', vl, f('feats'), f('fout'), '--input-shape', '512', '--batch-size', '4']);
    expect(r.status).to.equal(3);
    expect(r.stderr).to.contain('skipped wrong.npy: the feature tensor has shape [3], the model takes [512]');
    const x = await jepa.loadNpy(f('feats', 'e0.npy'));
    const want = jepa
      .loadModuleSync(vl)
      .forwardSync(x.reshape([1, 512]))
      .reshape([384])
      .to('float16');
    const got = await jepa.load(f('fout', 'e0_features.pt'));
    expect(
      Buffer.compare(Buffer.from(got.features.data().buffer), Buffer.from(want.contiguous().data().buffer)),
    ).to.equal(0);
    for (const n of ['e1', 'e2']) expect(fs.existsSync(f('fout', `${n}_features.pt`)), n).to.equal(true);
  });

  it('fatal errors exit 1 (missing model or folder, a non-TorchScript model); bad options exit 2', async () => {
    const noModel = await cli(['extract', f('nope.pt'), f('images'), f('x')]);
    expect(noModel.status).to.equal(1);
    expect(noModel.stderr).to.contain('no such model file');
    const noDir = await cli(['extract', ijepa, f('nope'), f('x')]);
    expect(noDir.status).to.equal(1);
    expect(noDir.stderr).to.contain('no such folder');
    const notModule = await cli(['extract', path.join(MODELS, 'not_a_module.pt'), f('images'), f('x')]);
    expect(notModule.status).to.equal(1);
    expect(notModule.stderr).to.contain('cannot load the model').and.to.contain('JEPA_INVALID_MODULE');
    const method = await cli(['extract', ijepa, f('images'), f('x'), '--method', 'encode']);
    expect(method.status).to.equal(2);
    expect(method.stderr).to.contain("the model has no method 'encode'");
    const rank = await cli(['extract', ijepa, f('images'), f('x'), '--rank', '2', '--world-size', '2']);
    expect(rank.status).to.equal(2);
    expect(rank.stderr).to.contain('--rank must be an integer in [0, 1], got 2');
  });
});

describe('CLI: bench', function () {
  this.timeout(60000);
  it('--list names the benchmark scripts; an unknown one is a usage error', async () => {
    const list = await cli(['bench', '--list']);
    expect(list.status).to.equal(0);
    expect(list.stdout.split('\n')).to.include.members(['tensor', 'masks', 'forward', 'pt']);
    const bad = await cli(['bench', 'warp-drive']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain("unknown benchmark 'warp-drive'");
  });
});

describe('CLI: launch (torchrun-style processes, sharded extract)', function () {
  this.timeout(120000);
  let dir;
  before(() => {
    dir = tmpDir('cli-launch');
    fs.mkdirSync(path.join(dir, 'in'));
    for (let i = 0; i < 5; i++)
      fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'media', 'photo.png'), path.join(dir, 'in', `p${i}.png`));
    fs.writeFileSync(path.join(dir, 'in', 'bad.png'), 'not an image');
  });
  after(() => cleanup(dir));

  it('launch --nproc 2 extract: each rank writes its share, rank 0 prints the summary of all ranks', async () => {
    const model = path.join(MODELS, 'ijepa', 'target_encoder.pt');
    const r = await cli(['launch', '--nproc', '2', 'extract', model, 'in', 'out', '--no-progress', '--json'], {
      cwd: dir,
    });
    expect(r.status, r.stderr).to.equal(3); // one bad input, skipped
    expect(r.stderr).to.contain('(rank 0 of 2)');
    expect(r.stderr).to.contain('(rank 1 of 2)');
    expect(r.stderr).to.match(/all 2 ranks: extracted 5 of 6 inputs; 0 already done; 1 failed/);
    const outs = fs
      .readdirSync(path.join(dir, 'out'))
      .filter((f) => f.endsWith('_features.pt'))
      .sort();
    expect(outs).to.deep.equal([
      'p0_features.pt',
      'p1_features.pt',
      'p2_features.pt',
      'p3_features.pt',
      'p4_features.pt',
    ]);
    // Sorted round-robin: bad.png is first, so rank 0 holds it.
    expect(fs.readFileSync(path.join(dir, 'out', 'failed.rank0.txt'), 'utf8')).to.contain('bad.png');
    // A second launch finds everything done.
    const again = await cli(['launch', '--nproc', '2', 'extract', model, 'in', 'out', '--no-progress'], { cwd: dir });
    expect(again.stderr).to.match(/all 2 ranks: extracted 0 of 6 inputs; 5 already done; 1 failed/);
  });

  it("runs a script with the environment of torchrun and returns the failing rank's exit code", async () => {
    const script = path.join(dir, 'env.js');
    fs.writeFileSync(
      script,
      "const e = process.env; console.log(JSON.stringify([e.RANK, e.WORLD_SIZE, e.LOCAL_RANK, e.MASTER_ADDR, !!e.MASTER_PORT])); if (e.RANK === '1') process.exit(5);\n",
    );
    const r = await cli(['launch', '--nproc', '2', script], { cwd: dir });
    expect(r.status).to.equal(5);
    expect(r.stdout).to.contain('["1","2","1","127.0.0.1",true]');
    const missing = await cli(['launch', '--nproc', '2', 'nosuch.js'], { cwd: dir });
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.contain('nosuch.js: no such script');
    const noN = await cli(['launch', script], { cwd: dir });
    expect(noN.status).to.equal(2);
  });
});
