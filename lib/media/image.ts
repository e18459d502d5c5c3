/**
 * Images from files or encoded bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF, ...) as normalised
 * float32 tensors, preprocessed as the Python pipelines do.
 *
 * ```js
 * const x = await jepa.image.load('photo.jpg', { preset: 'imagenet-eval' });  // [3, 224, 224] float32
 * const batch = await jepa.image.load(['a.jpg', 'b.png'], { preset: 'vjepa2', size: 384 }); // [2, 3, 384, 384]
 * ```
 *
 * Decoding is sharp's (libvips), to the bytes PIL's `Image.open(f).convert('RGB')` gives; the
 * resize, crop and normalisation run on a worker thread with libtorch's own interpolation kernels,
 * the ones torchvision's tensor transforms and transformers' fast processors call, so a preset's
 * result is the same float32 values as its Python pipeline. See docs/media.md.
 * @module
 */
import { invalidArgument } from '../core/errors';
import {
  batchError,
  decodeImageInto,
  describeInput,
  mapLimit,
  type ImageInput,
  type ImageOptions,
  type MediaFailure,
} from './decode';
import { resolvePreprocess } from './preprocess';
import { tensor, type Tensor } from '../tensor/tensor';

export { type ImageInput, type ImageOptions, type MediaFailure } from './decode';
export {
  CLIP_MEAN,
  CLIP_STD,
  IMAGENET_MEAN,
  IMAGENET_STD,
  PRESETS,
  type Convention,
  type Interpolation,
  type PresetName,
  type PreprocessOptions,
  type ResizeFit,
  type ResizeOptions,
} from './preprocess';

/** Images of a list decoded at once (libvips and the preprocessing each use a few threads). */
const DECODE_LIMIT = 8;

/**
 * Decodes and preprocesses one image (a path, a `file:` URL or the encoded bytes) into a
 * normalised float32 tensor [3, H, W], or a list of images into [B, 3, H, W]. Decoding runs on
 * libvips' threads, preprocessing on a worker thread; the Promise rejects with
 * `JEPA_MEDIA_DECODE` naming the file (for a list: every file that failed, also in the error's
 * `failures`), `JEPA_FILE_NOT_FOUND`, or a `TypeError` for bad options.
 */
export async function load(input: ImageInput | readonly ImageInput[], options?: ImageOptions): Promise<Tensor> {
  const o = resolvePreprocess(options);
  const plane = 3 * o.height * o.width;
  if (Array.isArray(input)) {
    const inputs = input as readonly ImageInput[];
    if (inputs.length === 0) throw invalidArgument('expected `input` to hold at least one image, got []');
    const out = new Float32Array(inputs.length * plane);
    const failures: MediaFailure[] = [];
    await mapLimit(inputs, DECODE_LIMIT, async (x, i) => {
      try {
        await decodeImageInto(x, o, out, i * plane, `input[${i}]`);
      } catch (e) {
        failures.push({ index: i, input: describeInput(x), error: e as Error });
      }
    });
    failures.sort((a, b) => a.index - b.index);
    if (failures.length > 0) {
      const typeError = failures.find((f) => f.error instanceof TypeError);
      if (typeError) throw typeError.error;
      throw batchError('images', inputs.length, failures);
    }
    return tensor(out, [inputs.length, 3, o.height, o.width]);
  }
  const out = new Float32Array(plane);
  await decodeImageInto(input, o, out, 0);
  return tensor(out, [3, o.height, o.width]);
}
