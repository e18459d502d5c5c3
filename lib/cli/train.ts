/**
 * `jepa-native train CONFIG.yaml --model DIR`: trains an exported JEPA from a training config in
 * its official YAML shape (I-JEPA, V-JEPA, V-JEPA 2), as the official loop does: the recipe
 * (`Trainer.fromConfig`), epochs of `ipe` steps, the official checkpoint names and an epoch-end
 * checkpoint, a CSV log. The data: a folder of images (I-JEPA) or videos (V-JEPA), a list file
 * (V-JEPA's `datasets` CSVs: a path per line, then the label), or a tensor file
 * ([N, C, H, W] / [N, C, T, H, W]); images and clips are resized to the crop (cover) and
 * normalised with ImageNet's mean and std; no random augmentation (see docs/cli.md).
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, lib, usage, type Io } from './common';
import { IMAGE_EXTENSIONS, VIDEO_EXTENSIONS } from '../features/extract';

/** Options of {@link train} (from the command line). */
export interface TrainCliOptions {
  model?: string;
  data?: string;
  family?: string;
  stepsPerEpoch?: number;
  epochs?: number;
  maxSteps?: number;
  out?: string;
  resume?: string;
  device?: string;
  threads?: number;
  dryRun?: boolean;
  json?: boolean;
}

type Lib = ReturnType<typeof lib>;
type Tensor = InstanceType<Lib['Tensor']>;

/** Where the batches come from: decoded files, or the rows of one tensor. */
interface Source {
  size: number;
  describe: string;
  batch(indices: number[]): Promise<Tensor>;
}

function walk(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (extensions.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  visit(dir);
  return out;
}

/** V-JEPA's dataset lists: one `path label` per line (space-separated, as its VideoDataset reads them). */
function listFile(file: string): string[] {
  const base = path.dirname(file);
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => {
      const p = l.split(/\s+/)[0];
      return path.isAbsolute(p) ? p : path.join(base, p);
    });
}

function openSource(L: Lib, inputs: string[], video: boolean, crop: number, frames: number): Source {
  if (inputs.length === 1 && ['.pt', '.pth', '.npy', '.safetensors'].includes(path.extname(inputs[0]).toLowerCase())) {
    const ext = path.extname(inputs[0]).toLowerCase();
    const value =
      ext === '.npy'
        ? L.loadNpySync(inputs[0])
        : ext === '.safetensors'
          ? L.loadSafetensorsSync(inputs[0])
          : L.loadSync(inputs[0]);
    const t = (value instanceof L.Tensor ? value : (value as Record<string, unknown>)?.images) as Tensor | undefined;
    const rank = video ? 5 : 4;
    if (!(t instanceof L.Tensor) || t.ndim !== rank) {
      throw new CliError(
        `${inputs[0]}: expected a tensor (or a dict with 'images') of ${rank} dimensions (${video ? '[N, C, T, H, W]' : '[N, C, H, W]'})`,
      );
    }
    const data = t.to('float32').contiguous();
    const values = data.data() as Float32Array;
    const row = data.shape.slice(1).reduce((a, b) => a * b, 1);
    return {
      size: data.shape[0],
      describe: `${inputs[0]} (${data.shape.join(' x ')})`,
      batch: async (indices) => {
        const out = new Float32Array(indices.length * row);
        indices.forEach((i, k) => out.set(values.subarray(i * row, (i + 1) * row), k * row));
        return L.tensor(out, [indices.length, ...data.shape.slice(1)]);
      },
    };
  }
  const files: string[] = [];
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new CliError(`the data ${input} does not exist`);
    if (fs.statSync(input).isDirectory()) files.push(...walk(input, video ? VIDEO_EXTENSIONS : IMAGE_EXTENSIONS));
    else files.push(...listFile(input));
  }
  if (files.length === 0) throw new CliError(`no ${video ? 'videos' : 'images'} in ${inputs.join(', ')}`);
  return {
    size: files.length,
    describe: `${files.length} ${video ? 'videos' : 'images'}`,
    batch: async (indices) => {
      const picked = indices.map((i) => files[i]);
      if (!video) return L.image.load(picked, { size: crop });
      const clips = await L.video.frames(picked, { numFrames: frames, size: crop }); // [B, T, 3, H, W]
      return clips.permute([0, 2, 1, 3, 4]).contiguous();
    },
  };
}

/** A seeded shuffle (mulberry32 + Fisher-Yates) of 0..n-1 for one epoch. */
function shuffled(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The model folder's three files: jepa.json's `files` when present, else the default names. */
function modelFiles(L: Lib, dir: string): { context: string; target: string; predictor: string } {
  const meta = path.join(dir, 'jepa.json');
  let files: Record<string, string> = {};
  if (fs.existsSync(meta)) {
    try {
      files = (JSON.parse(fs.readFileSync(meta, 'utf8')) as { files?: Record<string, string> }).files ?? {};
    } catch (e) {
      throw new CliError(`${meta}: not valid JSON (${(e as Error).message})`);
    }
  }
  const pick = (key: 'contextEncoder' | 'targetEncoder' | 'predictor'): string =>
    path.join(dir, files[key] ?? L.JEPA_FILES[key]);
  return { context: pick('contextEncoder'), target: pick('targetEncoder'), predictor: pick('predictor') };
}

/** Official checkpoint file names: [latest, periodic or null] after the 0-based epoch `e`. */
function checkpointNames(family: string, tag: string | null, e: number, saveEvery: number): [string, string | null] {
  if (family === 'ijepa') {
    // src/train.py: save_checkpoint(epoch + 1) writes latest, and ep{epoch + 1} of that
    // incremented value when it + 1 is a multiple of 50 (checkpoint_freq).
    const t = tag ?? 'jepa';
    return [`${t}-latest.pth.tar`, (e + 2) % 50 === 0 ? `${t}-ep${e + 2}.pth.tar` : null];
  }
  const every = saveEvery > 0 && e % saveEvery === 0;
  if (family === 'vjepa') {
    const t = tag ?? 'jepa';
    return [`${t}-latest.pth.tar`, every ? `${t}-e${e}.pth.tar` : null];
  }
  return ['latest.pt', every ? `e${e}.pt` : null];
}

/** Runs `jepa-native train`. */
export async function train(configFile: string, opts: TrainCliOptions, io: Io): Promise<void> {
  if (!fs.existsSync(configFile)) throw usage(`the config ${configFile} does not exist`);
  const text = fs.readFileSync(configFile, 'utf8');
  const L = lib();
  if (opts.threads) L.setNumThreads(opts.threads);
  const parsed = L.parseConfig(text);
  const family = opts.family;

  // The recipe first without the data (a config may give optimization.ipe itself), for the data settings.
  const probe = (stepsPerEpoch?: number) => L.readRecipe(parsed, { family, stepsPerEpoch });
  let recipe = probe(opts.stepsPerEpoch ?? 1);
  if (!['ijepa', 'vjepa', 'vjepa2'].includes(recipe.family)) {
    throw usage(
      `jepa-native train runs the I-JEPA, V-JEPA and V-JEPA 2 recipes; this config is ${recipe.family}'s (use jepa.Trainer.fromConfig from Node)`,
    );
  }
  const video = recipe.family !== 'ijepa';
  const data = recipe.data as Record<string, unknown>;
  const crop = data.cropSize as number;
  const frames = (data.numFrames as number | undefined) ?? 1;
  const batchSize = data.batchSize as number;
  let inputs: string[];
  if (opts.data) inputs = [opts.data];
  else if (!video && data.rootPath && data.imageFolder)
    inputs = [path.join(data.rootPath as string, data.imageFolder as string)];
  else if (video && Array.isArray(data.datasets) && data.datasets.length > 0) inputs = data.datasets as string[];
  else
    throw usage('give the training data with --data (a folder, a list file or a tensor file): the config names none');

  const source = openSource(L, inputs, video, crop, frames);
  const configIpe = (parsed.optimization as Record<string, unknown> | undefined)?.ipe;
  const stepsPerEpoch =
    opts.stepsPerEpoch ?? (typeof configIpe === 'number' ? undefined : Math.floor(source.size / batchSize));
  if (stepsPerEpoch === 0)
    throw new CliError(`${source.describe}: fewer than one batch of ${batchSize} (data.batch_size)`);
  if (opts.dryRun) {
    recipe = probe(stepsPerEpoch);
    io.out(`${JSON.stringify({ recipe, data: source.describe }, null, 2)}\n`);
    return;
  }
  if (!opts.model)
    throw usage('expected --model DIR (an exported model folder: context_encoder.pt, target_encoder.pt, predictor.pt)');
  const files = modelFiles(L, opts.model);
  const device = opts.device ?? 'cpu';
  const modules = {
    context: await L.loadModule(files.context, { device: device as never }),
    target: await L.loadModule(files.target, { device: device as never }),
    predictor: await L.loadModule(files.predictor, { device: device as never }),
  };
  const trainer = L.Trainer.fromConfig(parsed, { ...modules, family, stepsPerEpoch });
  recipe = trainer.recipe as NonNullable<typeof trainer.recipe>;
  const ipe = recipe.stepsPerEpoch as number;
  const epochs = opts.epochs ?? recipe.epochs;
  const folder = opts.out ?? recipe.logging.folder;
  if (!folder) throw usage('expected --out DIR: the config names no output folder');
  fs.mkdirSync(folder, { recursive: true });
  if (opts.resume) await trainer.load(opts.resume);
  const meta = (parsed.meta ?? {}) as Record<string, unknown>;
  const saveEvery = typeof meta.save_every_freq === 'number' ? meta.save_every_freq : -1;
  const log = path.join(folder, recipe.family === 'vjepa2' ? 'log_r0.csv' : `${recipe.logging.tag ?? 'jepa'}_r0.csv`);
  if (!fs.existsSync(log)) fs.writeFileSync(log, 'epoch,itr,loss,lr,weight_decay,momentum,ms\n');
  for (const note of recipe.notes) io.err(`note: ${note}\n`);
  io.err(`training ${recipe.family} on ${source.describe}: ${epochs} epochs of ${ipe} steps, batch ${batchSize}\n`);

  const losses: number[] = [];
  const written: string[] = [];
  let done = false;
  let order: number[] = [];
  let cursor = 0;
  for (let e = trainer.epoch; e < epochs && !done; e++) {
    trainer.epoch = e;
    let sum = 0;
    let n = 0;
    for (let itr = 0; itr < ipe; itr++) {
      if (opts.maxSteps !== undefined && losses.length >= opts.maxSteps) {
        done = true;
        break;
      }
      // A new permutation when the data runs out (drop_last: a partial batch is skipped).
      if (cursor + batchSize > order.length) {
        order = shuffled(source.size, recipe.seed + e * 7919 + order.length);
        cursor = 0;
      }
      const images = await source.batch(order.slice(cursor, cursor + batchSize));
      cursor += batchSize;
      const s = await trainer.step({ images: device === 'cpu' ? images : images.to(device as never) });
      images.dispose();
      losses.push(s.loss);
      sum += s.loss;
      n++;
      fs.appendFileSync(
        log,
        `${e + 1},${itr},${s.loss.toFixed(5)},${s.lr},${s.weightDecay},${s.momentum},${s.ms.toFixed(0)}\n`,
      );
    }
    if (n === 0) break;
    io.err(`epoch ${e + 1}/${epochs}: mean loss ${(sum / n).toFixed(4)}\n`);
    const [latest, every] = checkpointNames(recipe.family, recipe.logging.tag, e, saveEvery);
    for (const name of every ? [latest, every] : [latest]) {
      await trainer.save(path.join(folder, name), { epoch: e + 1, loss: sum / n, batchSize });
      written.push(path.join(folder, name));
    }
  }
  const summary = {
    family: recipe.family,
    steps: losses.length,
    epoch: trainer.epoch + 1,
    losses,
    checkpoints: [...new Set(written)],
    log,
  };
  if (opts.json) io.out(`${JSON.stringify(summary)}\n`);
  else io.out(`trained ${summary.steps} steps; checkpoints: ${summary.checkpoints.join(', ') || '(none)'}\n`);
}
