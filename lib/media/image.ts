/**
 * Images from files or encoded bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF, ...) as normalised
 * float32 tensors, decoded and resized by sharp (libvips, off the JS thread).
 *
 * ```js
 * const x = await jepa.image.load('photo.jpg');                       // [3, 224, 224] float32
 * const batch = await jepa.image.load(['a.jpg', 'b.png'], { size: 384 }); // [2, 3, 384, 384]
 * ```
 *
 * Pixels become `(x / 255 - mean) / std` per channel, computed in float32 exactly as
 * torchvision's `ToTensor()` + `Normalize(mean, std)` do (bit for bit), written straight from
 * sharp's raw RGB output into the tensor's memory (no other copy). See docs/media.md.
 * @module
 */
import { invalidArgument } from '../core/errors';
import { batchError, decodeImageInto, describeInput, resolveImageOptions, type ImageInput, type ImageOptions, type MediaFailure } from './decode';
import { tensor, type Tensor } from '../tensor/tensor';

export { IMAGENET_MEAN, IMAGENET_STD, type ImageInput, type ImageOptions, type MediaFailure, type ResizeFit } from './decode';

/**
 * Decodes and resizes one image (a path, a `file:` URL or the encoded bytes) into a normalised
 * float32 tensor [3, H, W], or a list of images into [B, 3, H, W]. Decoding runs on libvips'
 * threads; the Promise rejects with `JEPA_MEDIA_DECODE` naming the file (for a list: every file
 * that failed, also in the error's `failures`), `JEPA_FILE_NOT_FOUND`, or a `TypeError` for
 * bad options.
 */
export async function load(input: ImageInput | readonly ImageInput[], options?: ImageOptions): Promise<Tensor> {
  const o = resolveImageOptions(options);
  const plane = 3 * o.height * o.width;
  if (Array.isArray(input)) {
    const inputs = input as readonly ImageInput[];
    if (inputs.length === 0) throw invalidArgument('expected `input` to hold at least one image, got []');
    const out = new Float32Array(inputs.length * plane);
    const results = await Promise.allSettled(inputs.map((x, i) => decodeImageInto(x, o, out, i * plane, `input[${i}]`)));
    const failures: MediaFailure[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') failures.push({ index: i, input: describeInput(inputs[i]), error: r.reason as Error });
    });
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
