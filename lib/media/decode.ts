/**
 * Decoding of images (sharp) and videos (ffmpeg) into normalised float32 memory, shared by
 * `jepa.image`, `jepa.video`, `jepa.features.extract` and the CLI's `extract`. Decoding gives the
 * pixels PIL's `Image.open(f).convert('RGB')` (or PyAV's `frame.to_ndarray(format='rgb24')`)
 * gives; the preprocessing (lib/media/preprocess.ts, native/media/) then runs on a worker thread.
 * (Internal to the package.)
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../core/binding';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { planFor, type Plan, type PreprocessOptions, type ResolvedPreprocess } from './preprocess';
import { show } from '../core/validate';

/** A file path, a `file:` URL, or the encoded bytes of an image. */
export type ImageInput = string | URL | Uint8Array;

/** Options of `jepa.image.load`: the preprocessing options ({@link PreprocessOptions}). */
export type ImageOptions = PreprocessOptions;

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
    if (input.length === 0)
      throw new JepaError(ErrorCode.MEDIA_DECODE, `${name}: the buffer is empty (expected the bytes of ${what})`);
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

/** How decoded pixels are laid out (native/media/preprocess.h `Pixels`). (Internal to the package.) */
export interface PixelLayout {
  frames: number;
  height: number;
  width: number;
  channels: number;
  bits: 8 | 16;
  kind: 'rgb' | 'grey' | 'cmyk';
}

/** Decoded pixels, before conversion to RGB. (Internal to the package.) */
export interface DecodedPixels {
  data: Uint8Array;
  layout: PixelLayout;
}

/**
 * The colour spaces decoded as they are stored (no ICC transform, no libvips conversion) and
 * converted to RGB in C++ with PIL's `convert('RGB')` rules; any other (Lab, float, multiband
 * TIFFs) is converted to 8-bit sRGB by libvips.
 */
const STORED_SPACES: Readonly<Record<string, { kind: PixelLayout['kind']; depth: 'uchar' | 'ushort' }>> = {
  srgb: { kind: 'rgb', depth: 'uchar' },
  rgb16: { kind: 'rgb', depth: 'ushort' },
  'b-w': { kind: 'grey', depth: 'uchar' },
  grey16: { kind: 'grey', depth: 'ushort' },
  cmyk: { kind: 'cmyk', depth: 'uchar' },
};

/**
 * Decodes an image with sharp into its stored samples: 8 or 16 bits, RGB(A), grey(+alpha) or
 * CMYK, the first frame of an animation, with the EXIF orientation applied when `autoOrient`.
 * Errors (`JEPA_MEDIA_DECODE`) name `where`.
 */
export async function decodePixels(
  source: string | Uint8Array,
  autoOrient: boolean,
  where: string,
): Promise<DecodedPixels> {
  try {
    const image = sharp()(source, { failOn: 'error' });
    const meta = await image.metadata();
    const stored = STORED_SPACES[meta.space ?? ''];
    let pipeline = image.clone();
    if (autoOrient) pipeline = pipeline.autoOrient();
    pipeline = stored
      ? pipeline
          .keepIccProfile()
          .pipelineColourspace(meta.space as 'srgb')
          .toColourspace(meta.space as 'srgb')
      : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline
      .raw({ depth: stored?.depth ?? 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const bits = data.length === info.width * info.height * info.channels * 2 ? 16 : 8;
    let kind: PixelLayout['kind'] = stored?.kind ?? 'rgb';
    if (kind !== 'cmyk') kind = info.channels <= 2 ? 'grey' : 'rgb';
    return { data, layout: { frames: 1, height: info.height, width: info.width, channels: info.channels, bits, kind } };
  } catch (e) {
    throw new JepaError(ErrorCode.MEDIA_DECODE, `${where}: cannot decode the image: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Runs the preprocessing of `pixels` on a worker thread (native/media): converts to RGB,
 * resizes, crops and normalises into `out` at `offset` ([frames, 3, plan.height, plan.width]).
 * (Internal to the package.)
 */
export function preprocessInto(
  pixels: DecodedPixels,
  plan: Plan,
  lut: Float32Array,
  out: Float32Array,
  offset: number,
): Promise<void> {
  return native.mediaPreprocess(pixels.data, pixels.layout, plan, lut, out, offset);
}

/**
 * Decodes one image and writes its preprocessed [3, H, W] floats into `out` at `offset`.
 * Errors name the input. (Internal to the package: `jepa.image.load` and extraction use it.)
 */
export async function decodeImageInto(
  input: unknown,
  o: ResolvedPreprocess,
  out: Float32Array,
  offset: number,
  name = 'input',
): Promise<void> {
  const source = await checkInput(input, name, 'an image');
  const where = typeof source === 'string' ? source : `${name} (${describeInput(source)})`;
  const pixels = await decodePixels(source, o.autoOrient, where);
  await preprocessInto(pixels, planFor(pixels.layout.height, pixels.layout.width, o), o.lut, out, offset);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight (decoding a long list all at once
 * would hold every decoded image in memory before the first is preprocessed).
 * (Internal to the package.)
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
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
    failures.every((f) => (f.error as JepaError).code === ErrorCode.FFMPEG_NOT_FOUND)
      ? ErrorCode.FFMPEG_NOT_FOUND
      : ErrorCode.MEDIA_DECODE,
    `${failures.length} of ${total} ${kind} could not be decoded:\n${lines.join('\n')}`,
  );
  (err as JepaError & { failures: MediaFailure[] }).failures = failures;
  return err;
}

// ---------------------------------------------------------------------------------------------
// Video (ffmpeg)

/** What {@link probe} reads from a video's first video stream. */
export interface VideoInfo {
  /** Number of frames (the stream's packets, counted by ffprobe, which reads the container without decoding). */
  frames: number;
  width: number;
  height: number;
  /** Frames per second (the stream's average rate), or null when unknown. */
  fps: number | null;
  /** Duration in seconds, or null when unknown. */
  duration: number | null;
}

/** A probe plus where each frame is (internal). */
interface VideoIndex extends VideoInfo {
  /** Presentation time of each frame in stream time-base units, in presentation order; null when the container has none. */
  pts: number[] | null;
  /** Seconds per time-base unit. */
  timeBase: number;
  /** The container's start time in seconds (what ffmpeg's `-ss` counts from). */
  start: number;
}

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
  return new JepaError(
    ErrorCode.FFMPEG_NOT_FOUND,
    `cannot run \`${cmd}\`, which video decoding needs: ${INSTALL_HINT}`,
  );
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
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim().length > 0);
  return lines.slice(-3).join(' / ') || 'no message';
}

function rate(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const [a, b] = text.split('/').map(Number);
  const v = b ? a / b : a;
  return Number.isFinite(v) && v > 0 ? v : null;
}

async function indexVideo(p: string): Promise<VideoIndex> {
  const r = await run(ffprobePath(), [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,avg_frame_rate,time_base:format=duration,start_time:packet=pts,dts,flags',
    '-of',
    'json',
    p,
  ]);
  if (r.code !== 0) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: cannot read the video: ${lastLines(r.stderr)}`);
  let doc: {
    streams?: Record<string, unknown>[];
    format?: Record<string, unknown>;
    packets?: Record<string, unknown>[];
  };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: ffprobe gave no readable description of the video`);
  }
  const s = doc.streams?.[0];
  if (!s) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: the file has no video stream`);
  // Packets the demuxer marks to discard (an edit list's lead-in) give no frame.
  const packets = (doc.packets ?? []).filter((k) => !String(k.flags ?? '').includes('D'));
  const frames = packets.length;
  const width = Number(s.width);
  const height = Number(s.height);
  if (!(frames >= 1) || !(width >= 1) || !(height >= 1)) {
    throw new JepaError(
      ErrorCode.MEDIA_DECODE,
      `${p}: the video stream has no frames (${frames} frames of ${width}x${height})`,
    );
  }
  const times = packets.map((k) => Number(k.pts ?? k.dts));
  const pts = times.every(Number.isFinite) ? times.sort((a, b) => a - b) : null;
  const duration = Number(doc.format?.duration);
  const start = Number(doc.format?.start_time);
  return {
    frames,
    width,
    height,
    fps: rate(s.avg_frame_rate),
    duration: Number.isFinite(duration) ? duration : null,
    pts,
    timeBase: rate(s.time_base) ?? 0,
    start: Number.isFinite(start) ? start : 0,
  };
}

/** Reads a video's frame count, size, rate and duration with ffprobe. */
export async function probe(file: string | URL): Promise<VideoInfo> {
  const p = (await checkInput(file, 'file', 'a video')) as string;
  const { frames, width, height, fps, duration } = await indexVideo(p);
  return { frames, width, height, fps, duration };
}

export function checkVideoInput(input: unknown, name: string): void {
  if (input instanceof Uint8Array) {
    throw invalidArgument(
      `expected \`${name}\` to be a file path or a file: URL (videos are read from files), got ${describeInput(input)}`,
    );
  }
}

/** Frames further apart than this are reached by seeking rather than by decoding through. */
const SEEK_GAP = 48;

/**
 * Decodes frames `wanted` (sorted, distinct frame indices in presentation order) of a video and
 * calls `onFrame(index, rgb24)` for each, in order. Each run of close indices is one ffmpeg
 * process that seeks accurately to it (`-ss` before `-i`: to the keyframe before, then decoding
 * and dropping up to the first wanted frame, whose time is known from the packets) and stops
 * after the last (`-frames:v`). Returns the indices that could not be decoded (a damaged tail).
 */
async function decodeFrames(
  p: string,
  info: VideoIndex,
  wanted: number[],
  onFrame: (index: number, rgb: Uint8Array) => void,
): Promise<number[]> {
  const groups: number[][] = [];
  for (const i of wanted) {
    const g = groups[groups.length - 1];
    if (g && i - g[g.length - 1] <= SEEK_GAP) g.push(i);
    else groups.push([i]);
  }
  const frameBytes = info.width * info.height * 3;
  const missing: number[] = [];
  for (const group of groups) {
    const first = group[0];
    const seek: string[] = [];
    // Seek to halfway between the frame before and the first wanted one: ffmpeg drops every frame
    // before that time, so the first frame it gives is exactly `first`.
    if (info.pts && first > 0 && info.timeBase > 0) {
      const t = ((info.pts[first - 1] + info.pts[first]) / 2) * info.timeBase - info.start;
      if (t > 0) seek.push('-ss', t.toFixed(6));
    }
    const base = seek.length > 0 ? first : 0;
    const select = `select='${group.map((i) => `eq(n\\,${i - base})`).join('+')}'`;
    const args = [
      '-v',
      'error',
      '-nostdin',
      '-noautorotate',
      ...seek,
      '-i',
      p,
      '-map',
      '0:v:0',
      '-vf',
      select,
      '-vsync',
      '0',
      '-frames:v',
      String(group.length),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ];
    let got = 0;
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      let frame = Buffer.allocUnsafe(frameBytes);
      let filled = 0;
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
            if (got < group.length) onFrame(group[got], frame);
            got++;
            frame = Buffer.allocUnsafe(frameBytes);
            filled = 0;
          }
        }
      });
      child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? notFound(ffmpegPath()) : e));
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    if (code !== 0) throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: cannot decode the video: ${lastLines(stderr)}`);
    missing.push(...group.slice(got));
  }
  return missing;
}

/**
 * Decodes the frames of `clips` (frame indices per clip, from lib/media/sampling.ts) of one
 * video and writes them preprocessed into `out` at `offset`: [clips, T, 3, H, W] floats.
 * Errors name the input. (Internal to the package: `jepa.video.frames` and extraction use it.)
 */
export async function decodeVideoInto(
  input: unknown,
  o: ResolvedPreprocess,
  sample: (info: VideoInfo) => number[][],
  out: Float32Array,
  offset: number,
  name = 'input',
): Promise<number[][]> {
  checkVideoInput(input, name);
  const p = (await checkInput(input, name, 'a video')) as string;
  const info = await indexVideo(p);
  const clips = sample(info);
  const plan = planFor(info.height, info.width, o);
  const frameFloats = 3 * plan.height * plan.width;
  const slots = clips.flat();
  const firstSlot = new Map<number, number>();
  slots.forEach((index, k) => {
    if (!firstSlot.has(index)) firstSlot.set(index, k);
  });
  const wanted = [...firstSlot.keys()].sort((a, b) => a - b);
  const work: Promise<void>[] = [];
  const layout: PixelLayout = { frames: 1, height: info.height, width: info.width, channels: 3, bits: 8, kind: 'rgb' };
  const missing = await decodeFrames(p, info, wanted, (index, rgb) => {
    work.push(preprocessInto({ data: rgb, layout }, plan, o.lut, out, offset + firstSlot.get(index)! * frameFloats));
  });
  await Promise.all(work);
  if (missing.length === wanted.length)
    throw new JepaError(ErrorCode.MEDIA_DECODE, `${p}: ffmpeg decoded no frames from the video`);
  // The packet count can overstate the frames (a damaged tail): a missing frame repeats the last
  // one decoded before it (or the first one after it).
  const missingSet = new Set(missing);
  const decoded = wanted.filter((i) => !missingSet.has(i));
  for (const index of missing) {
    const before = decoded.filter((i) => i < index).pop() ?? decoded[0];
    firstSlot.set(index, firstSlot.get(before)!);
  }
  slots.forEach((index, k) => {
    const from = firstSlot.get(index)!;
    if (from !== k)
      out.copyWithin(offset + k * frameFloats, offset + from * frameFloats, offset + (from + 1) * frameFloats);
  });
  return clips;
}
