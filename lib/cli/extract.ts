/**
 * `jepa-native extract MODEL INPUT_DIR OUTPUT_DIR`: runs a TorchScript encoder over a folder of
 * images, videos or feature files and writes one feature file per input in seed 000's layout
 * (`{features, shape, dtype, source_chunk, image_id}`; files named
 * `gbif_{id}_taxon_{taxon}_{species}_img_{n}...` go to `taxon_{taxon}/..._features.pt` as in
 * seed 000, others mirror their relative path as `<stem>_features.pt`).
 *
 * Batched (inputs of a batch are decoded while the previous batch runs), resumable (an output
 * that exists is complete, since every write is atomic, and is skipped), tolerant (a bad input is
 * reported, listed in `failed.txt` and skipped), shardable (`--rank R --world-size W` takes every
 * W-th input from R, so that W processes can share a folder).
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import * as distributed from '../distributed/distributed';
import type { Dtype } from '../core/dtype';
import { decodeImageInto, decodeVideoInto, resolveImageOptions, type ResolvedImageOptions } from '../media/decode';
import type { Module } from '../models/module';
import { tensor, type Tensor } from '../tensor/tensor';
import { select } from '../tensor/ops.generated';
import { CliError, errorText, EXIT, lib, shapeText, usage, type Io } from './common';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp'];
export const VIDEO_EXTENSIONS = ['.mp4', '.m4v', '.mov', '.webm', '.mkv', '.avi', '.mpg', '.mpeg', '.ogv', '.wmv', '.flv'];
export const FEATURE_EXTENSIONS = ['.pt', '.pth', '.npy', '.safetensors'];

export interface ExtractOptions {
  method: string;
  batchSize: number;
  inputShape?: number[];
  layout?: 'CTHW' | 'TCHW';
  mean?: number[];
  std?: number[];
  fit?: 'cover' | 'fill';
  dtype: string;
  inputKey?: string;
  overwrite?: boolean;
  rank?: number;
  worldSize?: number;
  progress?: boolean;
  device: string;
  threads?: number;
  json?: boolean;
}

type Kind = 'image' | 'video' | 'features';

interface Item {
  /** Absolute input path. */
  file: string;
  /** Path relative to the input folder. */
  rel: string;
  kind: Kind;
  /** Output path. */
  out: string;
}

/** What one run did (printed with --json). */
export interface ExtractSummary {
  inputs: number;
  written: number;
  alreadyDone: number;
  failed: { input: string; error: string }[];
  outputs: string[];
  rank: number;
  worldSize: number;
  /** Under `jepa-native launch` (torchrun's environment), on rank 0: the counts of every rank together. */
  total?: { inputs: number; written: number; alreadyDone: number; failed: number };
}

/** How the model takes its input, after the batch dimension. */
interface InputSpec {
  shape: number[];
  /** image [3, H, W]; video [3, T, H, W] (CTHW, JEPA) or [T, 3, H, W] (TCHW, V-JEPA 2 HF); features: anything else. */
  kind: 'image' | 'video' | 'features';
  layout: 'CTHW' | 'TCHW' | null;
  frames: number;
  height: number;
  width: number;
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
  if (m) {
    return lib().features.featureFilePath(outputDir, { gbifId: m[1], taxonId: m[2], species: m[3], imageNumber: Number(m[4]) });
  }
  return path.join(outputDir, path.dirname(rel), `${stem}_features.pt`);
}

/** Every input under `dir` (recursively, sorted, hidden files and the output folder left out). */
function listInputs(dir: string, outputDir: string): { file: string; rel: string; kind: Kind }[] {
  const found: { file: string; rel: string; kind: Kind }[] = [];
  const outAbs = path.resolve(outputDir);
  const visit = (d: string) => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      throw new CliError(`cannot read the folder ${d}: ${(e as Error).message}`);
    }
    for (const ent of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (ent.name.startsWith('.')) continue;
      const full = path.join(d, ent.name);
      if (ent.isDirectory()) {
        if (path.resolve(full) !== outAbs) visit(full);
      } else if (ent.isFile() || ent.isSymbolicLink()) {
        const kind = kindOf(ent.name);
        if (kind) found.push({ file: full, rel: path.relative(dir, full), kind });
      }
    }
  };
  visit(dir);
  return found;
}

function inputSpec(module: Module, opts: ExtractOptions): InputSpec {
  let shape = opts.inputShape;
  if (!shape) {
    if (!module.hasMethod('input_shape')) {
      throw usage(
        'the model does not say what it takes (it has no input_shape() method): give --input-shape, e.g. ' +
          '3,224,224 (images), 3,16,224,224 or 16,3,224,224 (videos) or the shape of one feature tensor',
      );
    }
    const s = module.runSync('input_shape');
    if (!Array.isArray(s) || !s.every((d) => typeof d === 'number')) {
      throw new CliError(`the model's input_shape() returned ${JSON.stringify(s)}, expected a list of ints`);
    }
    shape = s as number[];
  }
  if (shape.length === 3 && shape[0] === 3) {
    return { shape, kind: 'image', layout: null, frames: 1, height: shape[1], width: shape[2] };
  }
  if (shape.length === 4 && (shape[0] === 3 || shape[1] === 3)) {
    let layout = opts.layout ?? null;
    if (!layout) {
      if (shape[0] === 3 && shape[1] === 3) throw usage(`the input shape ${shapeText(shape)} is ambiguous: give --layout CTHW or TCHW`);
      layout = shape[0] === 3 ? 'CTHW' : 'TCHW';
    }
    const frames = layout === 'CTHW' ? shape[1] : shape[0];
    return { shape, kind: 'video', layout, frames, height: shape[2], width: shape[3] };
  }
  return { shape, kind: 'features', layout: null, frames: 0, height: 0, width: 0 };
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Reads one feature tensor from a .pt (key `--input-key`, else 'features', 'feature' or the only tensor), .npy or safetensors file. */
async function loadFeatureTensor(file: string, key: string | undefined): Promise<Tensor> {
  const L = lib();
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return L.loadNpy(file);
  const all: Record<string, unknown> =
    ext === '.safetensors' ? await L.loadSafetensors(file) : ((v) => (v instanceof L.Tensor ? { tensor: v } : (v as Record<string, unknown>)))(await L.load(file));
  if (typeof all !== 'object' || all === null) throw new CliError('the file holds no tensor');
  const get = (k: string) => (all instanceof Map ? all.get(k) : all[k]);
  if (key !== undefined) {
    const t = get(key);
    if (!(t instanceof L.Tensor)) throw new CliError(`the file has no tensor under the key '${key}'`);
    return t;
  }
  for (const k of ['features', 'feature']) {
    const t = get(k);
    if (t instanceof L.Tensor) return t;
  }
  const tensors = (all instanceof Map ? [...all.values()] : Object.values(all)).filter((v) => v instanceof L.Tensor) as Tensor[];
  if (tensors.length === 1) return tensors[0];
  throw new CliError(`the file holds ${tensors.length} tensors and none under 'features' or 'feature': choose one with --input-key`);
}

/** Runs the extraction. */
export async function extract(modelPath: string, inputDir: string, outputDir: string, opts: ExtractOptions, io: Io): Promise<{ summary: ExtractSummary; exitCode: number }> {
  const L = lib();
  const rank = opts.rank ?? Number(process.env.RANK ?? 0);
  const worldSize = opts.worldSize ?? Number(process.env.WORLD_SIZE ?? 1);
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw usage(`--world-size must be a positive integer, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) throw usage(`--rank must be an integer in [0, ${worldSize - 1}], got ${rank}`);
  if (!(L.DTYPES as readonly string[]).includes(opts.dtype)) throw usage(`--dtype must be one of ${L.DTYPES.join(', ')}, got '${opts.dtype}'`);
  if (!fs.existsSync(modelPath)) throw new CliError(`${modelPath}: no such model file (expected a TorchScript file, torch.jit.save)`);
  if (!fs.existsSync(inputDir) || !fs.statSync(inputDir).isDirectory()) throw new CliError(`${inputDir}: no such folder`);
  try {
    fs.mkdirSync(outputDir, { recursive: true });
    fs.accessSync(outputDir, fs.constants.W_OK);
  } catch (e) {
    throw new CliError(`cannot write to the output folder ${outputDir}: ${(e as Error).message}`);
  }
  if (opts.threads !== undefined) L.setNumThreads(opts.threads);

  let module: Module;
  try {
    module = await L.loadModule(modelPath, { device: opts.device as 'cpu' });
  } catch (e) {
    throw new CliError(`cannot load the model ${modelPath}: ${errorText(e)}`);
  }
  if (!module.hasMethod(opts.method)) {
    throw usage(`the model has no method '${opts.method}' (it has: ${module.methods().join(', ')})`);
  }
  const spec = inputSpec(module, opts);
  let media: ResolvedImageOptions | null = null;
  if (spec.kind !== 'features') {
    try {
      media = resolveImageOptions({ size: [spec.height, spec.width], mean: opts.mean, std: opts.std, fit: opts.fit }, 'options');
    } catch (e) {
      throw usage(errorText(e));
    }
  }
  const perItem = numel(spec.shape);
  const outDtype = opts.dtype as Dtype;

  // Started by `jepa-native launch` (torchrun's environment, no explicit --rank): the ranks join
  // a gloo group now (a missing peer fails here, not after the work), and rank 0 prints the
  // summary of all ranks at the end. A peer that dies fails the others at once; one that hangs
  // fails them after JEPA_DIST_TIMEOUT_MS (default here one hour, since ranks finish at
  // different times).
  const launched =
    opts.rank === undefined && opts.worldSize === undefined && worldSize > 1 && !!process.env.MASTER_ADDR && !!process.env.MASTER_PORT;
  const group = launched
    ? await distributed.init({ backend: 'gloo', timeout: Number(process.env.JEPA_DIST_TIMEOUT_MS ?? 3_600_000) })
    : null;

  // Inputs: this rank's share (sorted, round-robin: jepa.distributed.shardFiles), minus what is already written.
  const all = listInputs(inputDir, outputDir);
  const share = new Set(distributed.shardFiles(all.map((x) => x.rel), rank, worldSize));
  const mine = all.filter((x) => share.has(x.rel));
  const summary: ExtractSummary = { inputs: mine.length, written: 0, alreadyDone: 0, failed: [], outputs: [], rank, worldSize };
  const seen = new Map<string, string>();
  const todo: Item[] = [];
  const fail = (rel: string, message: string) => {
    summary.failed.push({ input: rel, error: message });
    log(`skipped ${rel}: ${message}`);
  };
  let bar: MultiBar | null = null;
  let progress: ReturnType<MultiBar['create']> | null = null;
  const log = (line: string) => {
    if (bar) bar.log(`${line}\n`);
    else io.err(`jepa-native: ${line}\n`);
  };
  for (const x of mine) {
    const out = outputPathFor(x.rel, outputDir);
    const other = seen.get(out);
    if (other !== undefined) {
      fail(x.rel, `its output ${path.relative(outputDir, out)} is also the output of ${other}: rename one of them`);
      continue;
    }
    seen.set(out, x.rel);
    if (!opts.overwrite && fs.existsSync(out)) {
      summary.alreadyDone++;
      continue;
    }
    todo.push({ ...x, out });
  }

  const showBar = opts.progress ?? io.errIsTTY;
  if (showBar && todo.length > 0) {
    bar = new MultiBar(
      { stream: process.stderr, format: 'extract [{bar}] {percentage}% | {value}/{total} inputs | {eta_formatted} left | {failed} failed', hideCursor: true, noTTYOutput: !io.errIsTTY, notTTYSchedule: 1000 },
      Presets.shades_classic,
    );
    progress = bar.create(todo.length, 0, { failed: 0 });
  }

  // Decoding one input into its slot of the batch buffer (the model's layout, TCHW for videos first).
  const decode = async (item: Item, buf: Float32Array, offset: number): Promise<void> => {
    if (item.kind === 'features') {
      const t = await loadFeatureTensor(item.file, opts.inputKey);
      if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw new CliError(`the feature tensor has shape ${shapeText(t.shape)}, the model takes ${shapeText(spec.shape)}`);
      }
      const f = t.to('float32').contiguous();
      buf.set(f.data<'float32'>(), offset);
      return;
    }
    if (spec.kind === 'features') throw new CliError(`the model takes feature tensors ${shapeText(spec.shape)}, not ${item.kind}s`);
    if (spec.kind === 'image') {
      if (item.kind === 'video') throw new CliError('the model takes images [3, H, W]; videos need a video model');
      await decodeImageInto(item.file, media!, buf, offset, item.rel);
      return;
    }
    const frame = 3 * spec.height * spec.width;
    if (item.kind === 'image') {
      // A still image is a clip of T identical frames (as V-JEPA 2 treats images).
      await decodeImageInto(item.file, media!, buf, offset, item.rel);
      for (let t = 1; t < spec.frames; t++) buf.copyWithin(offset + t * frame, offset, offset + frame);
    } else {
      await decodeVideoInto(item.file, media!, spec.frames, buf, offset, item.rel);
    }
  };

  interface Batch {
    items: Item[];
    input: Tensor | null;
  }
  const loadBatch = async (items: Item[]): Promise<Batch> => {
    const buf = new Float32Array(items.length * perItem);
    const ok: boolean[] = items.map(() => true);
    await mapLimit(items, items.some((x) => x.kind === 'video') ? 2 : 8, async (item, i) => {
      try {
        await decode(item, buf, i * perItem);
      } catch (e) {
        ok[i] = false;
        fail(item.rel, errorText(e));
        progress?.increment(1, { failed: summary.failed.length });
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
    const isVideo = spec.kind === 'video' && kept.every((x) => x.kind !== 'features');
    // Videos were decoded as [B, T, 3, H, W]; a CTHW model takes [B, 3, T, H, W].
    const shape = isVideo ? [kept.length, spec.frames, 3, spec.height, spec.width] : [kept.length, ...spec.shape];
    let input = L.tensor(data, shape);
    if (isVideo && spec.layout === 'CTHW') input = input.permute(0, 2, 1, 3, 4).contiguous();
    const dtype = module.dtype ?? 'float32';
    if (dtype !== 'float32' || module.device !== 'cpu') input = input.to({ dtype, device: module.device as 'cpu' });
    return { items: kept, input };
  };

  const writeOne = async (item: Item, out: Tensor, index: number): Promise<void> => {
    const view = select(out, 0, index);
    const features = view.dtype === outDtype ? view.cpu().clone() : view.to({ dtype: outDtype, device: 'cpu' });
    view.dispose();
    const stem = path.basename(item.rel, path.extname(item.rel));
    const dict = L.features.featureDict(features, { sourceChunk: item.rel, imageId: stem });
    fs.mkdirSync(path.dirname(item.out), { recursive: true });
    await L.save(item.out, dict);
    features.dispose();
    summary.written++;
    summary.outputs.push(item.out);
  };

  const runItems = async (batch: Batch): Promise<void> => {
    if (!batch.input) return;
    let result: unknown;
    try {
      result = await module.run(opts.method, batch.input);
    } catch (e) {
      if (batch.items.length > 1) {
        // Find which inputs fail: run them one at a time.
        for (let i = 0; i < batch.items.length; i++) {
          const one = select(batch.input, 0, i).contiguous();
          await runItems({ items: [batch.items[i]], input: one.reshape([1, ...one.shape]) });
        }
        return;
      }
      fail(batch.items[0].rel, `the model failed on it: ${errorText(e)}`);
      progress?.increment(1, { failed: summary.failed.length });
      return;
    } finally {
      batch.input.dispose();
    }
    if (!(result instanceof L.Tensor) || result.shape[0] !== batch.items.length) {
      throw new CliError(
        `the model's ${opts.method}() returned ${result instanceof L.Tensor ? `a tensor of shape ${shapeText(result.shape)}` : 'something other than a tensor'}, ` +
          `expected a tensor [B, ...] with B = ${batch.items.length}`,
      );
    }
    for (let i = 0; i < batch.items.length; i++) {
      try {
        await writeOne(batch.items[i], result, i);
      } catch (e) {
        throw new CliError(`cannot write ${batch.items[i].out}: ${errorText(e)}`);
      }
      progress?.increment(1, { failed: summary.failed.length });
    }
    result.dispose();
  };

  const batches: Item[][] = [];
  for (let i = 0; i < todo.length; i += opts.batchSize) batches.push(todo.slice(i, i + opts.batchSize));
  try {
    let pending: Promise<Batch> | null = batches.length > 0 ? loadBatch(batches[0]) : null;
    for (let k = 0; k < batches.length; k++) {
      const batch: Batch = await pending!;
      pending = k + 1 < batches.length ? loadBatch(batches[k + 1]) : null;
      await runItems(batch);
    }
  } finally {
    bar?.stop();
    module.dispose();
  }

  const failedFile = path.join(outputDir, worldSize > 1 ? `failed.rank${rank}.txt` : 'failed.txt');
  if (summary.failed.length > 0) {
    fs.writeFileSync(failedFile, summary.failed.map((f) => `${f.input}\t${f.error.replace(/\s+/g, ' ')}`).join('\n') + '\n');
  } else if (fs.existsSync(failedFile)) {
    fs.rmSync(failedFile);
  }
  const shard = worldSize > 1 ? ` (rank ${rank} of ${worldSize})` : '';
  io.err(
    `extracted ${summary.written} of ${summary.inputs} inputs${shard}; ${summary.alreadyDone} already done; ${summary.failed.length} failed` +
      (summary.failed.length > 0 ? ` (listed in ${failedFile})` : '') +
      '\n',
  );
  if (group) {
    const counts = tensor(BigInt64Array.from([summary.inputs, summary.written, summary.alreadyDone, summary.failed.length].map(BigInt)));
    const every = await distributed.allGather(counts, { group });
    if (rank === 0) {
      const sum = (k: number) => every.reduce((acc, t) => acc + Number((t.data() as BigInt64Array)[k]), 0);
      summary.total = { inputs: sum(0), written: sum(1), alreadyDone: sum(2), failed: sum(3) };
      io.err(
        `all ${worldSize} ranks: extracted ${summary.total.written} of ${summary.total.inputs} inputs; ` +
          `${summary.total.alreadyDone} already done; ${summary.total.failed} failed` +
          (summary.total.failed > 0 ? ` (listed in ${path.join(outputDir, 'failed.rank*.txt')})` : '') +
          '\n',
      );
    }
    await distributed.destroy();
  }
  if (opts.json) io.out(JSON.stringify(summary, null, 2) + '\n');
  return { summary, exitCode: summary.failed.length > 0 ? EXIT.PARTIAL : EXIT.OK };
}
