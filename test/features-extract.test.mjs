// Seed 000 end to end: `jepa-native extract MODEL_DIR IN OUT` and `jepa.features.extract` on an
// exported V-JEPA 2 model folder write the feature files Python's seed-000 pipeline writes
// (transformers' VJEPA2VideoProcessor + VJEPA2Model in float16, the image repeated over T,
// torch.save of seed 000's dict under seed 000's names): scripts/reference/seed000_reference.py,
// one Python process. Bad images are skipped and listed while the rest goes on.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, ROOT, tmpDir } from './helpers.mjs';

const BIN = path.join(ROOT, 'bin', 'jepa-native.js');

function cli(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** float16 bits to a number. */
function half(h) {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

describe('features.extract: seed 000 end to end against the Python pipeline', function () {
  this.timeout(300000);
  let dir;
  let names;
  const f = (...p) => path.join(dir, ...p);

  before(function () {
    dir = tmpDir('seed000-');
    names = pythonJson(
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})\nimport json, seed000_reference\nseed000_reference.seed000(json.loads(sys.stdin.read()))`,
      { input: JSON.stringify({ model: f('model'), images: f('images'), reference: f('reference') }) },
    );
  });
  after(() => dir && cleanup(dir));

  /** Compares every reference file with the one Node wrote under the same name. */
  async function expectSameFeatures(out) {
    let worst = 0;
    let exact = 0;
    let total = 0;
    for (const [input, rel] of Object.entries(names)) {
      const ours = await jepa.load(path.join(out, rel));
      const ref = await jepa.load(f('reference', rel));
      expect(Object.keys(ours), rel).to.deep.equal(['features', 'shape', 'dtype', 'source_chunk', 'image_id']);
      expect(ours.features.dtype).to.equal('float16');
      expect(ours.features.shape).to.deep.equal(ref.features.shape);
      expect([...ours.shape]).to.deep.equal([...ref.shape]);
      expect([ours.dtype, ours.source_chunk, ours.image_id]).to.deep.equal([ref.dtype, input, ref.image_id]);
      const a = ours.features.data();
      const b = ref.features.data();
      for (let i = 0; i < a.length; i++) {
        total++;
        if (a[i] === b[i]) {
          exact++;
          continue;
        }
        // Within float16 rounding: at most one unit in the last place of the larger value.
        const x = half(a[i]);
        const y = half(b[i]);
        const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), Math.abs(y), 2 ** -14))) - 10);
        worst = Math.max(worst, Math.abs(x - y) / ulp);
      }
    }
    expect(
      worst,
      `largest difference in float16 units in the last place (${exact} of ${total} values equal)`,
    ).to.be.at.most(1);
    return { exact, total };
  }

  it("jepa-native extract MODEL_DIR IN OUT: seed 000's files (dict, names, float16 features within float16 rounding of Python's); the bad image is skipped and listed", async () => {
    const r = await cli(['extract', f('model'), f('images'), f('out-cli'), '--batch-size', '2', '--json']);
    expect(r.status, r.stderr).to.equal(3);
    expect(r.stderr).to.contain('jepa-native: skipped broken.jpg: ').and.to.contain('cannot decode the image');
    const summary = JSON.parse(r.stdout);
    expect(summary).to.include({ inputs: 4, written: 3, alreadyDone: 0 });
    expect(fs.readFileSync(f('out-cli', 'failed.txt'), 'utf8')).to.match(/^broken\.jpg\t.*JEPA_MEDIA_DECODE/);
    expect(Object.values(names)).to.include(
      path.join('taxon_2650927', 'gbif_1291162453_taxon_2650927_nephrolepis_exaltata_img_1_features.pt'),
    );
    await expectSameFeatures(f('out-cli'));
  });

  it('jepa.features.extract(model, inputs, options) writes the same files, reports progress, and takes a list of files', async () => {
    const events = [];
    const summary = await jepa.features.extract(f('model'), f('images'), {
      output: f('out-lib'),
      batchSize: 3,
      onProgress: (e) => events.push(e),
    });
    expect(summary).to.include({ inputs: 4, written: 3, alreadyDone: 0 });
    expect(summary.failed.map((x) => x.input)).to.deep.equal(['broken.jpg']);
    expect(events.map((e) => e.status).sort()).to.deep.equal(['failed', 'written', 'written', 'written']);
    expect(events[events.length - 1]).to.include({ done: 4, total: 4 });
    for (const rel of Object.values(names)) {
      const a = fs.readFileSync(path.join(f('out-lib'), rel));
      const b = fs.readFileSync(path.join(f('out-cli'), rel));
      expect((await jepa.load(path.join(f('out-lib'), rel))).features.data()).to.deep.equal(
        (await jepa.load(path.join(f('out-cli'), rel))).features.data(),
      );
      expect(a.length).to.equal(b.length);
    }
    // A list of files (named relative to their common folder), with the model already loaded.
    const model = await jepa.loadModule(f('model', 'encoder.pt'));
    const files = Object.keys(names).map((n) => f('images', n));
    const fromList = await jepa.features.extract(model, files, {
      output: f('out-list'),
      preprocess: { preset: 'vjepa2' },
    });
    expect(fromList).to.include({ inputs: 3, written: 3 });
    await expectSameFeatures(f('out-list'));
    model.dispose();
  });

  it("concurrency (batches in the model at once, each with its share of the threads) and jitOptimize: the same features as Python's either way", async () => {
    const threads = jepa.getNumThreads();
    jepa.setNumThreads(2);
    try {
      for (const concurrency of [1, 3]) {
        const out = f(`out-concurrency-${concurrency}`);
        const summary = await jepa.features.extract(f('model'), f('images'), {
          output: out,
          batchSize: 1,
          concurrency,
        });
        expect(summary).to.include({ inputs: 4, written: 3 });
        await expectSameFeatures(out);
      }
      // TorchScript's graph optimisation (off by default on a CPU) changes no bit of the features.
      const optimized = f('out-jit-optimize');
      await jepa.features.extract(f('model'), f('images'), { output: optimized, batchSize: 1, jitOptimize: true });
      for (const rel of Object.values(names)) {
        const a = (await jepa.load(path.join(optimized, rel))).features.data();
        const b = (await jepa.load(path.join(f('out-concurrency-1'), rel))).features.data();
        expect(
          Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
          rel,
        ).to.equal(true);
      }
    } finally {
      jepa.setNumThreads(threads);
    }
  });

  it('bad inputs of every kind (empty, truncated, another format behind the extension, text as .mp4, a 0-frame video) are skipped with JEPA_MEDIA_DECODE naming the file; the rest goes on', async function () {
    const bad = f('bad-inputs');
    fs.mkdirSync(bad, { recursive: true });
    fs.copyFileSync(f('images', 'plain.png'), path.join(bad, 'good.png'));
    fs.writeFileSync(path.join(bad, 'empty.jpg'), Buffer.alloc(0));
    const photo = fs.readFileSync(
      f(
        'images',
        Object.keys(names).find((n) => n.startsWith('gbif_')),
      ),
    );
    fs.writeFileSync(path.join(bad, 'truncated.jpg'), photo.subarray(0, photo.length >> 2));
    fs.writeFileSync(
      path.join(bad, 'sound.png'),
      Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(32)]),
    );
    fs.writeFileSync(path.join(bad, 'notes.mp4'), 'a text file, not a video');
    const videos = jepa.video.ffmpegAvailable();
    if (videos) {
      const make = (name, args) =>
        spawnSync('ffmpeg', [
          '-v',
          'error',
          '-y',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=40x30:rate=10',
          ...args,
          path.join(bad, name),
        ]);
      make('clip.mp4', ['-frames:v', '12', '-pix_fmt', 'yuv420p']);
      make('zero.avi', ['-frames:v', '0']);
    }
    const summary = await jepa.features.extract(f('model'), bad, { output: f('out-bad'), batchSize: 2 });
    const failed = ['empty.jpg', 'notes.mp4', 'sound.png', 'truncated.jpg', ...(videos ? ['zero.avi'] : [])];
    expect(summary.failed.map((x) => x.input).sort()).to.deep.equal(failed);
    for (const x of summary.failed) {
      expect(x.error, x.input).to.contain(path.join(bad, x.input)).and.to.contain('(JEPA_MEDIA_DECODE)');
    }
    expect(summary.written).to.equal(videos ? 2 : 1);
    expect(
      fs
        .readFileSync(f('out-bad', 'failed.txt'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0])
        .sort(),
    ).to.deep.equal(failed);
  });

  it('bad options are TypeErrors: no output folder, several clips per video, a preprocessing of another size', async () => {
    const cases = [
      [{}, 'expected `options.output` to be a folder path, got undefined'],
      [
        { output: f('x'), sampling: { numClips: 2 } },
        "`options.sampling.numClips` is not an option of extract: one clip per video, of the model's 4 frames",
      ],
      [
        { output: f('x'), preprocess: { centerCrop: 20 } },
        'the preprocessing gives 20x20 images, the model takes 16x16',
      ],
      [{ output: f('x'), batchSize: 0 }, 'expected `options.batchSize` to be a positive integer, got 0'],
      [{ output: f('x'), concurrency: 1.5 }, 'expected `options.concurrency` to be a positive integer, got 1.5'],
      [{ output: f('x'), jitOptimize: 'yes' }, 'expected `options.jitOptimize` to be a boolean, got "yes"'],
    ];
    for (const [opts, message] of cases) {
      const err = await jepa.features.extract(f('model'), f('images'), opts).then(
        () => null,
        (e) => e,
      );
      expect(err, message).to.be.instanceOf(TypeError);
      expect(err.message).to.equal(message);
    }
  });

  it('reads the model folder: encoder, input size and frames, preset (jepa.json); a folder without jepa.json is an error', () => {
    const folder = jepa.features.readModelFolder(f('model'));
    expect(folder).to.include({ encoder: f('model', 'encoder.pt'), preset: 'vjepa2', frames: 4 });
    expect(folder.size).to.deep.equal([16, 16]);
    fs.mkdirSync(f('empty-model'), { recursive: true });
    expect(() => jepa.features.readModelFolder(f('empty-model'))).to.throw(/no such file: .*jepa\.json/);
  });

  it('under launch, --device cuda means cuda:LOCAL_RANK (each rank its own GPU); other devices are kept', () => {
    const d = jepa.features.deviceForRank;
    expect(d('cuda', { LOCAL_RANK: '3' })).to.equal('cuda:3');
    expect(d('cuda', {})).to.equal('cuda');
    expect(d('cuda:1', { LOCAL_RANK: '3' })).to.equal('cuda:1');
    expect(d('cpu', { LOCAL_RANK: '3' })).to.equal('cpu');
    expect(() => d('cuda', { LOCAL_RANK: 'x' })).to.throw(
      TypeError,
      'expected LOCAL_RANK to be a non-negative integer, got "x"',
    );
  });

  it('npm start / jepa-native demo: extracts the bundled pictures with the bundled V-JEPA 2 model, reads one back, says where the files are', async () => {
    const out = f('demo');
    const r = await cli(['demo', '--output', out]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`output  ${out}`).and.to.contain('extracted 5 of 5 pictures in ');
    expect(r.stdout).to.match(
      /read back taxon_2650927\/gbif_1001_taxon_2650927_nephrolepis_exaltata_img_1_features\.pt:/,
    );
    expect(r.stdout).to.contain('features      float16 [64, 32]');
    const d = await jepa.load(
      path.join(out, 'taxon_3189866', 'gbif_2002_taxon_3189866_bellis_perennis_img_1_features.pt'),
    );
    expect(d.features.shape).to.deep.equal([64, 32]);
    expect(fs.existsSync(path.join(out, 'shore_features.pt'))).to.equal(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).to.equal('node bin/jepa-native.js demo');
    expect(pkg.files).to.include.members(['examples/demo/model/', 'examples/demo/images/']);
  });
});
