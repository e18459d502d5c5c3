/**
 * `jepa-native zero-shot MODEL_DIR IMAGE... --labels "a,b,c"`: seed 004's `eval.py` on image
 * files. MODEL_DIR holds the three exported parts as sub-folders (found by the kind in their
 * jepa.json: `image-encoder`, `vl-predictor`, `text-encoder`; named `vision/`, `predictor/`,
 * `text/` by convention); `--vision`, `--predictor`, `--text` name a part elsewhere (then
 * MODEL_DIR may be `-` when all three are given). See docs/cli.md.
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { CliError, lib, positiveInt, usage, type Io } from './common';

/** Options of the command (commander's camelCase names). */
export interface ZeroShotOptions {
  labels?: string;
  labelsFile?: string;
  vision?: string;
  predictor?: string;
  text?: string;
  top?: number;
  device?: string;
  threads?: number;
  json?: boolean;
}

/** The labels of `--labels a,b,c` (trimmed, empty ones dropped) or of `--labels-file` (one per line). */
export function parseLabels(opts: Pick<ZeroShotOptions, 'labels' | 'labelsFile'>): string[] {
  if ((opts.labels === undefined) === (opts.labelsFile === undefined)) {
    throw usage('give the candidate labels with --labels "a,b,c" or --labels-file FILE (one label per line)');
  }
  let list: string[];
  if (opts.labels !== undefined) list = opts.labels.split(',');
  else {
    try {
      list = fs.readFileSync(opts.labelsFile as string, 'utf8').split(/\r?\n/);
    } catch (e) {
      throw new CliError(`cannot read the labels file: ${(e as Error).message}`);
    }
  }
  const labels = list.map((l) => l.trim()).filter((l) => l.length > 0);
  if (labels.length === 0) throw usage('expected at least one non-empty label');
  return labels;
}

/** Runs the command: prints each image's ranking (or JSON). */
export async function zeroShot(modelDir: string, images: string[], opts: ZeroShotOptions, io: Io): Promise<void> {
  const labels = parseLabels(opts);
  const L = lib();
  if (opts.threads !== undefined) L.setNumThreads(opts.threads);
  const device = opts.device ?? 'cpu';
  const overrides = Object.fromEntries(
    (['vision', 'predictor', 'text'] as const).filter((k) => opts[k] !== undefined).map((k) => [k, opts[k] as string]),
  );
  const dir = modelDir === '-' ? undefined : modelDir;
  const model = await L.VisionLanguageModel.load(
    { ...(dir !== undefined ? { dir } : {}), ...overrides },
    { device: device as never },
  );
  try {
    const rankings = await model.zeroShot(images, labels);
    const top = opts.top ?? labels.length;
    if (opts.json) {
      const out = rankings.map((r, i) => ({ image: images[i], prediction: r[0].label, scores: r.slice(0, top) }));
      io.out(`${JSON.stringify({ labels, results: out }, null, 2)}\n`);
      return;
    }
    rankings.forEach((r, i) => {
      io.out(`${images[i]}: ${r[0].label}\n`);
      for (const s of r.slice(0, top)) io.out(`  ${s.score.toFixed(4)}  ${s.label}\n`);
    });
  } finally {
    model.dispose();
  }
}

/** Registers `zero-shot` on the program (lib/cli/main.ts). */
export function registerZeroShot(program: Command, ctx: { io: Io }): void {
  program
    .command('zero-shot')
    .description(
      "seed 004's zero-shot classification: rank label strings for each image by the cosine similarity of the VL-JEPA predictor's output with their text embeddings",
    )
    .argument(
      '<model-dir>',
      'a folder with the exported vision encoder, predictor and text encoder as sub-folders (or - with --vision, --predictor and --text)',
    )
    .argument('<images...>', 'image files')
    .option('--labels <list>', 'candidate labels, comma-separated: "a dog,a cat,a bridge"')
    .option('--labels-file <file>', 'candidate labels, one per line')
    .option(
      '--vision <dir>',
      'the image-encoder folder (jepa-native export clip-vision) instead of the one in MODEL_DIR',
    )
    .option('--predictor <path>', 'the vl-predictor folder or TorchScript file instead of the one in MODEL_DIR')
    .option('--text <dir>', 'the text-encoder folder (jepa-native export minilm) instead of the one in MODEL_DIR')
    .option('--top <k>', 'print the k best labels per image (default: all)', positiveInt)
    .option('--device <device>', "model device: 'cpu', 'cuda', 'cuda:N'", 'cpu')
    .option('--threads <n>', 'intra-op threads of libtorch', positiveInt)
    .option('--json', 'print JSON: {labels, results: [{image, prediction, scores: [{label, score, index}]}]}')
    .action(async (modelDir: string, images: string[], opts: ZeroShotOptions) => {
      await zeroShot(modelDir, images, opts, ctx.io);
    });
}
