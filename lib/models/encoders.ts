/**
 * Embedding encoders exported by `jepa-native export`: {@link ImageEncoder} (`clip-vision`: images
 * to L2-normalised embeddings, seed 004's vision encoder) and {@link TextEncoder} (`minilm`: token
 * ids to pooled, normalised sentence embeddings, seed 004's text encoder, with its tokenizer.json).
 *
 * ```js
 * const vision = await jepa.ImageEncoder.load('models/clip');
 * const e = await vision.encode(pixels);                // [B, 512]
 * const text = await jepa.TextEncoder.load('models/minilm');
 * const t = await text.encode(inputIds, attentionMask); // [B, 384]; text.tokenizerFile for the ids
 * ```
 * @module
 */
import * as path from 'node:path';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { checkTensor } from '../tensor/tensor';
import { checkDevice, checkFloat, checkMethods, checkShapeLike } from './jepa';
import { loadModule, loadModuleSync, type LoadModuleOptions, type Module } from './module';
import type { Tensor } from '../tensor/tensor';
import { expectKind, readModelInfo, type ModelInfo } from './folder';

function embedDimOf(info: ModelInfo): number | null {
  const out = info.output as { dim?: unknown } | undefined;
  return typeof out?.dim === 'number' ? out.dim : typeof info.embedDim === 'number' ? info.embedDim : null;
}

/**
 * An image encoder: `encode(images [B, C, H, W])` -> `[B, D]` embeddings, as the exported module
 * computes them (clip-vision: the projected CLIP image embedding divided by its L2 norm).
 */
export class ImageEncoder {
  /** The input after the batch dimension: [C, H, W]. */
  readonly inputShape: number[];
  /** Width of the embeddings (null when jepa.json does not say). */
  readonly embedDim: number | null;

  private constructor(
    readonly module: Module,
    readonly info: ModelInfo,
  ) {
    checkMethods(module, ['forward', 'input_shape'], 'image encoder');
    this.inputShape = module.runSync('input_shape') as number[];
    this.embedDim = embedDimOf(info);
  }

  /** Loads a model folder of kind `image-encoder` (`jepa-native export clip-vision`). */
  static async load(dir: string, options?: LoadModuleOptions): Promise<ImageEncoder> {
    const info = ImageEncoder.#info(dir);
    return new ImageEncoder(await loadModule(path.join(dir, info.files.encoder), options), info);
  }

  /** Like {@link load} on the calling thread. */
  static loadSync(dir: string, options?: LoadModuleOptions): ImageEncoder {
    const info = ImageEncoder.#info(dir);
    return new ImageEncoder(loadModuleSync(path.join(dir, info.files.encoder), options), info);
  }

  static #info(dir: string): ModelInfo {
    const info = readModelInfo(dir);
    expectKind(dir, info, ['image-encoder'], 'jepa.ImageEncoder.load');
    return info;
  }

  /** Embeddings of an image batch `[B, C, H, W]` (preprocessed as `info.preprocess` says), on a worker thread. */
  async encode(images: Tensor): Promise<Tensor> {
    const t = checkTensor(images, 'images');
    checkShapeLike(t, 'images', [null, ...this.inputShape], `an image batch [B, ${this.inputShape.join(', ')}]`);
    checkFloat(t, 'images', this.module);
    checkDevice(t, 'images', this.module);
    return (await this.module.forward(t)) as Tensor;
  }

  dispose(): void {
    this.module.dispose();
  }
}

/**
 * A text encoder: `encode(inputIds, attentionMask)` -> `[B, D]` sentence embeddings (minilm: BERT,
 * mean pooling over the attention mask, L2 normalisation, as SentenceTransformer.encode). The ids
 * come from the folder's tokenizer (`tokenizerFile`, a Hugging Face tokenizer.json), padded to a
 * common length with `attentionMask` 0 on the padding and at most `maxLength` tokens.
 */
export class TextEncoder {
  /** The folder's tokenizer.json. */
  readonly tokenizerFile: string;
  /** The longest sequence to feed (the tokenizer's truncation length). */
  readonly maxLength: number | null;
  /** Width of the embeddings (null when jepa.json does not say). */
  readonly embedDim: number | null;

  private constructor(
    readonly module: Module,
    readonly info: ModelInfo,
    dir: string,
  ) {
    checkMethods(module, ['forward'], 'text encoder');
    this.tokenizerFile = path.join(dir, info.files.tokenizer);
    this.maxLength = typeof info.input?.maxLength === 'number' ? info.input.maxLength : null;
    this.embedDim = embedDimOf(info);
  }

  /** Loads a model folder of kind `text-encoder` (`jepa-native export minilm`). */
  static async load(dir: string, options?: LoadModuleOptions): Promise<TextEncoder> {
    const info = TextEncoder.#info(dir);
    return new TextEncoder(await loadModule(path.join(dir, info.files.encoder), options), info, dir);
  }

  /** Like {@link load} on the calling thread. */
  static loadSync(dir: string, options?: LoadModuleOptions): TextEncoder {
    const info = TextEncoder.#info(dir);
    return new TextEncoder(loadModuleSync(path.join(dir, info.files.encoder), options), info, dir);
  }

  static #info(dir: string): ModelInfo {
    const info = readModelInfo(dir);
    expectKind(dir, info, ['text-encoder'], 'jepa.TextEncoder.load');
    return info;
  }

  /** Sentence embeddings of int64 `inputIds` and `attentionMask` `[B, L]` (1 = token, 0 = padding), on a worker thread. */
  async encode(inputIds: Tensor, attentionMask: Tensor): Promise<Tensor> {
    const ids = checkTensor(inputIds, 'inputIds');
    const mask = checkTensor(attentionMask, 'attentionMask');
    for (const [t, name] of [
      [ids, 'inputIds'],
      [mask, 'attentionMask'],
    ] as const) {
      if (t.dtype !== 'int64')
        throw invalidArgument(`expected \`${name}\` to hold int64 token ids / flags, got dtype ${t.dtype}`);
      checkDevice(t, name, this.module);
    }
    if (ids.ndim !== 2 || mask.ndim !== 2 || ids.shape[0] !== mask.shape[0] || ids.shape[1] !== mask.shape[1]) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected \`inputIds\` and \`attentionMask\` to have the same shape [B, L], got [${ids.shape.join(', ')}] and [${mask.shape.join(', ')}]`,
      );
    }
    if (this.maxLength !== null && ids.shape[1] > this.maxLength) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `expected at most ${this.maxLength} tokens per text (the model's maxLength), got ${ids.shape[1]}`,
      );
    }
    return (await this.module.forward(ids, mask)) as Tensor;
  }

  dispose(): void {
    this.module.dispose();
  }
}
