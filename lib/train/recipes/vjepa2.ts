/**
 * V-JEPA 2's recipe: a config in the shape of facebookresearch/vjepa2 `configs/train/<model>/<stage>.yaml`
 * (`app: vjepa`, `folder`, `data` with `dataset_fpcs`, `data_aug`, `loss`, `mask` (a list),
 * `meta`, `model`, `optimization`) read as its `app/vjepa/train.py` and `app/vjepa/utils.py`
 * read it: no gradient clipping, the foreach EMA, `mask_index` = the clip-length group's index,
 * and with `optimization.is_anneal` the linear lr decay of its cool-down configs.
 * @module
 */
import { TRAINER_DEFAULTS } from '../defaults';
import { Fields, REQUIRED, unsupported, type ConfigObject } from './fields';
import { officialSchedules } from './schedules';
import { checkStepsPerEpoch, requireStepsPerEpoch } from './steps';
import type { Recipe, RecipeContext, RecipeModule } from './types';
import { mixedPrecision, videoMasks } from './vjepa';

const SOURCE = "facebookresearch/vjepa2's app/vjepa/train.py";

function read(config: ConfigObject, context: RecipeContext): Recipe {
  const root = Fields.root(config, SOURCE);
  const meta = root.section('meta', true);
  const model = root.section('model', true);
  const data = root.section('data', true);
  const loss = root.section('loss', true);
  const opt = root.section('optimization', true);
  const d = TRAINER_DEFAULTS.vjepa2;
  const notes: string[] = [
    'data augmentation (data_aug) and clip sampling belong to the data loader: the trainer takes the batches it is given',
  ];

  const fpcs = data.numbers('dataset_fpcs', REQUIRED);
  // MaskCollator groups a batch by frames per clip; PredictorMultiSeqWrapper passes each group's
  // index as mask_index. With one distinct length there is one group: index 0.
  if (new Set(fpcs).size !== 1) {
    unsupported(
      `\`config.data.dataset_fpcs: [${fpcs.join(', ')}]\``,
      'a batch of clips of several lengths (one length per batch: every official config)',
    );
  }
  const ipe = opt.has('ipe')
    ? checkStepsPerEpoch(opt.number('ipe', REQUIRED))
    : requireStepsPerEpoch(context, 'V-JEPA 2', 'len(unsupervised_loader) (or optimization.ipe)');
  const epochs = opt.number('epochs', REQUIRED, { integer: true, min: 1 });
  const anneal = opt.boolean('is_anneal', false);
  if (anneal) {
    notes.push(
      'optimization.is_anneal: the official loop first loads optimization.anneal_ckpt (weights and optimizer, epoch 0): load that checkpoint into the trainer (trainer.load) before training',
    );
  }
  const schedules = officialSchedules({
    ipe,
    epochs,
    ipeScale: opt.number('ipe_scale', 1.0),
    warmup: anneal ? opt.number('warmup', 0) : opt.number('warmup', REQUIRED, { min: 0 }),
    startLr: anneal ? opt.number('start_lr', 0) : opt.number('start_lr', REQUIRED),
    lr: opt.number('lr', REQUIRED),
    finalLr: opt.number('final_lr', REQUIRED),
    weightDecay: opt.number('weight_decay', REQUIRED, { float: true }),
    finalWeightDecay: opt.number('final_weight_decay', REQUIRED, { float: true }),
    ema: opt.pair('ema', REQUIRED),
    anneal,
  });
  const cropSize = data.number('crop_size', 224, { integer: true, positive: true });
  const patchSize = data.number('patch_size', REQUIRED, { integer: true, positive: true });
  const tubeletSize = data.number('tubelet_size', REQUIRED, { integer: true, positive: true });
  const batchSize = data.number('batch_size', REQUIRED, { integer: true, positive: true });
  const numFrames = fpcs[0];
  const seed = meta.number('seed', 0, { integer: true, min: 0 });
  const masks = videoMasks(root, {
    maskType: 'multiblock3d',
    cropSize,
    numFrames,
    patchSize,
    tubeletSize,
    batchSize,
    seed,
  });
  const numConfigs = root.sections('mask').length;
  return {
    family: 'vjepa2',
    trainer: {
      kind: 'vjepa2',
      ...schedules,
      betas: opt.pair('betas', d.betas),
      eps: opt.number('eps', d.eps, { positive: true }),
      excludeBiasAndNorm: true,
      clipGrad: null,
      clipGradFrom: 0,
      emaFormula: d.emaFormula,
      normalizeTargets: true,
      lossExp: loss.number('loss_exp', REQUIRED, { positive: true }),
      maskIndex: 0,
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
      predNumHeads: model.optionalNumber('pred_num_heads'),
      useRope: model.boolean('use_rope', false),
      uniformPower: model.boolean('uniform_power', false),
      // init_video_model(num_mask_tokens=int(len(cfgs_mask) * len(dataset_fpcs))).
      numMaskTokens: numConfigs * fpcs.length,
      zeroInitMaskTokens: model.boolean('zero_init_mask_tokens', true),
    },
    data: {
      batchSize,
      cropSize,
      numFrames,
      tubeletSize,
      datasetFpcs: fpcs,
      fps: data.optionalNumber('fps'),
      datasets: data.raw('datasets') ?? [],
      datasetType: data.string('dataset_type', 'videodataset'),
    },
    seed,
    stepsPerEpoch: ipe,
    epochs,
    totalSteps: epochs * ipe,
    logging: { folder: root.string('folder', null), tag: null },
    notes,
  };
}

/** facebookresearch/vjepa2 (V-JEPA 2). */
export const vjepa2Recipe: RecipeModule = {
  family: 'vjepa2',
  aliases: ['v-jepa2', 'v-jepa-2'],
  // V-JEPA 2's configs: `app: vjepa` with `data.dataset_fpcs`.
  matches: (c) => {
    const data = c.data as ConfigObject | undefined;
    return c.app === 'vjepa' && !!data && typeof data === 'object' && 'dataset_fpcs' in data;
  },
  read,
};
