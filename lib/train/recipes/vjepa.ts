/**
 * V-JEPA's recipe: a config in the shape of facebookresearch/jepa `configs/pretrain/*.yaml`
 * (`app: vjepa`, `data`, `data_aug`, `logging`, `loss`, `mask` (a list), `meta`, `model`,
 * `optimization`) read as its `app/vjepa/train.py` and `app/vjepa/utils.py` read it, with
 * their `cfg.get(key, default)` defaults.
 * @module
 */
import { TRAINER_DEFAULTS } from '../defaults';
import { Fields, REQUIRED, unsupported, type ConfigObject } from './fields';
import { officialSchedules } from './schedules';
import { checkStepsPerEpoch, requireStepsPerEpoch } from './steps';
import type { Recipe, RecipeContext, RecipeModule } from './types';

const SOURCE = "facebookresearch/jepa's app/vjepa/train.py";

/** The mask configs of a V-JEPA / V-JEPA 2 config as a `multiblock3d` or `randomTube` sampler. */
export function videoMasks(
  root: Fields,
  o: {
    maskType: string;
    cropSize: number;
    numFrames: number;
    patchSize: number;
    tubeletSize: number;
    batchSize: number;
    seed: number;
  },
): NonNullable<Recipe['masks']> {
  const cfgs = root.sections('mask');
  const common = {
    cropSize: o.cropSize,
    numFrames: o.numFrames,
    patchSize: o.patchSize,
    tubeletSize: o.tubeletSize,
    batchSize: o.batchSize,
    positionSeed: o.seed,
  };
  if (o.maskType !== 'multiblock3d') {
    // app/vjepa/train.py: any other mask_type is the random-tube collator, one generator per config.
    if (cfgs.length !== 1) {
      unsupported(
        `a random-tube mask with ${cfgs.length} configs`,
        'jepa.masks.MaskSampler draws one random-tube config per batch',
      );
    }
    return { kind: 'randomTube', options: { ...common, ratio: cfgs[0].number('ratio', REQUIRED) } };
  }
  const configs = cfgs.map((m) => {
    for (const key of ['full_complement', 'pred_full_complement', 'inv_block']) {
      if (m.has(key) && m.raw(key) !== false)
        unsupported(
          `\`${m.path}.${key}: ${String(m.raw(key))}\``,
          'the multiblock3d sampler draws the official default (false)',
        );
    }
    return {
      spatialScale: m.pair('spatial_scale', REQUIRED),
      temporalScale: m.pair('temporal_scale', REQUIRED),
      aspectRatio: m.pair('aspect_ratio', REQUIRED),
      numBlocks: m.number('num_blocks', REQUIRED, { integer: true, positive: true }),
      maxTemporalKeep: m.number('max_temporal_keep', 1.0),
      maxKeep: m.has('max_keep') ? m.number('max_keep', REQUIRED, { integer: true, positive: true }) : null,
    };
  });
  return { kind: 'multiblock3d', options: { ...common, configs } };
}

/** `meta.dtype` as the official loops read it: bfloat16 / float16 mixed precision, else float32. */
export function mixedPrecision(meta: Fields, notes: string[]): boolean {
  const dtype = meta.string('dtype', REQUIRED).toLowerCase();
  if (dtype === 'float16') {
    notes.push(
      'meta.dtype float16: the official loop autocasts to float16 with a GradScaler on CUDA; jepa-native autocasts to bfloat16 only, so this recipe trains in float32',
    );
    return false;
  }
  return dtype === 'bfloat16';
}

function read(config: ConfigObject, context: RecipeContext): Recipe {
  const root = Fields.root(config, SOURCE);
  const meta = root.section('meta', true);
  const model = root.section('model', true);
  const data = root.section('data', true);
  const loss = root.section('loss', true);
  const opt = root.section('optimization', true);
  const logging = root.section('logging');
  const d = TRAINER_DEFAULTS.vjepa;
  const notes: string[] = [
    'data augmentation (data_aug) and clip sampling belong to the data loader: the trainer takes the batches it is given',
  ];

  const ipe = opt.has('ipe')
    ? checkStepsPerEpoch(opt.number('ipe', REQUIRED))
    : requireStepsPerEpoch(context, 'V-JEPA', 'len(unsupervised_loader) (or optimization.ipe)');
  const epochs = opt.number('epochs', REQUIRED, { integer: true, min: 1 });
  const warmup = opt.number('warmup', REQUIRED, { min: 0 });
  const schedules = officialSchedules({
    ipe,
    epochs,
    ipeScale: opt.number('ipe_scale', 1.0),
    warmup,
    startLr: opt.number('start_lr', REQUIRED),
    lr: opt.number('lr', REQUIRED),
    finalLr: opt.number('final_lr', REQUIRED),
    weightDecay: opt.number('weight_decay', REQUIRED, { float: true }),
    finalWeightDecay: opt.number('final_weight_decay', REQUIRED, { float: true }),
    ema: opt.pair('ema', REQUIRED),
  });
  const clipGrad = opt.optionalNumber('clip_grad', null, { positive: true });
  if (!model.boolean('use_mask_tokens', true)) {
    unsupported(
      '`config.model.use_mask_tokens: false`',
      "the predictor's diffusion of the target tokens (its path without mask tokens) is not reproduced",
    );
  }
  const numClips = data.number('num_clips', REQUIRED, { integer: true, positive: true });
  if (numClips !== 1)
    unsupported(`\`config.data.num_clips: ${numClips}\``, 'one clip per video (every official config)');
  const cropSize = data.number('crop_size', 224, { integer: true, positive: true });
  const patchSize = data.number('patch_size', REQUIRED, { integer: true, positive: true });
  const numFrames = data.number('num_frames', REQUIRED, { integer: true, positive: true });
  const tubeletSize = data.number('tubelet_size', REQUIRED, { integer: true, positive: true });
  const batchSize = data.number('batch_size', REQUIRED, { integer: true, positive: true });
  const seed = meta.number('seed', 0, { integer: true, min: 0 });
  const masks = videoMasks(root, {
    maskType: data.string('mask_type', 'multiblock3d'),
    cropSize,
    numFrames,
    patchSize,
    tubeletSize,
    batchSize,
    seed,
  });
  const numConfigs = root.sections('mask').length;
  return {
    family: 'vjepa',
    trainer: {
      kind: 'vjepa',
      ...schedules,
      betas: opt.pair('betas', d.betas),
      eps: opt.number('eps', d.eps, { positive: true }),
      excludeBiasAndNorm: true,
      clipGrad,
      // `if (epoch > warmup) and (clip_grad is not None)`, with `itr in range(ipe)` per epoch.
      clipGradFrom: clipGrad === null ? 0 : (Math.floor(warmup) + 1) * ipe,
      emaFormula: d.emaFormula,
      normalizeTargets: true,
      lossExp: loss.number('loss_exp', REQUIRED, { positive: true }),
      regCoeff: loss.number('reg_coeff', REQUIRED),
      maskIndex: 'config',
      bf16: mixedPrecision(meta, notes),
    },
    masks,
    model: {
      modelName: model.string('model_name', REQUIRED),
      cropSize,
      patchSize,
      numFrames,
      tubeletSize,
      numPatches: Math.floor(numFrames / tubeletSize) * Math.floor(cropSize / patchSize) ** 2,
      predDepth: model.number('pred_depth', REQUIRED, { integer: true, positive: true }),
      predEmbedDim: model.number('pred_embed_dim', REQUIRED, { integer: true, positive: true }),
      uniformPower: model.boolean('uniform_power', true),
      numMaskTokens: numConfigs,
      zeroInitMaskTokens: model.boolean('zero_init_mask_tokens', true),
    },
    data: {
      batchSize,
      cropSize,
      numFrames,
      tubeletSize,
      numClips,
      samplingRate: data.optionalNumber('sampling_rate'),
      datasets: data.raw('datasets') ?? [],
      datasetType: data.string('dataset_type', 'videodataset'),
    },
    seed,
    stepsPerEpoch: ipe,
    epochs,
    totalSteps: epochs * ipe,
    logging: { folder: logging.string('folder', null), tag: logging.string('write_tag', null) },
    notes,
  };
}

/** facebookresearch/jepa (V-JEPA). */
export const vjepaRecipe: RecipeModule = {
  family: 'vjepa',
  aliases: ['v-jepa'],
  // V-JEPA's configs: `app: vjepa` with `data.num_frames` (V-JEPA 2's have `data.dataset_fpcs`).
  matches: (c) => {
    const data = c.data as ConfigObject | undefined;
    return c.app === 'vjepa' && !!data && typeof data === 'object' && 'num_frames' in data && !('dataset_fpcs' in data);
  },
  read,
};
