/**
 * Which frames of a video a clip holds: V-JEPA's clip sampler (facebookresearch/jepa and
 * facebookresearch/vjepa2, `VideoDataset.loadvideo_decord`, ported rule for rule with numpy's
 * float arithmetic) and the even spread over the whole video (`np.linspace(0, n - 1, T)`).
 * Pure index arithmetic: tested against the Python code on many lengths (test/media-video.test.mjs).
 * (Internal to the package; the types are public through `jepa.video`.)
 * @module
 */
import { native } from '../core/binding';
import { invalidArgument } from '../core/errors';
import { checkOptions, show } from '../core/validate';

/** The most frames one clip may hold. */
export const MAX_FRAMES = 4096;

/** Where each clip starts inside its segment of the video. */
export type ClipStart = 'begin' | 'center' | 'random';

/** How frames are chosen (options of `jepa.video.frames`). */
export interface SamplingOptions {
  /** Frames per clip (V-JEPA's `frames_per_clip`). Default 16. */
  numFrames?: number;
  /**
   * `'clips'` (default): V-JEPA's sampler, `numFrames` frames every `frameStep` frames;
   * `'uniform'`: `numFrames` frames spread evenly from the first to the last
   * (`np.linspace(0, n - 1, numFrames).astype(int)`).
   */
  sampling?: 'clips' | 'uniform';
  /** Frames between two sampled frames (V-JEPA's `frame_step`). Default 4. */
  frameStep?: number;
  /** Instead of `frameStep`: a target rate, step `ceil(avg_fps) // fps` (V-JEPA 2's `fps`). */
  fps?: number;
  /** Instead of `frameStep`: seconds per clip, step `int(duration * ceil(avg_fps) / numFrames)` (V-JEPA 2's `duration`). */
  duration?: number;
  /** Clips per video, one per equal segment (V-JEPA's `num_clips`). Default 1. */
  numClips?: number;
  /**
   * `'begin'` (default; V-JEPA's evaluation, `random_clip_sampling=False`): the clip starts its
   * segment; `'random'`: a random start drawn as V-JEPA draws it (`np.random.randint`, after
   * `np.random.seed(seed)`); `'center'`: the clip in the middle of its segment (ours; V-JEPA
   * has no such rule).
   */
  start?: ClipStart;
  /** Seed of `start: 'random'` (numpy's legacy `np.random.seed`). Default 0. */
  seed?: number;
  /** V-JEPA's `allow_clip_overlap` for videos shorter than the clips (default false: the last frame is repeated). */
  allowClipOverlap?: boolean;
}

export const SAMPLING_KEYS = [
  'numFrames',
  'sampling',
  'frameStep',
  'fps',
  'duration',
  'numClips',
  'start',
  'seed',
  'allowClipOverlap',
] as const;

/** Validated sampling options (internal to the package). */
export interface ResolvedSampling {
  numFrames: number;
  sampling: 'clips' | 'uniform';
  step: { kind: 'frames'; frames: number } | { kind: 'fps'; fps: number } | { kind: 'duration'; seconds: number };
  numClips: number;
  start: ClipStart;
  seed: number;
  allowClipOverlap: boolean;
}

function positiveInt(value: unknown, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalidArgument(`expected \`${name}\` to be an integer from 1 to ${max}, got ${show(value)}`);
  }
  return value;
}

/** Validates sampling options (the keys of {@link SamplingOptions} in `options`). */
export function resolveSampling(options: unknown, name = 'options', extra: readonly string[] = []): ResolvedSampling {
  const o = checkOptions(options, name, [...SAMPLING_KEYS, ...extra]);
  const numFrames = positiveInt(o.numFrames, `${name}.numFrames`, 16, MAX_FRAMES);
  const sampling = o.sampling ?? 'clips';
  if (sampling !== 'clips' && sampling !== 'uniform') {
    throw invalidArgument(`expected \`${name}.sampling\` to be 'clips' or 'uniform', got ${show(sampling)}`);
  }
  const given = (['frameStep', 'fps', 'duration'] as const).filter((k) => o[k] !== undefined);
  if (given.length > 1)
    throw invalidArgument(`give one of \`${name}.frameStep\`, \`fps\` and \`duration\`, got ${given.join(' and ')}`);
  if (sampling === 'uniform') {
    for (const k of [...given, 'numClips', 'start', 'seed', 'allowClipOverlap'] as const) {
      if (o[k] !== undefined) throw invalidArgument(`\`${name}.${k}\` applies to sampling 'clips', not 'uniform'`);
    }
  }
  let step: ResolvedSampling['step'] = { kind: 'frames', frames: positiveInt(o.frameStep, `${name}.frameStep`, 4) };
  if (o.fps !== undefined) step = { kind: 'fps', fps: positiveInt(o.fps, `${name}.fps`, 1) };
  if (o.duration !== undefined) {
    if (typeof o.duration !== 'number' || !(o.duration > 0) || !Number.isFinite(o.duration)) {
      throw invalidArgument(
        `expected \`${name}.duration\` to be a positive number of seconds, got ${show(o.duration)}`,
      );
    }
    step = { kind: 'duration', seconds: o.duration };
  }
  const numClips = positiveInt(o.numClips, `${name}.numClips`, 1, 1024);
  const start = o.start ?? 'begin';
  if (start !== 'begin' && start !== 'center' && start !== 'random') {
    throw invalidArgument(`expected \`${name}.start\` to be 'begin', 'center' or 'random', got ${show(start)}`);
  }
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw invalidArgument(`expected \`${name}.seed\` to be an integer from 0 to 2^32 - 1, got ${show(seed)}`);
  }
  if (o.seed !== undefined && start !== 'random') throw invalidArgument(`\`${name}.seed\` applies to start 'random'`);
  const overlap = o.allowClipOverlap ?? false;
  if (typeof overlap !== 'boolean')
    throw invalidArgument(`expected \`${name}.allowClipOverlap\` to be true or false, got ${show(overlap)}`);
  return { numFrames, sampling, step, numClips, start, seed, allowClipOverlap: overlap };
}

/**
 * `np.linspace(start, stop, num)` (endpoint included) in double precision as numpy computes it:
 * `i * ((stop - start) / (num - 1)) + start`, the last value `stop` exactly.
 */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(step === 0 ? (i / div) * delta + start : i * step + start);
  out[num - 1] = stop;
  return out;
}

/** `np.clip(x, lo, hi).astype(np.int64)`: clip (numpy applies the upper bound last), then truncate. */
function clipToInt(values: number[], lo: number, hi: number): number[] {
  return values.map((v) => Math.trunc(Math.min(Math.max(v, lo), hi)));
}

/**
 * The frame indices of a video of `total` frames sampled evenly, `numFrames` from the first to
 * the last: `np.linspace(0, total - 1, numFrames).astype(int)`. Videos shorter than `numFrames`
 * repeat frames.
 */
export function sampleIndices(total: number, numFrames: number): number[] {
  if (!Number.isSafeInteger(total) || total < 1)
    throw invalidArgument(`expected \`total\` to be a positive integer, got ${show(total)}`);
  if (!Number.isSafeInteger(numFrames) || numFrames < 1 || numFrames > MAX_FRAMES) {
    throw invalidArgument(`expected \`numFrames\` to be an integer from 1 to ${MAX_FRAMES}, got ${show(numFrames)}`);
  }
  return linspace(0, total - 1, numFrames).map(Math.trunc);
}

/** What the clip sampler needs to know about a video. */
export interface VideoLength {
  /** Frames in the video (decord's `len(vr)`). */
  frames: number;
  /** Average frame rate (decord's `get_avg_fps()`), needed for `fps` and `duration`. */
  fps?: number | null;
}

/**
 * The frame indices of each clip (one array of `numFrames` per clip), as V-JEPA's
 * `loadvideo_decord` computes them: the video is cut into `numClips` equal segments; in a
 * segment longer than a clip (`numFrames * step` frames) the clip's `numFrames` indices are
 * `np.linspace(start, end, numFrames)` clipped to `end - 1`; a shorter segment is sampled every
 * `step` frames and padded with its last frame (or, with `allowClipOverlap`, clips overlap).
 */
export function sampleClips(video: VideoLength, options?: unknown): number[][] {
  const s = resolveSampling(options, 'options');
  const total = video.frames;
  if (!Number.isSafeInteger(total) || total < 1)
    throw invalidArgument(`expected \`frames\` to be a positive integer, got ${show(total)}`);
  const fpc = s.numFrames;
  if (s.sampling === 'uniform') return [sampleIndices(total, fpc)];

  let fstp: number;
  if (s.step.kind === 'frames') {
    fstp = s.step.frames;
  } else {
    const avg = video.fps;
    if (typeof avg !== 'number' || !(avg > 0)) {
      throw invalidArgument(`sampling by ${s.step.kind} needs the video's frame rate, which is unknown`);
    }
    const videoFps = Math.ceil(avg);
    fstp = s.step.kind === 'fps' ? Math.floor(videoFps / s.step.fps) : Math.trunc((s.step.seconds * videoFps) / fpc);
    if (fstp < 1) {
      throw invalidArgument(
        `the frame step from ${s.step.kind} is ${fstp} for a ${avg} fps video (it must be at least 1)`,
      );
    }
  }
  const clipLen = fpc * fstp;
  const numClips = s.numClips;
  const partition = Math.floor(total / numClips);
  const random =
    s.start === 'random' && partition > clipLen ? native.numpyRandint(s.seed, clipLen, partition, numClips) : null;
  const clips: number[][] = [];
  for (let i = 0; i < numClips; i++) {
    let indices: number[];
    if (partition > clipLen) {
      let end = clipLen;
      if (random) end = random[i];
      else if (s.start === 'center') end = clipLen + Math.floor((partition - clipLen) / 2);
      const start = end - clipLen;
      indices = clipToInt(linspace(start, end, fpc), start, end - 1).map((x) => x + i * partition);
    } else if (!s.allowClipOverlap) {
      const n = Math.floor(partition / fstp);
      const raw = [...linspace(0, partition, n), ...new Array<number>(fpc - n).fill(partition)];
      indices = clipToInt(raw, 0, partition - 1).map((x) => x + i * partition);
    } else {
      const sampleLen = Math.min(clipLen, total) - 1;
      const n = Math.floor(sampleLen / fstp);
      const raw = [...linspace(0, sampleLen, n), ...new Array<number>(fpc - n).fill(sampleLen)];
      const clipStep = total > clipLen ? Math.floor((total - clipLen) / (numClips - 1)) : 0;
      indices = clipToInt(raw, 0, sampleLen - 1).map((x) => x + i * clipStep);
    }
    // numpy's clip leaves -1 where a bound is -1 (one-frame videos); decord reads index -1 as the last frame.
    clips.push(indices.map((x) => (x < 0 ? x + total : x)));
  }
  return clips;
}
