// Inputs the fuzzers found (npm run test:fuzz; RELIABILITY.md), one test each: what used to go
// wrong, and the clean behaviour now. The inputs themselves are also in test/fuzz-corpus/, which
// every fuzz run replays first.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, tmpDir } from './helpers.mjs';

const { masks } = jepa;

describe('fuzz regressions', function () {
  let dir;
  before(function () {
    dir = tmpDir('fuzzreg-');
  });
  after(function () {
    cleanup(dir);
  });

  describe('mask block sizes with extreme aspect ratios (masks_fuzz, masks-options fuzz)', function () {
    // An aspect ratio like 1e200 made sqrt(keep * ratio) a double far above int64: the native
    // sampler converted it to an integer (undefined behaviour; it printed -9223372036854775808),
    // and the option check stepped `h -= 1` from 1e100 down to the grid height, forever.
    it('refuses blocks that cannot fit instead of hanging', function () {
      expect(() => masks.multiblock({ batchSize: 2, aspectRatio: [1e200, 1e200] }))
        .to.throw(/cannot fit/)
        .with.property('code', 'JEPA_INVALID_ARGUMENT');
    });

    it('caps a block at the grid for any aspect ratio, as the reference does', function () {
      for (const seed of [0, 1, 2, 3, 4, 5, 6, 7]) {
        let m;
        try {
          m = masks.multiblock({ batchSize: 2, aspectRatio: [0.3, 1e200], minKeep: 0, seed });
        } catch (e) {
          // A draw whose blocks are empty: the reference loops forever there.
          expect(e.code).to.equal('JEPA_MASK_UNSATISFIABLE');
          expect(e.message).to.not.match(/-\d/);
          continue;
        }
        for (const [h, w] of m.sizes) {
          expect(h).to.be.within(0, 13);
          expect(w).to.be.within(0, 13);
        }
      }
      const m3 = masks.multiblock3d({ batchSize: 1, aspectRatio: [1e-300, 1e300] });
      for (const [t, h, w] of m3.sizes) {
        expect(t).to.be.within(1, 8);
        expect(h).to.be.within(0, 14);
        expect(w).to.be.within(0, 14);
      }
    });
  });

  describe('tensor files with shapes whose byte counts overflow int64 (tensor_file_fuzz, formats fuzz)', function () {
    // An empty tensor (one dimension 0) may have other dimensions near 2^53: its row-major strides
    // overflowed int64 in the native reader (undefined behaviour that UBSan reports).
    it('reads an empty safetensors tensor with huge other dimensions', function () {
      const big = 2 ** 53 - 1;
      const json = Buffer.from(
        JSON.stringify({ e: { dtype: 'F32', shape: [0, big, big, big], data_offsets: [0, 0] } }),
      );
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      const file = path.join(dir, 'huge-empty.safetensors');
      fs.writeFileSync(file, Buffer.concat([len, json]));
      for (const mmap of [false, true]) {
        let t;
        try {
          t = jepa.loadSafetensorsSync(file, { mmap }).e;
        } catch (e) {
          // libtorch may refuse sizes this large; then it must be a clean file error.
          expect(e.code).to.be.oneOf(['JEPA_PT_CORRUPT', 'JEPA_PT_LIMIT']);
          continue;
        }
        expect(t.numel).to.equal(0);
        expect(t.shape).to.deep.equal([0, big, big, big]);
        t.dispose();
      }
    });

    // Sizes whose running product leaves int64 before a 0 (or with strides of 0) pass the view
    // check, but libtorch refuses them with a c10::Error: the file gave JEPA_TORCH_ERROR, and
    // the native harness saw an exception that is not a jepa::Error.
    it('refuses sizes whose element count overflows int64 as a damaged file', function () {
      const big = 2 ** 53 - 1;
      const json = Buffer.from(JSON.stringify({ e: { dtype: 'F32', shape: [big, big, 0], data_offsets: [0, 0] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      const file = path.join(dir, 'numel-overflow.safetensors');
      fs.writeFileSync(file, Buffer.concat([len, json]));
      for (const mmap of [false, true]) {
        expect(() => jepa.loadSafetensorsSync(file, { mmap }))
          .to.throw(/tensor 0 has more elements than an int64 can count/)
          .with.property('code', 'JEPA_PT_CORRUPT');
      }
    });

    // numel * itemsize of (2^31, 2^31, 4) is above int64: it went native as a double and was
    // converted to int64 (undefined behaviour). The byte count is now checked in TypeScript.
    it('refuses a .npy whose shape needs more bytes than the file has, before going native', function () {
      const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648, 4), }";
      const padded = dict + ' '.repeat(64 - ((10 + dict.length + 1) % 64)) + '\n';
      const pre = Buffer.alloc(10);
      pre.write('\x93NUMPY', 0, 'latin1');
      pre[6] = 1;
      pre.writeUInt16LE(padded.length, 8);
      const file = path.join(dir, 'huge.npy');
      fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(padded, 'latin1'), Buffer.alloc(16)]));
      expect(() => jepa.loadNpySync(file))
        .to.throw(/needs 73786976294838210000 bytes but 16 follow the header.*past the end/)
        .with.property('code', 'JEPA_PT_CORRUPT');
    });
  });
});
