/**
 * Seed 004's VL-JEPA recipe: its training loop's settings (`torch.optim.AdamW(predictor.
 * parameters(), lr=1e-4)`, batch 16, 10 epochs, loss `1 - cosine`), as a flat config: `csv`
 * (`image_name,comment` rows), `image_dir`, `batch_size`, `epochs`, `lr`, and `weight_decay`
 * (not in the seed: AdamW's 0.01).
 * @module
 */
import { TRAINER_DEFAULTS } from '../defaults';
import { Fields, type ConfigObject } from './fields';
import { checkStepsPerEpoch } from './steps';
import type { Recipe, RecipeContext, RecipeModule } from './types';

const SOURCE = "seed 004's train.py";

function read(config: ConfigObject, context: RecipeContext): Recipe {
  const c = Fields.root(config, SOURCE);
  const d = TRAINER_DEFAULTS.vl;
  const epochs = c.number('epochs', 10, { integer: true, min: 1 });
  const ipe = context.stepsPerEpoch === undefined ? null : checkStepsPerEpoch(context.stepsPerEpoch);
  return {
    family: 'vl',
    trainer: {
      kind: 'vl',
      lr: c.number('lr', d.lr as number),
      weightDecay: c.number('weight_decay', d.weightDecay, { float: true }),
      betas: [d.betas[0], d.betas[1]],
      eps: d.eps,
      excludeBiasAndNorm: false,
      clipGrad: null,
    },
    masks: null,
    model: {
      inputDim: c.number('input_dim', 512, { integer: true, positive: true }),
      hiddenDim: c.number('hidden_dim', 512, { integer: true, positive: true }),
      outputDim: c.number('output_dim', 384, { integer: true, positive: true }),
    },
    data: {
      csv: c.string('csv', 'unique_caption.csv'),
      imageDir: c.string('image_dir', 'my_image_archive'),
      batchSize: c.number('batch_size', 16, { integer: true, positive: true }),
      shuffle: true,
    },
    seed: c.number('seed', 0, { integer: true, min: 0 }),
    stepsPerEpoch: ipe,
    epochs,
    totalSteps: ipe === null ? null : ipe * epochs,
    logging: { folder: null, tag: null },
    notes: [],
  };
}

/** Seed 004 (VL-JEPA predictor). */
export const vlRecipe: RecipeModule = {
  family: 'vl',
  aliases: ['vl-jepa'],
  matches: (c) => 'image_dir' in c && 'csv' in c,
  read,
};
