/**
 * The defaults of `jepa.Trainer`, one table per kind, in one place. Each value is what the
 * official training code of that kind does when it is not told otherwise:
 *
 * - a default of the code itself (a `cfg.get(key, default)`, a function's default argument,
 *   torch.optim.AdamW's own defaults) where the code has one;
 * - where the code requires the value from its config file, the value that every official
 *   config of the family sets (or, for a schedule whose shape needs the length of the run, its
 *   first value: `Trainer.fromConfig` builds the whole schedule from a config).
 *
 * The sources, per kind: `ijepa` facebookresearch/ijepa (src/train.py, src/helper.py,
 * configs/*.yaml); `vjepa` facebookresearch/jepa (app/vjepa/train.py, app/vjepa/utils.py,
 * configs/pretrain/*.yaml); `vjepa2` facebookresearch/vjepa2 (app/vjepa/train.py,
 * configs/train/*); `hjepa` jonwiggins/H-JEPA; `motion` seed 003's train.py command-line
 * defaults; `vl` seed 004's training loop. docs/training.md has the table with every source.
 * lib/train/options.ts applies them to every option left out; nothing else holds a copy.
 * @module
 */

/** The kinds of training step (and of recipe): one per official training loop. */
export type TrainerKind = 'ijepa' | 'vjepa' | 'vjepa2' | 'hjepa' | 'motion' | 'vl';

/** The defaults of one trainer kind (see the module docs for where each comes from). */
export interface KindDefaults {
  /** The learning rate, where the code has a constant default (else `options.lr` is required). */
  readonly lr: number | null;
  /** Weight decay (AdamW, decoupled). */
  readonly weightDecay: number;
  /** EMA momentum of the target encoder (null: the kind has no target encoder). */
  readonly momentum: number | null;
  readonly betas: readonly [number, number];
  readonly eps: number;
  /** No weight decay on biases and 1-D parameters (the official `init_opt`'s four groups). */
  readonly excludeBiasAndNorm: boolean;
  /** Gradient-norm clipping (null: none). */
  readonly clipGrad: number | null;
  /** The first step at which `clipGrad` applies. */
  readonly clipGradFrom: number;
  /** The EMA formula of the official loop. */
  readonly emaFormula: 'foreach' | 'loop';
  /** Layer-normalise the target encoder's output (I-JEPA, V-JEPA, V-JEPA 2). */
  readonly normalizeTargets: boolean;
  /** V-JEPA's loss exponent p. */
  readonly lossExp: number;
  /** V-JEPA's weight of the predictor-variance term. */
  readonly regCoeff: number;
  /**
   * The predictor's `mask_index` (predictors whose forward takes one): `'config'` = the mask
   * config's index (V-JEPA), a number = that index for every config (V-JEPA 2: the clip-length
   * group's index, 0 for batches of one clip length).
   */
  readonly maskIndex: 'config' | number;
  /** When the target encoder is updated relative to the optimizer step. */
  readonly targetUpdate: 'beforeStep' | 'afterStep';
  /** H-JEPA: the base loss of each level (HJEPALoss `loss_type`). */
  readonly lossType: 'mse' | 'smoothl1' | 'huber';
  /** H-JEPA: Huber's delta. */
  readonly huberDelta: number;
  /** H-JEPA: L2-normalise predictions and targets before the loss. */
  readonly normalizeEmbeddings: boolean;
  /** H-JEPA: average the loss over the model's valid entries only. */
  readonly maskedLoss: boolean;
  /** Seed 003's loss weights. */
  readonly reconWeight: number;
  readonly motionWeight: number;
  readonly smoothWeight: number;
}

const ADAMW = { betas: Object.freeze([0.9, 0.999]) as readonly [number, number], eps: 1e-8 };

const JEPA_COMMON = {
  lr: null,
  ...ADAMW,
  excludeBiasAndNorm: true,
  clipGrad: null,
  clipGradFrom: 0,
  normalizeTargets: true,
  lossExp: 1,
  regCoeff: 0,
  maskIndex: 'config' as const,
  targetUpdate: 'afterStep' as const,
  lossType: 'mse' as const,
  huberDelta: 1,
  normalizeEmbeddings: false,
  maskedLoss: false,
  reconWeight: 1,
  motionWeight: 1,
  smoothWeight: 0.05,
};

/**
 * The defaults of each trainer kind. Frozen; `Trainer.fromConfig` and the recipes in
 * lib/train/recipes/ start from these too.
 */
export const TRAINER_DEFAULTS: Readonly<Record<TrainerKind, KindDefaults>> = Object.freeze({
  /**
   * I-JEPA: `init_opt` builds `torch.optim.AdamW(param_groups)` (betas 0.9, 0.999, eps 1e-8;
   * biases and 1-D parameters in groups with `WD_exclude`), no clipping, the EMA loop
   * `param_k.data.mul_(m).add_((1. - m) * param_q.detach().data)`, `F.layer_norm` on the
   * targets. Weight decay and momentum: every official config starts at 0.04 (cosine to 0.4)
   * and 0.996 (linear to 1.0).
   */
  ijepa: Object.freeze({ ...JEPA_COMMON, weightDecay: 0.04, momentum: 0.996, emaFormula: 'loop' as const }),
  /**
   * V-JEPA: as I-JEPA (`betas`, `eps` from `cfgs_opt.get(..., (0.9, 0.999))`, `1e-8`),
   * `clip_grad` None (the configs set 10.0, applied once `epoch > warmup`), `reg_coeff` 0.0 in
   * every config, `mask_index` = the mask config's index (PredictorMultiMaskWrapper). Weight
   * decay and momentum: the configs start at 0.04 (cosine to 0.4) and 0.998 (linear to 1.0).
   */
  vjepa: Object.freeze({ ...JEPA_COMMON, weightDecay: 0.04, momentum: 0.998, emaFormula: 'loop' as const }),
  /**
   * V-JEPA 2: as V-JEPA without clipping and without the variance term; the EMA is
   * `torch._foreach_mul_(params_k, m); torch._foreach_add_(params_k, params_q, alpha=1 - m)`;
   * PredictorMultiSeqWrapper passes the index of the clip-length group as `mask_index` (0 when
   * every clip has the same number of frames, as in every official config). Weight decay 0.04
   * and momentum 0.99925 (constant) in every config.
   */
  vjepa2: Object.freeze({
    ...JEPA_COMMON,
    weightDecay: 0.04,
    momentum: 0.99925,
    emaFormula: 'foreach' as const,
    maskIndex: 0,
  }),
  /**
   * H-JEPA: what jonwiggins/H-JEPA's trainer does with its configs/default.yaml (the code itself
   * requires these keys, or defaults to settings the config overrides): `create_optimizer` builds
   * `AdamW(model.parameters())` (one group, every parameter decayed) with `training.weight_decay`
   * 0.05 and `training.betas` [0.9, 0.95] (also its own default), eps 1e-8 (AdamW's);
   * `clip_grad_norm_(model.parameters(), 3.0)` (`training.clip_grad`, one norm over the whole
   * model); `loss.type` mse without `normalize_embeddings` (the code's default when the key is
   * absent would be true); HJEPATrainer calls the loss without masks (a plain mean, padding
   * entries included); `_train_step` updates the target encoder before backward and the optimizer
   * step, with `target.mul_(m).add_(context, alpha=1 - m)` (the foreach formula's rounding); the
   * momentum starts at `training.ema_momentum_schedule.start` 0.996 (`jepa.hjepaRecipe` builds the
   * whole schedule). The level weights (`loss.hierarchy_weights` [1, 0.5, 0.25]) depend on the
   * number of levels: `jepa.hjepaLevelWeights`.
   */
  hjepa: Object.freeze({
    ...JEPA_COMMON,
    weightDecay: 0.05,
    momentum: 0.996,
    betas: Object.freeze([0.9, 0.95]) as readonly [number, number],
    excludeBiasAndNorm: false,
    clipGrad: 3.0,
    emaFormula: 'foreach' as const,
    targetUpdate: 'beforeStep' as const,
  }),
  /**
   * Seed 003's train.py: `--lr 2e-4`, `--weight_decay 1e-4`, loss weights `--recon_weight 1`,
   * `--motion_weight 1`, `--smooth_weight 0.05`; the seed does not name its optimizer: AdamW
   * with its defaults, every parameter in one group, no clipping, no schedule.
   */
  motion: Object.freeze({
    ...JEPA_COMMON,
    lr: 2e-4,
    weightDecay: 1e-4,
    momentum: null,
    excludeBiasAndNorm: false,
    emaFormula: 'foreach' as const,
  }),
  /**
   * Seed 004's loop: `torch.optim.AdamW(predictor.parameters(), lr=1e-4)`: AdamW's defaults
   * (weight decay 0.01, betas 0.9, 0.999, eps 1e-8), one group, no clipping, no schedule.
   */
  vl: Object.freeze({
    ...JEPA_COMMON,
    lr: 1e-4,
    weightDecay: 0.01,
    momentum: null,
    excludeBiasAndNorm: false,
    emaFormula: 'foreach' as const,
  }),
});

/** Which native step a kind runs (V-JEPA 2's is V-JEPA's with other options). */
export function nativeKind(kind: TrainerKind): 'ijepa' | 'vjepa' | 'hjepa' | 'motion' | 'vl' {
  return kind === 'vjepa2' ? 'vjepa' : kind;
}

/** Whether a kind trains a context encoder, a target encoder and a predictor (three modules). */
export function isThreeModuleKind(kind: TrainerKind): boolean {
  return kind === 'ijepa' || kind === 'vjepa' || kind === 'vjepa2';
}
