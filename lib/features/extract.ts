/**
 * Feature extraction, seed 000's job: run an encoder over images, videos or feature files and
 * write one feature file per input (`{features, shape, dtype, source_chunk, image_id}`, files
 * named `gbif_{id}_taxon_{taxon}_{species}_img_{n}_features.pt` under `taxon_{taxon}/` for
 * seed-named inputs, `<stem>_features.pt` mirroring the input's relative path otherwise).
 *
 * ```js
 * const summary = await jepa.features.extract('models/vjepa2', 'photos/', { output: 'features/' });
 * ```
 *
 * The model is an exported folder (`jepa.json` names its encoder, input size, frames and
 * preprocessing preset), a TorchScript file, or a loaded {@link Module}. The pipeline overlaps
 * its stages: `concurrency` batches run in the model at once (on a CPU each with its share of the
 * intra-op threads), the next batches are decoded (libvips' threads, ffmpeg processes, the
 * preprocessing on worker threads) and the finished batches' files are written (worker threads)
 * meanwhile; for images and videos the layout and the casts are done off the JS thread too.
 * Resumable (an output that exists is complete, every write being atomic, and is skipped),
 * tolerant (a bad input is reported, listed in `failed.txt` and skipped), shardable (`rank` /
 * `worldSize`).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Device, Dtype } from '../core/dtype';
import { DTYPES } from '../core/dtype';
import { shardFiles } from '../distributed/distributed';
import { ErrorCode, invalidArgument, JepaError } from '../core/errors';
import { load, save } from '../io/pt';
import { loadNpy, loadSafetensors } from '../io/formats';
import { decodeImageInto, decodeVideoInto, mapLimit } from '../media/decode';
import { resolvePreprocess, type PreprocessOptions, type ResolvedPreprocess } from '../media/preprocess';
import { resolveSampling, sampleClips, type SamplingOptions } from '../media/sampling';
import { MODEL_INFO_FILE, readModelInfo } from '../models/folder';
import { getNumThreads, loadModule, Module } from '../models/module';
import { Tensor, tensor } from '../tensor/tensor';
import { select } from '../tensor/ops.generated';
import { checkOptions, checkPositiveInt, isDeviceString, show } from '../core/validate';
import { featureDict, featureFilePath } from './features';

/** The images extraction decodes (what libvips reads; jepa.data.IMAGE_EXTENSIONS is torchvision's ImageFolder list instead). */
export const IMAGE_EXTENSIONS = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
  '.bmp',
];
/** The videos extraction decodes (ffmpeg). */
export const VIDEO_EXTENSIONS = [
  '.mp4',
  '.m4v',
  '.mov',
  '.webm',
  '.mkv',
  '.avi',
  '.mpg',
  '.mpeg',
  '.ogv',
  '.wmv',
  '.flv',
];
export const FEATURE_EXTENSIONS = ['.pt', '.pth', '.npy', '.safetensors'];

/** Options of {@link extract}. */
export interface ExtractOptions {
  /** The folder the feature files go to (created). Required. */
  output: string;
  /** Preprocessing of images and video frames; default the model folder's preset (jepa.json), else `fit: 'cover'` at the model's input size. */
  preprocess?: PreprocessOptions;
  /** Which frames of a video make its clip (one clip per video; `numFrames` is the model's). Default V-JEPA's clips, `frameStep` 4. */
  sampling?: Omit<SamplingOptions, 'numFrames' | 'numClips'>;
  /** Inputs per model call. Default 8. */
  batchSize?: number;
  /**
   * Batches in the model at once. On a CPU each call gets an equal share of the intra-op threads
   * (`jepa.setNumThreads`): two calls with half the threads each keep the cores busier than one
   * call with all of them (fewer OpenMP barriers), at the cost of a second batch's activations
   * in memory. Default 2 on a CPU when there are at least 2 intra-op threads, else 1 (CUDA: 1).
   */
  concurrency?: number;
  /**
   * Whether TorchScript optimises the model's graph (Python's default; `false` is
   * `torch.jit.optimized_execution(False)`). Default `false` on a CPU, where the optimised graph
   * runs the same kernels (the features are bit-identical: test/features-extract.test.mjs) but its
   * first calls are profiling and compiling runs, two to three times slower than the rest;
   * `true` on CUDA, where it may fuse ops.
   */
  jitOptimize?: boolean;
  /** dtype of the features written. Default `'float16'` (seed 000). */
  dtype?: Dtype;
  /** The model method to call. Default `'forward'`. */
  method?: string;
  /** The model's input after the batch dimension, when it has no `input_shape()` method. */
  inputShape?: readonly number[];
  /** Video input layout: `'CTHW'` (JEPA) or `'TCHW'` (transformers' V-JEPA 2); default from the input shape. */
  layout?: 'CTHW' | 'TCHW';
  /** Feature-file inputs: the key of the tensor (default `features`, `feature`, or the only tensor). */
  inputKey?: string;
  /** Recompute outputs that already exist. */
  overwrite?: boolean;
  /** This process's share of the inputs (`jepa.distributed.shardFiles`); default `$RANK` / `$WORLD_SIZE` or 0 / 1. */
  rank?: number;
  worldSize?: number;
  /**
   * Device of the model (string model only). `'cuda'` under `jepa-native launch` (or torchrun)
   * means `cuda:$LOCAL_RANK`, so that each rank of a machine has its own GPU.
   */
  device?: Device;
  /** The folder input paths are named relative to (default: the input folder, or the inputs' common folder). */
  root?: string;
  /** Called after each input is written, skipped as already done, or failed. */
  onProgress?: (event: ExtractProgress) => void;
}

/** One step of {@link extract}'s progress. */
export interface ExtractProgress {
  input: string;
  status: 'written' | 'failed';
  error?: string;
  done: number;
  total: number;
}

/** What one run did. */
export interface ExtractSummary {
  inputs: number;
  written: number;
  alreadyDone: number;
  failed: { input: string; error: string }[];
  /** The files written, sorted. */
  outputs: string[];
  rank: number;
  worldSize: number;
  /** The `failed.txt` written (null when nothing failed). */
  failedList: string | null;
}

const OPTION_KEYS = [
  'output',
  'preprocess',
  'sampling',
  'batchSize',
  'concurrency',
  'jitOptimize',
  'dtype',
  'method',
  'inputShape',
  'layout',
  'inputKey',
  'overwrite',
  'rank',
  'worldSize',
  'device',
  'root',
  'onProgress',
];

type Kind = 'image' | 'video' | 'features';

interface Item {
  file: string;
  rel: string;
  kind: Kind;
  out: string;
}

/** What an exported model folder's jepa.json says (the fields extraction reads). */
export interface ModelFolder {
  dir: string;
  encoder: string;
  preset: string | null;
  mean?: [number, number, number];
  std?: [number, number, number];
  size: [number, number] | null;
  frames: number | null;
}

/**
 * Reads the fields of an exported model folder's `jepa.json` that extraction needs (the format
 * of `jepa-native export`, docs/models.md): the encoder file (the target encoder of a JEPA, the
 * encoder of an image or text encoder), the input size and frames, the preprocessing preset.
 */
export function readModelFolder(dir: string): ModelFolder {
  const info = readModelInfo(dir); // the one reader of jepa.json (lib/models/folder.ts)
  const files = info.files;
  const name = [files.targetEncoder, files.encoder, files.contextEncoder].find((x) => typeof x === 'string');
  if (!name) {
    throw new JepaError(
      ErrorCode.MODEL_FOLDER_INVALID,
      `${path.join(dir, MODEL_INFO_FILE)}: names no encoder in \`files\` (expected targetEncoder, encoder or contextEncoder), got ${show(Object.keys(files))}`,
    );
  }
  const input = info.input;
  const pre = info.preprocess ?? null;
  const size = Array.isArray(input?.size) && input.size.length === 2 ? (input.size as [number, number]) : null;
  return {
    dir,
    encoder: path.join(dir, name),
    preset: typeof pre?.preset === 'string' ? pre.preset : null,
    mean: Array.isArray(pre?.mean) ? (pre.mean as [number, number, number]) : undefined,
    std: Array.isArray(pre?.std) ? (pre.std as [number, number, number]) : undefined,
    size,
    frames: typeof input?.frames === 'number' ? input.frames : null,
  };
}

/**
 * The device a rank runs on: `'cuda'` under a launcher that sets `LOCAL_RANK` (jepa-native
 * launch, torchrun) is `cuda:LOCAL_RANK`; anything else is kept.
 */
export function deviceForRank(device: Device, env: NodeJS.ProcessEnv = process.env): Device {
  if (device !== 'cuda') return device;
  const local = env.LOCAL_RANK;
  if (local === undefined || local === '') return device;
  const n = Number(local);
  if (!Number.isSafeInteger(n) || n < 0)
    throw invalidArgument(`expected LOCAL_RANK to be a non-negative integer, got ${show(local)}`);
  return `cuda:${n}` as Device;
}

function kindOf(file: string): Kind | null {
  const ext = path.extname(file).toLowerCase();
  if (IMAGE_EXTENSIONS.includes(ext)) return 'image';
  if (VIDEO_EXTENSIONS.includes(ext)) return 'video';
  if (FEATURE_EXTENSIONS.includes(ext)) return 'features';
  return null;
}

const SEED_NAME = /^gbif_(\d+)_taxon_(\d+)_(.+)_img_(\d+)(?:_features)?$/;

/** The output path of an input (seed 000's layout for seed-named inputs). */
export function outputPathFor(rel: string, outputDir: string): string {
  const ext = path.extname(rel);
  const stem = path.basename(rel, ext).replace(/_features$/, '');
  const m = SEED_NAME.exec(stem);
  if (m) return featureFilePath(outputDir, { gbifId: m[1], taxonId: m[2], species: m[3], imageNumber: Number(m[4]) });
  return path.join(outputDir, path.dirname(rel), `${stem}_features.pt`);
}

/** Every input under `dir` (recursively, sorted, hidden files and the output folder left out). */
export function listInputs(dir: string, outputDir: string): { file: string; rel: string }[] {
  const found: { file: string; rel: string }[] = [];
  const outAbs = path.resolve(outputDir);
  const visit = (d: string) => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      throw new JepaError(ErrorCode.IO_ERROR, `cannot read the folder ${d}: ${(e as Error).message}`);
    }
    for (const ent of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (ent.name.startsWith('.')) continue;
      const full = path.join(d, ent.name);
      if (ent.isDirectory()) {
        if (path.resolve(full) !== outAbs) visit(full);
      } else if ((ent.isFile() || ent.isSymbolicLink()) && kindOf(ent.name)) {
        found.push({ file: full, rel: path.relative(dir, full) });
      }
    }
  };
  visit(dir);
  return found;
}

/** How the model takes its input, after the batch dimension. */
interface InputSpec {
  shape: number[];
  kind: 'image' | 'video' | 'features';
  layout: 'CTHW' | 'TCHW' | null;
  frames: number;
  height: number;
  width: number;
}

function inputSpec(
  module: Module,
  given: readonly number[] | undefined,
  layoutOpt: 'CTHW' | 'TCHW' | undefined,
): InputSpec {
  let shape = given ? [...given] : undefined;
  if (!shape) {
    if (!module.hasMethod('input_shape')) {
      throw invalidArgument(
        'the model does not say what it takes (it has no input_shape() method): give its input shape (--input-shape, options.inputShape), e.g. ' +
          '3,224,224 (images), 3,16,224,224 or 16,3,224,224 (videos) or the shape of one feature tensor',
      );
    }
    const s = module.runSync('input_shape');
    if (!Array.isArray(s) || !s.every((d) => typeof d === 'number')) {
      throw new JepaError(
        ErrorCode.INVALID_MODULE,
        `the model's input_shape() returned ${show(s)}, expected a list of ints`,
      );
    }
    shape = s as number[];
  }
  if (shape.length === 3 && shape[0] === 3)
    return { shape, kind: 'image', layout: null, frames: 1, height: shape[1], width: shape[2] };
  if (shape.length === 4 && (shape[0] === 3 || shape[1] === 3)) {
    let layout = layoutOpt ?? null;
    if (!layout) {
      if (shape[0] === 3 && shape[1] === 3)
        throw invalidArgument(
          `the input shape ${show(shape)} is ambiguous: give the layout (--layout, options.layout), CTHW or TCHW`,
        );
      layout = shape[0] === 3 ? 'CTHW' : 'TCHW';
    }
    const frames = layout === 'CTHW' ? shape[1] : shape[0];
    return { shape, kind: 'video', layout, frames, height: shape[2], width: shape[3] };
  }
  return { shape, kind: 'features', layout: null, frames: 0, height: 0, width: 0 };
}

async function loadFeatureTensor(file: string, key: string | undefined): Promise<Tensor> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return loadNpy(file);
  const value = ext === '.safetensors' ? await loadSafetensors(file) : await load(file);
  const all = (value instanceof Tensor ? { tensor: value } : value) as Record<string, unknown> | Map<string, unknown>;
  if (typeof all !== 'object' || all === null) throw new JepaError(ErrorCode.MEDIA_DECODE, 'the file holds no tensor');
  const get = (k: string) => (all instanceof Map ? all.get(k) : all[k]);
  if (key !== undefined) {
    const t = get(key);
    if (!(t instanceof Tensor))
      throw new JepaError(ErrorCode.MEDIA_DECODE, `the file has no tensor under the key '${key}'`);
    return t;
  }
  for (const k of ['features', 'feature']) {
    const t = get(k);
    if (t instanceof Tensor) return t;
  }
  const tensors = (all instanceof Map ? [...all.values()] : Object.values(all)).filter(
    (v) => v instanceof Tensor,
  ) as Tensor[];
  if (tensors.length === 1) return tensors[0];
  throw new JepaError(
    ErrorCode.MEDIA_DECODE,
    `the file holds ${tensors.length} tensors and none under 'features' or 'feature': choose one with the input key`,
  );
}

function messageOf(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('JEPA_') ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

function positive(value: unknown, name: string, fallback: number): number {
  return value === undefined ? fallback : checkPositiveInt(value, name);
}

/**
 * Extracts features: runs `model` over `inputs` (a folder, searched recursively, or a list of
 * files) and writes one feature file per input into `options.output`. Bad inputs are reported
 * (`onProgress`), listed in `failed.txt` and skipped; the rest goes on. Rejects (`JepaError`,
 * `TypeError`) only for what stops the whole run: a missing model or folder, bad options.
 */
export async function extract(
  model: string | Module,
  inputs: string | readonly string[],
  options: ExtractOptions,
): Promise<ExtractSummary> {
  const o = checkOptions(options, 'options', OPTION_KEYS) as unknown as ExtractOptions;
  if (typeof o.output !== 'string' || o.output.length === 0)
    throw invalidArgument(`expected \`options.output\` to be a folder path, got ${show(o.output)}`);
  const batchSize = positive(o.batchSize, 'options.batchSize', 8);
  if (o.concurrency !== undefined) positive(o.concurrency, 'options.concurrency', 1);
  if (o.jitOptimize !== undefined && typeof o.jitOptimize !== 'boolean')
    throw invalidArgument(`expected \`options.jitOptimize\` to be a boolean, got ${show(o.jitOptimize)}`);
  const dtype = o.dtype ?? 'float16';
  if (!(DTYPES as readonly string[]).includes(dtype))
    throw invalidArgument(`expected \`options.dtype\` to be one of ${DTYPES.join(', ')}, got ${show(dtype)}`);
  const worldSize = o.worldSize ?? Number(process.env.WORLD_SIZE ?? 1);
  const rank = o.rank ?? Number(process.env.RANK ?? 0);
  if (!Number.isSafeInteger(worldSize) || worldSize < 1)
    throw invalidArgument(`expected \`options.worldSize\` to be a positive integer, got ${show(worldSize)}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize)
    throw invalidArgument(`expected \`options.rank\` to be an integer in [0, ${worldSize - 1}], got ${show(rank)}`);
  if (o.device !== undefined && !isDeviceString(o.device))
    throw invalidArgument(`expected \`options.device\` to be 'cpu', 'cuda' or 'cuda:N', got ${show(o.device)}`);
  const method = o.method ?? 'forward';
  const outputDir = o.output;

  // The inputs, with the names they are written under.
  let listed: { file: string; rel: string }[];
  if (typeof inputs === 'string') {
    if (!fs.existsSync(inputs) || !fs.statSync(inputs).isDirectory())
      throw new JepaError(ErrorCode.FILE_NOT_FOUND, `${inputs}: no such folder`);
    listed = listInputs(o.root ?? inputs, outputDir).filter((x) =>
      path.resolve(x.file).startsWith(path.resolve(inputs)),
    );
  } else if (Array.isArray(inputs) && inputs.every((x) => typeof x === 'string')) {
    const root = o.root ?? (inputs.length > 0 ? commonFolder(inputs) : '.');
    listed = [...inputs].map((file) => ({ file, rel: path.relative(root, file) }));
  } else {
    throw invalidArgument(`expected \`inputs\` to be a folder or a list of file paths, got ${show(inputs)}`);
  }
  try {
    fs.mkdirSync(outputDir, { recursive: true });
    fs.accessSync(outputDir, fs.constants.W_OK);
  } catch (e) {
    throw new JepaError(ErrorCode.IO_ERROR, `cannot write to the output folder ${outputDir}: ${(e as Error).message}`);
  }

  // The model, and what it takes.
  let folder: ModelFolder | null = null;
  let module: Module;
  const owned = !(model instanceof Module);
  if (model instanceof Module) {
    module = model;
  } else if (typeof model === 'string') {
    if (!fs.existsSync(model))
      throw new JepaError(
        ErrorCode.FILE_NOT_FOUND,
        `${model}: no such model file or folder (expected a folder written by \`jepa-native export\` or a TorchScript file)`,
      );
    if (fs.statSync(model).isDirectory()) folder = readModelFolder(model);
    const file = folder ? folder.encoder : model;
    try {
      module = await loadModule(file, { device: deviceForRank(o.device ?? 'cpu') });
    } catch (e) {
      (e as Error).message = `cannot load the model ${file}: ${(e as Error).message}`;
      throw e;
    }
  } else {
    throw invalidArgument(
      `expected \`model\` to be a model folder, a TorchScript file or a Module, got ${show(model)}`,
    );
  }
  try {
    if (!module.hasMethod(method))
      throw invalidArgument(`the model has no method '${method}' (it has: ${module.methods().join(', ')})`);
    const spec = inputSpec(module, o.inputShape, o.layout);
    let media: ResolvedPreprocess | null = null;
    let sampling: SamplingOptions = {};
    if (spec.kind !== 'features') {
      const fromFolder: PreprocessOptions = folder?.preset
        ? {
            preset: folder.preset as PreprocessOptions['preset'],
            ...(folder.mean ? { mean: folder.mean } : {}),
            ...(folder.std ? { std: folder.std } : {}),
          }
        : {};
      media = resolvePreprocess(
        { size: [spec.height, spec.width], ...fromFolder, ...(o.preprocess ?? {}) },
        'options.preprocess',
      );
      if (media.height !== spec.height || media.width !== spec.width) {
        throw invalidArgument(
          `the preprocessing gives ${media.height}x${media.width} images, the model takes ${spec.height}x${spec.width}`,
        );
      }
      for (const k of ['numFrames', 'numClips'] as const) {
        if ((o.sampling as SamplingOptions | undefined)?.[k] !== undefined) {
          throw invalidArgument(
            `\`options.sampling.${k}\` is not an option of extract: one clip per video, of the model's ${spec.frames} frames`,
          );
        }
      }
      sampling = { ...(o.sampling ?? {}), numFrames: spec.frames || 1 };
      resolveSampling(sampling, 'options.sampling');
    }
    return await run({
      module,
      spec,
      media,
      sampling,
      listed,
      outputDir,
      batchSize,
      dtype,
      method,
      rank,
      worldSize,
      ...lanesFor(module, o.concurrency),
      jitOptimize: o.jitOptimize ?? module.device !== 'cpu',
      o,
    });
  } finally {
    if (owned) module.dispose();
  }
}

function commonFolder(files: readonly string[]): string {
  const dirs = files.map((f) => path.resolve(path.dirname(f)).split(path.sep));
  const first = dirs[0];
  let n = first.length;
  for (const d of dirs) {
    let i = 0;
    while (i < n && d[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}

interface RunState {
  module: Module;
  spec: InputSpec;
  media: ResolvedPreprocess | null;
  sampling: SamplingOptions;
  listed: { file: string; rel: string }[];
  outputDir: string;
  batchSize: number;
  dtype: Dtype;
  method: string;
  rank: number;
  worldSize: number;
  lanes: number;
  threadsPerCall?: number;
  jitOptimize: boolean;
  o: ExtractOptions;
}

/**
 * How many batches are in the model at once, and the intra-op threads of each call (undefined:
 * the process's count). On a small CPU one call with every thread spends much of its time in
 * OpenMP's barriers between ops: on 2 cores, two calls with one thread each ran the bench:extract
 * model 1.2-1.4x faster than one call with two (BENCHMARKS.md).
 */
function lanesFor(module: Module, concurrency: number | undefined): { lanes: number; threadsPerCall?: number } {
  const threads = getNumThreads();
  const cpu = module.device === 'cpu';
  const lanes = concurrency ?? (cpu && threads >= 2 ? 2 : 1);
  if (!cpu || lanes === 1) return { lanes };
  return { lanes, threadsPerCall: Math.max(1, Math.floor(threads / lanes)) };
}

async function run(s: RunState): Promise<ExtractSummary> {
  const { module, spec, media, outputDir, o } = s;
  const share = new Set(
    shardFiles(
      s.listed.map((x) => x.rel),
      s.rank,
      s.worldSize,
    ),
  );
  const mine = s.listed.filter((x) => share.has(x.rel));
  const summary: ExtractSummary = {
    inputs: mine.length,
    written: 0,
    alreadyDone: 0,
    failed: [],
    outputs: [],
    rank: s.rank,
    worldSize: s.worldSize,
    failedList: null,
  };
  const todo: Item[] = [];
  const seen = new Map<string, string>();
  let done = 0;
  const report = (input: string, status: 'written' | 'failed', error?: string) => {
    done++;
    o.onProgress?.({ input, status, error, done, total: todo.length });
  };
  const fail = (rel: string, message: string, counted = true) => {
    summary.failed.push({ input: rel, error: message });
    if (counted) report(rel, 'failed', message);
  };
  for (const x of mine) {
    const out = outputPathFor(x.rel, outputDir);
    const other = seen.get(out);
    if (other !== undefined) {
      fail(
        x.rel,
        `its output ${path.relative(outputDir, out)} is also the output of ${other}: rename one of them`,
        false,
      );
      continue;
    }
    seen.set(out, x.rel);
    if (!o.overwrite && fs.existsSync(out)) {
      summary.alreadyDone++;
      continue;
    }
    todo.push({ ...x, kind: kindOf(x.file)!, out });
  }

  const perItem = spec.shape.reduce((a, b) => a * b, 1);
  const frame = 3 * spec.height * spec.width;
  const sample = (info: { frames: number; fps: number | null }) => sampleClips(info, s.sampling);
  const decode = async (item: Item, buf: Float32Array, offset: number): Promise<void> => {
    if (item.kind === 'features') {
      const t = await loadFeatureTensor(item.file, o.inputKey);
      if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw new JepaError(
          ErrorCode.SHAPE_MISMATCH,
          `the feature tensor has shape ${show(t.shape)}, the model takes ${show(spec.shape)}`,
        );
      }
      buf.set(t.to('float32').contiguous().data<'float32'>(), offset);
      return;
    }
    if (spec.kind === 'features')
      throw invalidArgument(`the model takes feature tensors ${show(spec.shape)}, not ${item.kind}s`);
    if (spec.kind === 'image') {
      if (item.kind === 'video') throw invalidArgument('the model takes images [3, H, W]; videos need a video model');
      await decodeImageInto(item.file, media!, buf, offset, item.rel);
      return;
    }
    // Clips are written in the model's layout ([3, T, H, W] or [T, 3, H, W]) here, plane by
    // plane, so that no permute runs on the JS thread: a still image is a clip of T identical
    // frames (seed 000 repeats the image over T); a video's frames come decoded as [T, 3, H, W].
    const T = spec.frames;
    const plane = spec.height * spec.width;
    const at =
      spec.layout === 'CTHW'
        ? (c: number, t: number) => (c * T + t) * plane
        : (c: number, t: number) => (t * 3 + c) * plane;
    if (item.kind === 'image') {
      const still = new Float32Array(frame);
      await decodeImageInto(item.file, media!, still, 0, item.rel);
      for (let c = 0; c < 3; c++) {
        const src = still.subarray(c * plane, (c + 1) * plane);
        for (let t = 0; t < T; t++) buf.set(src, offset + at(c, t));
      }
    } else if (spec.layout === 'TCHW') {
      await decodeVideoInto(item.file, media!, sample, buf, offset, item.rel);
    } else {
      const clip = new Float32Array(T * frame);
      await decodeVideoInto(item.file, media!, sample, clip, 0, item.rel);
      for (let t = 0; t < T; t++)
        for (let c = 0; c < 3; c++)
          buf.set(clip.subarray((t * 3 + c) * plane, (t * 3 + c + 1) * plane), offset + at(c, t));
    }
  };

  interface Batch {
    items: Item[];
    input: Tensor | null;
  }
  const loadBatch = async (items: Item[]): Promise<Batch> => {
    const buf = new Float32Array(items.length * perItem);
    const ok = items.map(() => true);
    await mapLimit(items, items.some((x) => x.kind === 'video') ? 2 : 8, async (item, i) => {
      try {
        await decode(item, buf, i * perItem);
      } catch (e) {
        ok[i] = false;
        fail(item.rel, messageOf(e));
      }
    });
    const kept = items.filter((_, i) => ok[i]);
    if (kept.length === 0) return { items: kept, input: null };
    let data = buf;
    if (kept.length < items.length) {
      data = new Float32Array(kept.length * perItem);
      let j = 0;
      items.forEach((_, i) => {
        if (ok[i]) data.set(buf.subarray(i * perItem, (i + 1) * perItem), j++ * perItem);
      });
    }
    const host = tensor(data, [kept.length, ...spec.shape]);
    const mdtype = module.dtype ?? 'float32';
    if (mdtype === 'float32' && module.device === 'cpu') return { items: kept, input: host };
    try {
      return { items: kept, input: await host.toAsync({ dtype: mdtype, device: module.device as Device }) };
    } finally {
      host.dispose();
    }
  };

  // The conversion runs on a worker thread; each input's features are then copied out of the
  // batch as plain bytes (a file must hold that input's features only, not the batch's storage).
  const writeAll = async (items: Item[], result: Tensor): Promise<void> => {
    let cast: Tensor | null = null;
    try {
      cast =
        result.dtype === s.dtype && result.device === 'cpu'
          ? result
          : await result.toAsync({ dtype: s.dtype, device: 'cpu' });
      if (!cast.isContiguous) {
        const dense = cast.contiguous();
        if (cast !== result) cast.dispose();
        cast = dense;
      }
      const all = cast.data();
      const shape = cast.shape.slice(1);
      const per = all.length / items.length;
      await Promise.all(
        items.map(async (item, i) => {
          const features = tensor(all.slice(i * per, (i + 1) * per), shape, { dtype: s.dtype });
          try {
            const stem = path.basename(item.rel, path.extname(item.rel));
            await fs.promises.mkdir(path.dirname(item.out), { recursive: true });
            await save(item.out, featureDict(features, { sourceChunk: item.rel, imageId: stem }));
          } catch (e) {
            throw new JepaError(ErrorCode.IO_ERROR, `cannot write ${item.out}: ${messageOf(e)}`);
          } finally {
            features.dispose();
          }
          summary.written++;
          summary.outputs.push(item.out);
          report(item.rel, 'written');
        }),
      );
    } finally {
      if (cast && cast !== result) cast.dispose();
      result.dispose();
    }
  };

  const runBatch = async (batch: Batch): Promise<Array<{ items: Item[]; result: Tensor }>> => {
    if (!batch.input) return [];
    let result: unknown;
    try {
      result = await module.runWith({ threads: s.threadsPerCall, optimize: s.jitOptimize }, s.method, batch.input);
    } catch (e) {
      if (batch.items.length === 1) {
        fail(batch.items[0].rel, `the model failed on it: ${messageOf(e)}`);
        return [];
      }
      // Find which inputs fail: run them one at a time.
      const out: Array<{ items: Item[]; result: Tensor }> = [];
      for (let i = 0; i < batch.items.length; i++) {
        const one = select(batch.input, 0, i).contiguous();
        out.push(...(await runBatch({ items: [batch.items[i]], input: one.reshape([1, ...one.shape]) })));
      }
      return out;
    } finally {
      batch.input.dispose();
    }
    if (!(result instanceof Tensor) || result.shape[0] !== batch.items.length) {
      throw new JepaError(
        ErrorCode.SHAPE_MISMATCH,
        `the model's ${s.method}() returned ${result instanceof Tensor ? `a tensor of shape ${show(result.shape)}` : 'something other than a tensor'}, ` +
          `expected a tensor [B, ...] with B = ${batch.items.length}`,
      );
    }
    return [{ items: batch.items, result }];
  };

  // The pipeline: `lanes` batches are in the model at once (each call with its share of the
  // intra-op threads); while they run, the next batches are decoded and the finished batches'
  // files are written (at most two batches of writes per lane in flight).
  const batches: Item[][] = [];
  for (let i = 0; i < todo.length; i += s.batchSize) batches.push(todo.slice(i, i + s.batchSize));
  const loads = new Map<number, Promise<Batch>>();
  const writes: Promise<void>[] = [];
  let next = 0; // the first batch no lane has taken
  // Keeps the `lanes` batches after the ones taken decoding ahead (never one already taken).
  const prefetch = () => {
    for (let k = next; k < Math.min(next + s.lanes, batches.length); k++)
      if (!loads.has(k)) loads.set(k, loadBatch(batches[k]));
  };
  const lane = async () => {
    while (next < batches.length) {
      const k = next++;
      const pending = loads.get(k) ?? loadBatch(batches[k]);
      loads.delete(k);
      prefetch();
      const batch = await pending;
      for (const r of await runBatch(batch)) writes.push(writeAll(r.items, r.result));
      while (writes.length > 2 * s.lanes) await writes.shift();
    }
  };
  prefetch();
  try {
    await Promise.all(Array.from({ length: Math.min(s.lanes, batches.length) }, lane));
    await Promise.all(writes);
  } finally {
    await Promise.allSettled([...loads.values(), ...writes]);
  }

  summary.outputs.sort();
  const failedFile = path.join(outputDir, s.worldSize > 1 ? `failed.rank${s.rank}.txt` : 'failed.txt');
  if (summary.failed.length > 0) {
    fs.writeFileSync(
      failedFile,
      summary.failed.map((f) => `${f.input}\t${f.error.replace(/\s+/g, ' ')}`).join('\n') + '\n',
    );
    summary.failedList = failedFile;
  } else if (fs.existsSync(failedFile)) {
    fs.rmSync(failedFile);
  }
  return summary;
}
