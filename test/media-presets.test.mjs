// Image presets against the Python pipelines they name: one Python process
// (scripts/reference/media_reference.py) writes the test images (scikit-learn's two photographs
// plus generated ones: alpha, greyscale, palette, 16-bit PNG, CMYK JPEG, an ICC profile, every
// EXIF orientation) and runs transformers' processors, torchvision's transforms and Pillow on
// them; jepa.image.load must give the same float32 values, bit for bit where the reference runs
// on tensors (torchvision, transformers' default fast processors), within 1/255 where it resizes
// with PIL.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import sharp from 'sharp';
import { cleanup, pythonJson, ROOT, tmpDir } from './helpers.mjs';

const { image } = jepa;

const GENERATED = [
  'p3.jpg',
  'rgb.png',
  'rgba.png',
  'grey.png',
  'grey.jpg',
  'la.png',
  'palette.png',
  'rgb16.png',
  'rgba16.png',
  'grey16.png',
  'la16.png',
  'cmyk.jpg',
];
const EXIF = [1, 2, 3, 4, 5, 6, 7, 8].map((o) => `exif${o}.jpg`);
const PHOTOS = ['china.jpg', 'flower.jpg'];

/** Every case: its reference pipeline (media_reference.py) and the options that should equal it. */
function cases() {
  const list = [];
  const add = (id, file, ref, options, extra = {}) => list.push({ id, file, ref, options, ...extra });
  // transformers' VJEPA2VideoProcessor (its only, torchvision-based class).
  for (const f of PHOTOS) add(`vjepa2-256-${f}`, f, 'hf-vjepa2', { preset: 'vjepa2' }, { size: 256 });
  add('vjepa2-384-flower.jpg', 'flower.jpg', 'hf-vjepa2', { preset: 'vjepa2', size: 384 }, { size: 384 });
  for (const f of [...GENERATED, ...EXIF])
    add(`vjepa2-32-${f}`, f, 'hf-vjepa2', { preset: 'vjepa2', size: 32 }, { size: 32 });
  // CLIPImageProcessor: the default (fast) class bit for bit, the PIL backend within 1/255.
  for (const f of [...PHOTOS, 'rgba.png', 'cmyk.jpg', 'grey16.png', 'exif6.jpg'])
    add(`clip-fast-${f}`, f, 'hf-clip', { preset: 'clip' });
  for (const f of PHOTOS) add(`clip-pil-${f}`, f, 'hf-clip-pil', { preset: 'clip' }, { tolerance: true });
  // torchvision Resize(256) + CenterCrop(224) + to float + Normalize: transforms.v2 on the uint8
  // tensor (the presets' default), the v1 transforms on it (convention 'torchvision'), and the
  // classic v1 pipeline on PIL images (ToTensor).
  for (const f of [...PHOTOS, 'rgb16.png', 'palette.png', 'exif6.jpg'])
    add(`tv2-${f}`, f, 'tv2', { preset: 'imagenet-eval' }, { size: 224 });
  add('tv2-ijepa-china.jpg', 'china.jpg', 'tv2', { preset: 'ijepa' }, { size: 224 });
  add('tv2-64-rgba.png', 'rgba.png', 'tv2', { preset: 'imagenet-eval', size: 64 }, { size: 64 });
  for (const f of [...PHOTOS, 'grey16.png'])
    add(`tv1-${f}`, f, 'tv1', { preset: 'imagenet-eval', convention: 'torchvision' }, { size: 224 });
  for (const f of PHOTOS) {
    add(`tv1pil-${f}`, f, 'tv1-pil', { preset: 'imagenet-eval' }, { size: 224, tolerance: true });
    add(
      `tv1pil-v1-${f}`,
      f,
      'tv1-pil',
      { preset: 'imagenet-eval', convention: 'torchvision' },
      { size: 224, tolerance: true },
    );
  }
  // Decoding alone: PIL's convert('RGB'), with and without the EXIF transpose.
  for (const f of GENERATED) add(`pixels-${f}`, f, 'pixels', { resize: false, centerCrop: [61, 83] });
  for (const [i, f] of EXIF.entries()) {
    add(`pixels-raw-${f}`, f, 'pixels', { resize: false, centerCrop: [40, 64], autoOrient: false });
    add(
      `pixels-oriented-${f}`,
      f,
      'pixels',
      { resize: false, centerCrop: i >= 4 ? [64, 40] : [40, 64], autoOrient: true },
      { autoOrient: true },
    );
  }
  // Each interpolation, up and down, with and without antialiasing (transforms.v2 functional).
  const modes = [
    ['nearest'],
    ['nearest-exact'],
    ['bilinear', true],
    ['bilinear', false],
    ['bicubic', true],
    ['bicubic', false],
  ];
  for (const [interpolation, antialias] of modes) {
    for (const [f, size] of [
      ['rgb.png', [97, 131]],
      ['china.jpg', [100, 150]],
    ]) {
      const resize = { size, interpolation, ...(antialias === undefined ? {} : { antialias }) };
      add(
        `explicit-${interpolation}-${antialias}-${f}`,
        f,
        'explicit',
        { resize, convention: 'torchvision-v2' },
        { resize },
      );
    }
  }
  // A crop larger than the image pads with zeros (torchvision's CenterCrop).
  add(
    'explicit-pad-small.png',
    'small.png',
    'explicit',
    { resize: false, centerCrop: [32, 40], convention: 'torchvision-v2' },
    { centerCrop: [32, 40] },
  );
  return list;
}

describe('image presets: the same floats as the Python pipelines', function () {
  this.timeout(300000);
  let dir;
  const all = cases();

  before(async function () {
    dir = tmpDir('presets-');
    // A JPEG with a Display P3 ICC profile (libvips has one built in): PIL ignores the profile, so must we.
    const rgb = Buffer.alloc(61 * 83 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7919) % 251;
    await sharp(rgb, { raw: { width: 83, height: 61, channels: 3 } })
      .withIccProfile('p3')
      .jpeg({ quality: 95 })
      .toFile(path.join(dir, 'p3.jpg'));
    const spec = { dir, cases: all.map(({ options: _options, ...c }) => c) };
    pythonJson(
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})\nimport json, media_reference\nmedia_reference.images(json.loads(sys.stdin.read()))`,
      { input: JSON.stringify(spec) },
    );
  });
  after(() => dir && cleanup(dir));

  const reference = (id) => {
    const b = fs.readFileSync(path.join(dir, `${id}.f32`));
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  };

  /** Runs every case whose id starts with `prefix`; returns [id, ours, reference] triples. */
  async function run(prefix) {
    const out = [];
    for (const c of all.filter((x) => x.id.startsWith(prefix))) {
      const t = await image.load(path.join(dir, c.file), c.options);
      out.push([c, t.data(), reference(c.id)]);
    }
    expect(out.length, `cases ${prefix}`).to.be.greaterThan(0);
    return out;
  }

  function expectBitEqual(results) {
    const bad = [];
    for (const [c, ours, ref] of results) {
      if (ours.length !== ref.length) {
        bad.push(`${c.id}: ${ours.length} values, the reference has ${ref.length}`);
        continue;
      }
      let n = 0;
      let first = -1;
      for (let i = 0; i < ours.length; i++) {
        if (!Object.is(ours[i], ref[i])) {
          if (first < 0) first = i;
          n++;
        }
      }
      if (n > 0) bad.push(`${c.id}: ${n} values differ, first at ${first}: ${ours[first]} vs ${ref[first]}`);
    }
    expect(bad, bad.join('\n')).to.deep.equal([]);
  }

  /** Within one step of 8-bit input: |ours - ref| * std * 255 <= 1 per channel. */
  function expectWithinOneLevel(results, std) {
    for (const [c, ours, ref] of results) {
      expect(ours.length).to.equal(ref.length);
      const plane = ours.length / 3;
      let worst = 0;
      for (let i = 0; i < ours.length; i++)
        worst = Math.max(worst, Math.abs(ours[i] - ref[i]) * std[Math.floor(i / plane)] * 255);
      expect(worst, c.id).to.be.at.most(1 + 1e-3);
    }
  }

  it("'vjepa2' equals transformers' VJEPA2VideoProcessor bit for bit (photographs at 256 and 384; alpha, grey, palette, 16-bit, CMYK, ICC profile, every EXIF orientation)", async () => {
    expectBitEqual(await run('vjepa2-'));
  });

  it("'clip' equals CLIPImageProcessor (the default, fast class) bit for bit, and its PIL backend within 1/255", async () => {
    expectBitEqual(await run('clip-fast-'));
    expectWithinOneLevel(await run('clip-pil-'), [...image.CLIP_STD]);
  });

  it("'imagenet-eval' and 'ijepa' equal torchvision.transforms.v2 Resize + CenterCrop + ToDtype(scale=True) + Normalize on the uint8 tensor bit for bit, and the classic PIL + ToTensor pipeline within 1/255", async () => {
    expectBitEqual(await run('tv2-'));
    expectWithinOneLevel(await run('tv1pil-'), [...image.IMAGENET_STD]);
  });

  it("convention 'torchvision' equals the v1 transforms on the uint8 tensor (float resize, ToTensor's x / 255) bit for bit", async () => {
    expectBitEqual(await run('tv1-'));
  });

  it("decoding equals PIL's Image.open(f).convert('RGB'): alpha, grey (8 and 16 bits, with alpha), palette, 16-bit RGB(A), CMYK, an ICC profile left unapplied; EXIF orientation 1-8 applied as ImageOps.exif_transpose or ignored", async () => {
    expectBitEqual(await run('pixels-'));
  });

  it('every interpolation, with and without antialiasing, up and down, and zero padding, equal transforms.v2.functional bit for bit', async () => {
    expectBitEqual(await run('explicit-'));
  });
});
