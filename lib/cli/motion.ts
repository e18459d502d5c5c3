/**
 * `jepa-native motion train | encode | features`: seed 003's vfm_encoder scripts (train.py,
 * encode.py, vfm_feature.py) with their options and defaults, on jepa-native's Trainer, DataLoader,
 * video decoding and exported models. The architecture comes from a model folder written by
 * `jepa-native export module --kind motion-autoencoder` (the seed's model.py is the user's own);
 * the seed's size options, when given, are checked against it. See docs/cli.md and
 * docs/training.md ("Seed 003 in Node").
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Command } from 'commander';
import { IMAGENET_MEAN, IMAGENET_STD } from '../media/preprocess';
import type { MotionAutoencoder } from '../models/jepa';
import type { Module } from '../models/module';
import type { Tensor } from '../tensor/tensor';
import { CliError, errorText, EXIT, finiteNumber, lib, nonNegativeInt, positiveInt, usage, type Io } from './common';

/** The feature files train.py and encode.py read. */
export const MOTION_FEATURE_EXTENSIONS = ['.pt', '.pth', '.npy'];
/** The video files `motion features` reads. */
export const MOTION_VIDEO_EXTENSIONS = ['.mp4', '.avi', '.mov', '.mkv', '.webm'];
/** The state-dict entries of a checkpoint, in the order they are looked for (as `export module`). */
const STATE_KEYS = ['model_state_dict', 'state_dict', 'model', 'module'];
/** The models of vfm_feature.py; `motion features` runs VJEPA2 (an exported V-JEPA 2 folder). */
const SEED_MODELS = ['VideoMAEv2', 'VideoMAE', 'DINOv2', 'VJEPA2'];

/** The size options of train.py / encode.py (seed 003's defaults where the model does not say). */
interface SizeOptions {
  model: string;
  inputDim?: number;
  modelDim?: number;
  latentDim?: number;
  numHeads?: number;
  numLayers?: number;
  dropout?: number;
  useToken?: boolean;
  device: string;
}

/** `motion train` options, as commander parses them. */
export interface MotionTrainOptions extends SizeOptions {
  featureDir: string;
  saveDir: string;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  numWorkers: number;
  reconWeight: number;
  motionWeight: number;
  smoothWeight: number;
  seed: number;
  json?: boolean;
}

/** `motion encode` options. */
export interface MotionEncodeOptions extends SizeOptions {
  checkpoint: string;
  input: string;
  output: string;
  json?: boolean;
}

/** `motion features` options. */
export interface MotionFeaturesOptions {
  videoDir: string;
  csvPath: string;
  outputRoot: string;
  models: string[];
  vjepa2Model?: string;
  device: string;
  numFrames: number;
  videomaeResizeH: number;
  videomaeResizeW: number;
  allowSkipMissing?: boolean;
  json?: boolean;
}

/** Every file with one of `exts` under `dir`, recursively, sorted by path (as Python's `sorted(rglob)` of str paths). */
function filesUnder(dir: string, exts: readonly string[], what: string): string[] {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new CliError(`${dir}: not a folder (${what})`, EXIT.ERROR);
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && exts.includes(path.extname(e.name).toLowerCase())) out.push(full);
    }
  };
  walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Loads the motion autoencoder of `--model` and checks the seed's size options against its
 * parameters (input, model and latent width, layers, `--use-token`); heads and dropout are
 * properties of the export and cannot be read back from the weights.
 */
async function loadModel(o: SizeOptions): Promise<MotionAutoencoder> {
  const ae = await lib().MotionAutoencoder.load(o.model, { device: o.device as never });
  const params = ae.module.namedParameters();
  const inProj = params.get('encoder.in_proj.weight');
  const found: Record<string, number | boolean> = { inputDim: ae.inputDim, latentDim: ae.latentDim };
  if (inProj) {
    found.modelDim = inProj.shape[0];
    found.useToken = inProj.shape[1] === 2 * ae.inputDim;
  }
  const layers = new Set(
    [...params.keys()].map((k) => /^encoder\.blocks\.(\d+)\./.exec(k)?.[1]).filter((x) => x !== undefined),
  );
  if (layers.size > 0) found.numLayers = layers.size;
  const flags: Record<string, string> = {
    inputDim: '--input-dim',
    modelDim: '--model-dim',
    latentDim: '--latent-dim',
    numLayers: '--num-layers',
    useToken: '--use-token',
  };
  const wrong = Object.keys(flags)
    .filter(
      (k) =>
        found[k] !== undefined && o[k as keyof SizeOptions] !== undefined && o[k as keyof SizeOptions] !== found[k],
    )
    .map((k) => `${flags[k]} ${String(o[k as keyof SizeOptions])} (the model has ${String(found[k])})`);
  if (wrong.length > 0) {
    ae.module.dispose();
    throw usage(
      `${o.model}: the model does not have the sizes given: ${wrong.join(', ')}. Its architecture is fixed by the export (jepa-native export module)`,
    );
  }
  return ae;
}

/** The state dict of a checkpoint: the file itself, or its model_state_dict / state_dict / model / module entry. */
function stateDictOf(value: unknown, file: string): Map<string, Tensor> | Record<string, Tensor> {
  const { Tensor: T } = lib();
  const entries =
    value instanceof Map ? [...value.entries()] : value && typeof value === 'object' ? Object.entries(value) : [];
  if (entries.length > 0 && entries.every(([, v]) => v instanceof T)) return value as Record<string, Tensor>;
  for (const k of STATE_KEYS) {
    const found = entries.find(([name]) => name === k)?.[1];
    if (found && typeof found === 'object' && !(found instanceof T)) return found as Record<string, Tensor>;
  }
  throw new CliError(
    `${file}: neither a state dict nor a checkpoint holding one under ${STATE_KEYS.join(', ')} (it holds ${entries.map(([k]) => String(k)).join(', ') || 'nothing'})`,
    EXIT.ERROR,
  );
}

/** `motion train`: train.py on the Trainer ('motion' kind), one `motion_ae_epoch{N}.pt` per epoch. */
export async function motionTrain(o: MotionTrainOptions, io: Io): Promise<number> {
  const jepa = lib();
  const files = filesUnder(o.featureDir, MOTION_FEATURE_EXTENSIONS, '--feature-dir');
  if (files.length === 0)
    throw new CliError(`${o.featureDir}: no feature files (${MOTION_FEATURE_EXTENSIONS.join(', ')})`, EXIT.ERROR);
  const ae = await loadModel(o);
  const model: Module = ae.module;
  model.train();
  const dataset = new jepa.data.FeatureDataset(files);
  const loader = new jepa.data.DataLoader(dataset, {
    batchSize: o.batchSize,
    shuffle: true,
    seed: o.seed,
    prefetch: o.numWorkers,
    collate: async (samples) => jepa.stack(samples.map((s) => s.feature.to('float32'))),
  });
  jepa.manualSeed(o.seed);
  const trainer = new jepa.Trainer({
    kind: 'motion',
    model,
    lr: o.lr,
    weightDecay: o.weightDecay,
    reconWeight: o.reconWeight,
    motionWeight: o.motionWeight,
    smoothWeight: o.smoothWeight,
  });
  fs.mkdirSync(o.saveDir, { recursive: true });
  const losses: number[] = [];
  const epochs: { epoch: number; loss: number; checkpoint: string }[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    loader.setState({ epoch: epoch - 1, batch: 0 });
    let total = 0;
    let steps = 0;
    for await (const batch of loader) {
      const stats = await trainer.step({ features: batch as Tensor });
      (batch as Tensor).dispose();
      losses.push(stats.loss);
      total += stats.loss;
      steps++;
    }
    const loss = total / steps;
    const checkpoint = path.join(o.saveDir, `motion_ae_epoch${epoch}.pt`);
    await trainer.save(checkpoint, { epoch, loss });
    epochs.push({ epoch, loss, checkpoint });
    if (!o.json) io.out(`epoch ${epoch}/${o.epochs}: loss ${loss.toFixed(6)} -> ${checkpoint}\n`);
  }
  if (o.json) io.out(`${JSON.stringify({ epochs, losses })}\n`);
  model.dispose();
  return EXIT.OK;
}

/** `motion encode`: encode.py: `{latent, motion_embedding, compression_ratio}` of one feature file. */
export async function motionEncode(o: MotionEncodeOptions, io: Io): Promise<number> {
  const jepa = lib();
  const ae = await loadModel(o);
  const ckpt = await jepa.load(o.checkpoint);
  ae.module.loadStateDict(stateDictOf(ckpt, o.checkpoint));
  ae.module.eval();
  const ext = path.extname(o.input).toLowerCase();
  if (!MOTION_FEATURE_EXTENSIONS.includes(ext))
    throw usage(`--input ${o.input}: expected a ${MOTION_FEATURE_EXTENSIONS.join(', ')} file`);
  const { feature } = await new jepa.data.FeatureDataset([o.input]).get(0);
  const x = feature.to('float32').unsqueeze(0);
  const { latent, motionEmbedding, compressionRatio } = await ae.encode(x);
  const out = {
    latent: latent.squeeze(0),
    motion_embedding: motionEmbedding.squeeze(0),
    compression_ratio: jepa.float(compressionRatio),
  };
  fs.mkdirSync(path.dirname(path.resolve(o.output)), { recursive: true });
  await jepa.save(o.output, out);
  const summary = {
    latent: out.latent.shape,
    motion_embedding: out.motion_embedding.shape,
    compression_ratio: compressionRatio,
  };
  io.out(
    o.json
      ? `${JSON.stringify(summary)}\n`
      : `latent [${summary.latent.join(', ')}], motion_embedding [${summary.motion_embedding.join(', ')}], compression ratio ${compressionRatio} -> ${o.output}\n`,
  );
  ae.module.dispose();
  return EXIT.OK;
}

/**
 * The captions of `--csv-path`: {video file name and stem: caption}. The video column is the first
 * header among video, video_name, video_id, filename, file, name, id (else the first column), the
 * caption column the first among caption, text, comment, description (else the second). A missing
 * file gives no captions (every caption '').
 */
export function readCaptions(csvPath: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!csvPath || !fs.statSync(csvPath, { throwIfNoEntry: false })?.isFile()) return out;
  const rows = parseCsv(fs.readFileSync(csvPath), {
    bom: true,
    relaxColumnCount: true,
    skipEmptyLines: false,
  }) as string[][];
  if (rows.length === 0) return out;
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const pick = (names: string[], fallback: number) => {
    const i = names.map((n) => header.indexOf(n)).find((x) => x >= 0);
    return i ?? fallback;
  };
  const vcol = pick(['video', 'video_name', 'video_id', 'filename', 'file', 'name', 'id'], 0);
  const ccol = pick(['caption', 'text', 'comment', 'description'], header.length > 1 ? 1 : 0);
  for (const row of rows.slice(1)) {
    if (row.length <= Math.max(vcol, ccol)) continue;
    const key = row[vcol].trim();
    if (!out.has(key)) out.set(key, row[ccol]);
    const stem = path.parse(key).name;
    if (!out.has(stem)) out.set(stem, row[ccol]);
  }
  return out;
}

/**
 * `motion features`: vfm_feature.py's flow for VJEPA2 with an exported V-JEPA 2 folder: per video,
 * `--num-frames` frames spread evenly, resized to the VideoMAE size, normalised, encoded; the
 * tokens [T / tubelet * N, C] saved as `{feature: [T / tubelet, N, C], caption, video, model}` in
 * OUTPUT_ROOT/VJEPA2/<stem>.pt; failed videos in OUTPUT_ROOT/VJEPA2/failed_videos.txt;
 * OUTPUT_ROOT/vfm_dimensions.txt rewritten with each model's C.
 */
export async function motionFeatures(o: MotionFeaturesOptions, io: Io): Promise<number> {
  const jepa = lib();
  const unknown = o.models.filter((m) => !SEED_MODELS.includes(m));
  if (unknown.length > 0)
    throw usage(`--models: unknown model ${unknown.join(', ')} (vfm_feature.py's are ${SEED_MODELS.join(', ')})`);
  const run = o.models.filter((m) => m === 'VJEPA2');
  for (const m of o.models.filter((x) => x !== 'VJEPA2')) {
    const why = `${m}: jepa-native runs only VJEPA2 (an exported V-JEPA 2 folder, --vjepa2-model)`;
    if (!o.allowSkipMissing) throw usage(`${why}; pass --allow-skip-missing to skip it`);
    io.err(`skipped ${why}\n`);
  }
  const dims: string[] = [];
  const summary: Record<string, { done: string[]; failed: string[]; dim: number | null }> = {};
  for (const name of run) {
    if (!o.vjepa2Model) {
      const why = 'VJEPA2: no model folder (--vjepa2-model DIR, from `jepa-native export vjepa2 ...`)';
      if (!o.allowSkipMissing) throw usage(why);
      io.err(`skipped ${why}\n`);
      continue;
    }
    const info = jepa.readModelInfo(o.vjepa2Model);
    const files = info.files as Record<string, string>;
    const encFile = files.targetEncoder ?? files.encoder ?? files.contextEncoder;
    if (typeof encFile !== 'string') throw new CliError(`${o.vjepa2Model}: jepa.json names no encoder`, EXIT.ERROR);
    const encoder = await jepa.loadModule(path.join(o.vjepa2Model, encFile), { device: o.device as never });
    encoder.eval();
    const input = info.input as { tubeletSize?: number; modality?: string } | undefined;
    const tubelet = input?.tubeletSize ?? 1;
    const pre = (info.preprocess ?? {}) as { mean?: number[]; std?: number[] };
    const captions = readCaptions(o.csvPath);
    const outDir = path.join(o.outputRoot, name);
    fs.mkdirSync(outDir, { recursive: true });
    const videos = filesUnder(o.videoDir, MOTION_VIDEO_EXTENSIONS, '--video-dir');
    const r = { done: [] as string[], failed: [] as string[], dim: null as number | null };
    for (const v of videos) {
      let clip: Tensor;
      try {
        clip = await jepa.video.frames(v, {
          numFrames: o.numFrames,
          sampling: 'uniform',
          size: [o.videomaeResizeH, o.videomaeResizeW],
          fit: 'fill',
          convention: 'torchvision-v2',
          mean: (pre.mean ?? IMAGENET_MEAN) as [number, number, number],
          std: (pre.std ?? IMAGENET_STD) as [number, number, number],
        });
      } catch (e) {
        io.err(`failed ${v}: ${errorText(e)}\n`);
        r.failed.push(path.relative(o.videoDir, v));
        continue;
      }
      const x = clip.permute(1, 0, 2, 3).unsqueeze(0).contiguous(); // [1, 3, T, H, W]
      clip.dispose();
      const out = (await encoder.forward(x.to(o.device as never))) as Tensor;
      x.dispose();
      const tokens = out.select(0, 0);
      const t = Math.floor(o.numFrames / tubelet);
      const feature = tokens.reshape([t, tokens.shape[0] / t, tokens.shape[1]]).to('cpu');
      r.dim = feature.shape[2];
      const base = path.basename(v);
      await jepa.save(path.join(outDir, `${path.parse(v).name}.pt`), {
        feature,
        caption: captions.get(base) ?? captions.get(path.parse(v).name) ?? '',
        video: base,
        model: name,
      });
      out.dispose();
      r.done.push(base);
      if (!o.json) io.out(`${name}: ${base} -> [${feature.shape.join(', ')}]\n`);
      feature.dispose();
    }
    encoder.dispose();
    fs.writeFileSync(path.join(outDir, 'failed_videos.txt'), r.failed.map((f) => `${f}\n`).join(''));
    if (r.dim !== null) dims.push(`${name}: ${r.dim}\n`);
    summary[name] = r;
  }
  fs.mkdirSync(o.outputRoot, { recursive: true });
  fs.writeFileSync(path.join(o.outputRoot, 'vfm_dimensions.txt'), dims.join(''));
  if (o.json) io.out(`${JSON.stringify(summary)}\n`);
  const failed = Object.values(summary).some((r) => r.failed.length > 0);
  return failed ? EXIT.PARTIAL : EXIT.OK;
}

function sizeOptions(cmd: Command): Command {
  cmd
    .requiredOption(
      '--model <dir>',
      'the motion autoencoder: a folder from `jepa-native export module --kind motion-autoencoder` (or a TorchScript file)',
    )
    .option('--input-dim <n>', 'feature width C (checked against the model; seed default 768)', positiveInt)
    .option('--model-dim <n>', 'encoder/decoder width (checked; seed default 384)', positiveInt)
    .option('--latent-dim <n>', 'latent width (checked; seed default 192)', positiveInt)
    .option('--num-heads <n>', 'attention heads (fixed by the export; seed default 8)', positiveInt)
    .option('--num-layers <n>', 'transformer layers (checked; seed default 2)', positiveInt)
    .option('--dropout <p>', 'dropout (fixed by the export; seed default 0.1)', finiteNumber)
    .option('--use-token', 'encoder input [x, delta x] (checked against the model)')
    .option('--device <device>', "'cpu', 'cuda', 'cuda:N'", 'cpu')
    .option('--json', 'print a JSON summary');
  return cmd;
}

/** Registers `motion train | encode | features` (main.ts calls this). */
export function registerMotion(program: Command, ctx: { io: Io; exitCode: number }): void {
  const motion = program
    .command('motion')
    .description("seed 003's motion feature autoencoder: train, encode, features (vfm_encoder's scripts)");
  sizeOptions(
    motion
      .command('train')
      .description(
        'train.py: train the motion autoencoder on .pt/.pth/.npy feature files; writes motion_ae_epoch{N}.pt',
      )
      .requiredOption('--feature-dir <dir>', 'feature files [T, N, C] or [T, H, W, C], found recursively')
      .option('--save-dir <dir>', 'checkpoint folder', './checkpoints')
      .option('--epochs <n>', 'epochs', positiveInt, 10)
      .option('--batch-size <n>', 'batch size', positiveInt, 2)
      .option('--lr <x>', 'learning rate', finiteNumber, 2e-4)
      .option('--weight-decay <x>', "AdamW's weight decay", finiteNumber, 1e-4)
      .option('--num-workers <n>', 'batches read ahead on worker threads (the DataLoader workers)', nonNegativeInt, 4)
      .option('--recon-weight <x>', 'reconstruction loss weight', finiteNumber, 1)
      .option('--motion-weight <x>', 'temporal difference loss weight', finiteNumber, 1)
      .option('--smooth-weight <x>', 'latent smoothness loss weight', finiteNumber, 0.05)
      .option(
        '--seed <n>',
        'seed of the shuffle (torch.Generator) and of dropout (torch.manual_seed)',
        nonNegativeInt,
        0,
      ),
  ).action(async (opts: MotionTrainOptions) => {
    ctx.exitCode = await motionTrain(opts, ctx.io);
  });
  sizeOptions(
    motion
      .command('encode')
      .description('encode.py: write {latent, motion_embedding, compression_ratio} of one feature file')
      .requiredOption('--checkpoint <file>', 'a checkpoint (motion_ae_epoch{N}.pt) or a state dict')
      .requiredOption('--input <file>', 'a feature file (.pt/.pth/.npy), [T, N, C] or [T, H, W, C]')
      .requiredOption('--output <file>', 'the .pt file to write'),
  ).action(async (opts: MotionEncodeOptions) => {
    ctx.exitCode = await motionEncode(opts, ctx.io);
  });
  motion
    .command('features')
    .description('vfm_feature.py with an exported V-JEPA 2: one {feature, caption, video, model} .pt per video')
    .option('--video-dir <dir>', 'videos (found recursively)', '../dataset/motion_top100')
    .option('--csv-path <file>', 'caption CSV', '../dataset/motion_top100.csv')
    .option(
      '--output-root <dir>',
      'output root: <root>/<model>/<video>.pt, <root>/vfm_dimensions.txt',
      '../dataset/vfm_features_motion_top100',
    )
    .option('--models <names...>', `models to run (${SEED_MODELS.join(', ')}; jepa-native runs VJEPA2)`, ['VJEPA2'])
    .option('--vjepa2-model <dir>', 'the V-JEPA 2 model folder (jepa-native export vjepa2 / hf-vjepa2)')
    .option('--device <device>', "'cpu', 'cuda', 'cuda:N'", 'cpu')
    .option('--num-frames <n>', 'frames per video, spread evenly', positiveInt, 48)
    .option('--videomae-resize-h <n>', 'frame height', positiveInt, 160)
    .option('--videomae-resize-w <n>', 'frame width', positiveInt, 240)
    .option('--allow-skip-missing', 'skip models that cannot run instead of failing')
    .option('--json', 'print a JSON summary')
    .action(async (opts: MotionFeaturesOptions) => {
      ctx.exitCode = await motionFeatures(opts, ctx.io);
    });
}
