/**
 * `jepa-native demo` (`npm start`): the main job in one command, on files the package ships
 * (examples/demo: a small V-JEPA 2-architecture encoder with random weights as an exported model
 * folder, five pictures drawn by examples/demo/make_demo.py). Extracts seed 000's feature files,
 * reads one back, compares the pictures, and says where everything is.
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { lib, type Io } from './common';

/** The demo's bundled files (examples/demo in the package). */
export function demoFiles(): { model: string; images: string } {
  const root = path.resolve(__dirname, '..', '..');
  return { model: path.join(root, 'examples', 'demo', 'model'), images: path.join(root, 'examples', 'demo', 'images') };
}

/** Runs the demo; returns the exit code. */
export async function demo(opts: { output?: string }, io: Io): Promise<number> {
  const L = lib();
  const files = demoFiles();
  const output = path.resolve(opts.output ?? path.join(os.tmpdir(), 'jepa-native-demo'));
  const cfg = JSON.parse(fs.readFileSync(path.join(files.model, 'jepa.json'), 'utf8'));
  const images = fs
    .readdirSync(files.images)
    .filter((f) => !f.startsWith('.'))
    .sort();
  const say = (line = '') => io.out(`${line}\n`);
  say("jepa-native demo: seed 000's feature extraction (V-JEPA 2 features, one file per picture)");
  say(`  model   ${files.model}`);
  say(
    `          ${cfg.source} ${cfg.kind}, ${cfg.architecture.embedDim}-d, ${cfg.architecture.depth} blocks, random weights; ` +
      `input ${cfg.input.frames} frames of ${cfg.input.size.join('x')}, preset '${cfg.preprocess.preset}'`,
  );
  say(`  images  ${files.images} (${images.length} pictures drawn by make_demo.py)`);
  say(`  output  ${output}`);
  say();
  const t0 = performance.now();
  const summary = await L.features.extract(files.model, files.images, {
    output,
    overwrite: true,
    onProgress: (e) =>
      say(`  ${e.status === 'written' ? 'wrote ' : 'FAILED'} ${e.input}${e.error ? `: ${e.error}` : ''}`),
  });
  const seconds = (performance.now() - t0) / 1000;
  say(`extracted ${summary.written} of ${summary.inputs} pictures in ${seconds.toFixed(2)} s`);
  if (summary.written === 0) return 1;

  // Read one file back, as Python's torch.load would.
  const first = summary.outputs.find((f) => path.basename(path.dirname(f)).startsWith('taxon_')) ?? summary.outputs[0];
  const dict = (await L.load(first)) as {
    features: InstanceType<typeof L.Tensor>;
    shape: unknown;
    dtype: string;
    source_chunk: string;
    image_id: string;
  };
  say();
  say(`read back ${path.relative(output, first)}:`);
  say(
    `  features      ${dict.features.dtype} [${dict.features.shape.join(', ')}]  (${cfg.grid.join(' x ')} patches of ${cfg.embedDim})`,
  );
  say(`  shape         torch.Size([${[...(dict.shape as number[])].join(', ')}])`);
  say(`  dtype         '${dict.dtype}'`);
  say(`  source_chunk  '${dict.source_chunk}'`);
  say(`  image_id      '${dict.image_id}'`);
  const layout = { frames: cfg.grid[0], gridSize: cfg.grid[1] };
  const mean = (t: InstanceType<typeof L.Tensor>) =>
    L.features.aggregateFeatures(t, 'mean', layout).to('float32').data() as Float32Array;
  const m = mean(dict.features);
  say(
    `  mean over patches (first 6 of ${m.length}): [${[...m.subarray(0, 6)].map((v) => v.toFixed(3)).join(', ')}, ...]`,
  );

  // Which pictures look alike to the encoder: cosine of their mean features.
  const vectors = await Promise.all(
    summary.outputs.map(async (f) => ({
      name: path.basename(f, '_features.pt'),
      v: mean(((await L.load(f)) as typeof dict).features),
    })),
  );
  const cos = (a: Float32Array, b: Float32Array) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = 0; i < a.length; i++) {
      ab += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
    return ab / Math.sqrt(aa * bb);
  };
  const pairs: [string, string, number][] = [];
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++)
      pairs.push([vectors[i].name, vectors[j].name, cos(vectors[i].v, vectors[j].v)]);
  }
  pairs.sort((a, b) => b[2] - a[2]);
  say();
  say('most alike pictures (cosine of mean features; random weights, so only a taste):');
  for (const [a, b, c] of pairs.slice(0, 3)) say(`  ${c.toFixed(3)}  ${a}  ~  ${b}`);
  say();
  say('Next: `npx jepa-native export vjepa2 HF_FOLDER MODEL_DIR` for real weights, then');
  say('      `npx jepa-native extract MODEL_DIR IMAGES_DIR OUTPUT_DIR` (docs/cli.md, docs/media.md).');
  return 0;
}
