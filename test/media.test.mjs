// jepa.image and jepa.video: decoding, resizing, normalisation (bit-identical to torchvision's
// float32 ToTensor + Normalize, computed in Python on the same resized pixels), frame sampling
// (numpy's linspace, checked against a Python reference decoding every frame), batches and
// per-file errors. Test images are made with sharp, test videos with ffmpeg (no binaries kept).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL, URL } from 'node:url';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import sharp from 'sharp';
import { cleanup, pythonJson, rejection, tmpDir } from './helpers.mjs';

const { image, video } = jepa;

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

/** The pixels jepa.image.load normalises: sharp's pipeline, as raw RGB bytes. */
async function resizedPixels(file, height, width, fit = 'cover') {
  const { data } = await sharp(file)
    .autoOrient()
    .toColourspace('srgb')
    .removeAlpha()
    .resize({ width, height, fit, position: 'centre' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return data;
}

/** torchvision's float32 ToTensor + Normalize on HWC bytes, in Python (torch), one call for all cases: float32 bytes (base64). */
function pythonNormalise(cases) {
  return pythonJson(
    `
import base64, json, sys
import numpy as np, torch
out = []
for a in json.loads(sys.stdin.read()):
    x = np.frombuffer(base64.b64decode(a['pixels']), dtype=np.uint8).reshape(a['h'], a['w'], 3)
    t = torch.from_numpy(x.copy()).permute(2, 0, 1).float().div(255)              # ToTensor
    m = torch.tensor(a['mean'], dtype=torch.float32)[:, None, None]
    s = torch.tensor(a['std'], dtype=torch.float32)[:, None, None]
    t = t.sub(m).div(s)                                                              # Normalize
    out.append(base64.b64encode(t.contiguous().numpy().tobytes()).decode())
print(json.dumps(out))
`,
    { input: JSON.stringify(cases) },
  );
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
  });
  after(() => cleanup(dir));

  it("equals torchvision's ToTensor + Normalize (Python) on the same resized pixels, bit for bit: PNG, JPEG, RGBA, grey; cover and fill", async () => {
    const cases = [
      ['a.png', 32, 'cover', undefined, undefined],
      ['b.png', [24, 40], 'fill', undefined, undefined],
      ['a.jpg', 224, 'cover', [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]],
      ['rgba.png', 16, 'cover', undefined, undefined],
      ['grey.png', 20, 'fill', [0.1, 0.2, 0.3], [0.9, 1.1, 1.3]],
    ];
    const ours = [];
    const refs = [];
    for (const [name, size, fit, mean, std] of cases) {
      const [h, w] = Array.isArray(size) ? size : [size, size];
      const t = await image.load(f(name), { size, fit, ...(mean ? { mean, std } : {}) });
      expect(t.shape).to.deep.equal([3, h, w]);
      expect(t.dtype).to.equal('float32');
      ours.push(t.data());
      const pixels = await resizedPixels(f(name), h, w, fit);
      refs.push({ pixels: pixels.toString('base64'), h, w, mean: mean ?? [0.485, 0.456, 0.406], std: std ?? [0.229, 0.224, 0.225] });
    }
    const expected = pythonNormalise(refs);
    cases.forEach(([name], i) => expectBitEqual(ours[i], floatsOf(expected[i]), name));
  });

  it('ImageNet mean and std are the defaults, size 224 and cover too', async () => {
    expect([...image.IMAGENET_MEAN]).to.deep.equal([0.485, 0.456, 0.406]);
    expect([...image.IMAGENET_STD]).to.deep.equal([0.229, 0.224, 0.225]);
    const a = await image.load(f('a.png'));
    const b = await image.load(f('a.png'), { size: 224, fit: 'cover', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
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

  it('a file that is not an image: JEPA_MEDIA_DECODE naming the file and the reason', async () => {
    for (const name of ['garbage.jpg', 'truncated.png']) {
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
    expect(err.message).to.contain(`[1] ${f('garbage.jpg')}`).and.to.contain(`[3] ${f('nope.jpg')}`);
    expect(err.failures.map((x) => x.index)).to.deep.equal([1, 3]);
    expect(err.failures[1].error.code).to.equal('JEPA_FILE_NOT_FOUND');
  });

  it('bad arguments and options are TypeErrors with exact messages', async () => {
    const cases = [
      [[42], /^expected `input` to be a file path, a file: URL or a Buffer, got 42$/],
      [[[]], /^expected `input` to hold at least one image, got \[\]$/],
      [[f('a.png'), { size: 0 }], /^expected `options.size` to be a positive integer up to 16384 or \[height, width\] of such, got 0$/],
      [[f('a.png'), { size: [2, 2, 2] }], /^expected `options.size` to be a positive integer/],
      [[f('a.png'), { mean: [0.5, 0.5] }], /^expected `options.mean` to be 3 finite numbers \(one per RGB channel\), got \[0.5, 0.5\]$/],
      [[f('a.png'), { std: [1, 0, 1] }], /^expected `options.std` to be 3 positive numbers/],
      [[f('a.png'), { fit: 'contain' }], /^expected `options.fit` to be 'cover' or 'fill', got "contain"$/],
      [[f('a.png'), { sise: 3 }], /^unknown option `options.sise`: expected one of size, mean, std, fit$/],
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

describe('jepa.video', function () {
  this.timeout(120000);
  let dir;
  const f = (name) => path.join(dir, name);

  before(function () {
    if (!video.ffmpegAvailable()) {
      if (process.env.CI) throw new Error('ffmpeg/ffprobe are missing on CI: the set-up (npm install) should have installed them');
      console.warn('    (skipping jepa.video: ffmpeg/ffprobe not found; install ffmpeg, e.g. `apt-get install ffmpeg`)');
      this.skip();
    }
    dir = tmpDir('video-');
    const make = (name, args) => {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, f(name)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ffmpeg failed making ${name}: ${r.stderr}`);
    };
    // 37 frames of a moving test pattern (every frame differs), 80x60, and a 5-frame clip.
    make('clip.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=80x60:rate=25', '-frames:v', '37', '-pix_fmt', 'yuv420p']);
    make('short.mkv', ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-frames:v', '5', '-c:v', 'ffv1']);
    fs.writeFileSync(f('garbage.mp4'), 'not a video at all');
  });
  after(() => dir && cleanup(dir));

  /** Python: decode every frame with ffmpeg (same scale/crop), pick np.linspace indices, normalise with torch. */
  function pythonClips(cases) {
    return pythonJson(
      `
import base64, json, subprocess, sys
import numpy as np, torch
out = []
for file, T, h, w in json.loads(sys.stdin.read()):
    vf = f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=bicubic,crop={w}:{h},setsar=1"
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", file, "-map", "0:v:0", "-vf", vf, "-vsync", "0",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3)
    idx = np.linspace(0, len(frames) - 1, T).astype(int)
    t = torch.from_numpy(frames[idx].copy()).permute(0, 3, 1, 2).float().div(255)
    m = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None]
    s = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None]
    t = t.sub(m).div(s)
    out.append(base64.b64encode(t.contiguous().numpy().tobytes()).decode())
print(json.dumps(out))
`,
      { input: JSON.stringify(cases) },
    ).map(floatsOf);
  }

  it('sampleIndices equals np.linspace(0, n - 1, T).astype(int) for many lengths', () => {
    const pairs = [];
    for (const n of [1, 2, 3, 5, 7, 16, 17, 30, 37, 64, 100, 101, 1000, 12345]) {
      for (const t of [1, 2, 3, 4, 8, 16, 32, 48, 64]) pairs.push([n, t]);
    }
    const expected = pythonJson(
      `import json, sys\nimport numpy as np\npairs = json.loads(sys.stdin.read())\nprint(json.dumps([np.linspace(0, n - 1, t).astype(int).tolist() for n, t in pairs]))`,
      { input: JSON.stringify(pairs) },
    );
    pairs.forEach(([n, t], i) => expect(video.sampleIndices(n, t), `${n} frames, ${t} samples`).to.deep.equal(expected[i]));
  });

  it('probe reads frame count, size and rate', async () => {
    const info = await video.probe(f('clip.mp4'));
    expect(info).to.include({ frames: 37, width: 80, height: 60, fps: 25 });
    expect(info.duration).to.be.closeTo(1.48, 0.05);
  });

  it('equals a Python reference that decodes every frame and picks np.linspace indices (mp4 and mkv; square and HxW)', async () => {
    const cases = [
      ['clip.mp4', 8, 32],
      ['clip.mp4', 16, [24, 40]],
      ['short.mkv', 8, 16],
    ];
    const ours = [];
    for (const [name, T, size] of cases) {
      const [h, w] = Array.isArray(size) ? size : [size, size];
      const clip = await video.frames(f(name), { numFrames: T, size });
      expect(clip.shape).to.deep.equal([T, 3, h, w]);
      ours.push(clip.data());
    }
    const expected = pythonClips(cases.map(([name, T, size]) => [f(name), T, ...(Array.isArray(size) ? size : [size, size])]));
    cases.forEach(([name, T], i) => expectBitEqual(ours[i], expected[i], `${name}, ${T} frames`));
  });

  it('a short video repeats frames: 5 frames sampled 8 times', async () => {
    const clip = (await video.frames(f('short.mkv'), { numFrames: 8, size: 8 })).data();
    const frame = (t) => clip.subarray(t * 192, (t + 1) * 192);
    expect(video.sampleIndices(5, 8)).to.deep.equal([0, 0, 1, 1, 2, 2, 3, 4]);
    expectBitEqual(frame(0), frame(1), 'frames 0 and 1');
    expectBitEqual(frame(2), frame(3), 'frames 2 and 3');
    expect(Array.from(frame(1))).to.not.deep.equal(Array.from(frame(2)));
  });

  it('a list gives [B, T, 3, H, W] equal to the videos one by one', async () => {
    const files = [f('clip.mp4'), f('short.mkv'), f('clip.mp4')];
    const batch = await video.frames(files, { numFrames: 4, size: 16 });
    expect(batch.shape).to.deep.equal([3, 4, 3, 16, 16]);
    const per = 4 * 3 * 16 * 16;
    for (let i = 0; i < files.length; i++) {
      const one = await video.frames(files[i], { numFrames: 4, size: 16 });
      expectBitEqual(batch.data().subarray(i * per, (i + 1) * per), one.data(), files[i]);
    }
  });

  it('errors: not a video, missing file, failures in a batch, ffmpeg missing, bad options', async () => {
    const bad = await rejection(video.frames(f('garbage.mp4')));
    expect(bad.code).to.equal('JEPA_MEDIA_DECODE');
    expect(bad.message).to.contain(f('garbage.mp4')).and.to.contain('cannot read the video');
    expect((await rejection(video.frames(f('nope.mp4')))).code).to.equal('JEPA_FILE_NOT_FOUND');

    const batch = await rejection(video.frames([f('clip.mp4'), f('garbage.mp4')], { numFrames: 2, size: 8 }));
    expect(batch.message).to.match(/^1 of 2 videos could not be decoded:\n {2}\[1\] /);
    expect(batch.failures[0].index).to.equal(1);

    const saved = [process.env.FFMPEG_PATH, process.env.FFPROBE_PATH];
    process.env.FFMPEG_PATH = path.join(dir, 'no-ffmpeg');
    process.env.FFPROBE_PATH = path.join(dir, 'no-ffprobe');
    try {
      expect(video.ffmpegAvailable()).to.equal(false);
      const missing = await rejection(video.frames(f('clip.mp4')));
      expect(missing.code).to.equal('JEPA_FFMPEG_NOT_FOUND');
      expect(missing.message).to.match(/cannot run `.*no-ffprobe`, which video decoding needs: install ffmpeg/);
    } finally {
      for (const [k, v] of [['FFMPEG_PATH', saved[0]], ['FFPROBE_PATH', saved[1]]]) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }

    const opt = await rejection(video.frames(f('clip.mp4'), { numFrames: 0 }));
    expect(opt).to.be.instanceOf(TypeError);
    expect(opt.message).to.equal('expected `options.numFrames` to be an integer from 1 to 4096, got 0');
    const buf = await rejection(video.frames(Buffer.from('x')));
    expect(buf.message).to.match(/^expected `input` to be a file path or a file: URL \(videos are read from files\)/);
    expect(() => video.sampleIndices(0, 4)).to.throw(TypeError, 'expected `total` to be a positive integer, got 0');
  });
});
