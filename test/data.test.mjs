// jepa.data: the datasets (feature files with seed 003's key rule, torchvision's ImageFolder
// layout, seed 004's caption CSV) and the DataLoader, whose orders must equal PyTorch's
// DataLoader / DistributedSampler for the same seed (Python prints them in before()).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import sharp from 'sharp';
import { cleanup, pythonJson, rejection, thrown, tmpDir } from './helpers.mjs';

const { DataLoader, FeatureDataset, ImageFolderDataset, CaptionDataset } = jepa.data;

let dir;
const file = (...p) => path.join(dir, ...p);
const values = (t) => Array.from(t.contiguous().data(), Number);
/** A dataset of its own indices (numbers), as Python's list(range(n)). */
const range = (n) => ({ length: n, get: (i) => i });
const LOADERS = [
  // [n, batchSize, dropLast]
  [10, 4, false],
  [10, 4, true],
  [7, 7, false],
  [12, 5, false],
];
const SHARDS = [
  // [n, worldSize, shuffle, dropTail]
  [10, 3, true, false],
  [10, 3, false, false],
  [11, 4, true, true],
  [9, 3, true, false],
];

describe('jepa.data', function () {
  this.timeout(120000);
  let py;

  before(async function () {
    dir = tmpDir('data-');
    // Feature files of every kind; images as PNGs in class folders (and a file in a subfolder).
    fs.mkdirSync(file('features', 'sub'), { recursive: true });
    jepa.saveSync(file('features', 'a.pt'), {
      caption: 'x',
      feature: jepa.randn([2, 3], { seed: 1 }),
      features: jepa.zeros([1]),
    });
    jepa.saveSync(file('features', 'b.pt'), {
      other: jepa.randn([2, 3], { seed: 2 }),
      features: jepa.randn([2, 3], { seed: 3 }),
    });
    jepa.saveSync(file('features', 'c.pth'), jepa.randn([2, 3], { seed: 4 }));
    jepa.saveNpySync(file('features', 'sub', 'd.npy'), jepa.randn([2, 3], { seed: 5 }));
    jepa.saveNpzSync(file('features', 'sub', 'e.npz'), { z: jepa.randn([2, 3], { seed: 6 }) });
    jepa.saveSafetensorsSync(file('features', 'f.safetensors'), { feature: jepa.randn([2, 3], { seed: 7 }) });
    fs.writeFileSync(file('features', 'notes.txt'), 'not a feature file');
    const png = (p, r) =>
      sharp({ create: { width: 8, height: 6, channels: 3, background: { r, g: 20, b: 200 } } })
        .png()
        .toFile(p);
    for (const [cls, names] of [
      ['cat', ['b.png', 'a.jpg.png', 'z.png']],
      ['dog', ['x.png']],
      ['ant', ['m.PNG']],
    ]) {
      fs.mkdirSync(file('images', cls), { recursive: true });
      for (const [i, n] of names.entries()) await png(file('images', cls, n), 10 * i + 5);
    }
    fs.mkdirSync(file('images', 'cat', 'deep'));
    await png(file('images', 'cat', 'deep', 'c.png'), 99);
    fs.writeFileSync(file('images', 'cat', 'readme.txt'), 'x');
    fs.writeFileSync(
      file('captions.csv'),
      '\ufeffimage_name,comment\nb.png,"persons, bridge and cable"\nz.png,"a ""quoted"" caption"\nx.png,\n',
    );
    py = pythonJson(
      `
import json, os, sys, types
import torch
from torch.utils.data import DataLoader, DistributedSampler
try:
    import torchvision
except Exception:
    for name in list(sys.modules):
        if name == 'torchvision' or name.startswith('torchvision.'):
            del sys.modules[name]
    sys.modules['torchvision._meta_registrations'] = types.ModuleType('torchvision._meta_registrations')
from torchvision.datasets import ImageFolder
loaders, shards = json.loads(sys.argv[2]), json.loads(sys.argv[3])
out = {'loaders': [], 'shards': []}
for n, bs, drop in loaders:
    g = torch.Generator().manual_seed(1234)
    dl = DataLoader(list(range(n)), batch_size=bs, shuffle=True, drop_last=drop, generator=g)
    out['loaders'].append([[b.tolist() for b in dl] for _ in range(3)])
for n, ws, shuffle, drop in shards:
    per = []
    for r in range(ws):
        s = DistributedSampler(list(range(n)), num_replicas=ws, rank=r, shuffle=shuffle, seed=42, drop_last=drop)
        eps = []
        for e in range(2):
            s.set_epoch(e)
            eps.append(list(s))
        per.append(eps)
    out['shards'].append(per)
f = ImageFolder(os.path.join(sys.argv[1], 'images'))
out['imagefolder'] = {'classes': f.classes, 'samples': [[os.path.relpath(p, sys.argv[1]), c] for p, c in f.samples]}
print(json.dumps(out))`,
      { args: [dir, JSON.stringify(LOADERS), JSON.stringify(SHARDS)] },
    );
  });
  after(() => cleanup(dir));

  describe('DataLoader order', function () {
    it('equals DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed)), epoch after epoch', async function () {
      for (const [k, [n, batchSize, dropLast]] of LOADERS.entries()) {
        const loader = new DataLoader(range(n), { batchSize, dropLast, shuffle: true, seed: 1234 });
        const seen = [];
        for (let e = 0; e < 3; e++) {
          const batches = [];
          for await (const b of loader) batches.push(values(b));
          seen.push(batches);
        }
        expect(seen, `n=${n} batch ${batchSize} dropLast ${dropLast}`).to.deep.equal(py.loaders[k]);
        expect(loader.epoch).to.equal(3);
        // Any epoch can be asked for again (the generator is replayed from the seed).
        expect(loader.batches(1)).to.deep.equal(py.loaders[k][1]);
        expect(loader.length).to.equal(py.loaders[k][0].length);
      }
    });

    it('equals DistributedSampler(num_replicas, rank, shuffle, seed, drop_last) with set_epoch', function () {
      for (const [k, [n, worldSize, shuffle, dropTail]] of SHARDS.entries()) {
        for (let rank = 0; rank < worldSize; rank++) {
          const loader = new DataLoader(range(n), {
            rank,
            worldSize,
            shuffle,
            seed: 42,
            evenShards: dropTail ? 'drop' : 'pad',
          });
          expect(
            [0, 1].map((e) => loader.indices(e)),
            `case ${k} rank ${rank}`,
          ).to.deep.equal(py.shards[k][rank]);
        }
      }
    });

    it('without shuffling, shards as jepa.distributed.shardFiles (padded to equal shares)', function () {
      const files = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(2, '0')}.pt`);
      const ds = { length: files.length, get: (i) => files[i] };
      for (let rank = 0; rank < 4; rank++) {
        const loader = new DataLoader(ds, { rank, worldSize: 4, batchSize: 3, collate: (s) => s });
        expect(loader.indices().map((i) => files[i])).to.deep.equal(jepa.distributed.shardFiles(files, rank, 4));
      }
      // 10 files over 4 ranks: every rank gets 3 (the first two files again at the end).
      const counts = [0, 1, 2, 3].map((rank) => new DataLoader(range(10), { rank, worldSize: 4 }).indices());
      expect(counts).to.deep.equal([
        [0, 4, 8],
        [1, 5, 9],
        [2, 6, 0],
        [3, 7, 1],
      ]);
    });

    it('keeps its position across loops and through state()/setState() (what fit resumes from)', async function () {
      const a = new DataLoader(range(10), { batchSize: 3, shuffle: true, seed: 5 });
      const first = [];
      for await (const b of a) {
        first.push(values(b));
        if (first.length === 2) break;
      }
      const state = a.state();
      expect(state).to.deep.equal({ epoch: 0, batch: 2, seed: 5n });
      const b = new DataLoader(range(10), { batchSize: 3, shuffle: true, seed: 5 });
      b.setState(state);
      const rest = [];
      for await (const x of b) rest.push(values(x));
      expect([...first, ...rest]).to.deep.equal(a.batches(0).map((idx) => idx));
      expect(b.state()).to.deep.equal({ epoch: 1, batch: 0, seed: 5n });
      // The rest of a's epoch is the same as b's.
      const tail = [];
      for await (const x of a) tail.push(values(x));
      expect(tail).to.deep.equal(rest);
      expect(() => b.setState({ epoch: 0, batch: 0, seed: 6n })).to.throw(TypeError, /seed 6/);
      expect(() => b.setState({ epoch: 0, batch: 99 })).to.throw(TypeError, /at most 4/);
      b.epoch = 7;
      expect(b.state()).to.deep.equal({ epoch: 7, batch: 0, seed: 5n });
    });
  });

  describe('collation', function () {
    it('stacks tensors and collates numbers, strings, booleans and objects as default_collate', function () {
      const batch = jepa.data.collate([
        { x: jepa.tensor([1, 2]), n: 1, f: 0.5, s: 'a', ok: true, pair: [1, 'p'] },
        { x: jepa.tensor([3, 4]), n: 2, f: 1, s: 'b', ok: false, pair: [2, 'q'] },
      ]);
      expect(batch.x.shape).to.deep.equal([2, 2]);
      expect(values(batch.x)).to.deep.equal([1, 2, 3, 4]);
      expect([batch.n.dtype, values(batch.n)]).to.deep.equal(['int64', [1, 2]]);
      expect([batch.f.dtype, values(batch.f)]).to.deep.equal(['float64', [0.5, 1]]);
      expect(batch.s).to.deep.equal(['a', 'b']);
      expect([batch.ok.dtype, values(batch.ok)]).to.deep.equal(['bool', [1, 0]]);
      expect(values(batch.pair[0])).to.deep.equal([1, 2]);
      expect(batch.pair[1]).to.deep.equal(['p', 'q']);
      const e = thrown(() => jepa.data.collate([jepa.zeros([2, 3]), jepa.zeros([3, 3])]));
      expect(e.code).to.equal('JEPA_SHAPE_MISMATCH');
      expect(e.message).to.match(/sample 1 has shape \[3, 3\].*variableLength/);
      expect(thrown(() => jepa.data.collate([{ a: 1 }, { b: 1 }])).code).to.equal('JEPA_DATA_INVALID');
      expect(thrown(() => jepa.data.collate([jepa.zeros([1]), jepa.zeros([1], { dtype: 'int64' })])).code).to.equal(
        'JEPA_DATA_INVALID',
      );
    });

    it("pads or crops a variable-length T (seed 003's [T, N, C] features) and reports the lengths", async function () {
      const lens = [3, 5, 2];
      const ds = {
        length: 3,
        get: (i) => ({
          feature: jepa
            .arange(lens[i] * 2 * 1, { dtype: 'float32' })
            .reshape(lens[i], 2, 1)
            .contiguous(),
          id: i,
        }),
      };
      const pad = new DataLoader(ds, { batchSize: 3, variableLength: 'pad' });
      for await (const b of pad) {
        expect(b.feature.shape).to.deep.equal([3, 5, 2, 1]);
        expect(values(b.lengths)).to.deep.equal([3, 5, 2]);
        // Sample 2 (T = 2): its 4 values, then zeros.
        expect(values(b.feature).slice(20, 30)).to.deep.equal([0, 1, 2, 3, 0, 0, 0, 0, 0, 0]);
      }
      const crop = new DataLoader(ds, { batchSize: 3, variableLength: { mode: 'crop' } });
      for await (const b of crop) {
        expect(b.feature.shape).to.deep.equal([3, 2, 2, 1]);
        expect(values(b.feature).slice(4, 8)).to.deep.equal([0, 1, 2, 3]);
        expect(values(b.lengths)).to.deep.equal([2, 2, 2]);
      }
      const fixed = new DataLoader(ds, { batchSize: 3, variableLength: { mode: 'pad', length: 4 } });
      for await (const b of fixed) {
        expect(b.feature.shape).to.deep.equal([3, 4, 2, 1]);
        expect(values(b.lengths)).to.deep.equal([3, 4, 2]);
      }
      const tooShort = new DataLoader(ds, { batchSize: 3, variableLength: { mode: 'crop', length: 3 } });
      const e = await rejection(
        (async () => {
          for await (const b of tooShort) void b;
        })(),
      );
      expect(e.code).to.equal('JEPA_SHAPE_MISMATCH');
    });

    it('disposes the samples it stacked; a collate function gets the samples as they are', async function () {
      const made = [];
      const ds = {
        length: 4,
        get: (i) => {
          const t = jepa.ones([2]).fill_(i);
          made.push(t);
          return t;
        },
      };
      for await (const b of new DataLoader(ds, { batchSize: 2 })) expect(b.shape).to.deep.equal([2, 2]);
      expect(made.every((t) => t.isDisposed)).to.equal(true);
      const own = [];
      for await (const b of new DataLoader(ds, { batchSize: 2, collate: (s) => s })) own.push(...b);
      expect(own.every((t) => !t.isDisposed)).to.equal(true);
      expect(own.map((t) => values(t)[0])).to.deep.equal([0, 1, 2, 3]);
    });

    it('loads batches ahead while the loop works, and frees the ones a broken loop leaves', async function () {
      let started = 0;
      const ds = {
        length: 20,
        get: async (i) => {
          started++;
          return jepa.ones([1]).fill_(i);
        },
      };
      const loader = new DataLoader(ds, { batchSize: 2, prefetch: 3 });
      const got = [];
      for await (const b of loader) {
        got.push(values(b));
        // The batch in hand plus three ahead have been asked for.
        expect(started).to.equal(Math.min(20, 2 * (got.length + 3)));
        if (got.length === 2) break;
      }
      expect(loader.state().batch).to.equal(2);
      expect(thrown(() => new DataLoader(ds, { prefetch: -1 }))).to.be.instanceOf(TypeError);
    });
  });

  describe('datasets', function () {
    it("FeatureDataset: seed 003's key rule over .pt/.pth/.npy/.npz/safetensors, sorted by path", async function () {
      const ds = new FeatureDataset(file('features'));
      expect(ds.files.map((f) => path.relative(file('features'), f))).to.deep.equal([
        'a.pt',
        'b.pt',
        'c.pth',
        'f.safetensors',
        'sub/d.npy',
        'sub/e.npz',
      ]);
      const seeds = [1, 3, 4, 7, 5, 6];
      for (let i = 0; i < ds.length; i++) {
        const { feature, path: p } = await ds.get(i);
        expect(p).to.equal(ds.files[i]);
        expect(values(feature), p).to.deep.equal(values(jepa.randn([2, 3], { seed: seeds[i] })));
      }
      const flat = new FeatureDataset(file('features'), { recursive: false, extensions: ['.pt'] });
      expect(flat.length).to.equal(2);
      const keyed = new FeatureDataset([file('features', 'b.pt')], { key: 'other' });
      expect(values((await keyed.get(0)).feature)).to.deep.equal(values(jepa.randn([2, 3], { seed: 2 })));
      const missing = new FeatureDataset([file('features', 'a.pt')], { key: 'nope' });
      const e = await rejection(missing.get(0));
      expect(e.code).to.equal('JEPA_DATA_INVALID');
      expect(e.message).to.match(/no tensor under the key 'nope' \(its keys: caption, feature, features/);
      expect(thrown(() => new FeatureDataset(file('images'))).code).to.equal('JEPA_DATA_INVALID');
      expect(await rejection(ds.get(6)))
        .to.be.instanceOf(TypeError)
        .with.property('message')
        .that.matches(/\[0, 6\)/);
    });

    it('FeatureDataset through a DataLoader: stacked features and their paths', async function () {
      const loader = new DataLoader(new FeatureDataset(file('features')), { batchSize: 4, shuffle: true, seed: 0 });
      const paths = [];
      for await (const b of loader) {
        expect(b.feature.shape.slice(1)).to.deep.equal([2, 3]);
        paths.push(...b.path);
      }
      expect([...paths].sort()).to.deep.equal([...new FeatureDataset(file('features')).files].sort());
    });

    it("ImageFolderDataset: torchvision's ImageFolder classes, order and labels; jepa.image decoding", async function () {
      const ds = new ImageFolderDataset(file('images'), { image: { size: 4 } });
      expect(ds.classes).to.deep.equal(py.imagefolder.classes);
      expect(ds.files.map((f, i) => [path.relative(dir, f), ds.labels[i]])).to.deep.equal(py.imagefolder.samples);
      const s = await ds.get(1);
      expect(s.image.shape).to.deep.equal([3, 4, 4]);
      expect(values(s.image)).to.deep.equal(values(await jepa.image.load(ds.files[1], { size: 4 })));
      expect(s.label).to.equal(ds.labels[1]);
      const flat = new ImageFolderDataset(file('images', 'cat'), { classes: false });
      expect(flat.length).to.equal(4);
      expect((await flat.get(0)).label).to.equal(undefined);
      expect(() => new ImageFolderDataset(file('images'), { image: { size: -1 } })).to.throw(TypeError);
    });

    it("CaptionDataset: seed 004's image_name,comment CSV (quotes, commas, BOM, empty caption)", async function () {
      const ds = new CaptionDataset(file('captions.csv'), file('images', 'cat'), { image: { size: 4 } });
      expect(ds.rows.map((r) => r.caption)).to.deep.equal(['persons, bridge and cable', 'a "quoted" caption', '']);
      const loader = new DataLoader(ds, { batchSize: 2 });
      const batches = [];
      for (;;) {
        try {
          for await (const b of loader) batches.push(b);
          break;
        } catch (e) {
          // x.png is not in cat/: the third row fails at its get(), as in the seed.
          expect(e.code).to.equal('JEPA_FILE_NOT_FOUND');
          break;
        }
      }
      expect(batches).to.have.length(1);
      expect(batches[0].image.shape).to.deep.equal([2, 3, 4, 4]);
      expect(batches[0].caption).to.deep.equal(['persons, bridge and cable', 'a "quoted" caption']);
      fs.writeFileSync(file('bad.csv'), 'file,text\na.png,x\n');
      const e = thrown(() => new CaptionDataset(file('bad.csv'), file('images')));
      expect(e.code).to.equal('JEPA_DATA_INVALID');
      expect(e.message).to.match(/no column 'image_name' \(its columns: file, text\)/);
      const cols = new CaptionDataset(file('bad.csv'), file('images'), { columns: { image: 'file', caption: 'text' } });
      expect(cols.rows[0]).to.deep.equal({ path: file('images', 'a.png'), caption: 'x' });
    });

    it('validates options', function () {
      expect(() => new DataLoader(range(3), { batchSize: 0 })).to.throw(TypeError, /batchSize/);
      expect(() => new DataLoader(range(3), { rank: 3, worldSize: 3 })).to.throw(TypeError, /rank/);
      expect(() => new DataLoader(range(3), { sampler: 'random', worldSize: 2 })).to.throw(TypeError, /distributed/);
      expect(() => new DataLoader(range(3), { variableLength: 'stretch' })).to.throw(TypeError, /pad/);
      expect(() => new DataLoader({ get() {} })).to.throw(TypeError, /length/);
      expect(() => new DataLoader(range(3), { collate: (s) => s, variableLength: 'pad' })).to.throw(
        TypeError,
        /default collation/,
      );
    });
  });
});
