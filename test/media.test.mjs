// jepa.image: the default pipeline, inputs (paths, URLs, buffers), batches, per-file errors and
// option checks. The presets against the Python pipelines are in media-presets.test.mjs, video in
// media-video.test.mjs. Test images are made with sharp (no binaries kept).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL, URL } from 'node:url';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import sharp from 'sharp';
import { cleanup, pythonJson, rejection, tmpDir } from './helpers.mjs';

const { image } = jepa;

/** Random RGB pixels (seeded) as a PNG file. */
async function randomPng(file, width, height, seed = 1, channels = 3) {
  const data = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  await sharp(data, { raw: { width, height, channels } }).png().toFile(file);
}

const floatsOf = (b64) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
};

function expectBitEqual(actual, expected, what) {
  expect(actual.length, `${what}: length`).to.equal(expected.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      bad++;
      if (first < 0) first = i;
    }
  }
  expect(bad, `${what}: ${bad} values differ, first at ${first}: ${actual[first]} vs ${expected[first]}`).to.equal(0);
}

describe('jepa.image', function () {
  this.timeout(60000);
  let dir;
  const f = (name) => path.join(dir, name);

  before(async function () {
    dir = tmpDir('image-');
    await randomPng(f('a.png'), 61, 47, 1);
    await randomPng(f('b.png'), 40, 90, 2);
    await randomPng(f('rgba.png'), 30, 30, 3, 4);
    await sharp(f('a.png')).jpeg({ quality: 90 }).toFile(f('a.jpg'));
    await sharp(f('a.png')).greyscale().png().toFile(f('grey.png'));
    fs.writeFileSync(f('garbage.jpg'), 'this is not a JPEG');
    fs.writeFileSync(f('truncated.png'), fs.readFileSync(f('a.png')).subarray(0, 200));
    fs.writeFileSync(f('empty.jpg'), Buffer.alloc(0));
    // A WAV file named .png: a real file of another kind behind an image extension.
    const wav = Buffer.alloc(44);
    wav.write('RIFF', 0);
    wav.write('WAVEfmt ', 8);
    fs.writeFileSync(f('sound.png'), wav);
  });
  after(() => cleanup(dir));

  it("the default pipeline: 'cover' is a short-side resize plus a centre crop, 'fill' a resize to the size (bilinear, antialiased)", async () => {
    const cover = await image.load(f('b.png'), { size: 24 });
    const explicit = await image.load(f('b.png'), { resize: { shortSide: 24 }, centerCrop: 24 });
    expect(cover.shape).to.deep.equal([3, 24, 24]);
    expectBitEqual(cover.data(), explicit.data(), 'cover');
    const fill = await image.load(f('b.png'), { size: [24, 40], fit: 'fill' });
    const resized = await image.load(f('b.png'), {
      resize: { size: [24, 40], interpolation: 'bilinear', antialias: true },
    });
    expect(fill.shape).to.deep.equal([3, 24, 40]);
    expectBitEqual(fill.data(), resized.data(), 'fill');
    // A non-square cover crops the middle of an image scaled to cover both sides.
    const wide = await image.load(f('b.png'), { size: [20, 60] });
    expect(wide.shape).to.deep.equal([3, 20, 60]);
  });

  it("normalises with torchvision's float32 operations: ToTensor's x / 255, then (x - mean) / std (Python on the same bytes)", async () => {
    // No resize and a crop of the whole image: the output is the decoded bytes, normalised.
    const opts = { resize: false, centerCrop: [47, 61], mean: [0.1, 0.2, 0.3], std: [0.9, 1.1, 1.3] };
    const ours = (await image.load(f('a.png'), opts)).data();
    const { data } = await sharp(f('a.png')).raw().toBuffer({ resolveWithObject: true });
    const [expected] = pythonJson(
      `
import base64, json, sys
import numpy as np, torch
a = json.loads(sys.stdin.read())
x = np.frombuffer(base64.b64decode(a['pixels']), dtype=np.uint8).reshape(47, 61, 3)
t = torch.from_numpy(x.copy()).permute(2, 0, 1).float().div(255)
t = t.sub(torch.tensor(a['mean'])[:, None, None]).div(torch.tensor(a['std'])[:, None, None])
print(json.dumps([base64.b64encode(t.contiguous().numpy().tobytes()).decode()]))
`,
      { input: JSON.stringify({ pixels: data.toString('base64'), mean: opts.mean, std: opts.std }) },
    );
    expectBitEqual(ours, floatsOf(expected), 'normalised bytes');
  });

  it('ImageNet mean and std are the defaults, size 224 and cover too', async () => {
    expect([...image.IMAGENET_MEAN]).to.deep.equal([0.485, 0.456, 0.406]);
    expect([...image.IMAGENET_STD]).to.deep.equal([0.229, 0.224, 0.225]);
    const a = await image.load(f('a.png'));
    const b = await image.load(f('a.png'), {
      size: 224,
      fit: 'cover',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(a.shape).to.deep.equal([3, 224, 224]);
    expectBitEqual(a.data(), b.data(), 'defaults');
  });

  it('the tensor wraps the decoded floats without a copy (its data is a Float32Array of exactly 3*H*W)', async () => {
    const t = await image.load(f('a.png'), { size: 8 });
    const d = t.data();
    expect(d.buffer.byteLength).to.equal(3 * 8 * 8 * 4);
  });

  it('reads Buffers and file: URLs like paths', async () => {
    const byPath = await image.load(f('a.jpg'), { size: 16 });
    const byBuffer = await image.load(fs.readFileSync(f('a.jpg')), { size: 16 });
    const byUrl = await image.load(pathToFileURL(f('a.jpg')), { size: 16 });
    expectBitEqual(byBuffer.data(), byPath.data(), 'buffer');
    expectBitEqual(byUrl.data(), byPath.data(), 'url');
  });

  it('a list gives [B, 3, H, W] equal to the images one by one', async () => {
    const names = ['a.png', 'b.png', 'grey.png', 'a.jpg'];
    const batch = await image.load(names.map(f), { size: [12, 20] });
    expect(batch.shape).to.deep.equal([4, 3, 12, 20]);
    const all = batch.data();
    for (let i = 0; i < names.length; i++) {
      const one = await image.load(f(names[i]), { size: [12, 20] });
      expectBitEqual(all.subarray(i * 720, (i + 1) * 720), one.data(), names[i]);
    }
  });

  it('a file that is not an image (garbage, truncated, empty, another format behind the extension): JEPA_MEDIA_DECODE naming the file and the reason', async () => {
    for (const name of ['garbage.jpg', 'truncated.png', 'empty.jpg', 'sound.png']) {
      const err = await rejection(image.load(f(name)));
      expect(err.code).to.equal('JEPA_MEDIA_DECODE');
      expect(err.message).to.contain(f(name)).and.to.contain('cannot decode the image');
    }
    const empty = await rejection(image.load(Buffer.alloc(0)));
    expect(empty.code).to.equal('JEPA_MEDIA_DECODE');
    expect(empty.message).to.match(/the buffer is empty/);
  });

  it('a missing file: JEPA_FILE_NOT_FOUND; a folder: JEPA_IO_ERROR', async () => {
    const err = await rejection(image.load(f('nope.jpg')));
    expect(err.code).to.equal('JEPA_FILE_NOT_FOUND');
    expect(err.message).to.contain(f('nope.jpg'));
    expect((await rejection(image.load(dir))).code).to.equal('JEPA_IO_ERROR');
  });

  it('a batch with bad files lists every one of them with its index; the good ones do not hide it', async () => {
    const err = await rejection(image.load([f('a.png'), f('garbage.jpg'), f('b.png'), f('nope.jpg')], { size: 8 }));
    expect(err.code).to.equal('JEPA_MEDIA_DECODE');
    expect(err.message).to.match(/^2 of 4 images could not be decoded:/);
    expect(err.message)
      .to.contain(`[1] ${f('garbage.jpg')}`)
      .and.to.contain(`[3] ${f('nope.jpg')}`);
    expect(err.failures.map((x) => x.index)).to.deep.equal([1, 3]);
    expect(err.failures[1].error.code).to.equal('JEPA_FILE_NOT_FOUND');
  });

  it('bad arguments and options are TypeErrors with exact messages', async () => {
    const cases = [
      [[42], /^expected `input` to be a file path, a file: URL or a Buffer, got 42$/],
      [[[]], /^expected `input` to hold at least one image, got \[\]$/],
      [
        [f('a.png'), { size: 0 }],
        /^expected `options.size` to be a positive integer up to 16384 or \[height, width\] of such, got 0$/,
      ],
      [[f('a.png'), { size: [2, 2, 2] }], /^expected `options.size` to be a positive integer/],
      [
        [f('a.png'), { mean: [0.5, 0.5] }],
        /^expected `options.mean` to be 3 finite numbers \(one per RGB channel\), got \[0.5, 0.5\]$/,
      ],
      [[f('a.png'), { std: [1, 0, 1] }], /^expected `options.std` to be 3 positive numbers/],
      [[f('a.png'), { fit: 'contain' }], /^expected `options.fit` to be one of 'cover', 'fill', got "contain"$/],
      [
        [f('a.png'), { sise: 3 }],
        /^unknown option `options.sise`: expected one of preset, size, resize, centerCrop, mean, std, convention, autoOrient, fit$/,
      ],
      [
        [f('a.png'), { preset: 'vjepa' }],
        /^expected `options.preset` to be one of 'vjepa2', 'ijepa', 'imagenet-eval', 'clip', got "vjepa"$/,
      ],
      [
        [f('a.png'), { preset: 'clip', fit: 'fill' }],
        /^`options.fit` applies only without preset, resize and centerCrop/,
      ],
      [
        [f('a.png'), { resize: { shortSide: 32 } }],
        /^`options` gives no fixed output size: add `centerCrop` or a `resize.size`/,
      ],
      [
        [f('a.png'), { resize: { shortSide: 32, size: 8 } }],
        /^expected `options.resize` to have exactly one of shortSide and size/,
      ],
      [
        [f('a.png'), { resize: { size: 8, interpolation: 'lanczos' } }],
        /^expected `options.resize.interpolation` to be one of 'nearest', 'nearest-exact', 'bilinear', 'bicubic', got "lanczos"$/,
      ],
      [
        [f('a.png'), { resize: { size: 8, antialias: 1 } }],
        /^expected `options.resize.antialias` to be true or false, got 1$/,
      ],
      [[f('a.png'), { centerCrop: 0 }], /^expected `options.centerCrop` to be a positive integer/],
      [
        [f('a.png'), { size: 10, centerCrop: 12 }],
        /^`options.size` \[10, 10\] differs from `options.centerCrop` \[12, 12\]/,
      ],
      [
        [f('a.png'), { convention: 'pil' }],
        /^expected `options.convention` to be one of 'torchvision', 'torchvision-v2', 'transformers', got "pil"$/,
      ],
      [[f('a.png'), { autoOrient: 'yes' }], /^expected `options.autoOrient` to be true or false, got "yes"$/],
      [[new URL('http://x/a.png')], /^expected `input` to be a file: URL/],
    ];
    for (const [args, re] of cases) {
      const err = await rejection(image.load(...args));
      expect(err, String(re)).to.be.instanceOf(TypeError);
      expect(err.code).to.equal('JEPA_INVALID_ARGUMENT');
      expect(err.message).to.match(re);
    }
  });
});
