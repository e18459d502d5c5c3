/**
 * The recipe families, one module each. A new family (H-JEPA: issue 18b) is one more
 * {@link RecipeModule} in {@link RECIPES}.
 * @module
 */
import { ijepaRecipe } from './ijepa';
import { motionRecipe } from './motion';
import type { RecipeModule } from './types';
import { vjepaRecipe } from './vjepa';
import { vjepa2Recipe } from './vjepa2';
import { vlRecipe } from './vl';

/** Every recipe family `Trainer.fromConfig` and `jepa-native train` know, in detection order. */
export const RECIPES: readonly RecipeModule[] = Object.freeze([
  ijepaRecipe,
  vjepaRecipe,
  vjepa2Recipe,
  motionRecipe,
  vlRecipe,
]);

export type { Recipe, RecipeContext, RecipeModule, RecipeTrainerOptions } from './types';
