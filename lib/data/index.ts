/**
 * `jepa.data`: datasets and a DataLoader, as PyTorch's `torch.utils.data` gives them: feature
 * files (seed 003), image folders (torchvision's `ImageFolder`), image-caption CSVs (seed 004),
 * and batches in PyTorch's order for the same seed, stacked (with padding or cropping of a
 * variable-length dimension), loaded ahead on worker threads, sharded by rank. See docs/data.md.
 *
 * ```js
 * const ds = new jepa.data.FeatureDataset('features/');
 * const loader = new jepa.data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: 0 });
 * for await (const batch of loader) await trainer.step({ features: batch.feature });
 * ```
 * @module
 */
export { collate, type Collated, type VariableLength } from './collate';
export {
  CaptionDataset,
  FEATURE_EXTENSIONS,
  FeatureDataset,
  IMAGE_EXTENSIONS,
  ImageFolderDataset,
  pickFeature,
  type CaptionDatasetOptions,
  type CaptionSample,
  type Dataset,
  type FeatureDatasetOptions,
  type FeatureSample,
  type ImageFolderOptions,
  type ImageSample,
} from './datasets';
export { DataLoader, type DataLoaderOptions, type LoaderState } from './loader';
export type { SamplerKind } from './sampler';
