/**
 * jepa-native: libtorch for JEPA models in Node.js.
 *
 * ```js
 * const jepa = require('jepa-native');
 * const t = jepa.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * ```
 * @module jepa-native
 */
export { DTYPES, type Device, type Dtype, type TensorTypedArray, type TypedArrayOf } from './core/dtype';
export { ErrorCode, JepaError, JepaTypeError, type ErrorCodeValue } from './core/errors';
export {
  isParameter,
  load,
  loadSync,
  open,
  openSync,
  parameter,
  PtArchive,
  save,
  saveSync,
  type LoadOptions,
  type PtEntry,
} from './io/pt';
export {
  loadNpy,
  loadNpySync,
  loadSafetensors,
  loadSafetensorsSync,
  readSafetensorsHeader,
  saveNpy,
  saveNpySync,
  saveSafetensors,
  saveSafetensorsSync,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type TensorFileOptions,
} from './io/formats';
export { loadNpz, loadNpzSync, saveNpz, saveNpzSync, type NpzArrays, type SaveNpzOptions } from './io/npz';
export { addonInfo, cuda, memory, torchVersion, type AddonInfo, type MemoryInfo } from './core/runtime';
export { limits, type Limits } from './core/limits';
export {
  arange,
  empty,
  ones,
  randn,
  Tensor,
  tensor,
  zeros,
  type NestedArray,
  type RandnOptions,
  type TensorData,
  type TensorOptions,
} from './tensor/tensor';
export { keep, tidy, tidyAsync } from './tensor/memory';
export * from './tensor/ops.generated';
export { linalg, nn } from './tensor/api';
export {
  norm,
  pca_lowrank,
  type InterpolateOptions,
  type NormalizeOptions,
  type NormOptions,
  type PcaLowrankOptions,
} from './tensor/functional';
export { Generator } from './tensor/generator';
export { Slice, slice, type IndexItem } from './tensor/indexing';
export type { MemoryFormat, Scalar } from './tensor/ops';
import * as ema from './train/ema';
/** The target-encoder EMA (`update`, `updateSync`) and momentum / learning-rate / weight-decay schedules (`schedule`). */
export { ema };
export type {
  EmaOptions,
  EmaStats,
  ParameterSet,
  Schedule,
  ScheduleKind,
  ScheduleLike,
  ScheduleOptions,
} from './train/ema';
export {
  manualSeed,
  Trainer,
  type FromConfigOptions,
  type ParamGroup,
  type SaveOptions,
  type StepStats,
  type TrainerKind,
  type TrainerOptions,
  type TrainingBatch,
} from './train/trainer';
export {
  parseConfig,
  readRecipe,
  type ReadRecipeOptions,
  type Recipe,
  type RecipeTrainerOptions,
} from './train/config';
export { TRAINER_DEFAULTS, type KindDefaults } from './train/defaults';
export { hjepaLevelWeights, hjepaRecipe, type HJepaRecipe } from './train/hjepa-recipe';
export type { FitEpoch, FitOptions, FitResult, FitStep } from './train/fit';
import * as distributed from './distributed/distributed';
/** Data-parallel training and sharded work across processes on libtorch's c10d (gloo, NCCL): `init`, `allReduce`, `broadcast`, `allGather`, `barrier`, `shardFiles`, `launch`. */
export { distributed };
export type {
  Backend as DistributedBackend,
  CollectiveOptions,
  InitOptions,
  ReduceOp,
} from './distributed/distributed';
export type { LaunchOptions, LaunchResult } from './distributed/launch';
import * as masks from './masks/samplers';
/** JEPA mask samplers: I-JEPA multi-block, V-JEPA 3D multi-block, random tubes, H-JEPA hierarchical and binary masks, seed 002's notebook samplers. */
export { masks };
export {
  getNumThreads,
  loadModule,
  loadModuleSync,
  Module,
  setNumThreads,
  type LoadModuleOptions,
  type MethodArgument,
} from './models/module';
export {
  cosineScores,
  HJEPA,
  JEPA,
  JEPA_FILES,
  MotionAutoencoder,
  VisionLanguagePredictor,
  type EncodeOptions,
  type EncoderSpec,
  type HJEPAOutput,
  type JEPAPaths,
  type LabelScore,
  type MotionEncoding,
  type PredictOptions,
} from './models/jepa';
export { ImageEncoder, TextEncoder } from './models/encoders';
export { TextTokenizer, type TextTokenizerOptions, type TokenizedBatch } from './models/tokenizer';
export {
  VisionLanguageModel,
  findVisionLanguageParts,
  type CaptionBatch,
  type VisionLanguagePaths,
  type VisionLanguageTrainOptions,
} from './models/vl';
export {
  MODEL_INFO_FILE,
  readModelInfo,
  type ModelInfo,
  type ModelInput,
  type ModelKind,
  type ModelPreprocess,
} from './models/folder';
export type {
  AggregationMethod,
  FeatureDict,
  FeatureFileInfo,
  FeatureLayout,
  HierarchicalFeatures,
} from './features/features';
import * as data from './data';
/** Datasets (feature files, image folders, caption CSVs) and a DataLoader in PyTorch's order: `FeatureDataset`, `ImageFolderDataset`, `CaptionDataset`, `DataLoader`. */
export { data };
import * as features from './features/api';
/**
 * Seed 000's job and its feature files: `extract` runs an encoder over images, videos or feature
 * files into feature files; the [T, H, W, D] grid view of patch features (`featureGrid`,
 * `frameFeatures`, `patchFeatures`), `aggregateFeatures`, and the per-image files of the
 * DeepEarth layout (`featureFileName`, `featureFilePath`, `parseFeatureFileName`, `speciesSlug`,
 * `featureDict`, `writeFeatureFile`).
 */
export { features };
export type { ExtractOptions, ExtractProgress, ExtractSummary, ModelFolder } from './features/api';
import * as image from './media/image';
/** Images (files or encoded bytes) as normalised float32 tensors [3, H, W] / [B, 3, H, W] (sharp). */
export { image };
import * as video from './media/video';
/** Video clips as normalised float32 tensors [T, 3, H, W] / [B, T, 3, H, W], frames sampled evenly (ffmpeg). */
export { video };
export type {
  Convention,
  ImageInput,
  ImageOptions,
  Interpolation,
  MediaFailure,
  PresetName,
  PreprocessOptions,
  ResizeFit,
  ResizeOptions,
} from './media/image';
export type { ClipStart, SamplingOptions, VideoInfo, VideoLength, VideoOptions } from './media/video';
export { float, Float, FLOAT_KEYS, OrderedDict, PY_ATTRS, Size, TorchDevice, TorchDtype, Tuple } from './io/values';

// `import jepa from 'jepa-native'` in TypeScript compiled to CommonJS reads `exports.default`
// (tsc marks this module `__esModule`, so the importer's interop helper does not synthesize a
// default): make the default the module itself, as it is for ES-module importers (dist/index.mjs).
(module.exports as Record<string, unknown>).default = module.exports;
