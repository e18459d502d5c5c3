/**
 * Decoding of images (sharp) and videos (ffmpeg) into normalised float32 memory, shared by
 * `jepa.image`, `jepa.video` and the CLI's `extract`.
 * (Internal to the package.)
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { checkOptions, show } from '../core/validate';

/** ImageNet channel means (torchvision's and the JEPA pipelines' default). */
export const IMAGENET_MEAN: readonly [number, number, number] = Object.freeze([0.485, 0.456, 0.406]) as readonly [number, number, number];
/** ImageNet channel standard deviations. */
export const IMAGENET_STD: readonly [number, number, number] = Object.freeze([0.229, 0.224, 0.225]) as readonly [number, number, number];

/** A file path, a `file:` URL, or the encoded bytes of an image. */
export type ImageInput = string | URL | Uint8Array;

/** How the picture is brought to `size`. */
export type ResizeFit = 'cover' | 'fill';

/** Options of {@link load}. */
export interface ImageOptions {
  /** Output size: one number for a square, or `[height, width]`. Default 224. */
  size?: number | readonly [number, number];
  /** Per-channel mean subtracted after scaling to [0, 1]. Default {@link IMAGENET_MEAN}. */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation divided by. Default {@link IMAGENET_STD}. */
  std?: readonly [number, number, number];
  /**
   * `'cover'` (default): scale so that the picture covers `size`, then crop the centre (the
   * usual resize-shorter-side + centre-crop); `'fill'`: stretch to `size` ignoring the aspect.
   */
  fit?: ResizeFit;
}

/** Options after validation (internal to the package). */
export interface ResolvedImageOptions {
  height: number;
  width: number;
  fit: ResizeFit;
  /** 3 x 256 float32 values: the normalised value of each byte per channel. */
  lut: Float32Array;
  mean: [number, number, number];
  std: [number, number, number];
}

const IMAGE_KEYS = ['size', 'mean', 'std', 'fit'] as const;
const MAX_SIDE = 16384;

function triple(value: unknown, name: string, fallback: readonly number[], positive: boolean): [number, number, number] {
  if (value === undefined) return [fallback[0], fallback[1], fallback[2]];
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0))
  ) {
    throw invalidArgument(
      `expected \`${name}\` to be 3 ${positive ? 'positive' : 'finite'} numbers (one per RGB channel), got ${show(value)}`,
    );
  }
  return [value[0], value[1], value[2]];
}

/** Validates `size`: a positive integer or [height, width]. (Internal to the package.) */
export function checkSize(value: unknown, name: string, fallback = 224): [number, number] {
  const ok = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= MAX_SIDE;
  if (value === undefined) return [fallback, fallback];
  if (ok(value)) return [value as number, value as number];
  if (Array.isArray(value) && value.length === 2 && value.every(ok)) return [value[0], value[1]];
  throw invalidArgument(
    `expected \`${name}\` to be a positive integer up to ${MAX_SIDE} or [height, width] of such, got ${show(value)}`,
  );
}

/**
 * The lookup table of `(x / 255 - mean) / std` for x = 0..255, per channel, with torchvision's
 * float32 operations (each step rounded to float32: `Math.fround` of a double operation on
 * float32 operands is the correctly rounded float32 result).
 */
function normalisationTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let x = 0; x < 256; x++) {
      const scaled = Math.fround(x / 255);
      lut[c * 256 + x] = Math.fround(Math.fround(scaled - m) / s);
    }
  }
  return lut;
}

/** Validates image options (also used by `jepa.video`). (Internal to the package.) */
export function resolveImageOptions(options: unknown, name = 'options', extra: readonly string[] = []): ResolvedImageOptions {
  const o = checkOptions(options, name, [...IMAGE_KEYS, ...extra]);
  const [height, width] = checkSize(o.size, `${name}.size`);
  const mean = triple(o.mean, `${name}.mean`, IMAGENET_MEAN, false);
  const std = triple(o.std, `${name}.std`, IMAGENET_STD, true);
  const fit = o.fit ?? 'cover';
  if (fit !== 'cover' && fit !== 'fill') {
    throw invalidArgument(`expected \`${name}.fit\` to be 'cover' or 'fill', got ${show(fit)}`);
  }
  return { height, width, fit, lut: normalisationTable(mean, std), mean, std };
}

/**
 * Writes interleaved RGB bytes (HWC) as normalised CHW float32 into `out` at `offset`.
 * (Internal to the package.)
 */
export function normaliseInto(rgb: Uint8Array, pixels: number, lut: Float32Array, out: Float32Array, offset: number): void {
  const r = offset;
  const g = offset + pixels;
  const b = offset + 2 * pixels;
  for (let i = 0, p = 0; i < pixels; i++, p += 3) {
    out[r + i] = lut[rgb[p]];
    out[g + i] = lut[256 + rgb[p + 1]];
    out[b + i] = lut[512 + rgb[p + 2]];
  }
}

/** A short description of an input for messages. (Internal to the package.) */
export function describeInput(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  if (input instanceof Uint8Array) return `a buffer of ${input.length} bytes`;
  return show(input);
}

/** Turns an input into a path (checked to exist) or bytes. (Internal to the package.) */
export async function checkInput(input: unknown, name: string, what: string): Promise<string | Uint8Array> {
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw new JepaError(ErrorCode.MEDIA_DECODE, `${name}: the buffer is empty (expected the bytes of ${what})`);
    return input;
  }
  let p: string;
  if (input instanceof URL) {
    if (input.protocol !== 'file:') throw invalidArgument(`expected \`${name}\` to be a file: URL, got ${input.href}`);
    p = fileURLToPath(input);
  } else if (typeof input === 'string' && input.length > 0 && !input.includes('\0')) {
    p = path.resolve(input);
  } else {
    throw invalidArgument(`expected \`${name}\` to be a file path, a file: URL or a Buffer, got ${show(input)}`);
  }
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(p);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new JepaError(
      err.code === 'ENOENT' ? ErrorCode.FILE_NOT_FOUND : ErrorCode.IO_ERROR,
      `${p}: cannot open the file: ${err.message} (expected ${what})`,
    );
  }
  if (!st.isFile()) throw new JepaError(ErrorCode.IO_ERROR, `${p}: is not a file (expected ${what})`);
  return p;
}

// sharp's CommonJS export is the constructor (its ESM types call it the default export).
type SharpModule = typeof import('sharp').default;
let sharpModule: SharpModule | undefined;

function sharp(): SharpModule {
  // Loaded on first use: programs that never decode an image do not pay for libvips.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sharpModule ??= require('sharp') as SharpModule;
  return sharpModule;
}

/**
 * Decodes one image into `out` at `offset` (3 * height * width floats). Errors name the input.
 * (Internal to the package: `jepa.image.load` and the CLI's `extract` use it.)
 */
export async function decodeImageInto(
  input: unknown,
  o: ResolvedImageOptions,
  out: Float32Array,
  offset: number,
  name = 'input',
): Promise<void> {
  const source = await checkInput(input, name, 'an image');
  const where = typeof source === 'string' ? source : `${name} (${describeInput(source)})`;
  let data: Buffer;
  let info: { width: number; height: number; channels: number };
  try {
    const r = await sharp()(source, { failOn: 'error' })
      .autoOrient()
      .toColourspace('srgb')
      .removeAlpha()
      .resize({ width: o.width, height: o.height, fit: o.fit, position: 'centre' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    data = r.data;
    info = r.info;
  } catch (e) {
    throw new JepaError(ErrorCode.MEDIA_DECODE, `${where}: cannot decode the image: ${(e as Error).message}`, { cause: e });
  }
  if (info.channels !== 3 || info.width !== o.width || info.height !== o.height || data.length !== o.width * o.height * 3) {
    throw new JepaError(
      ErrorCode.MEDIA_DECODE,
      `${where}: the decoder gave ${info.width}x${info.height}x${info.channels} pixels, expected ${o.width}x${o.height}x3`,
    );
  }
  normaliseInto(data, o.width * o.height, o.lut, out, offset);
}

/** One input of a batch that failed, as listed by a batch error's `failures`. */
export interface MediaFailure {
  index: number;
  input: string;
  error: Error;
}

/** The error of a batch where some inputs failed: lists every failing input. (Internal to the package.) */
export function batchError(kind: string, total: number, failures: MediaFailure[]): JepaError {
  const lines = failures.map((f) => `  [${f.index}] ${f.error.message}`);
  const err = new JepaError(
    failures.every((f) => (f.error as JepaError).code === ErrorCode.FFMPEG_NOT_FOUND) ? ErrorCode.FFMPEG_NOT_FOUND : ErrorCode.MEDIA_DECODE,
    `${failures.length} of ${total} ${kind} could not be decoded:\n${lines.join('\n')}`,
  );
  (err as JepaError & { failures: MediaFailure[] }).failures = failures;
  return err;
}


// ---------------------------------------------------------------------------------------------
// Video (ffmpeg)

/** What {@link probe} reads from a video's first video stream. */
export interface VideoInfo {
  /** Number of frames (packets counted by ffprobe, which reads the whole file without decoding). */
  frames: number;
  width: number;
  height: number;
  /** Frames per second (average), or null when unknown. */
  fps: number | null;
  /** Duration in seconds, or null when unknown. */
  duration: number | null;
}

/** The most frames one clip may sample. */
export const MAX_FRAMES = 4096;

function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}

function ffprobePath(): string {
  return process.env.FFPROBE_PATH || 'ffprobe';
}

const INSTALL_HINT =
  'install ffmpeg (Debian/Ubuntu: `apt-get install ffmpeg`; macOS: `brew install ffmpeg`) or set FFMPEG_PATH and FFPROBE_PATH';

/** Whether `ffmpeg` and `ffprobe` can be run. */
export function ffmpegAvailable(): boolean {
  return [ffmpegPath(), ffprobePath()].every((cmd) => {
    const r = spawnSync(cmd, ['-version'], { stdio: 'ignore', timeout: 20000 });
    return !r.error && r.status === 0;
  });
}

function notFound(cmd: string): JepaError {
  return new JepaError(ErrorCode.FFMPEG_NOT_FOUND, `cannot run \`${cmd}\`, which video decoding needs: ${INSTALL_HINT}`);
}

/**
 * The frame indices sampled from a video of `total` frames: `numFrames` evenly spaced from the
 * first to the last, `np.linspace(0, total - 1, numFrames).astype(int)` (the sampling of the
 * V-JEPA feature pipelines). Videos shorter than `numFrames` repeat frames.
 */
export function sampleIndices(total: number, numFrames: number): number[] {
  if (!Number.isSafeInteger(total) || total < 1) throw invalidArgument(`expected \`total\` to be a positive integer, got ${show(total)}`);
  if (!Number.isSafeInteger(numFrames) || numFrames < 1 || numFrames > MAX_FRAMES) {
    throw invalidArgument(`expected \`numFrames\` to be an integer from 1 to ${MAX_FRAMES}, got ${show(numFrames)}`);
  }
  // numpy: y = arange(num) * step + start, with y[-1] = stop; then truncation toward zero.
  const stop = total - 1;
  if (numFrames === 1) return [0];
  const step = stop / (numFrames - 1);
  const out: number[] = [];
  for (let i = 0; i < numFrames; i++) out.push(i === numFrames - 1 ? stop : Math.trunc(i * step));
  return out;
}

/** Runs a command and collects its stdout and stderr (text). */
function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? notFound(cmd) : e));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim().length > 0);
  return lines.slice(-3).join(' / ') || 'no message';
}

function rate(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const [a, b] = text.split('/').map(Number);
  const v = b ? a / b : a;
  return Number.isFinite(v) && v > 0 ? v : null;
}

async function probePath(p: string): Promise<VideoInfo> {
  const r = await run(ffprobePath(), [
    '-v', 'error', '-select_streams', 'v:0', '-count_packets',
    '-show_entries', 'stream=nb_read_packets,width,height,avg_frame_rate:format=duration', '-of', 'json', p,
  ]);
  if (r.code !== 0) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: cannot read the video: ${lastLines(r.stderr)}`);
  let doc: { streams?: Record<string, unknown>[]; format?: Record<string, unknown> };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: ffprobe gave no readable description of the video`);
  }
  const s = doc.streams?.[0];
  if (!s) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: the file has no video stream`);
  const frames = Number(s.nb_read_packets);
  const width = Number(s.width);
  const height = Number(s.height);
  if (!(frames >= 1) || !(width >= 1) || !(height >= 1)) {
    throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: the video stream has no frames (${frames} frames of ${width}x${height})`);
  }
  const duration = Number(doc.format?.duration);
  return { frames, width, height, fps: rate(s.avg_frame_rate), duration: Number.isFinite(duration) ? duration : null };
}

/** Reads a video's frame count, size, rate and duration with ffprobe. */
export async function probe(file: string | URL): Promise<VideoInfo> {
  const p = (await checkInput(file, 'file', 'a video')) as string;
  return probePath(p);
}

export function checkVideoInput(input: unknown, name: string): void {
  if (input instanceof Uint8Array) {
    throw invalidArgument(`expected \`${name}\` to be a file path or a file: URL (videos are read from files), got ${describeInput(input)}`);
  }
}

/**
 * Decodes the sampled frames of one video into `out` at `offset` (T * 3 * H * W floats).
 * (Internal to the package: `jepa.video.frames` and the CLI's `extract` use it.)
 */
export async function decodeVideoInto(
  input: unknown,
  o: ResolvedImageOptions,
  numFrames: number,
  out: Float32Array,
  offset: number,
  name = 'input',
): Promise<void> {
  checkVideoInput(input, name);
  const p = (await checkInput(input, name, 'a video')) as string;
  const info = await probePath(p);
  const indices = sampleIndices(info.frames, numFrames);
  const unique = [...new Set(indices)];
  const { width: w, height: h } = o;
  const pixels = w * h;
  const frameBytes = pixels * 3;
  const plane = 3 * pixels;
  const scale =
    o.fit === 'cover'
      ? `scale=${w}:${h}:force_original_aspect_ratio=increase:flags=bicubic,crop=${w}:${h}`
      : `scale=${w}:${h}:flags=bicubic`;
  const select = `select='${unique.map((i) => `eq(n\\,${i})`).join('+')}'`;
  const args = ['-v', 'error', '-nostdin', '-i', p, '-map', '0:v:0', '-vf', `${select},${scale},setsar=1`,
    '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let decoded = 0;
  const emit = (k: number) => {
    const index = unique[k];
    for (let t = 0; t < indices.length; t++) {
      if (indices[t] === index) normaliseInto(frame, pixels, o.lut, out, offset + t * plane);
    }
  };
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 65536) err += d;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      let pos = 0;
      while (pos < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - pos);
        chunk.copy(frame, filled, pos, pos + n);
        filled += n;
        pos += n;
        if (filled === frameBytes) {
          if (decoded < unique.length) emit(decoded);
          decoded++;
          filled = 0;
        }
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? notFound(ffmpegPath()) : e));
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  if (code !== 0) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: cannot decode the video: ${lastLines(stderr)}`);
  if (decoded === 0) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: ffmpeg decoded no frames from the video`);
  // The packet count can overstate the frames (a damaged tail): the missing samples repeat the
  // last frame that was decoded.
  for (let k = decoded; k < unique.length; k++) emit(k);
}

