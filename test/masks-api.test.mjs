// jepa.masks: binary masks and conversions, option errors, async forms and the stateful sampler,
// the PNG renderer. (Parity with the reference sampler and the invariants: masks.test.mjs.)
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { PNG } from 'pngjs';
import { cleanup, tmpDir } from './helpers.mjs';
import { expectSame, rowsOf, SHORT_LONG } from './masks-helpers.mjs';

const { masks } = jepa;
const { presets } = masks;

describe('masks', function () {
  describe('binary masks and conversions', function () {
    it('binary() is the union of the whole target blocks (1 = masked)', function () {
      const o = { ...presets.ijepaImageNet, batchSize: 6, seed: 4, positionSeed: 8 };
      const b = masks.binary(o);
      expect(b.shape).to.deep.equal([6, 196]);
      expect(b.dtype).to.equal('int64');
      const m = masks.multiblock(o);
      const u = masks.toBinary(m.targets, m.grid);
      expect(Array.from(b.data())).to.deep.equal(Array.from(u.data()));
      const f = masks.binary({ ...o, dtype: 'float32' });
      expect(f.dtype).to.equal('float32');
      expect(Array.from(f.data())).to.deep.equal(Array.from(u.data(), Number));
    });

    it('binary() of a random tube marks the masked patches', function () {
      const o = { ratio: 0.5, batchSize: 3, positionSeed: 2 };
      const b = masks.binary({ ...o, sampler: 'randomTube', dtype: 'bool' });
      const m = masks.randomTube(o);
      expect(b.shape).to.deep.equal([3, 1568]);
      const idx = masks.toIndices(b);
      expect(rowsOf(idx)).to.deep.equal(rowsOf(m.targets[0]));
      expect(rowsOf(masks.toIndices(b, { value: 0 }))).to.deep.equal(rowsOf(m.context[0]));
    });

    it('toBinary / toIndices round-trip, and toIndices cuts rows like the collators', function () {
      const t = jepa.tensor(new BigInt64Array([0n, 3n, 5n, 1n, 2n, 3n]), [2, 3]);
      const bin = masks.toBinary(t, 6);
      expect(Array.from(bin.data(), Number)).to.deep.equal([1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0]);
      expect(rowsOf(masks.toIndices(bin))).to.deep.equal([
        [0, 3, 5],
        [1, 2, 3],
      ]);
      const ragged = jepa.tensor([
        [1, 1, 0, 1],
        [0, 1, 0, 0],
      ]);
      expect(rowsOf(masks.toIndices(ragged))).to.deep.equal([[0], [1]]);
      expect(() => masks.toBinary(t, 5)).to.throw(/index 5 \(mask 0, row 0\) is out of range for 5 patches/);
    });
  });

  describe('options', function () {
    const bad = [
      [() => masks.multiblock(), /expected `options` to be an object with at least `batchSize`/],
      [() => masks.multiblock({}), /missing option `options.batchSize`/],
      [() => masks.multiblock({ batchSize: 0 }), /expected `options.batchSize` to be a positive integer, got 0/],
      [
        () => masks.multiblock({ batchSize: 2, encMaskScale: [0, 0.5] }),
        /expected `options.encMaskScale` to be a range \[min, max\] with 0 < min <= max <= 1, got \[0, 0.5\]/,
      ],
      [
        () => masks.multiblock({ batchSize: 2, predMaskScale: [0.2, 1.5] }),
        /`options.predMaskScale` .* got \[0.2, 1.5\]/,
      ],
      [() => masks.multiblock({ batchSize: 2, predMaskScale: [0.5, 0.2] }), /`options.predMaskScale`/],
      [
        () => masks.multiblock({ batchSize: 2, aspectRatio: [-1, 2] }),
        /expected `options.aspectRatio` to be a range \[min, max\] with 0 < min <= max/,
      ],
      [() => masks.multiblock({ batchSize: 2, npred: 0 }), /expected `options.npred` to be at least 1 block/],
      [() => masks.multiblock({ batchSize: 2, nenc: 0 }), /expected `options.nenc` to be at least 1 block/],
      [
        () => masks.multiblock({ batchSize: 2, inputSize: 16 }),
        /expected a patch grid of at least 2x2 for multi-block masks, got 1x1 .*the blocks cannot fit/,
      ],
      [
        () => masks.multiblock({ batchSize: 2, predMaskScale: [0.01, 0.02], minKeep: 4 }),
        /the smallest target block .* is 1x2 = 2 patches, not more than `options.minKeep` 4: the blocks cannot fit/,
      ],
      [() => masks.multiblock({ batchSize: 2, seed: -1 }), /expected `options.seed` to be a non-negative integer/],
      [() => masks.multiblock({ batchSize: 2, positionSeed: 2n ** 64n }), /`options.positionSeed`/],
      [
        () => masks.multiblock({ batchSize: 2, device: 'gpu' }),
        /expected `options.device` to be 'cpu', 'cuda' or 'cuda:N'/,
      ],
      [() => masks.multiblock({ batchSize: 2, nEnc: 1 }), /unknown option `options.nEnc`/],
      [() => masks.multiblock3d({ batchSize: 2, numBlocks: 0 }), /expected `options.numBlocks` to be at least 1 block/],
      [() => masks.multiblock3d({ batchSize: 2, configs: [] }), /expected `options.configs` to be a non-empty array/],
      [
        () => masks.multiblock3d({ batchSize: 2, configs: [{ spatialScale: [0.2, 1.2] }] }),
        /expected `options.configs\[0\].spatialScale` to be a range/,
      ],
      [
        () => masks.multiblock3d({ batchSize: 2, numBlocks: 2, configs: [{}] }),
        /give either `options.configs` or one config's fields/,
      ],
      [
        () => masks.multiblock3d({ batchSize: 2, spatialScale: [1, 1], aspectRatio: [1, 1] }),
        /covers the whole 8x14x14 grid: the context would always be empty/,
      ],
      [
        () => masks.multiblock3d({ batchSize: 2, numFrames: 1 }),
        /expected `options.numFrames` \(1\) to be at least `options.tubeletSize` \(2\)/,
      ],
      [
        () => masks.multiblock3d({ batchSize: 2, maxTemporalKeep: 0 }),
        /`options.maxTemporalKeep` to be a number in \(0, 1\]/,
      ],
      [
        () => masks.randomTube({ batchSize: 2, ratio: 1.5 }),
        /expected `options.ratio` to be a number in \[0, 1\], got 1.5/,
      ],
      [() => masks.randomTube({ batchSize: 2, positionSeed: 2 ** 33 }), /below 2\^32/],
      [
        () => masks.binary({ batchSize: 2, sampler: 'tube' }),
        /expected `options.sampler` to be 'multiblock' or 'randomTube'/,
      ],
      [
        () => new masks.MaskSampler('blocks', { batchSize: 1 }),
        /expected `kind` to be one of 'multiblock', 'multiblock3d', 'randomTube', 'hjepa', 'notebook2d', 'notebook3d'/,
      ],
    ];
    bad.forEach(([fn, re], i) => {
      it(`rejects bad options with a clear TypeError (${i}: ${re.source.slice(0, 50)})`, function () {
        let err;
        try {
          fn();
        } catch (e) {
          err = e;
        }
        expect(err, 'no error').to.be.instanceOf(TypeError);
        expect(err.code).to.equal('JEPA_INVALID_ARGUMENT');
        expect(err.message).to.match(re);
      });
    });

    it('a seed whose blocks are too small for minKeep fails with JEPA_MASK_UNSATISFIABLE', function () {
      // On a 4x4 grid, the smallest target block (draw 0) is 3x3, but tall draws are clamped to
      // 3 rows and 1 column: 3 patches, not more than minKeep 4.
      const o = {
        inputSize: 64,
        encMaskScale: [0.6, 1],
        predMaskScale: [0.5, 1],
        aspectRatio: [1, 8],
        minKeep: 4,
        batchSize: 1,
      };
      let found = null;
      for (let s = 0; s < 200 && !found; s++) {
        try {
          masks.multiblock({ ...o, seed: s, positionSeed: 0 });
        } catch (e) {
          found = e;
        }
      }
      expect(found, 'some seed must draw a block of at most 4 patches').to.not.equal(null);
      expect(found.code).to.equal('JEPA_MASK_UNSATISFIABLE');
      expect(found.message).to.match(
        /the target blocks drawn for seed \d+ are \d+x\d+ patches, not more than minKeep = 4: the reference sampler would loop forever/,
      );
    });

    it('async forms reject (never throw) with the same errors', async function () {
      const p = masks.multiblockAsync({ batchSize: 0 });
      expect(p).to.be.instanceOf(Promise);
      const err = await p.then(
        () => null,
        (e) => e,
      );
      expect(err.code).to.equal('JEPA_INVALID_ARGUMENT');
      expect(err.message).to.match(/`options.batchSize`/);
    });

    it('native errors of the async forms reject with their codes', async function () {
      const o = { inputSize: 64, encMaskScale: [0.6, 1], predMaskScale: [0.5, 1], aspectRatio: [1, 8], minKeep: 4 };
      const codes = new Set();
      for (let s = 0; s < 40; s++) {
        await masks.multiblockAsync({ ...o, batchSize: 1, seed: s }).then(
          (m) => m.context[0].dispose(),
          (e) => codes.add(e.code),
        );
      }
      expect([...codes]).to.deep.equal(['JEPA_MASK_UNSATISFIABLE']);
      if (!jepa.cuda.isAvailable()) {
        const err = await masks.multiblock3dAsync({ batchSize: 1, device: 'cuda' }).then(
          () => null,
          (e) => e,
        );
        expect(err.code).to.equal('JEPA_CUDA_UNAVAILABLE');
      }
    });

    it('a missing CUDA device gives JEPA_CUDA_UNAVAILABLE, a present one holds the masks', function () {
      const o = { ...presets.ijepaImageNet, batchSize: 2, seed: 1, positionSeed: 1, device: 'cuda' };
      if (jepa.cuda.isAvailable()) {
        const m = masks.multiblock(o);
        expect(m.context[0].device).to.equal('cuda:0');
        expect(rowsOf(m.targets[0].cpu())).to.deep.equal(rowsOf(masks.multiblock({ ...o, device: 'cpu' }).targets[0]));
      } else {
        expect(() => masks.multiblock(o))
          .to.throw()
          .with.property('code', 'JEPA_CUDA_UNAVAILABLE');
      }
    });

    it('presets are frozen and hold the official settings', function () {
      expect(Object.isFrozen(presets.ijepaImageNet)).to.equal(true);
      expect(Object.isFrozen(presets.ijepaImageNet.predMaskScale)).to.equal(true);
      expect(presets.ijepaImageNet).to.deep.include({ nenc: 1, npred: 4, minKeep: 10, allowOverlap: false });
      expect(presets.vjepaShortRange).to.deep.include({ numBlocks: 8, spatialScale: [0.15, 0.15] });
      expect(presets.vjepaLongRange).to.deep.include({ numBlocks: 2, spatialScale: [0.7, 0.7] });
    });
  });

  describe('async forms', function () {
    it('equal the sync forms', async function () {
      const o2 = { ...presets.ijepaImageNet, batchSize: 16, seed: 11, positionSeed: 12 };
      const o3 = { ...SHORT_LONG, batchSize: 8, seed: 2, positionSeed: 3 };
      const ot = { batchSize: 8, positionSeed: 4 };
      const [a2, a3, at, ab] = await Promise.all([
        masks.multiblockAsync(o2),
        masks.multiblock3dAsync(o3),
        masks.randomTubeAsync(ot),
        masks.binaryAsync(o2),
      ]);
      const s2 = masks.multiblock(o2);
      expect(a2.sizes).to.deep.equal(s2.sizes);
      expectSame(a2, { context: s2.context.map(rowsOf), targets: s2.targets.map(rowsOf) }, 'multiblockAsync');
      const s3 = masks.multiblock3d(o3);
      expectSame(a3, { context: s3.context.map(rowsOf), targets: s3.targets.map(rowsOf) }, 'multiblock3dAsync');
      const st = masks.randomTube(ot);
      expectSame(at, { context: st.context.map(rowsOf), targets: st.targets.map(rowsOf) }, 'randomTubeAsync');
      expect(Array.from(ab.data())).to.deep.equal(Array.from(masks.binary(o2).data()));
    });

    it('MaskSampler.next() refuses to run while a nextAsync() is pending', async function () {
      const s = new masks.MaskSampler('multiblock', { batchSize: 2, positionSeed: 0 });
      const p = s.nextAsync();
      expect(() => s.next()).to.throw(/while a nextAsync\(\) batch is pending/);
      await p;
      expect(s.next().seed).to.equal(1);
    });
  });

  describe('render', function () {
    let dir;
    before(function () {
      dir = tmpDir('masks-');
    });
    after(function () {
      cleanup(dir);
    });

    function pixel(png, x, y) {
      const p = (y * png.width + x) * 4;
      return [png.data[p], png.data[p + 1], png.data[p + 2]];
    }

    it('writes a PNG whose cells show the context and target patches', function () {
      const m = masks.multiblock({ ...presets.ijepaImageNet, batchSize: 3, seed: 5, positionSeed: 6 });
      const file = path.join(dir, 'masks.png');
      const buf = masks.render(m, { path: file, cellSize: 10 });
      expect(fs.readFileSync(file).equals(buf)).to.equal(true);
      const png = PNG.sync.read(buf);
      expect(png.width).to.equal(4 + 14 * 10 + 4);
      expect(png.height).to.equal(4 + 3 * 140 + 2 * 4 + 4);
      const colors = masks.renderColors;
      const ctx = rowsOf(m.context[0]);
      const tgts = m.targets.map(rowsOf);
      const cellCenter = (b, x) => [4 + (x % 14) * 10 + 4, 4 + b * 144 + Math.floor(x / 14) * 10 + 4];
      for (let b = 0; b < 3; b++) {
        for (const x of ctx[b]) expect(pixel(png, ...cellCenter(b, x))).to.deep.equal([...colors.context]);
        // The last target drawn wins where targets overlap each other.
        const owner = new Map();
        tgts.forEach((t, k) => t[b].forEach((x) => owner.set(x, k)));
        for (const [x, k] of owner) expect(pixel(png, ...cellCenter(b, x))).to.deep.equal([...colors.targets[k]]);
        for (let x = 0; x < 196; x++) {
          if (!owner.has(x) && !ctx[b].includes(x))
            expect(pixel(png, ...cellCenter(b, x))).to.deep.equal([...colors.neither]);
        }
        // Grid lines: the last pixel of every cell.
        expect(pixel(png, 4 + 9, 4 + b * 144 + 3)).to.deep.equal([...colors.grid]);
      }
    });

    it('draws one panel per time step and one group per 3D config', function () {
      const m = masks.multiblock3d({ ...SHORT_LONG, batchSize: 2, seed: 0, positionSeed: 0 });
      const png = PNG.sync.read(masks.render(m, { cellSize: 4, samples: 1 }));
      const panel = 14 * 4;
      const group = 8 * panel + 7 * 4;
      expect(png.width).to.equal(4 + 2 * group + 12 + 4);
      expect(png.height).to.equal(4 + panel + 4);
      // The first context patch of the long-range config, at its time step.
      const x = Number(m.context[1].data()[0]);
      const t = Math.floor(x / 196);
      const i = Math.floor((x % 196) / 14);
      const j = x % 14;
      const px = 4 + group + 12 + t * (panel + 4) + j * 4 + 1;
      const py = 4 + i * 4 + 1;
      expect(pixel(png, px, py)).to.deep.equal([...masks.renderColors.context]);
    });

    it('rejects what is not a batch of masks', function () {
      expect(() => masks.render({ context: 1 })).to.throw(
        TypeError,
        /expected `masks` to be the result of a jepa.masks sampler/,
      );
      const m = masks.randomTube({ batchSize: 2, positionSeed: 0 });
      expect(() => masks.render(m, { samples: 3 })).to.throw(
        /`options.samples` to be an integer from 1 to the batch size 2, got 3/,
      );
    });
  });
});
