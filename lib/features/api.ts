/**
 * `jepa.features`: seed 000's feature extraction and feature files in one namespace.
 * @module
 */
export {
  deviceForRank,
  extract,
  outputPathFor,
  readModelFolder,
  type ExtractOptions,
  type ExtractProgress,
  type ExtractSummary,
  type ModelFolder,
} from './extract';
export {
  aggregateFeatures,
  featureDict,
  featureFileName,
  featureFilePath,
  featureGrid,
  frameFeatures,
  parseFeatureFileName,
  patchFeatures,
  speciesSlug,
  VJEPA2_LAYOUT,
  writeFeatureFile,
} from './features';
