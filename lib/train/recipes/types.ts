/**
 * What a recipe reader returns, and the interface of a recipe module (one per official training
 * loop, lib/train/recipes/*.ts, listed in lib/train/recipes/index.ts).
 * @module
 */
import type { MaskKind } from '../../masks/samplers';
import type { TrainerOptions } from '../trainer';
import type { TrainerKind } from '../defaults';
import type { ConfigObject } from './fields';

/** The `jepa.Trainer` options a recipe sets: everything but the modules, the sampler and `distributed`. */
export type RecipeTrainerOptions = Omit<
  TrainerOptions,
  'context' | 'target' | 'predictor' | 'model' | 'masks' | 'distributed'
> & {
  kind: TrainerKind;
};

/** A training recipe read from a config: the official loop's settings as jepa-native options. */
export interface Recipe {
  /** The recipe family (its trainer kind). */
  family: TrainerKind;
  /** `jepa.Trainer` options, complete (every default of the official code filled in). */
  trainer: RecipeTrainerOptions;
  /** The mask collator of the official loop as a `jepa.masks.MaskSampler` (kind and options); null without masks. */
  masks: { kind: MaskKind; options: Record<string, unknown> } | null;
  /** The architecture the config describes, under jepa-native names (checked against the modules by `fromConfig`). */
  model: Record<string, unknown>;
  /** Data settings as the config gives them (batch size, crop size, frames, paths, augmentation). */
  data: Record<string, unknown>;
  /** The official script's seed (`torch.manual_seed` / `np.random.seed` at start). */
  seed: number;
  /** Batches per epoch (the official `ipe`); null where no schedule needs it and none was given (motion, VL). */
  stepsPerEpoch: number | null;
  epochs: number;
  /** `epochs * stepsPerEpoch`: the steps the official loop runs (null with `stepsPerEpoch`). */
  totalSteps: number | null;
  /** Where the official script writes its logs and checkpoints (folder and file tag), when the config says. */
  logging: { folder: string | null; tag: string | null };
  /** Settings of the config that jepa-native takes differently, each saying what happens instead. */
  notes: string[];
}

/** What a recipe reader needs besides the config. */
export interface RecipeContext {
  /**
   * Batches per epoch (the official `ipe`: `len(loader)`, i.e. `floor(dataset size / (batch
   * size * world size))` with `drop_last`). A config's own `optimization.ipe` (V-JEPA, V-JEPA 2)
   * takes precedence, as in the official loop.
   */
  stepsPerEpoch?: number;
}

/** One recipe family: how to recognise its configs and how to read them. */
export interface RecipeModule {
  readonly family: TrainerKind;
  /** Names a config may give in its `recipe:` key (besides `family`). */
  readonly aliases: readonly string[];
  /** Whether a parsed config has this family's shape (used when the config names no recipe). */
  matches(config: ConfigObject): boolean;
  /** Reads a config (its `recipe:` key, if any, removed) as the official code reads it. */
  read(config: ConfigObject, context: RecipeContext): Recipe;
}
