/**
 * Seed 003's motion-autoencoder recipe: its `train.py` command-line options (argparse names as
 * keys, e.g. `latent_dim: 192`, `weight_decay: 1.0e-4`) with their defaults. The seed publishes
 * its README (options and defaults), not its code: the optimizer is not named there, and
 * jepa-native uses AdamW with one parameter group, a constant learning rate and no clipping
 * (docs/training.md).
 * @module
 */
import { TRAINER_DEFAULTS } from '../defaults';
import { Fields, type ConfigObject } from './fields';
import { checkStepsPerEpoch } from './steps';
import type { Recipe, RecipeContext, RecipeModule } from './types';

const SOURCE = "seed 003's train.py";

function read(config: ConfigObject, context: RecipeContext): Recipe {
  const c = Fields.root(config, SOURCE);
  const d = TRAINER_DEFAULTS.motion;
  const epochs = c.number('epochs', 10, { integer: true, min: 1 });
  const ipe = context.stepsPerEpoch === undefined ? null : checkStepsPerEpoch(context.stepsPerEpoch);
  return {
    family: 'motion',
    trainer: {
      kind: 'motion',
      lr: c.number('lr', d.lr as number),
      weightDecay: c.number('weight_decay', d.weightDecay, { float: true }),
      betas: [d.betas[0], d.betas[1]],
      eps: d.eps,
      excludeBiasAndNorm: false,
      clipGrad: null,
      reconWeight: c.number('recon_weight', d.reconWeight),
      motionWeight: c.number('motion_weight', d.motionWeight),
      smoothWeight: c.number('smooth_weight', d.smoothWeight),
    },
    masks: null,
    model: {
      inputDim: c.number('input_dim', 768, { integer: true, positive: true }),
      modelDim: c.number('model_dim', 384, { integer: true, positive: true }),
      latentDim: c.number('latent_dim', 192, { integer: true, positive: true }),
      numHeads: c.number('num_heads', 8, { integer: true, positive: true }),
      numLayers: c.number('num_layers', 2, { integer: true, positive: true }),
      dropout: c.number('dropout', 0.1, { min: 0 }),
      useToken: c.boolean('use_token', false),
    },
    data: {
      featureDir: c.string('feature_dir', null),
      saveDir: c.string('save_dir', './checkpoints'),
      batchSize: c.number('batch_size', 2, { integer: true, positive: true }),
      numWorkers: c.number('num_workers', 4, { integer: true, min: 0 }),
    },
    seed: c.number('seed', 0, { integer: true, min: 0 }),
    stepsPerEpoch: ipe,
    epochs,
    totalSteps: ipe === null ? null : ipe * epochs,
    logging: { folder: c.string('save_dir', './checkpoints'), tag: null },
    notes: [],
  };
}

/** Seed 003 (motion feature autoencoder). */
export const motionRecipe: RecipeModule = {
  family: 'motion',
  aliases: ['motion-ae', 'motion-autoencoder'],
  matches: (c) => 'latent_dim' in c && ('feature_dir' in c || 'recon_weight' in c || 'input_dim' in c),
  read,
};
