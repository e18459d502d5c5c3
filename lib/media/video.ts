/**
 * Video clips as normalised float32 tensors: frames sampled evenly over the video, decoded,
 * scaled and cropped by ffmpeg (a child process, asynchronous), normalised as
 * {@link image.load} does.
 *
 * ```js
 * const clip = await jepa.video.frames('clip.mp4', { numFrames: 16, size: 224 }); // [16, 3, 224, 224]
 * const batch = await jepa.video.frames(['a.mp4', 'b.webm']);                    // [2, 16, 3, 224, 224]
 * ```
 *
 * Needs `ffmpeg` and `ffprobe` (Debian's `ffmpeg` package; `npm install` installs it when it
 * runs as root with apt). `FFMPEG_PATH` and `FFPROBE_PATH` override where they are looked for.
 * See docs/media.md.
 * @module
 */
import { invalidArgument } from '../core/errors';
import {
  batchError,
  checkVideoInput,
  decodeVideoInto,
  describeInput,
  MAX_FRAMES,
  resolveImageOptions,
  type ImageOptions,
  type MediaFailure,
  type ResolvedImageOptions,
} from './decode';
import { tensor, type Tensor } from '../tensor/tensor';
import { show } from '../core/validate';

export { ffmpegAvailable, probe, sampleIndices, type VideoInfo } from './decode';

/** Options of {@link frames}: those of `jepa.image.load` plus the number of frames. */
export interface VideoOptions extends ImageOptions {
  /** Frames sampled per video, evenly from the first to the last. Default 16. */
  numFrames?: number;
}

function resolveVideoOptions(options: unknown): { o: ResolvedImageOptions; numFrames: number } {
  const o = resolveImageOptions(options, 'options', ['numFrames']);
  const n = (options as VideoOptions | undefined)?.numFrames ?? 16;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_FRAMES) {
    throw invalidArgument(`expected \`options.numFrames\` to be an integer from 1 to ${MAX_FRAMES}, got ${show(n)}`);
  }
  return { o, numFrames: n };
}

/**
 * Samples `numFrames` frames evenly over a video ({@link sampleIndices}), scales and crops them
 * to `size` with ffmpeg and normalises them: [T, 3, H, W] float32, or [B, T, 3, H, W] for a list
 * of videos (decoded two at a time). Rejects with `JEPA_MEDIA_DECODE` naming the file (for a
 * list: every file that failed, also in the error's `failures`), `JEPA_FILE_NOT_FOUND`,
 * `JEPA_FFMPEG_NOT_FOUND`, or a `TypeError` for bad options.
 */
export async function frames(input: string | URL | readonly (string | URL)[], options?: VideoOptions): Promise<Tensor> {
  const { o, numFrames } = resolveVideoOptions(options);
  const clip = numFrames * 3 * o.height * o.width;
  if (Array.isArray(input)) {
    const inputs = input as readonly (string | URL)[];
    if (inputs.length === 0) throw invalidArgument('expected `input` to hold at least one video, got []');
    inputs.forEach((x, i) => checkVideoInput(x, `input[${i}]`));
    const out = new Float32Array(inputs.length * clip);
    const failures: MediaFailure[] = [];
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const i = next++;
        try {
          await decodeVideoInto(inputs[i], o, numFrames, out, i * clip, `input[${i}]`);
        } catch (e) {
          failures.push({ index: i, input: describeInput(inputs[i]), error: e as Error });
        }
      }
    };
    await Promise.all([worker(), worker()]);
    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index);
      const typeError = failures.find((f) => f.error instanceof TypeError);
      if (typeError) throw typeError.error;
      throw batchError('videos', inputs.length, failures);
    }
    return tensor(out, [inputs.length, numFrames, 3, o.height, o.width]);
  }
  const out = new Float32Array(clip);
  await decodeVideoInto(input, o, numFrames, out, 0);
  return tensor(out, [numFrames, 3, o.height, o.width]);
}
