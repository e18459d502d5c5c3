/**
 * Training configs as data: a YAML file (or its parsed object) in the shape of an official
 * training config, read into a {@link Recipe} by the recipe module of its family
 * (lib/train/recipes/), and the trainer built from it (`Trainer.fromConfig`).
 *
 * ```js
 * const config = fs.readFileSync('configs/in1k_vith14_ep300.yaml', 'utf8');   // facebookresearch/ijepa
 * const recipe = jepa.readRecipe(config, { stepsPerEpoch: 5004 });
 * const trainer = jepa.Trainer.fromConfig(config, { context, target, predictor, stepsPerEpoch: 5004 });
 * ```
 * @module
 */
import YAML from 'yaml';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import type { Module } from '../models/module';
import { isThreeModuleKind } from './defaults';
import { checkOptions, isPlainObject, show } from '../core/validate';
import type { ConfigObject } from './recipes/fields';
import { RECIPES, type Recipe, type RecipeModule } from './recipes/index';

/** Options of {@link readRecipe}. */
export interface ReadRecipeOptions {
  /**
   * The recipe family: `'ijepa'` (`'i-jepa'`), `'vjepa'` (`'v-jepa'`), `'vjepa2'`
   * (`'v-jepa2'`), `'motion'` (`'motion-ae'`), `'vl'` (`'vl-jepa'`). Default: the config's
   * `recipe:` key, else recognised from the config's shape.
   */
  family?: string;
  /** Batches per epoch (the official `ipe`), where the config does not give it. */
  stepsPerEpoch?: number;
}

/**
 * PyYAML's exponent floats: a dot and a signed exponent (`1.0e-06`, `.5e-3`). The `yaml`
 * package's YAML 1.1 schema also takes `1e-6` and `1.0e6`, which PyYAML (the official scripts'
 * `yaml.load`) reads as strings.
 */
const PYYAML_EXP_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*[eE][-+][0-9]+|\.[0-9][0-9_]*[eE][-+][0-9]+)$/;

const YAML_OPTIONS: YAML.ParseOptions & YAML.DocumentOptions & YAML.SchemaOptions = {
  version: '1.1',
  customTags: (tags) =>
    tags.map((t) =>
      typeof t === 'object' && t.tag === 'tag:yaml.org,2002:float' && (t as { format?: string }).format === 'EXP'
        ? Object.assign({}, t, { test: PYYAML_EXP_FLOAT })
        : t,
    ),
};

/**
 * Parses a config: YAML text, read as PyYAML reads the official files (YAML 1.1 with PyYAML's
 * float syntax: `1e-6` without a dot is a string, `yes`/`no` are booleans), or an already
 * parsed object.
 */
export function parseConfig(source: unknown): Record<string, unknown> {
  let value: unknown = source;
  if (typeof source === 'string') {
    try {
      value = YAML.parse(source, YAML_OPTIONS);
    } catch (err) {
      throw invalidArgument(`the config is not valid YAML: ${(err as Error).message}`);
    }
  }
  if (!isPlainObject(value)) {
    throw invalidArgument(`expected the config to be YAML text or an object holding a mapping, got ${show(value)}`);
  }
  return value;
}

/** The recipe module named `name` (a family or an alias). */
function byName(name: unknown, where: string): RecipeModule {
  const found = RECIPES.find((r) => r.family === name || r.aliases.includes(name as string));
  if (!found) {
    const names = RECIPES.flatMap((r) => [r.family, ...r.aliases]).map((n) => `'${n}'`);
    throw invalidArgument(`expected ${where} to be one of ${names.join(', ')}, got ${show(name)}`);
  }
  return found;
}

/** Which recipe a config follows: `family`, else its `recipe:` key, else its shape. */
export function recipeModuleOf(config: ConfigObject, family?: unknown): RecipeModule {
  if (family !== undefined) return byName(family, '`options.family`');
  if (config.recipe !== undefined) return byName(config.recipe, '`config.recipe`');
  const matching = RECIPES.filter((r) => r.matches(config));
  if (matching.length === 1) return matching[0];
  const keys = Object.keys(config).slice(0, 12).join(', ') || '(none)';
  throw invalidArgument(
    matching.length === 0
      ? `could not tell which training recipe the config follows (its keys: ${keys}): add \`recipe: <family>\` to it or pass \`options.family\` (${RECIPES.map((r) => `'${r.family}'`).join(', ')})`
      : `the config fits several recipes (${matching.map((r) => `'${r.family}'`).join(', ')}): add \`recipe: <family>\` to it or pass \`options.family\``,
  );
}

/**
 * Reads a training config as the official code of its family reads it: every setting and
 * every default of that code as `jepa.Trainer` options, the mask sampler of its collator, the
 * model and data settings it describes, and notes on what jepa-native takes differently. A key
 * the official code requires and the config lacks, or a setting jepa-native does not
 * reproduce, throws a `TypeError` (`JEPA_INVALID_ARGUMENT`) naming the key.
 */
export function readRecipe(config: unknown, options: ReadRecipeOptions = {}): Recipe {
  const o = checkOptions(options, 'options', ['family', 'stepsPerEpoch']);
  const parsed = parseConfig(config);
  const module = recipeModuleOf(parsed, o.family);
  const rest = { ...parsed };
  delete rest.recipe;
  return module.read(rest, { stepsPerEpoch: o.stepsPerEpoch as number | undefined });
}

/**
 * Checks that the modules are the models the recipe's config describes, where the modules
 * show it: the number of patches of the predictor's position embedding, and for V-JEPA and
 * V-JEPA 2 the predictor's mask tokens (`mask_tokens.0`, ...: one per mask config, V-JEPA 2:
 * per mask config and listed clip length) and its `mask_index` argument. Throws
 * `JEPA_PARAMETER_MISMATCH`.
 */
export function checkRecipeModules(recipe: Recipe, modules: Readonly<Record<string, Module>>): void {
  if (!isThreeModuleKind(recipe.family)) return;
  const predictor = modules.predictor;
  const params = predictor.namedParameters();
  try {
    const mismatch = (msg: string): never => {
      throw new JepaError(ErrorCode.PARAMETER_MISMATCH, msg);
    };
    const pos = params.get('predictor_pos_embed');
    const numPatches = recipe.model.numPatches as number;
    if (pos && pos.ndim === 3 && pos.shape[1] !== numPatches) {
      mismatch(
        `the predictor's position embedding has ${pos.shape[1]} patches, the config's model ${numPatches} (${describeGrid(recipe)})`,
      );
    }
    if (recipe.family === 'ijepa') return;
    const tokens = [...params.keys()].filter((n) => /(^|\.)mask_tokens\.\d+$/.test(n)).length;
    const want = recipe.model.numMaskTokens as number;
    if (tokens !== want) {
      mismatch(
        `the predictor has ${tokens} mask tokens (mask_tokens.N), the config's ${recipe.family === 'vjepa2' ? 'V-JEPA 2' : 'V-JEPA'} predictor ${want} (one per mask config${recipe.family === 'vjepa2' ? ' and entry of data.dataset_fpcs' : ''}): export it with that many`,
      );
    }
    const args = predictor.arguments('forward');
    if (args.length < 4 || args[3].name !== 'mask_index') {
      mismatch(
        "the predictor's forward takes no `mask_index` (expected forward(x, masks_x, masks, mask_index: int = 1), as the V-JEPA predictors `jepa-native export` writes)",
      );
    }
  } finally {
    for (const t of params.values()) t.dispose();
  }
}

function describeGrid(recipe: Recipe): string {
  const m = recipe.model;
  const frames =
    m.numFrames === undefined ? '' : `${m.numFrames as number} frames / tubelet ${m.tubeletSize as number}, `;
  return `${frames}crop ${m.cropSize as number} / patch ${m.patchSize as number}`;
}

export type { Recipe, RecipeTrainerOptions } from './recipes/index';
