/**
 * Whole training steps in libtorch: for I-JEPA, V-JEPA, H-JEPA, the motion autoencoder of seed
 * 003 and the VL-JEPA predictor of seed 004. A step runs forward, loss, backward, AdamW and the
 * EMA of the target encoder in C++ on a worker thread; JS only hands over the batch.
 *
 * ```js
 * const trainer = new jepa.Trainer({
 *   kind: 'ijepa', context, target, predictor,                       // jepa.loadModule(...) each
 *   lr: { kind: 'warmupCosine', start: 2e-4, peak: 1e-3, end: 1e-6, warmupSteps: 400, steps: 12500 },
 *   weightDecay: { kind: 'cosineWd', start: 0.04, end: 0.4, steps: 12500 },
 *   momentum: { kind: 'linear', start: 0.996, end: 1, steps: 12500 },
 *   masks: new jepa.masks.MaskSampler('multiblock', { ...jepa.masks.presets.ijepaImageNet, inputSize: 224, patchSize: 16, batchSize: 64 }),
 * });
 * const stats = await trainer.step({ images });   // { loss, lr, weightDecay, momentum, gradNorm, ... }
 * ```
 * @module
 */
import { native } from '../core/binding';
import { applyCheckpoint, buildCheckpoint, checkSaveOptions } from './checkpoint';
import { ProcessGroup, save as distributedSave } from '../distributed/distributed';
import { schedule } from './ema';
import {
  OPTION_KEYS,
  resolveTrainerOptions,
  type ResolvedSchedule,
  type TrainerKind,
  type TrainerOptions,
} from './options';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import { load as loadPt, loadSync as loadPtSync, save as savePt, saveSync as savePtSync } from '../io/pt';
import { MaskSampler, checkIndexMasks, toBinary, type HJepaMasks, type Masks } from '../masks/samplers';
import { Module, nativeModuleOf } from '../models/module';
import type { NativeTrainer } from '../core/native-types';
import { fit, type FitOptions, type FitResult } from './fit';
import { checkTensor, nativeOf, Tensor } from '../tensor/tensor';
import { checkRecipeModules, readRecipe, type Recipe, type RecipeTrainerOptions } from './config';
import { isThreeModuleKind } from './defaults';
import { checkOptions, show } from '../core/validate';

export type { TrainerKind, TrainerOptions } from './options';

/** Options of {@link Trainer.fromConfig}. */
export interface FromConfigOptions {
  /** I-JEPA, V-JEPA, V-JEPA 2: the context encoder, target encoder and predictor. */
  context?: Module;
  target?: Module;
  predictor?: Module;
  /** H-JEPA, motion, VL: the one module. */
  model?: Module;
  /** The recipe family, see {@link ReadRecipeOptions.family}. Default: the config's `recipe:` key or its shape. */
  family?: string;
  /** Batches per epoch (the official `ipe`), where the config does not give it. */
  stepsPerEpoch?: number;
  /**
   * The mask sampler: default the recipe's (the official collator, on the modules' device);
   * `false`: none (every batch brings its masks); or a sampler of your own.
   */
  masks?: MaskSampler | false;
  /** See {@link TrainerOptions.distributed}. */
  distributed?: ProcessGroup | boolean;
  /** Trainer options that replace the recipe's (`{ bf16: false }`, another `clipGrad`, ...). */
  overrides?: Partial<Omit<RecipeTrainerOptions, 'kind'>>;
}

/** A batch for {@link Trainer.step}; which fields a kind needs is in each field's note. */
export interface TrainingBatch {
  /** I-JEPA, V-JEPA, H-JEPA: images [B, C, H, W] or clips [B, C, T, H, W]. */
  images?: Tensor;
  /**
   * I-JEPA, V-JEPA: keep-index masks (a {@link Masks} from `jepa.masks`, or `{context, targets}`);
   * V-JEPA: one context and one target tensor per mask config. Drawn from `options.masks` when absent.
   */
  masks?: Pick<Masks, 'context' | 'targets'>;
  /** H-JEPA: the [B, N] 0/1 mask, 1 = masked. Drawn from `options.masks` when absent. */
  mask?: Tensor;
  /** Motion: features [B, T, N, C] or [B, T, H, W, C]. */
  features?: Tensor;
  /** VL: image embeddings [B, 512]. */
  imageEmbeddings?: Tensor;
  /** VL: target text embeddings [B, 384]. */
  textEmbeddings?: Tensor;
}

/** Options of {@link Trainer.save} and {@link Trainer.stateDict}: values recorded in the checkpoint. */
export interface SaveOptions {
  /** Default: {@link Trainer.epoch}. */
  epoch?: number;
  /** Default: the loss of the last step (NaN before the first). */
  loss?: number;
  /** Default: the batch size of the last step. */
  batchSize?: number;
  /** Default 1. */
  worldSize?: number;
}

/** What one step did. */
export interface StepStats {
  /** The loss of the step (before the update), on this rank's batch. */
  loss: number;
  /** The loss averaged over the ranks of a data-parallel trainer (= `loss` without one). */
  lossMean: number;
  /** V-JEPA: loss per mask config; H-JEPA: per level (unweighted); motion: [reconstruction, temporal, smoothness]. */
  parts: number[];
  /** Learning rate and weight decay used. */
  lr: number;
  weightDecay: number;
  /** EMA momentum used (null for kinds without a target encoder). */
  momentum: number | null;
  /** Gradient norm of the context encoder (or the model) before clipping. */
  gradNorm: number;
  /** Gradient norm of the predictor before clipping (I-JEPA, V-JEPA). */
  gradNormPredictor: number;
  /** Whether `clipGrad` was applied at this step (see {@link TrainerOptions.clipGradFrom}). */
  clipped: boolean;
  /** The 0-based index of this step. */
  step: number;
  /** Wall time of the step in C++, milliseconds. */
  ms: number;
}

/** The optimizer's parameter groups (I-JEPA's layout), for inspection and checkpoints. */
export interface ParamGroup {
  lr: number;
  weightDecay: number;
  /** Weight decay left at 0 by the schedule (I-JEPA's `WD_exclude`). */
  wdExclude: boolean;
  /** Parameter names, prefixed `context.` / `predictor.` for I-JEPA and V-JEPA. */
  names: string[];
}

/**
 * Trains JEPA models with whole steps in libtorch (see the module docs). Creating a trainer puts
 * the trained modules in train mode (and the target encoder too, as Python's deep copy is: run
 * it under `no_grad` in the step, call `.eval()` on it for inference).
 *
 * Steps run one at a time: `step()` calls queue up and resolve in order. While a step is in
 * flight, `train()`/`eval()`/`to()` on its modules throw `JEPA_MODULE_BUSY`.
 */
export class Trainer {
  readonly kind: TrainerKind;
  /** The process group of a data-parallel trainer, else null. */
  readonly distributed: ProcessGroup | null;
  /** @internal */
  readonly modules: Readonly<Record<string, Module>>;
  #native: NativeTrainer;
  #sampler: MaskSampler | undefined;

  /**
   * The sampler that draws the masks of batches that bring none (`options.masks`; on a
   * data-parallel trainer, a copy whose block positions are seeded for this rank).
   */
  get sampler(): MaskSampler | undefined {
    return this.#sampler;
  }
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #recipe: Recipe | null = null;

  /**
   * A trainer that trains as the official code of a config's family does: `config` is a
   * training config in its official YAML shape (text or parsed; see `jepa.readRecipe` and
   * docs/training.md for the families and how each key is read), `options` the modules, the
   * steps per epoch where the config does not give them, and overrides. Every setting and default
   * of the official loop applies (schedules with the official arithmetic, parameter groups,
   * betas, eps, clipping and when it starts, EMA formula, loss), and the recipe's mask sampler
   * draws the masks of batches that bring none. The modules are checked against the model the
   * config describes (patches, V-JEPA mask tokens). `meta.use_bfloat16` / `meta.dtype:
   * bfloat16` autocast on CUDA only, as the official loops' `torch.cuda.amp.autocast` (on the
   * CPU they train in float32; a note in {@link recipe} says so).
   *
   * ```js
   * const trainer = jepa.Trainer.fromConfig(fs.readFileSync('vitl16.yaml', 'utf8'), { context, target, predictor });
   * ```
   */
  static fromConfig(config: string | object, options: FromConfigOptions): Trainer {
    const o = checkOptions(options, 'options', [
      'context',
      'target',
      'predictor',
      'model',
      'family',
      'stepsPerEpoch',
      'masks',
      'distributed',
      'overrides',
    ]);
    const recipe = readRecipe(config, {
      family: o.family as string | undefined,
      stepsPerEpoch: o.stepsPerEpoch as number | undefined,
    });
    const overrides = o.overrides === undefined ? {} : checkOptions(o.overrides, 'options.overrides', OPTION_KEYS);
    for (const key of ['kind', 'context', 'target', 'predictor', 'model', 'masks', 'distributed']) {
      if (key in overrides)
        throw invalidArgument(
          `option \`options.overrides.${key}\` cannot be overridden: give it as \`options.${key}\``,
        );
    }
    const modules: Record<string, Module> = {};
    for (const key of isThreeModuleKind(recipe.family) ? ['context', 'target', 'predictor'] : ['model']) {
      if (!(o[key] instanceof Module)) {
        throw invalidArgument(
          `expected \`options.${key}\` to be a Module (the ${recipe.family} recipe trains ${isThreeModuleKind(recipe.family) ? 'context, target, predictor' : 'model'}), got ${show(o[key])}`,
        );
      }
      modules[key] = o[key] as Module;
    }
    checkRecipeModules(recipe, modules);
    const device = Object.values(modules)[0].device;
    const trainerOptions: Record<string, unknown> = { ...recipe.trainer };
    if (trainerOptions.bf16 === true && !device.startsWith('cuda') && overrides.bf16 === undefined) {
      trainerOptions.bf16 = false;
      recipe.notes.push(
        'mixed precision (bfloat16) is requested, but the official loop autocasts with torch.cuda.amp.autocast, which does nothing off CUDA: on this device it trains in float32, as the official loop would',
      );
    }
    let masks: MaskSampler | undefined;
    if (o.masks instanceof MaskSampler) masks = o.masks;
    else if (o.masks !== undefined && o.masks !== false) {
      throw invalidArgument(`expected \`options.masks\` to be a MaskSampler or false, got ${show(o.masks)}`);
    } else if (o.masks === undefined && recipe.masks) {
      masks = new MaskSampler(recipe.masks.kind, { ...recipe.masks.options, device } as never);
    }
    const trainer = new Trainer({
      ...trainerOptions,
      ...overrides,
      ...modules,
      ...(masks ? { masks } : {}),
      ...(o.distributed === undefined ? {} : { distributed: o.distributed }),
    } as TrainerOptions);
    trainer.#recipe = recipe;
    return trainer;
  }

  /** The recipe of a trainer made by {@link fromConfig} (null otherwise). */
  get recipe(): Recipe | null {
    return this.#recipe;
  }
  #schedules: Record<'lr' | 'weightDecay' | 'momentum', ResolvedSchedule>;
  #last = { loss: Number.NaN, lr: Number.NaN, batchSize: 0 };

  constructor(options: TrainerOptions) {
    const r = resolveTrainerOptions(options);
    this.kind = r.kind;
    this.#schedules = r.schedules;
    this.#sampler = r.sampler;
    this.distributed = r.distributed;
    this.modules = Object.freeze(r.modules);
    const raw: Record<string, unknown> = { ...r.native, dist: r.distributed?.native };
    for (const [key, m] of Object.entries(r.modules)) raw[key] = nativeModuleOf(m, `options.${key}`);
    this.#native = native.createTrainer(raw);
  }

  /** The 0-based index of the next step (schedules are read at it). Settable to resume. */
  get stepCount(): number {
    return this.#native.getStep();
  }
  set stepCount(step: number) {
    if (!Number.isSafeInteger(step) || step < 0)
      throw invalidArgument(`expected \`stepCount\` to be a non-negative integer, got ${show(step)}`);
    this.#native.setStep(step);
  }

  /** An epoch counter kept for checkpoints (the trainer does not change it). */
  get epoch(): number {
    return this.#native.getEpoch();
  }
  set epoch(epoch: number) {
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw invalidArgument(`expected \`epoch\` to be a non-negative integer, got ${show(epoch)}`);
    this.#native.setEpoch(epoch);
  }

  /** The schedules in use (normalised options). */
  get schedules(): Readonly<Record<'lr' | 'weightDecay' | 'momentum', object>> {
    return this.#schedules;
  }

  /** The optimizer's parameter groups, in order (names, lr, weight decay). */
  paramGroups(): ParamGroup[] {
    return this.#native.paramGroups().groups;
  }

  /** @internal */
  get native(): NativeTrainer {
    return this.#native;
  }

  /** One training step on a worker thread; calls queue up and resolve in order. */
  step(batch: TrainingBatch): Promise<StepStats> {
    let now: boolean;
    try {
      now = !(this.#sampler && this.#needsMasks(batch));
    } catch (err) {
      return withCallerStack(Promise.reject(err));
    }
    return this.#enqueue(
      now
        ? () => this.#native.step(this.#prepareSync(batch))
        : async () => this.#native.step(await this.#prepare(batch)),
      now,
    ).then((s) => this.#record(s));
  }

  /** One training step on the calling thread (blocks the event loop: for scripts). */
  stepSync(batch: TrainingBatch): StepStats {
    this.#checkIdle('stepSync');
    const raw = this.#prepareSync(batch);
    return this.#record(this.#native.stepSync(raw));
  }

  /**
   * The whole training state as a checkpoint value in I-JEPA's layout (see docs/training.md):
   * `encoder`, `predictor`, `target_encoder` (or `model`), `opt` (torch.optim.AdamW's
   * state_dict), `scaler` (null), `epoch`, `loss`, `batch_size`, `world_size`, `lr`, `step`.
   * Model tensors share the modules' memory; optimizer state is copied. `loss`, `lr` and
   * `batch_size` default to those of the last step.
   */
  stateDict(options?: SaveOptions): Record<string, unknown> {
    const o = checkSaveOptions(options);
    return buildCheckpoint(this.modules, this.#native, {
      epoch: o.epoch ?? this.epoch,
      loss: o.loss ?? this.#last.loss,
      batchSize: o.batchSize ?? this.#last.batchSize,
      worldSize: o.worldSize ?? 1,
      lr: Number.isNaN(this.#last.lr) ? schedule(this.#schedules.lr).at(this.stepCount) : this.#last.lr,
      step: this.stepCount,
    });
  }

  /**
   * Restores a checkpoint value (from {@link stateDict}, or `jepa.load` of a file Python's
   * I-JEPA / V-JEPA training wrote): the modules' weights, AdamW's state, the step and the
   * epoch. Everything is checked first; a checkpoint that does not fit changes nothing and
   * throws `JEPA_CHECKPOINT_INVALID` (a missing key, a value of the wrong kind) or
   * `JEPA_PARAMETER_MISMATCH` (names, shapes, parameter groups), listing every difference.
   * A DistributedDataParallel `module.` prefix is removed. AdamW's betas and eps stay the
   * trainer's; lr and weight decay come from the schedules at the restored step.
   */
  loadStateDict(checkpoint: unknown): { step: number; epoch: number } {
    this.#checkIdle('loadStateDict');
    return applyCheckpoint(checkpoint, this.modules, this.#native, this.kind);
  }

  /**
   * Writes {@link stateDict} to a `.pt` file (atomically, on a worker thread) after the steps
   * queued before it; Python reads it with `torch.load(path)` (weights_only=True). A
   * data-parallel trainer writes on rank 0 only (`world_size` recorded) and every rank waits
   * until the file is complete.
   */
  save(path: string | URL, options?: SaveOptions): Promise<void> {
    try {
      checkSaveOptions(options);
    } catch (err) {
      return withCallerStack(Promise.reject(err));
    }
    const dist = this.distributed;
    if (dist) {
      // Data-parallel: every rank holds the same state; rank 0 writes, the others wait (barrier).
      const value = () => this.stateDict({ worldSize: dist.worldSize, ...options });
      return this.#enqueue(async () => {
        await distributedSave(path, dist.rank === 0 ? value() : null, { group: dist });
      }, false);
    }
    return this.#enqueue(() => savePt(path, this.stateDict(options)), false);
  }

  /** {@link save} on the calling thread (data-parallel: rank 0 writes, then a barrier). */
  saveSync(path: string | URL, options?: SaveOptions): void {
    this.#checkIdle('saveSync');
    const dist = this.distributed;
    if (dist) {
      if (dist.rank === 0) savePtSync(path, this.stateDict({ worldSize: dist.worldSize, ...options }));
      dist.barrierSync();
      return;
    }
    savePtSync(path, this.stateDict(options));
  }

  /** Reads a checkpoint file and restores it ({@link loadStateDict}) after the steps queued before it. */
  load(path: string | URL): Promise<{ step: number; epoch: number }> {
    return this.#enqueue(async () => applyCheckpoint(await loadPt(path), this.modules, this.#native, this.kind), false);
  }

  /** {@link load} on the calling thread. */
  loadSync(path: string | URL): { step: number; epoch: number } {
    this.#checkIdle('loadSync');
    return applyCheckpoint(loadPtSync(path), this.modules, this.#native, this.kind);
  }

  /**
   * The epoch loop: one {@link step} per batch of a `jepa.data.DataLoader` for each epoch up to
   * `epochs`, with `onStep` / `onEpoch` callbacks, `validate`, a progress bar when stderr is a
   * terminal and resumable checkpoints (`checkpoint: {dir, every}`). See {@link FitOptions} and
   * docs/training.md.
   */
  fit<B>(options: FitOptions<B>): Promise<FitResult> {
    return withCallerStack(fit(this, options as FitOptions<unknown>));
  }

  #checkIdle(what: string): void {
    if (this.#pending > 0) {
      throw new JepaError(
        ErrorCode.MODULE_BUSY,
        `Trainer.${what}() called while step()/save()/load() calls are pending: await them first`,
      );
    }
  }

  #record(s: StepStats): StepStats {
    this.#last.loss = s.loss;
    this.#last.lr = s.lr;
    return s;
  }

  /**
   * Runs `run` after every call queued before it. With `now` and nothing queued it starts at
   * once, so that the modules are reserved from this call on.
   */
  #enqueue<T>(run: () => Promise<T>, now: boolean): Promise<T> {
    let p: Promise<T>;
    if (this.#pending === 0 && now) {
      try {
        p = run();
      } catch (err) {
        p = Promise.reject(err);
      }
    } else {
      p = this.#tail.then(run, run);
    }
    this.#pending++;
    const done = p.finally(() => {
      this.#pending--;
    });
    this.#tail = done.catch(() => undefined);
    return withCallerStack(done);
  }

  async #prepare(batch: unknown): Promise<object> {
    const needsMasks = this.#needsMasks(batch);
    if (needsMasks && this.#sampler) {
      const m = await this.#sampler.nextAsync();
      return this.#raw(batch, m);
    }
    return this.#prepareSync(batch);
  }

  #prepareSync(batch: unknown): object {
    const needsMasks = this.#needsMasks(batch);
    return this.#raw(batch, needsMasks && this.#sampler ? this.#sampler.next() : undefined);
  }

  #needsMasks(batch: unknown): boolean {
    const keys = {
      ijepa: ['images', 'masks'],
      vjepa: ['images', 'masks'],
      vjepa2: ['images', 'masks'],
      hjepa: ['images', 'mask'],
      motion: ['features'],
      vl: ['imageEmbeddings', 'textEmbeddings'],
    }[this.kind];
    const b = checkOptions(batch, 'batch', keys);
    return isThreeModuleKind(this.kind) ? b.masks === undefined : this.kind === 'hjepa' && b.mask === undefined;
  }

  #raw(batch: unknown, drawn: Masks | HJepaMasks | undefined): object {
    const b = batch as Record<string, unknown>;
    const first = b.images ?? b.features ?? b.imageEmbeddings;
    if (first instanceof Tensor && !first.isDisposed && first.ndim > 0) this.#last.batchSize = first.shape[0];
    const device = Object.values(this.modules)[0].device;
    const check = (t: Tensor, name: string): unknown => {
      if (t.device !== device) {
        throw new JepaError(
          ErrorCode.DEVICE_MISMATCH,
          `expected \`${name}\` to be on ${device} (the modules' device), got a tensor on ${t.device}`,
        );
      }
      return nativeOf(t, name);
    };
    switch (this.kind) {
      case 'ijepa':
      case 'vjepa':
      case 'vjepa2': {
        const images = checkTensor(b.images, 'batch.images');
        const m = (b.masks ?? drawn) as Record<string, unknown> | undefined; // a sampler of this kind draws Masks
        if (m === undefined)
          throw invalidArgument(
            'expected `batch.masks` ({context, targets}) or a `masks` sampler in the trainer options',
          );
        // V-JEPA: one mask per config, each config keeping its own number of patches.
        const sameLength = this.kind === 'ijepa';
        const context = checkIndexMasks(m.context, 'batch.masks.context', { sameLength });
        const targets = checkIndexMasks(m.targets, 'batch.masks.targets', { sameLength });
        if (!sameLength && context.length !== targets.length) {
          throw invalidArgument(
            `expected one context and one target mask per config, got ${context.length} context and ${targets.length} target masks`,
          );
        }
        return {
          images: check(images, 'batch.images'),
          contextMasks: context.map((t, i) => check(t, `batch.masks.context[${i}]`)),
          targetMasks: targets.map((t, i) => check(t, `batch.masks.targets[${i}]`)),
        };
      }
      case 'hjepa': {
        const images = checkTensor(b.images, 'batch.images');
        let mask = b.mask as Tensor | undefined;
        if (mask === undefined) {
          if (!drawn)
            throw invalidArgument(
              'expected `batch.mask` ([B, N], 1 = masked) or a `masks` sampler in the trainer options',
            );
          // H-JEPA's generator: the union of the level-0 targets; I-JEPA's: of its target blocks.
          mask = drawn.kind === 'hjepa' ? drawn.mask : toBinary(drawn.targets, drawn.grid, { dtype: 'float32' });
        }
        return { images: check(images, 'batch.images'), mask: check(checkTensor(mask, 'batch.mask'), 'batch.mask') };
      }
      case 'motion':
        return { features: check(checkTensor(b.features, 'batch.features'), 'batch.features') };
      case 'vl':
        return {
          inputs: check(checkTensor(b.imageEmbeddings, 'batch.imageEmbeddings'), 'batch.imageEmbeddings'),
          targets: check(checkTensor(b.textEmbeddings, 'batch.textEmbeddings'), 'batch.textEmbeddings'),
        };
    }
  }
}

/**
 * Seeds libtorch's default generators (CPU and CUDA), as Python's `torch.manual_seed`: dropout
 * and drop-path in a training step draw from them.
 */
export function manualSeed(seed: number | bigint): void {
  if (
    !(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) &&
    !(typeof seed === 'bigint' && seed >= 0n && seed < 2n ** 64n)
  ) {
    throw invalidArgument(`expected \`seed\` to be a non-negative integer, got ${show(seed)}`);
  }
  native.manualSeed(seed);
}
