/**
 * I-JEPA's recipe: a config in the shape of facebookresearch/ijepa `configs/*.yaml` (`data`,
 * `logging`, `mask`, `meta`, `optimization`) read as its `src/train.py` and `src/helper.py`
 * read it. Keys that decide the training arithmetic are required where train.py requires them;
 * paths and loader settings are passed through in `data` / `logging` when present.
 * @module
 */
import { TRAINER_DEFAULTS } from '../defaults';
import { Fields, REQUIRED, type ConfigObject } from './fields';
import { officialSchedules } from './schedules';
import { requireStepsPerEpoch } from './steps';
import type { Recipe, RecipeContext, RecipeModule } from './types';

const SOURCE = "facebookresearch/ijepa's src/train.py";

function read(config: ConfigObject, context: RecipeContext): Recipe {
  const root = Fields.root(config, SOURCE);
  const meta = root.section('meta', true);
  const data = root.section('data', true);
  const mask = root.section('mask', true);
  const opt = root.section('optimization', true);
  const logging = root.section('logging');
  const d = TRAINER_DEFAULTS.ijepa;

  const ipe = requireStepsPerEpoch(context, 'I-JEPA', 'len(unsupervised_loader)');
  const epochs = opt.number('epochs', REQUIRED, { integer: true, min: 1 });
  const schedules = officialSchedules({
    ipe,
    epochs,
    ipeScale: opt.number('ipe_scale', REQUIRED),
    warmup: opt.number('warmup', REQUIRED, { min: 0 }),
    startLr: opt.number('start_lr', REQUIRED),
    lr: opt.number('lr', REQUIRED),
    finalLr: opt.number('final_lr', REQUIRED),
    weightDecay: opt.number('weight_decay', REQUIRED, { float: true }),
    finalWeightDecay: opt.number('final_weight_decay', REQUIRED, { float: true }),
    ema: opt.pair('ema', REQUIRED),
  });
  const cropSize = data.number('crop_size', REQUIRED, { integer: true, positive: true });
  const patchSize = mask.number('patch_size', REQUIRED, { integer: true, positive: true });
  const batchSize = data.number('batch_size', REQUIRED, { integer: true, positive: true });
  const notes: string[] = [
    'data augmentation (crop_scale, flips, colour distortion, blur) belongs to the data loader: the trainer takes the batches it is given',
  ];
  return {
    family: 'ijepa',
    trainer: {
      kind: 'ijepa',
      ...schedules,
      betas: [d.betas[0], d.betas[1]],
      eps: d.eps,
      excludeBiasAndNorm: d.excludeBiasAndNorm,
      clipGrad: null,
      clipGradFrom: 0,
      emaFormula: d.emaFormula,
      normalizeTargets: true,
      bf16: meta.boolean('use_bfloat16', REQUIRED),
    },
    masks: {
      kind: 'multiblock',
      options: {
        inputSize: cropSize,
        patchSize,
        batchSize,
        encMaskScale: mask.pair('enc_mask_scale', REQUIRED),
        predMaskScale: mask.pair('pred_mask_scale', REQUIRED),
        aspectRatio: mask.pair('aspect_ratio', REQUIRED),
        nenc: mask.number('num_enc_masks', REQUIRED, { integer: true, positive: true }),
        npred: mask.number('num_pred_masks', REQUIRED, { integer: true, positive: true }),
        minKeep: mask.number('min_keep', REQUIRED, { integer: true, min: 0 }),
        allowOverlap: mask.boolean('allow_overlap', REQUIRED),
        positionSeed: 0,
      },
    },
    model: {
      modelName: meta.string('model_name', REQUIRED),
      cropSize,
      patchSize,
      numPatches: Math.floor(cropSize / patchSize) ** 2,
      predDepth: meta.number('pred_depth', REQUIRED, { integer: true, positive: true }),
      predEmbedDim: meta.number('pred_emb_dim', REQUIRED, { integer: true, positive: true }),
      numMaskTokens: 0,
    },
    data: {
      batchSize,
      cropSize,
      cropScale: data.has('crop_scale') ? data.pair('crop_scale', REQUIRED) : null,
      rootPath: data.string('root_path', null),
      imageFolder: data.string('image_folder', null),
      useGaussianBlur: data.has('use_gaussian_blur') ? data.boolean('use_gaussian_blur', false) : false,
      useHorizontalFlip: data.has('use_horizontal_flip') ? data.boolean('use_horizontal_flip', false) : false,
      useColorDistortion: data.has('use_color_distortion') ? data.boolean('use_color_distortion', false) : false,
      colorJitterStrength: data.optionalNumber('color_jitter_strength', 0),
    },
    seed: 0,
    stepsPerEpoch: ipe,
    epochs,
    totalSteps: epochs * ipe,
    logging: { folder: logging.string('folder', null), tag: logging.string('write_tag', null) },
    notes,
  };
}

/** facebookresearch/ijepa. */
export const ijepaRecipe: RecipeModule = {
  family: 'ijepa',
  aliases: ['i-jepa'],
  // I-JEPA's configs: `mask.num_enc_masks` and `meta.pred_emb_dim`, no `app` key.
  matches: (c) => {
    const mask = c.mask as ConfigObject | undefined;
    const meta = c.meta as ConfigObject | undefined;
    return (
      c.app === undefined &&
      !!mask &&
      typeof mask === 'object' &&
      'num_enc_masks' in mask &&
      !!meta &&
      'pred_emb_dim' in meta
    );
  },
  read,
};
