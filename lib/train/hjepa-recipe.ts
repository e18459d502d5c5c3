/**
 * jonwiggins/H-JEPA's training recipe in one place: the defaults of its code and of its
 * `configs/default.yaml`, and the reading of a config in that YAML shape into
 * {@link TrainerOptions}, mask-sampler options and the model's export settings, as its
 * `scripts/train.py` and `src/trainers/trainer.py` read it (including the keys they ignore).
 * See docs/training.md (H-JEPA) for every value and where it comes from.
 *
 * ```js
 * const recipe = jepa.hjepaRecipe(config, { stepsPerEpoch: Math.floor(datasetSize / 128) });
 * const trainer = new jepa.Trainer({ ...recipe.trainer, model, masks: new jepa.masks.MaskSampler('hjepa', recipe.masks.options) });
 * ```
 * @module
 */
import { invalidArgument } from '../core/errors';
import type { HJepaMaskOptions } from '../masks/options';
import type { ScheduleOptions } from './ema';
import { isPlainObject, show } from '../core/validate';
import { TRAINER_DEFAULTS } from './defaults';

/**
 * `loss.hierarchy_weights` for `levels` levels: configs/default.yaml's [1, 0.5, 0.25] for its 3
 * levels; for another count, halving per level likewise (jonwiggins' scripts/train.py requires
 * one weight per level and has no default for other counts).
 */
export function hjepaLevelWeights(levels: number): number[] {
  return Array.from({ length: levels }, (_, l) => 2 ** -l);
}

/**
 * What {@link hjepaRecipe} returns: a training recipe (the shape every recipe family of
 * jepa-native returns).
 */
export interface HJepaRecipe {
  /** The recipe family (the trainer kind). */
  family: 'hjepa';
  /** `jepa.Trainer` options (all but `model` and `masks`), every default of the official code filled in. */
  trainer: {
    kind: 'hjepa';
    lr: ScheduleOptions;
    weightDecay: number;
    momentum: ScheduleOptions;
    betas: [number, number];
    eps: number;
    excludeBiasAndNorm: boolean;
    clipGrad: number | null;
    lossType: 'mse' | 'smoothl1' | 'huber';
    huberDelta: number;
    normalizeEmbeddings: boolean;
    maskedLoss: boolean;
    levelWeights: number[];
    targetUpdate: 'beforeStep';
    emaFormula: 'foreach';
  };
  /** The mask generator scripts/train.py builds, as `new MaskSampler(masks.kind, masks.options)`. */
  masks: { kind: 'hjepa'; options: HJepaMaskOptions & { batchSize: number } };
  /** The model the config describes (scripts/models/hjepa.py `HJEPA` arguments, for export). */
  model: {
    encoderType: string;
    imageSize: number;
    embedDim: number;
    numHierarchies: number;
    predictorDepth: number;
    predictorNumHeads: number;
    predictorMlpRatio: number;
    emaMomentum: number;
    emaMomentumEnd: number;
    emaWarmupSteps: number;
    dropPathRate: number;
  };
  /** Data settings as the config gives them. */
  data: {
    dataset: string | null;
    dataPath: string | null;
    imageSize: number;
    batchSize: number;
    numWorkers: number | null;
  };
  /** `seed`: scripts/train.py's `torch.manual_seed` and `np.random.seed`. */
  seed: number;
  /** Optimizer steps per epoch (`len(train_loader) // accumulation_steps`). */
  stepsPerEpoch: number;
  epochs: number;
  /** Total optimizer steps (`epochs * stepsPerEpoch`). */
  totalSteps: number;
  /** `checkpoint.checkpoint_dir` and `logging.experiment_name`, when the config gives them. */
  logging: { folder: string | null; tag: string | null };
  /** Settings of the config that this recipe does not reproduce, each with what happens instead. */
  notes: string[];
}

type Obj = Record<string, unknown>;

function section(config: Obj, key: string): Obj {
  const v = config[key];
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw invalidArgument(`expected \`config.${key}\` to be a mapping, got ${show(v)}`);
  return v;
}

function num(o: Obj, path: string, key: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalidArgument(
      `expected \`config.${path ? `${path}.` : ''}${key}\` to be a finite number, got ${show(o[key])}`,
    );
  }
  return v;
}

function int(o: Obj, path: string, key: string, fallback?: number, min = 0): number {
  const v = num(o, path, key, fallback);
  if (!Number.isSafeInteger(v) || v < min) {
    throw invalidArgument(
      `expected \`config.${path ? `${path}.` : ''}${key}\` to be an integer of at least ${min}, got ${show(v)}`,
    );
  }
  return v;
}

function pair(o: Obj, path: string, key: string, fallback: [number, number]): [number, number] {
  const v = o[key] ?? fallback;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw invalidArgument(`expected \`config.${path}.${key}\` to be a pair of numbers, got ${show(o[key])}`);
  }
  return [v[0], v[1]];
}

function unsupported(what: string, why: string): never {
  throw invalidArgument(`${what} is not supported by jepa-native's H-JEPA recipe: ${why}`);
}

/**
 * Reads a jonwiggins/H-JEPA config (the parsed `configs/default.yaml` shape: `model`, `data`,
 * `masking`, `training`, `loss`, `seed`, ...) as its scripts/train.py and HJEPATrainer read it.
 * `stepsPerEpoch` is the number of batches of an epoch (`len(train_loader)`), which sets the
 * schedules' lengths. Keys the official trainer ignores are ignored (listed in docs/training.md);
 * settings it supports that jepa-native does not (another optimizer, VICReg / SIGReg losses,
 * gradient accumulation, FPN, RoPE, LayerScale, the end-to-end mode) throw a TypeError.
 */
export function hjepaRecipe(config: unknown, options: { stepsPerEpoch?: number }): HJepaRecipe {
  if (!isPlainObject(config))
    throw invalidArgument(`expected \`config\` to be a mapping (a parsed H-JEPA YAML config), got ${show(config)}`);
  const spe = isPlainObject(options) ? options.stepsPerEpoch : undefined;
  if (spe === undefined) {
    throw invalidArgument(
      'expected `options.stepsPerEpoch` (the H-JEPA loop runs len(train_loader) batches per epoch, which the config does not give: floor(dataset size / data.batch_size))',
    );
  }
  if (typeof spe !== 'number' || !Number.isSafeInteger(spe) || spe < 1) {
    throw invalidArgument(`expected \`options.stepsPerEpoch\` to be a positive integer, got ${show(spe)}`);
  }
  const model = section(config, 'model');
  const data = section(config, 'data');
  const masking = section(config, 'masking');
  const training = section(config, 'training');
  const loss = section(config, 'loss');
  const notes: string[] = [];

  // -- model (create_hjepa_from_config)
  const ema = section(model, 'ema');
  const predictor = section(model, 'predictor');
  for (const [key, sub, flag] of [
    ['fpn', 'use_fpn', 'FPN'],
    ['rope', 'use_rope', 'RoPE'],
    ['layerscale', 'use_layerscale', 'LayerScale'],
  ] as const) {
    if (section(model, key)[sub] === true)
      unsupported(`\`config.model.${key}.${sub}: true\``, `${flag} is not in the exported model`);
  }
  if (model.use_target_encoder === false)
    unsupported('`config.model.use_target_encoder: false`', 'the end-to-end (LeWM) mode has no EMA target encoder');
  if (model.projection_norm !== undefined && model.projection_norm !== 'layernorm') {
    unsupported(
      `\`config.model.projection_norm: ${show(model.projection_norm)}\``,
      'the projection heads are Linear + LayerNorm',
    );
  }
  const levels = int(model, 'model', 'num_hierarchies', 3, 2);
  if (levels > 4) throw invalidArgument(`expected \`config.model.num_hierarchies\` to be in [2, 4], got ${levels}`);
  const imageSize = int(data, 'data', 'image_size', 224, 1);
  const modelOut = {
    encoderType: typeof model.encoder_type === 'string' ? model.encoder_type : 'vit_base_patch16_224',
    imageSize,
    embedDim: int(model, 'model', 'embed_dim', 768, 1),
    numHierarchies: levels,
    predictorDepth: int(predictor, 'model.predictor', 'depth', 6, 1),
    predictorNumHeads: int(predictor, 'model.predictor', 'num_heads', 12, 1),
    predictorMlpRatio: num(predictor, 'model.predictor', 'mlp_ratio', 4.0),
    emaMomentum: num(ema, 'model.ema', 'momentum', 0.996),
    emaMomentumEnd: num(ema, 'model.ema', 'momentum_end', 1.0),
    // create_hjepa_from_config: "~1000 steps per epoch".
    emaWarmupSteps: int(ema, 'model.ema', 'momentum_warmup_epochs', 30) * 1000,
    dropPathRate: num(training, 'training', 'drop_path_rate', 0.0),
  };

  // -- masks (scripts/train.py: patch size 16 whatever the encoder, masking.num_masks, mask_scale, aspect_ratio)
  const batchSize = int(data, 'data', 'batch_size', 128, 1);
  const seed = int(config as Obj, '', 'seed', 42);
  const maskOptions = {
    inputSize: imageSize,
    patchSize: 16,
    numHierarchies: levels,
    numTargetMasks: int(masking, 'masking', 'num_masks', 4, 1),
    baseScale: pair(masking, 'masking', 'mask_scale', [0.05, 0.15]),
    aspectRatio: pair(masking, 'masking', 'aspect_ratio', [0.75, 1.5]),
    batchSize,
    positionSeed: seed,
  };

  // -- loss (create_loss_from_config)
  const lossType = String(loss.type ?? 'combined').toLowerCase();
  if (!['hjepa', 'jepa', 'smoothl1', 'mse'].includes(lossType)) {
    unsupported(
      `\`config.loss.type: ${show(loss.type ?? 'combined')}\``,
      "only the plain H-JEPA loss (type 'mse', 'smoothl1', 'hjepa' or 'jepa') is; 'combined' (the code's default) adds VICReg",
    );
  }
  if (loss.use_contrastive === true)
    unsupported('`config.loss.use_contrastive: true`', 'the contrastive term is not implemented');
  const baseType = loss.jepa_loss_type ?? (lossType === 'mse' || lossType === 'smoothl1' ? lossType : 'smoothl1');
  if (baseType !== 'mse' && baseType !== 'smoothl1' && baseType !== 'huber') {
    throw invalidArgument(
      `expected \`config.loss.jepa_loss_type\` to be 'mse', 'smoothl1' or 'huber', got ${show(baseType)}`,
    );
  }
  const w = loss.hierarchy_weights ?? 1.0;
  let levelWeights: number[];
  if (typeof w === 'number') levelWeights = Array.from({ length: levels }, () => w);
  else if (Array.isArray(w) && w.length === levels && w.every((x) => typeof x === 'number' && Number.isFinite(x)))
    levelWeights = [...w];
  else
    throw invalidArgument(
      `expected \`config.loss.hierarchy_weights\` to be a number or ${levels} numbers (one per level), got ${show(w)}`,
    );
  const normalize = loss.normalize_embeddings ?? true;
  if (typeof normalize !== 'boolean')
    throw invalidArgument(`expected \`config.loss.normalize_embeddings\` to be a boolean, got ${show(normalize)}`);

  // -- optimizer (create_optimizer) and trainer (HJEPATrainer)
  const optimizer = String(training.optimizer ?? 'adamw').toLowerCase();
  if (optimizer !== 'adamw')
    unsupported(`\`config.training.optimizer: ${show(training.optimizer)}\``, 'the trainer runs AdamW');
  if (int(training, 'training', 'accumulation_steps', 1, 1) !== 1)
    unsupported('`config.training.accumulation_steps` other than 1', 'one batch per optimizer step');
  const lr = num(
    training,
    'training',
    training.lr === undefined && training.learning_rate !== undefined ? 'learning_rate' : 'lr',
    1e-4,
  );
  const epochs = int(training, 'training', 'epochs', undefined, 1);
  const warmupEpochs = int(training, 'training', 'warmup_epochs', 0);
  const stepsPerEpoch = spe;
  const schedule = String(training.lr_schedule ?? 'cosine');
  if (schedule !== 'cosine' && schedule !== 'linear') {
    throw invalidArgument(
      `expected \`config.training.lr_schedule\` to be 'cosine' or 'linear', got ${show(training.lr_schedule)}`,
    );
  }
  // The trainer reads the final lr from training.scheduler_params.min_lr, not training.min_lr.
  const minLr = num(section(training, 'scheduler_params'), 'training.scheduler_params', 'min_lr', 1e-6);
  if (training.min_lr !== undefined && training.min_lr !== minLr) {
    notes.push(
      `training.min_lr (${String(training.min_lr)}) is ignored, as jonwiggins' trainer ignores it: the final lr is training.scheduler_params.min_lr (${minLr})`,
    );
  }
  const emaSchedule = section(training, 'ema_momentum_schedule');
  const emaWarmupEpochs = Math.floor(
    int(emaSchedule, 'training.ema_momentum_schedule', 'warmup_steps', 1000) / stepsPerEpoch,
  );
  const clip = training.clip_grad ?? null;
  if (clip !== null && (typeof clip !== 'number' || !(clip > 0))) {
    throw invalidArgument(`expected \`config.training.clip_grad\` to be a positive number or null, got ${show(clip)}`);
  }
  if (training.use_amp === true) {
    notes.push(
      'training.use_amp: jonwiggins runs float16 autocast with a GradScaler on CUDA and float32 elsewhere; this recipe trains in float32 (what it does on the CPU)',
    );
  }
  const betas = pair(training, 'training', 'betas', [0.9, 0.95]);
  const total = epochs * stepsPerEpoch;
  const str = (o: Obj, key: string): string | null => (typeof o[key] === 'string' ? (o[key] as string) : null);
  const workers = data.num_workers;
  return {
    family: 'hjepa',
    trainer: {
      kind: 'hjepa',
      lr: {
        kind: schedule === 'cosine' ? 'hjepaWarmupCosine' : 'hjepaWarmupLinear',
        start: 0,
        peak: lr,
        end: minLr,
        warmupSteps: warmupEpochs * stepsPerEpoch,
        steps: total,
      },
      weightDecay: num(training, 'training', 'weight_decay', 0.0),
      momentum: {
        kind: 'hjepaEma',
        start: num(emaSchedule, 'training.ema_momentum_schedule', 'start', 0.996),
        end: num(emaSchedule, 'training.ema_momentum_schedule', 'end', 1.0),
        warmupSteps: emaWarmupEpochs * stepsPerEpoch,
        steps: total,
      },
      betas,
      eps: TRAINER_DEFAULTS.hjepa.eps,
      excludeBiasAndNorm: TRAINER_DEFAULTS.hjepa.excludeBiasAndNorm,
      clipGrad: clip as number | null,
      lossType: baseType,
      huberDelta: TRAINER_DEFAULTS.hjepa.huberDelta,
      normalizeEmbeddings: normalize,
      maskedLoss: false,
      levelWeights,
      targetUpdate: 'beforeStep',
      emaFormula: 'foreach',
    },
    masks: { kind: 'hjepa', options: maskOptions },
    model: modelOut,
    data: {
      dataset: str(data, 'dataset'),
      dataPath: str(data, 'data_path'),
      imageSize,
      batchSize,
      numWorkers: typeof workers === 'number' ? workers : null,
    },
    seed,
    stepsPerEpoch,
    epochs,
    totalSteps: total,
    logging: {
      folder: str(section(config, 'checkpoint'), 'checkpoint_dir'),
      tag: str(section(config, 'logging'), 'experiment_name'),
    },
    notes,
  };
}

/**
 * The H-JEPA family as a recipe module (the interface of the recipe readers behind
 * `Trainer.fromConfig`): recognises jonwiggins/H-JEPA's config shape (a `model.num_hierarchies`
 * or a `loss.hierarchy_weights`) and reads it with {@link hjepaRecipe}.
 * @internal
 */
export const hjepaRecipeModule = Object.freeze({
  family: 'hjepa' as const,
  aliases: Object.freeze(['h-jepa', 'jonwiggins']),
  matches(config: Record<string, unknown>): boolean {
    const model = config.model;
    const loss = config.loss;
    return (isPlainObject(model) && 'num_hierarchies' in model) || (isPlainObject(loss) && 'hierarchy_weights' in loss);
  },
  read(config: Record<string, unknown>, context: { stepsPerEpoch?: number }): HJepaRecipe {
    return hjepaRecipe(config, { stepsPerEpoch: context.stepsPerEpoch });
  },
});
