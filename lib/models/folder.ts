/**
 * Model folders written by `jepa-native export`: TorchScript files and a `jepa.json` that says
 * what they are (source, kind, files, architecture, input size, patch grid, preprocessing, dtype),
 * so that `JEPA.load(dir)` and the other classes take the folder alone. The format is described
 * in docs/models.md ("The model folder").
 *
 * ```js
 * const info = jepa.readModelInfo('models/vitl');   // the parsed jepa.json
 * info.kind;                                        // 'jepa'
 * info.preprocess;                                  // { preset: 'vjepa2', mean: [...], std: [...] }
 * ```
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { isPlainObject, show } from '../core/validate';

/** The name of the description file in a model folder. */
export const MODEL_INFO_FILE = 'jepa.json';
/** The `format` of jepa.json. */
export const MODEL_FORMAT = 'jepa-native/model';
/** The `formatVersion` this version reads. */
export const MODEL_FORMAT_VERSION = 1;

/** What a model folder holds, and which class loads it. */
export type ModelKind =
  'jepa' | 'hjepa' | 'motion-autoencoder' | 'vl-predictor' | 'image-encoder' | 'text-encoder' | 'module';

/** The class that loads each kind (for error messages). */
const LOADER: Record<ModelKind, string> = {
  jepa: 'jepa.JEPA.load',
  hjepa: 'jepa.HJEPA.load',
  'motion-autoencoder': 'jepa.MotionAutoencoder.load',
  'vl-predictor': 'jepa.VisionLanguagePredictor.load',
  'image-encoder': 'jepa.ImageEncoder.load',
  'text-encoder': 'jepa.TextEncoder.load',
  module: 'jepa.loadModule',
};

/** The files each kind names in `files` (the others are optional). */
const REQUIRED_FILES: Record<ModelKind, string[]> = {
  jepa: ['contextEncoder', 'targetEncoder'],
  hjepa: ['model'],
  'motion-autoencoder': ['model'],
  'vl-predictor': ['model'],
  'image-encoder': ['encoder'],
  'text-encoder': ['encoder', 'tokenizer'],
  module: ['model'],
};

/** The input a model takes (jepa.json `input`). */
export interface ModelInput {
  modality: 'image' | 'video' | 'text';
  channels?: number;
  /** [height, width] in pixels. */
  size?: [number, number];
  /** Video: frames per clip the exported encoder takes. */
  frames?: number;
  /** Video: frames per tubelet. */
  tubeletSize?: number;
  /** Text: the longest token sequence (the tokenizer's truncation length). */
  maxLength?: number;
  padTokenId?: number;
  padToken?: string;
}

/** How inputs are prepared (a preset of `jepa.image` / `jepa.video`, with its mean and std). */
export interface ModelPreprocess {
  preset: 'vjepa2' | 'ijepa' | 'imagenet-eval' | 'clip';
  mean: [number, number, number];
  std: [number, number, number];
}

/** The parsed `jepa.json` of a model folder. */
export interface ModelInfo {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** The `jepa-native export` source: ijepa, vjepa, vjepa2, hf-vjepa2, hf-ijepa, hjepa, clip-vision, minilm, module. */
  source: string;
  kind: ModelKind;
  /** Role -> file name in the folder (contextEncoder, targetEncoder, predictor; model; encoder, tokenizer). */
  files: Record<string, string>;
  /** The architecture's numbers (name, embedDim, depth, numHeads, predictor sizes, useRope, ...). */
  architecture?: Record<string, unknown>;
  input?: ModelInput;
  patchSize?: number;
  /** Tokens per axis: [H/p, W/p] for images, [T/t, H/p, W/p] for videos. */
  grid?: number[];
  numPatches?: number;
  /** Width of the encoder's output tokens (or embedding). */
  embedDim?: number;
  preprocess?: ModelPreprocess | null;
  /** dtype of the exported weights. */
  dtype: string;
  exporter?: Record<string, string>;
  [key: string]: unknown;
}

function invalid(dir: string, message: string): JepaError {
  return new JepaError(ErrorCode.MODEL_FOLDER_INVALID, `${path.join(dir, MODEL_INFO_FILE)}: ${message}`);
}

/**
 * Reads and checks `jepa.json` of a model folder: format and version, kind, and that every file
 * it names is in the folder. Errors: `JEPA_FILE_NOT_FOUND` (no folder, no jepa.json, a named file
 * missing), `JEPA_MODEL_FOLDER_INVALID` (not JSON, another format, a newer version, bad fields).
 */
export function readModelInfo(dir: string): ModelInfo {
  if (typeof dir !== 'string') throw invalidArgument(`expected \`dir\` to be a folder path, got ${show(dir)}`);
  const file = path.join(dir, MODEL_INFO_FILE);
  if (!fs.existsSync(file)) {
    throw new JepaError(
      ErrorCode.FILE_NOT_FOUND,
      `no such file: ${file} (a model folder written by \`jepa-native export\` holds one)`,
    );
  }
  let info: unknown;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalid(dir, `not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(info)) throw invalid(dir, `expected a JSON object, got ${show(info)}`);
  if (info.format !== MODEL_FORMAT)
    throw invalid(dir, `expected "format": "${MODEL_FORMAT}", got ${show(info.format)}`);
  if (typeof info.formatVersion !== 'number' || !Number.isInteger(info.formatVersion) || info.formatVersion < 1) {
    throw invalid(dir, `expected "formatVersion" to be a positive integer, got ${show(info.formatVersion)}`);
  }
  if (info.formatVersion > MODEL_FORMAT_VERSION) {
    throw invalid(
      dir,
      `"formatVersion" ${info.formatVersion} is newer than this jepa-native reads (${MODEL_FORMAT_VERSION}): update jepa-native`,
    );
  }
  if (typeof info.kind !== 'string' || !(info.kind in LOADER)) {
    throw invalid(dir, `expected "kind" to be one of ${Object.keys(LOADER).join(', ')}, got ${show(info.kind)}`);
  }
  const kind = info.kind as ModelKind;
  const files = info.files;
  if (!isPlainObject(files) || !Object.values(files).every((f) => typeof f === 'string' && f.length > 0)) {
    throw invalid(dir, `expected "files" to map roles to file names, got ${show(files)}`);
  }
  for (const role of REQUIRED_FILES[kind]) {
    if (typeof files[role] !== 'string') throw invalid(dir, `a "${kind}" model names its "${role}" file in "files"`);
  }
  for (const [role, name] of Object.entries(files as Record<string, string>)) {
    if (path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
      throw invalid(dir, `"files.${role}" must be a file name inside the folder, got ${show(name)}`);
    }
    if (!fs.existsSync(path.join(dir, name))) {
      throw new JepaError(
        ErrorCode.FILE_NOT_FOUND,
        `no such file: ${path.join(dir, name)} (jepa.json names it as "${role}")`,
      );
    }
  }
  return info as unknown as ModelInfo;
}

/** A folder with a jepa.json, read; null for a path that is not a folder or has no jepa.json. */
export function modelFolder(source: unknown): ModelInfo | null {
  if (typeof source !== 'string') return null;
  if (!fs.existsSync(source) || !fs.statSync(source).isDirectory()) return null;
  if (!fs.existsSync(path.join(source, MODEL_INFO_FILE))) return null;
  return readModelInfo(source);
}

/** Checks that a folder's model is of a kind `loader` takes; the error names the right loader. */
export function expectKind(dir: string, info: ModelInfo, kinds: ModelKind[], loader: string): void {
  if (!kinds.includes(info.kind)) {
    throw new JepaError(
      ErrorCode.INVALID_MODULE,
      `${dir} holds a "${info.kind}" model (exported from ${info.source}), which ${loader} does not take: load it with ${LOADER[info.kind]}`,
    );
  }
}

/**
 * The single TorchScript file of a one-module kind (hjepa, motion-autoencoder, vl-predictor):
 * a file path as given, or a model folder's `files.model`.
 */
export function singleModuleFile(
  source: string,
  kind: ModelKind,
  loader: string,
): { file: string; info: ModelInfo | null } {
  const info = modelFolder(source);
  if (!info) return { file: source, info: null };
  expectKind(source, info, [kind], loader);
  return { file: path.join(source, info.files.model), info };
}
