/**
 * Seed 004's VL-JEPA as one object: a frozen image encoder (`jepa-native export clip-vision`),
 * the trained predictor (`jepa-native export module --kind vl-predictor`) and a frozen text
 * encoder (`jepa-native export minilm`, tokenised in JS from its tokenizer.json). Zero-shot
 * classification from image files and label strings, and the seed's training loop from a CSV of
 * `image_name,comment` and an image folder.
 *
 * ```js
 * const vl = await jepa.VisionLanguageModel.load('models/vl');   // vision/, predictor/, text/ inside
 * const [ranking] = await vl.zeroShot(['photo.jpg'], ['a dog', 'a cat', 'a bridge']);
 * ranking[0];                                                      // { label: 'a dog', score: 0.83, index: 0 }
 * const { trainer } = await vl.train({ csv: 'unique_caption.csv', imageDir: 'my_image_archive', epochs: 10 });
 * ```
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { checkOptions, isPlainObject, show } from '../core/validate';
import { disposeAll } from '../data/collate';
import { CaptionDataset, type CaptionSample } from '../data/datasets';
import { DataLoader } from '../data/loader';
import type { ImageInput } from '../media/image';
import type { Tensor } from '../tensor/tensor';
import { Trainer, type TrainingBatch } from '../train/trainer';
import type { FitOptions, FitResult } from '../train/fit';
import type { TrainerOptions } from '../train/options';
import { ImageEncoder, TextEncoder } from './encoders';
import { modelFolder, type ModelKind } from './folder';
import { VisionLanguagePredictor, type LabelScore } from './jepa';
import type { LoadModuleOptions } from './module';

/** Where the three parts of a {@link VisionLanguageModel} are: exported model folders. */
export interface VisionLanguagePaths {
  /** An `image-encoder` folder (`jepa-native export clip-vision`). */
  vision: string;
  /** A `vl-predictor` folder (`jepa-native export module --kind vl-predictor`) or TorchScript file. */
  predictor: string;
  /** A `text-encoder` folder (`jepa-native export minilm`). */
  text: string;
}

/** The collated batch of a {@link CaptionDataset} (what {@link VisionLanguageModel.captionData}'s loader gives). */
export interface CaptionBatch {
  image: Tensor;
  caption: string[];
  path: string[];
}

/** Options of {@link VisionLanguageModel.train}: seed 004's `train.py` defaults unless given. */
export interface VisionLanguageTrainOptions {
  /** The CSV of `image_name,comment` rows (seed 004's `unique_caption.csv`). */
  csv: string;
  /** The folder of the images the CSV names (seed 004's `my_image_archive/`). */
  imageDir: string;
  /** Other CSV column names than `image_name`, `comment`. */
  columns?: { image?: string; caption?: string };
  /** Default 10 (seed 004). */
  epochs?: number;
  /** Default 16 (seed 004). */
  batchSize?: number;
  /** Default true (seed 004's `DataLoader(shuffle=True)`). */
  shuffle?: boolean;
  /** The seed of the shuffling (`torch.Generator().manual_seed(seed)`); default random. */
  seed?: number | bigint;
  /** Learning rate. Default 1e-4 (seed 004). */
  lr?: TrainerOptions['lr'];
  /** Other trainer options (AdamW's weight decay, betas, eps: torch.optim.AdamW's defaults). */
  trainer?: Omit<TrainerOptions, 'kind' | 'model' | 'lr'>;
  /** Options of the epoch loop (`trainer.fit`): callbacks, checkpoints, progress. */
  fit?: Omit<FitOptions, 'data' | 'epochs' | 'toBatch'>;
}

const PARTS: [keyof VisionLanguagePaths, ModelKind][] = [
  ['vision', 'image-encoder'],
  ['predictor', 'vl-predictor'],
  ['text', 'text-encoder'],
];

/**
 * The folders of a VL model directory: the sub-folders of `dir` whose jepa.json is of kind
 * `image-encoder`, `vl-predictor` and `text-encoder` (one of each; their names do not matter,
 * `vision/`, `predictor/`, `text/` by convention). `overrides` replaces any of them.
 */
export function findVisionLanguageParts(
  dir: string | null,
  overrides: Partial<VisionLanguagePaths> = {},
): VisionLanguagePaths {
  const found: Partial<Record<keyof VisionLanguagePaths, string[]>> = {};
  if (dir !== null) {
    if (typeof dir !== 'string' || !fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new JepaError(
        ErrorCode.FILE_NOT_FOUND,
        `no such folder: ${show(dir)} (expected a folder with the exported vision encoder, predictor and text encoder)`,
      );
    }
    for (const name of fs.readdirSync(dir).sort()) {
      const sub = path.join(dir, name);
      const info = modelFolder(sub);
      const part = info && PARTS.find(([, kind]) => kind === info.kind);
      if (part) (found[part[0]] ??= []).push(sub);
    }
  }
  const out: Partial<VisionLanguagePaths> = {};
  for (const [key, kind] of PARTS) {
    const given = overrides[key];
    if (given !== undefined) {
      if (typeof given !== 'string' || given.length === 0)
        throw invalidArgument(`expected \`${key}\` to be a path, got ${show(given)}`);
      out[key] = given;
      continue;
    }
    const list = found[key] ?? [];
    if (list.length !== 1) {
      throw new JepaError(
        list.length === 0 ? ErrorCode.FILE_NOT_FOUND : ErrorCode.MODEL_FOLDER_INVALID,
        dir === null
          ? `no ${key} model given (a "${kind}" folder)`
          : list.length === 0
            ? `${dir} has no sub-folder with a "${kind}" model (the ${key} part: see docs/models.md, "VL-JEPA")`
            : `${dir} has ${list.length} "${kind}" models (${list.map((p) => path.basename(p)).join(', ')}): keep one, or name it`,
      );
    }
    out[key] = list[0];
  }
  return out as VisionLanguagePaths;
}

/**
 * Seed 004's pipeline: image -> {@link ImageEncoder} (frozen) -> {@link VisionLanguagePredictor}
 * -> a predicted text embedding, compared by cosine similarity with the {@link TextEncoder}'s
 * embeddings of texts. Equal to the Python pipeline (transformers' tokenizer, BertModel with mean
 * pooling and L2 normalisation, CLIPVisionModelWithProjection, the seed's predictor) within 1e-5,
 * token ids identical (test/vl.test.mjs).
 */
export class VisionLanguageModel {
  private constructor(
    readonly vision: ImageEncoder,
    readonly predictor: VisionLanguagePredictor,
    readonly text: TextEncoder,
  ) {
    if (vision.embedDim !== null && vision.embedDim !== predictor.inputDim) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `the vision encoder gives ${vision.embedDim}-wide embeddings, the predictor takes ${predictor.inputDim}`,
      );
    }
    if (text.embedDim !== null && text.embedDim !== predictor.outputDim) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `the predictor predicts ${predictor.outputDim}-wide text embeddings, the text encoder gives ${text.embedDim}`,
      );
    }
  }

  /**
   * Loads the three parts: from a folder holding them as sub-folders (see
   * {@link findVisionLanguageParts}), or from their paths, or a folder plus some paths that
   * replace its parts (`{dir, predictor}`).
   */
  static async load(
    source: string | (Partial<VisionLanguagePaths> & { dir?: string }),
    options?: LoadModuleOptions,
  ): Promise<VisionLanguageModel> {
    let paths: VisionLanguagePaths;
    if (typeof source === 'string') paths = findVisionLanguageParts(source);
    else if (isPlainObject(source)) {
      const o = checkOptions(source, 'source', ['dir', 'vision', 'predictor', 'text']);
      if (o.dir !== undefined && typeof o.dir !== 'string')
        throw invalidArgument(`expected \`source.dir\` to be a folder path, got ${show(o.dir)}`);
      paths = findVisionLanguageParts((o.dir as string | undefined) ?? null, o as Partial<VisionLanguagePaths>);
    } else {
      throw invalidArgument(
        `expected \`source\` to be a folder or {vision, predictor, text} paths, got ${show(source)}`,
      );
    }
    const vision = await ImageEncoder.load(paths.vision, options);
    try {
      const predictor = await VisionLanguagePredictor.load(paths.predictor, options);
      try {
        const text = await TextEncoder.load(paths.text, options);
        try {
          return new VisionLanguageModel(vision, predictor, text);
        } catch (e) {
          text.dispose();
          throw e;
        }
      } catch (e) {
        predictor.dispose();
        throw e;
      }
    } catch (e) {
      vision.dispose();
      throw e;
    }
  }

  /** The vision encoder's embeddings of image files (or bytes), preprocessed as its jepa.json says: [B, D]. */
  encodeImages(images: ImageInput | readonly ImageInput[]): Promise<Tensor> {
    return this.vision.encodeImages(images);
  }

  /** The text encoder's embeddings of texts (tokenised in JS): [B, D']. */
  encodeTexts(texts: string | readonly string[]): Promise<Tensor> {
    return this.text.embed(texts);
  }

  /** Predicted text embeddings of images (the predictor on {@link encodeImages}): [B, D']. */
  async predictTexts(images: ImageInput | readonly ImageInput[]): Promise<Tensor> {
    const e = await this.encodeImages(images);
    try {
      return await this.predictor.predict(e);
    } finally {
      e.dispose();
    }
  }

  /**
   * Zero-shot classification as seed 004's `eval.py`: for each image, the cosine similarity of
   * its predicted text embedding with the embedding of each label; one ranking per image, best
   * first (ties keep the labels' order).
   */
  async zeroShot(images: ImageInput | readonly ImageInput[], labels: readonly string[]): Promise<LabelScore[][]> {
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
      throw invalidArgument(`expected \`labels\` to be a non-empty array of strings, got ${show(labels)}`);
    }
    const imageEmbeddings = await this.encodeImages(images);
    let labelEmbeddings: Tensor | undefined;
    try {
      labelEmbeddings = await this.encodeTexts(labels);
      const out = await this.predictor.zeroShot(imageEmbeddings, labelEmbeddings, [...labels]);
      return out as LabelScore[][];
    } finally {
      imageEmbeddings.dispose();
      labelEmbeddings?.dispose();
    }
  }

  /**
   * The data of seed 004's training loop: a {@link DataLoader} over a {@link CaptionDataset}
   * (images preprocessed as the vision encoder's jepa.json says), and the `toBatch` that turns a
   * batch into the trainer's `{imageEmbeddings, textEmbeddings}` with both encoders frozen
   * (eval mode: no autograd graph). The embeddings of a batch are disposed when the next batch
   * is made, and by `toBatch.dispose()`.
   */
  captionData(
    options: Pick<VisionLanguageTrainOptions, 'csv' | 'imageDir' | 'columns' | 'batchSize' | 'shuffle' | 'seed'>,
  ): {
    data: DataLoader<CaptionSample, CaptionBatch>;
    toBatch: ((b: CaptionBatch) => Promise<TrainingBatch>) & { dispose(): void };
  } {
    const o = checkOptions(options, 'options', ['csv', 'imageDir', 'columns', 'batchSize', 'shuffle', 'seed']);
    const dataset = new CaptionDataset(o.csv as string, o.imageDir as string, {
      image: this.vision.preprocess,
      ...(o.columns !== undefined ? { columns: o.columns as VisionLanguageTrainOptions['columns'] } : {}),
    });
    const data = new DataLoader(dataset, {
      batchSize: (o.batchSize as number | undefined) ?? 16,
      shuffle: (o.shuffle as boolean | undefined) ?? true,
      ...(o.seed !== undefined ? { seed: o.seed as number | bigint } : {}),
    }) as unknown as DataLoader<CaptionSample, CaptionBatch>;
    let last: Tensor[] = [];
    const toBatch = Object.assign(
      async (b: CaptionBatch): Promise<TrainingBatch> => {
        disposeAll(last);
        last = [];
        const device = this.vision.module.device;
        const pixels = b.image.device === device ? b.image : b.image.to({ device: device as never });
        try {
          const imageEmbeddings = await this.vision.encode(pixels);
          last.push(imageEmbeddings);
          const textEmbeddings = await this.text.embed(b.caption);
          last.push(textEmbeddings);
          return { imageEmbeddings, textEmbeddings };
        } finally {
          if (pixels !== b.image) pixels.dispose();
        }
      },
      {
        dispose: () => {
          disposeAll(last);
          last = [];
        },
      },
    );
    return { data, toBatch };
  }

  /**
   * Seed 004's `train.py`: AdamW (lr 1e-4, torch.optim.AdamW's other defaults) on the predictor,
   * loss `1 - cosine_similarity(predictor(vision(images)), text(captions)).mean()`, batches of 16
   * shuffled each epoch, 10 epochs; the encoders stay frozen. Trains this model's predictor in
   * place (it is left in train mode; call `predictor.module.eval()` before inference, or save it
   * with `predictor.module.save(...)`).
   */
  async train(options: VisionLanguageTrainOptions): Promise<{ trainer: Trainer; result: FitResult }> {
    const o = checkOptions(options, 'options', [
      'csv',
      'imageDir',
      'columns',
      'epochs',
      'batchSize',
      'shuffle',
      'seed',
      'lr',
      'trainer',
      'fit',
    ]);
    const epochs = (o.epochs as number | undefined) ?? 10;
    const { data, toBatch } = this.captionData({
      csv: o.csv as string,
      imageDir: o.imageDir as string,
      ...(o.columns !== undefined ? { columns: o.columns as VisionLanguageTrainOptions['columns'] } : {}),
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize as number } : {}),
      ...(o.shuffle !== undefined ? { shuffle: o.shuffle as boolean } : {}),
      ...(o.seed !== undefined ? { seed: o.seed as number | bigint } : {}),
    });
    const trainer = new Trainer({
      ...((o.trainer as object | undefined) ?? {}),
      kind: 'vl',
      model: this.predictor.module,
      lr: (o.lr as TrainerOptions['lr'] | undefined) ?? 1e-4,
    });
    try {
      const result = await trainer.fit({
        ...((o.fit as object | undefined) ?? {}),
        data: data as unknown as DataLoader<unknown, CaptionBatch>,
        epochs,
        toBatch,
      });
      return { trainer, result };
    } finally {
      toBatch.dispose();
    }
  }

  dispose(): void {
    this.vision.dispose();
    this.predictor.dispose();
    this.text.dispose();
  }
}
