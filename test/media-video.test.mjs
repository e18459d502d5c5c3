// jepa.video: V-JEPA's clip sampler (frame indices against a Python rewrite of
// VideoDataset.loadvideo_decord, checked against the original: docs/media.md), and the decoded
// clips against PyAV plus transformers' VJEPA2VideoProcessor on videos made here with ffmpeg
// (constant and variable frame rate, B-frames, short GOPs: every clip after the first is reached
// by seeking). One Python process computes every reference.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import jepa from 'jepa-native';
import { cleanup, pythonJson, rejection, ROOT, tmpDir } from './helpers.mjs';

const { video } = jepa;

/** Sampling settings: [Python clip_indices kwargs, the same as jepa.video options]. */
function samplingGrid() {
  const grid = [];
  for (const total of [1, 2, 5, 16, 17, 31, 64, 65, 100, 257, 1000]) {
    for (const fpc of [1, 8, 16]) {
      for (const step of [1, 2, 4]) {
        for (const clips of [1, 3]) {
          for (const start of ['begin', 'center', 'random']) {
            for (const overlap of [false, true]) {
              const py = {
                total,
                frames_per_clip: fpc,
                frame_step: step,
                num_clips: clips,
                start,
                allow_clip_overlap: overlap,
              };
              const js = { numFrames: fpc, frameStep: step, numClips: clips, start, allowClipOverlap: overlap };
              if (start === 'random') {
                py.seed = total + fpc;
                js.seed = total + fpc;
              }
              grid.push([py, js, { frames: total }]);
            }
          }
        }
      }
    }
  }
  // V-JEPA 2's fps and duration: the step from ceil(average rate).
  for (const total of [30, 300, 1000]) {
    for (const rate of [29.97, 25, 60]) {
      grid.push([
        { total, avg_fps: rate, frames_per_clip: 16, fps: 4, num_clips: 2 },
        { numFrames: 16, fps: 4, numClips: 2 },
        { frames: total, fps: rate },
      ]);
      grid.push([
        { total, avg_fps: rate, frames_per_clip: 8, duration: 2.5 },
        { numFrames: 8, duration: 2.5 },
        { frames: total, fps: rate },
      ]);
    }
  }
  for (const total of [1, 5, 37, 1000]) {
    grid.push([
      { total, frames_per_clip: 16, uniform: true },
      { numFrames: 16, sampling: 'uniform' },
      { frames: total },
    ]);
  }
  return grid;
}

/** Decoding cases: a file, jepa.video options, the same sampling as clip_indices kwargs. */
const CASES = [
  ['cfr-begin', 'cfr.mp4', { numFrames: 8, frameStep: 4 }, { frames_per_clip: 8, frame_step: 4 }],
  [
    'cfr-3clips',
    'cfr.mp4',
    { numFrames: 4, frameStep: 3, numClips: 3 },
    { frames_per_clip: 4, frame_step: 3, num_clips: 3 },
  ],
  [
    'cfr-random',
    'cfr.mp4',
    { numFrames: 8, frameStep: 2, start: 'random', seed: 5 },
    { frames_per_clip: 8, frame_step: 2, start: 'random', seed: 5 },
  ],
  [
    'cfr-center',
    'cfr.mp4',
    { numFrames: 8, frameStep: 2, numClips: 2, start: 'center' },
    { frames_per_clip: 8, frame_step: 2, num_clips: 2, start: 'center' },
  ],
  ['cfr-fps', 'cfr.mp4', { numFrames: 6, fps: 5 }, { frames_per_clip: 6, fps: 5 }],
  [
    'vfr-2clips',
    'vfr.mp4',
    { numFrames: 8, frameStep: 3, numClips: 2 },
    { frames_per_clip: 8, frame_step: 3, num_clips: 2 },
  ],
  [
    'vfr-random',
    'vfr.mp4',
    { numFrames: 5, frameStep: 2, numClips: 2, start: 'random', seed: 11 },
    { frames_per_clip: 5, frame_step: 2, num_clips: 2, start: 'random', seed: 11 },
  ],
  ['short-padded', 'short.mkv', { numFrames: 8, frameStep: 2 }, { frames_per_clip: 8, frame_step: 2 }],
  [
    'short-overlap',
    'short.mkv',
    { numFrames: 4, frameStep: 1, numClips: 2, allowClipOverlap: true },
    { frames_per_clip: 4, frame_step: 1, num_clips: 2, allow_clip_overlap: true },
  ],
];
const SIZE = 32;

describe('jepa.video: V-JEPA clip sampling and decoding, against the Python references', function () {
  this.timeout(300000);
  let dir;
  let ref;
  const f = (name) => path.join(dir, name);

  before(function () {
    if (!video.ffmpegAvailable()) {
      if (process.env.CI)
        throw new Error('ffmpeg/ffprobe are missing on CI: the set-up (npm install) should have installed them');
      console.warn(
        '    (skipping jepa.video: ffmpeg/ffprobe not found; install ffmpeg, e.g. `apt-get install ffmpeg`)',
      );
      this.skip();
    }
    dir = tmpDir('video-');
    const make = (name, args) => {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, f(name)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ffmpeg failed making ${name}: ${r.stderr}`);
    };
    const src = (size, rate) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`];
    // 250 frames at 25 fps, a keyframe every 12 (H.264 with B-frames: decode order differs from
    // presentation order); clips more than 48 frames apart are reached by seeking.
    make('cfr.mp4', [...src('80x60', 25), '-frames:v', '250', '-g', '12', '-pix_fmt', 'yuv420p']);
    // Variable frame rate: every 7th frame is followed by a gap of 3 frame times.
    make('vfr.mp4', [
      ...src('80x60', 25),
      '-frames:v',
      '60',
      '-vf',
      'setpts=(N+floor(N/7)*3)/(25*TB)',
      '-fps_mode',
      'passthrough',
      '-g',
      '10',
      '-pix_fmt',
      'yuv420p',
    ]);
    make('short.mkv', [...src('64x48', 10), '-frames:v', '5', '-c:v', 'ffv1']);
    make('zero.avi', [...src('64x48', 10), '-frames:v', '0']); // a video stream without a frame
    fs.writeFileSync(f('garbage.mp4'), 'not a video at all');
    fs.writeFileSync(f('empty.mp4'), Buffer.alloc(0));
    const whole = fs.readFileSync(f('cfr.mp4'));
    fs.writeFileSync(f('truncated.mp4'), whole.subarray(0, whole.length >> 1));

    const grid = samplingGrid();
    ref = pythonJson(
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'reference'))})\nimport json, media_reference\nmedia_reference.videos(json.loads(sys.stdin.read()))`,
      {
        input: JSON.stringify({
          dir,
          sampling: grid.map(([py]) => py),
          cases: CASES.map(([id, file, , py]) => ({ id, file, size: SIZE, sampling: py })),
        }),
      },
    );
    ref.grid = grid;
  });
  after(() => dir && cleanup(dir));

  it("sampleClips equals V-JEPA's loadvideo_decord indices (2,000 settings: lengths, steps, clips, begin / center / seeded random starts, overlap, fps, duration, uniform)", () => {
    const bad = [];
    ref.grid.forEach(([py, js, length], i) => {
      const ours = video.sampleClips(length, js);
      if (JSON.stringify(ours) !== JSON.stringify(ref.sampling[i]))
        bad.push(`${JSON.stringify(py)}: ${JSON.stringify(ours)} vs ${JSON.stringify(ref.sampling[i])}`);
    });
    expect(bad.slice(0, 5), `${bad.length} settings differ`).to.deep.equal([]);
    expect(ref.grid.length).to.be.greaterThan(1000);
  });

  it('probe agrees with PyAV on frame counts and average rates (constant and variable rate)', async () => {
    for (const file of ['cfr.mp4', 'vfr.mp4', 'short.mkv']) {
      const info = await video.probe(f(file));
      expect(info.frames, file).to.equal(ref.videos[file].frames);
      expect(info.fps, file).to.be.closeTo(ref.videos[file].fps, 1e-9);
    }
    expect(await video.probe(f('cfr.mp4'))).to.include({ frames: 250, width: 80, height: 60, fps: 25 });
  });

  it("decoded clips equal PyAV's frames at the reference's indices, preprocessed by VJEPA2VideoProcessor, bit for bit (seeking into B-frame H.264, VFR, padding, overlap)", async () => {
    const bad = [];
    for (const [id, file, options] of CASES) {
      const clips = ref[id].length;
      const t = await video.frames(f(file), { preset: 'vjepa2', size: SIZE, ...options });
      const shape = clips > 1 ? [clips, options.numFrames, 3, SIZE, SIZE] : [options.numFrames, 3, SIZE, SIZE];
      expect(t.shape, id).to.deep.equal(shape);
      expect(video.sampleClips(await video.probe(f(file)), options), id).to.deep.equal(ref[id]);
      const b = fs.readFileSync(path.join(dir, `${id}.f32`));
      const expected = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
      const ours = t.data();
      let n = 0;
      for (let i = 0; i < ours.length; i++) if (!Object.is(ours[i], expected[i])) n++;
      if (ours.length !== expected.length || n > 0)
        bad.push(`${id}: ${n} of ${ours.length} values differ (reference ${expected.length})`);
    }
    expect(bad, bad.join('\n')).to.deep.equal([]);
  });

  it('a list gives [B, ...] equal to the videos one by one', async () => {
    const files = [f('cfr.mp4'), f('short.mkv'), f('vfr.mp4')];
    const opts = { numFrames: 4, frameStep: 2, size: 16 };
    const batch = await video.frames(files, opts);
    expect(batch.shape).to.deep.equal([3, 4, 3, 16, 16]);
    const per = 4 * 3 * 16 * 16;
    for (let i = 0; i < files.length; i++) {
      const one = (await video.frames(files[i], opts)).data();
      expect(
        Buffer.compare(
          Buffer.from(batch.data().buffer, i * per * 4, per * 4),
          Buffer.from(one.buffer, one.byteOffset, per * 4),
        ),
        files[i],
      ).to.equal(0);
    }
  });

  it('bad videos (garbage, empty, truncated, a stream of 0 frames): JEPA_MEDIA_DECODE naming the file; in a list every failure is listed', async () => {
    for (const [name, why] of [
      ['garbage.mp4', /cannot read the video/],
      ['empty.mp4', /cannot read the video/],
      ['truncated.mp4', /cannot read the video/],
      ['zero.avi', /the video stream has no frames/],
    ]) {
      const err = await rejection(video.frames(f(name)));
      expect(err.code, name).to.equal('JEPA_MEDIA_DECODE');
      expect(err.message, name).to.contain(f(name)).and.to.match(why);
    }
    expect((await rejection(video.frames(f('nope.mp4')))).code).to.equal('JEPA_FILE_NOT_FOUND');
    const batch = await rejection(
      video.frames([f('cfr.mp4'), f('garbage.mp4'), f('short.mkv'), f('zero.avi')], { numFrames: 2, size: 8 }),
    );
    expect(batch.message).to.match(/^2 of 4 videos could not be decoded:\n {2}\[1\] /);
    expect(batch.failures.map((x) => x.index)).to.deep.equal([1, 3]);
  });

  it('ffmpeg missing: JEPA_FFMPEG_NOT_FOUND with how to install it', async () => {
    const saved = [process.env.FFMPEG_PATH, process.env.FFPROBE_PATH];
    process.env.FFMPEG_PATH = path.join(dir, 'no-ffmpeg');
    process.env.FFPROBE_PATH = path.join(dir, 'no-ffprobe');
    try {
      expect(video.ffmpegAvailable()).to.equal(false);
      const missing = await rejection(video.frames(f('cfr.mp4')));
      expect(missing.code).to.equal('JEPA_FFMPEG_NOT_FOUND');
      expect(missing.message).to.match(/cannot run `.*no-ffprobe`, which video decoding needs: install ffmpeg/);
    } finally {
      for (const [k, v] of [
        ['FFMPEG_PATH', saved[0]],
        ['FFPROBE_PATH', saved[1]],
      ]) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('bad options are TypeErrors with exact messages', async () => {
    const cases = [
      [{ numFrames: 0 }, 'expected `options.numFrames` to be an integer from 1 to 4096, got 0'],
      [{ frameStep: 2, fps: 4 }, 'give one of `options.frameStep`, `fps` and `duration`, got frameStep and fps'],
      [{ sampling: 'uniform', numClips: 2 }, "`options.numClips` applies to sampling 'clips', not 'uniform'"],
      [{ start: 'middle' }, "expected `options.start` to be 'begin', 'center' or 'random', got \"middle\""],
      [{ seed: 3 }, "`options.seed` applies to start 'random'"],
      [{ duration: -1 }, 'expected `options.duration` to be a positive number of seconds, got -1'],
      [{ numFrames: 4, every: 2 }, /^unknown option `options.every`: expected one of preset, size, /],
    ];
    for (const [opts, message] of cases) {
      const err = await rejection(video.frames(f('cfr.mp4'), opts));
      expect(err, JSON.stringify(opts)).to.be.instanceOf(TypeError);
      if (message instanceof RegExp) expect(err.message).to.match(message);
      else expect(err.message).to.equal(message);
    }
    const buf = await rejection(video.frames(Buffer.from('x')));
    expect(buf.message).to.match(/^expected `input` to be a file path or a file: URL \(videos are read from files\)/);
    expect(() => video.sampleIndices(0, 4)).to.throw(TypeError, 'expected `total` to be a positive integer, got 0');
    expect(() => video.sampleClips({ frames: 100 }, { fps: 4 })).to.throw(
      TypeError,
      "sampling by fps needs the video's frame rate, which is unknown",
    );
  });
});
