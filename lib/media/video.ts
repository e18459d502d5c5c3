/**
 * Video clips as normalised float32 tensors: frames chosen as V-JEPA's data loader chooses them
 * (clips of `numFrames` frames every `frameStep` frames) or spread evenly over the video, decoded
 * by ffmpeg (a child process, asynchronous, seeking accurately to each clip) and preprocessed as
 * {@link image.load} does.
 *
 * ```js
 * const clip = await jepa.video.frames('clip.mp4', { preset: 'vjepa2', numFrames: 16, frameStep: 4 }); // [16, 3, 256, 256]
 * const batch = await jepa.video.frames(['a.mp4', 'b.webm'], { numClips: 2 });                      // [2, 2, 16, 3, 224, 224]
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
  mapLimit,
  type MediaFailure,
  type VideoInfo,
} from './decode';
import { PREPROCESS_KEYS, resolvePreprocess, type PreprocessOptions } from './preprocess';
import { resolveSampling, sampleClips, SAMPLING_KEYS, type SamplingOptions } from './sampling';
import { tensor, type Tensor } from '../tensor/tensor';

export { ffmpegAvailable, probe, type VideoInfo } from './decode';
export {
  linspace,
  MAX_FRAMES,
  sampleClips,
  sampleIndices,
  type ClipStart,
  type SamplingOptions,
  type VideoLength,
} from './sampling';

/** Options of {@link frames}: the preprocessing of `jepa.image.load` plus which frames to take. */
export interface VideoOptions extends PreprocessOptions, SamplingOptions {}

/**
 * Decodes the sampled frames of a video ({@link sampleClips}) and preprocesses them:
 * [T, 3, H, W] float32 for one clip, [numClips, T, 3, H, W] for several; a list of videos adds a
 * leading batch dimension (videos are decoded two at a time). Rejects with `JEPA_MEDIA_DECODE`
 * naming the file (for a list: every file that failed, also in the error's `failures`),
 * `JEPA_FILE_NOT_FOUND`, `JEPA_FFMPEG_NOT_FOUND`, or a `TypeError` for bad options.
 */
export async function frames(input: string | URL | readonly (string | URL)[], options?: VideoOptions): Promise<Tensor> {
  const o = resolvePreprocess(options, 'options', SAMPLING_KEYS);
  const s = resolveSampling(options, 'options', PREPROCESS_KEYS);
  const sampling = Object.fromEntries(
    SAMPLING_KEYS.filter((k) => options?.[k] !== undefined).map((k) => [k, options![k]]),
  );
  const sample = (info: VideoInfo) => sampleClips(info, sampling);
  const clipShape = [s.numFrames, 3, o.height, o.width];
  const shape = s.numClips > 1 ? [s.numClips, ...clipShape] : clipShape;
  const per = shape.reduce((a, b) => a * b, 1);
  if (Array.isArray(input)) {
    const inputs = input as readonly (string | URL)[];
    if (inputs.length === 0) throw invalidArgument('expected `input` to hold at least one video, got []');
    inputs.forEach((x, i) => checkVideoInput(x, `input[${i}]`));
    const out = new Float32Array(inputs.length * per);
    const failures: MediaFailure[] = [];
    await mapLimit(inputs, 2, async (x, i) => {
      try {
        await decodeVideoInto(x, o, sample, out, i * per, `input[${i}]`);
      } catch (e) {
        failures.push({ index: i, input: describeInput(x), error: e as Error });
      }
    });
    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index);
      const typeError = failures.find((f) => f.error instanceof TypeError);
      if (typeError) throw typeError.error;
      throw batchError('videos', inputs.length, failures);
    }
    return tensor(out, [inputs.length, ...shape]);
  }
  const out = new Float32Array(per);
  await decodeVideoInto(input, o, sample, out, 0);
  return tensor(out, shape);
}
