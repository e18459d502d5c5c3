// Type test: compiled (not run) by `npm run test:types`. It must type-check against the
// published declarations, and the @ts-expect-error lines must be errors.
import jepa, { tensor, zeros, Tensor, type Dtype, type TypedArrayOf, ErrorCode } from 'jepa-native';

const t: Tensor = tensor(new Float32Array([1, 2, 3, 4]), [2, 2], { dtype: 'float32', device: 'cpu' });
const shape: number[] = t.shape;
const dtype: Dtype = t.dtype;
const data: Float32Array = t.data<'float32'>();
const i64: BigInt64Array = jepa.arange(4).data<'int64'>();
const z = zeros([2, 3], { dtype: 'bfloat16' });
const bits: TypedArrayOf['bfloat16'] = z.data<'bfloat16'>();
const moved: Promise<Tensor> = t.toAsync('float64');
const mem: { tensors: number; bytes: number } = jepa.memory();
const ok: boolean = jepa.cuda.isAvailable();
const code: string = ErrorCode.DISPOSED;
const maxRank: number = jepa.limits.maxRank;
const limits: jepa.Limits = jepa.limits;
// @ts-expect-error: the limits are read-only
jepa.limits.maxRank = 128;
t.reshape(4).view([2, -1]).permute(1, 0).contiguous().clone().fill_(1).dispose();
jepa.randn([2], { seed: 1n });

// .pt files, modules, masks
const loaded: Promise<unknown> = jepa.load('features.pt', { mmap: true });
const saved: Promise<void> = jepa.save('out.pt', { features: t, shape: jepa.Size.fromItems([2, 2]) });
const mod: Promise<jepa.Module> = jepa.loadModule('encoder.pt', { device: 'cpu' });
const m = jepa.masks.multiblock({ batchSize: 4, seed: 1 });
const ctx: Tensor[] = m.context;
// @ts-expect-error: batchSize is required
jepa.masks.multiblock({});

const info: jepa.AddonInfo = jepa.addonInfo();
const kind: 'prebuilt' | 'source' = info.kind;
const libtorchVersion: string | null = info.libtorch.version;
const notFound: 'JEPA_LIBTORCH_NOT_FOUND' = ErrorCode.LIBTORCH_NOT_FOUND;
// @ts-expect-error: kind is one of two strings
const wrongKind: 'cpu' = info.kind;
// images and videos
const img: Promise<Tensor> = jepa.image.load('a.jpg', {
  size: [224, 320],
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  fit: 'fill',
});
const imgs: Promise<Tensor> = jepa.image.load([Buffer.from([]), new URL('file:///a.png')]);
const clip: Promise<Tensor> = jepa.video.frames(['a.mp4'], { numFrames: 16, size: 224 });
const vinfo: Promise<jepa.VideoInfo> = jepa.video.probe('a.mp4');
const idx: number[] = jepa.video.sampleIndices(100, 16);
// @ts-expect-error: fit is cover or fill
jepa.image.load('a.jpg', { fit: 'contain' });
// @ts-expect-error: videos are files, not buffers
jepa.video.frames(Buffer.from([]));
const pre: Promise<Tensor> = jepa.image.load('a.jpg', { preset: 'vjepa2', size: 384, autoOrient: false });
const explicit: jepa.PreprocessOptions = {
  resize: { shortSide: 256, interpolation: 'bicubic', antialias: true },
  centerCrop: 224,
  convention: 'torchvision-v2',
};
const clips: Promise<Tensor> = jepa.video.frames('a.mp4', {
  preset: 'clip',
  numFrames: 8,
  frameStep: 2,
  numClips: 3,
  start: 'random',
  seed: 1,
});
const picked: number[][] = jepa.video.sampleClips({ frames: 300, fps: 29.97 }, { numFrames: 16, fps: 4 });
const extracted: Promise<jepa.ExtractSummary> = jepa.features.extract('model/', 'photos/', {
  output: 'features/',
  batchSize: 4,
  onProgress: (e: jepa.ExtractProgress) => void e.done,
});
// @ts-expect-error: not a preset
jepa.image.load('a.jpg', { preset: 'dino' });
// @ts-expect-error: the output folder is required
jepa.features.extract('model/', 'photos/', {});
// distributed
const pg: Promise<jepa.distributed.ProcessGroup> = jepa.distributed.init({ backend: 'gloo', timeout: 5000 });
const summed: Promise<Tensor> = jepa.distributed.allReduce(t, 'avg');
const gathered: Tensor[] = jepa.distributed.allGatherSync(t);
const rankNow: number = jepa.distributed.rank + jepa.distributed.worldSize + jepa.distributed.localRank;
const shard: string[] = jepa.distributed.shardFiles(['a.png', 'b.png'], 0, 2);
const launched: Promise<jepa.LaunchResult> = jepa.distributed.launch({
  nproc: 2,
  script: 'train.js',
  args: ['--epochs', '1'],
});
const opts: jepa.InitOptions = { masterAddr: '10.0.0.1', masterPort: 29500, rank: 0, worldSize: 4 };
const wrote: Promise<boolean> = jepa.distributed.save('ckpt.pt', { step: 1 });
const seed: number = jepa.distributed.deriveSeed(0, 1, 2);
void jepa.distributed.barrier().then(() => jepa.distributed.destroy());
// @ts-expect-error: no such reduce op
jepa.distributed.allReduce(t, 'mean');
// @ts-expect-error: no such backend
jepa.distributed.init({ backend: 'mpi' });
// EMA, schedules, training, checkpoints
declare const enc: jepa.Module;
declare const tgt: jepa.Module;
declare const pred: jepa.Module;
const emaDone: Promise<jepa.EmaStats> = jepa.ema.update(tgt, enc, 0.996, { formula: 'loop', buffers: false });
const emaSync: number = jepa.ema.updateSync([t], [t.clone()], 0.9).elements;
const mom: number = jepa.ema.schedule({ kind: 'cosine', start: 0.996, end: 1, steps: 100 }).at(3);
const trainer = new jepa.Trainer({
  kind: 'ijepa',
  context: enc,
  target: tgt,
  predictor: pred,
  lr: { kind: 'warmupCosine', start: 1e-4, peak: 1e-3, end: 1e-6, warmupSteps: 10, steps: 100 },
  weightDecay: 0.04,
  momentum: { kind: 'linear', start: 0.996, end: 1, steps: 100 },
  bf16: true,
  clipGrad: 1,
});
const stepped: Promise<jepa.StepStats> = trainer.step({ images: t, masks: { context: ctx, targets: m.targets } });
const lossNow: number = trainer.stepSync({ images: t, masks: m }).loss;
const savedCkpt: Promise<void> = trainer.save('ckpt.pt', { epoch: 1, batchSize: 64 });
trainer.saveSync(new URL('file:///tmp/ckpt.pt'));
const resumed: Promise<{ step: number; epoch: number }> = trainer.load('ckpt.pt');
const resumedSync: number = trainer.loadSync('ckpt.pt').step;
const ckptValue: Record<string, unknown> = trainer.stateDict({ loss: 0.5 });
trainer.loadStateDict(ckptValue);
const sd: Map<string, Tensor> = enc.stateDict();
const loadedSd: { missingKeys: string[]; unexpectedKeys: string[] } = enc.loadStateDict(sd, { strict: false });
enc.loadStateDict({ 'norm.weight': t });
const ckptCode: string = ErrorCode.CHECKPOINT_INVALID;
// @ts-expect-error: unknown trainer kind
new jepa.Trainer({ kind: 'simclr', lr: 1 });
// Recipes: configs as data
const fromYaml: jepa.Trainer = jepa.Trainer.fromConfig('app: vjepa\n', {
  context: enc,
  target: tgt,
  predictor: pred,
  stepsPerEpoch: 10,
  overrides: { bf16: false },
});
const recipe: jepa.Recipe = jepa.readRecipe({ app: 'vjepa' }, { family: 'vjepa2' });
const recipeLr: jepa.ScheduleLike | undefined = recipe.trainer.lr;
const kept: jepa.Recipe | null = fromYaml.recipe;
const v2 = new jepa.Trainer({
  kind: 'vjepa2',
  context: enc,
  target: tgt,
  predictor: pred,
  lr: 1e-3,
  maskIndex: 0,
  normalizeTargets: false,
  clipGradFrom: 10,
});
const wasClipped: boolean = v2.stepSync({ images: t, masks: m }).clipped;
const motionWd: number = jepa.TRAINER_DEFAULTS.motion.weightDecay;
const decay = jepa.ema.schedule({ kind: 'linearDecay', start: 5e-4, end: 1e-6, steps: 100 });
declare const model: jepa.JEPA;
const predicted: Promise<Tensor> = model.predict(t, ctx, m.targets, { maskIndex: 1 });
// @ts-expect-error: maskIndex is 'config' or a number
new jepa.Trainer({ kind: 'vjepa', context: enc, target: tgt, predictor: pred, lr: 1, maskIndex: 'first' });
// @ts-expect-error: epoch is a number
trainer.save('x.pt', { epoch: '1' });
// @ts-expect-error: strict is a boolean
enc.loadStateDict(sd, { strict: 'yes' });
// H-JEPA (jonwiggins/H-JEPA's recipe) and seed 002's notebook
declare const hmodel: jepa.Module;
const hm: jepa.masks.HJepaMasks = jepa.masks.hjepa({ ...jepa.masks.presets.hjepaDefault, batchSize: 2 });
const levelTargets: Tensor = hm.levels[0].targets;
const hs = new jepa.masks.MaskSampler('hjepa', { batchSize: 2, positionSeed: 42 });
const hnext: jepa.masks.HJepaMasks = hs.next();
const nb: jepa.masks.Masks = jepa.masks.notebook2d({ seed: 1, positionSeed: 2 });
const nb3: Promise<jepa.masks.Masks> = jepa.masks.notebook3dAsync({ maskType: 'long' });
const hrecipe: jepa.HJepaRecipe = jepa.hjepaRecipe({ training: { epochs: 1 } }, { stepsPerEpoch: 10 });
const htrainer = new jepa.Trainer({
  ...hrecipe.trainer,
  model: hmodel,
  masks: new jepa.masks.MaskSampler('hjepa', hrecipe.masks.options),
  lossType: 'smoothl1',
  normalizeEmbeddings: true,
  maskedLoss: false,
  targetUpdate: 'beforeStep',
  levelWeights: [1, 1, 1],
});
const literal: number = jepa.ema.schedule({ kind: 'seed001-literal', start: 0.996, end: 1, steps: 10 }).at(0);
const copy: Promise<jepa.Module> = hmodel.clone();
const copySync: jepa.Module = hmodel.cloneSync();
const hjepaModel: Promise<number> = jepa.HJEPA.loadSync('h.pt').updateTargetEncoder(5);
// @ts-expect-error: the H-JEPA loss types are mse, smoothl1, huber
new jepa.Trainer({ kind: 'hjepa', model: hmodel, lr: 1, lossType: 'l1' });
// @ts-expect-error: the notebook's mask types are short and long
jepa.masks.notebook3d({ maskType: 'medium' });

// Model folders written by `jepa-native export`.
const folderInfo: jepa.ModelInfo = jepa.readModelInfo('models/vith14');
const folderKind: jepa.ModelKind = folderInfo.kind;
const preset: 'vjepa2' | 'ijepa' | 'imagenet-eval' | 'clip' | undefined = folderInfo.preprocess?.preset;
const exported: jepa.JEPA = await jepa.JEPA.load('models/vith14');
const infoOrNull: jepa.ModelInfo | null = exported.info;
const canPredict: boolean = exported.hasPredictor;
const imageEncoder: jepa.ImageEncoder = await jepa.ImageEncoder.load('models/clip');
const imageEmb: Promise<Tensor> = imageEncoder.encode(zeros([1, 3, 224, 224]));
const textEncoder: jepa.TextEncoder = jepa.TextEncoder.loadSync('models/minilm');
const textEmb: Promise<Tensor> = textEncoder.encode(
  zeros([1, 8], { dtype: 'int64' }),
  zeros([1, 8], { dtype: 'int64' }),
);
const tokenizerFile: string = textEncoder.tokenizerFile;
const folderCode: string = ErrorCode.MODEL_FOLDER_INVALID;
// @ts-expect-error: the text encoder takes ids and a mask
textEncoder.encode(zeros([1, 8]));
// Data: datasets, the DataLoader (batch types from the default collation), fit, .npz
const featureDs = new jepa.data.FeatureDataset('features/', { key: 'feature', mmap: false });
const featureLoader = new jepa.data.DataLoader(featureDs, {
  batchSize: 4,
  shuffle: true,
  seed: 0n,
  variableLength: { mode: 'pad', dim: 0 },
});
for await (const b of featureLoader) {
  const f: Tensor = b.feature;
  const paths: string[] = b.path;
  const lens: Tensor | undefined = b.lengths;
  void [f, paths, lens];
}
const loaderState: { epoch: number; batch: number; seed: bigint } = featureLoader.state();
const captions = new jepa.data.DataLoader(new jepa.data.CaptionDataset('c.csv', 'images/', { image: { size: 224 } }), {
  batchSize: 8,
});
const custom = new jepa.data.DataLoader(
  { length: 3, get: (i: number) => i * 2 },
  { collate: (xs: number[]) => xs.reduce((a, b) => a + b, 0) },
);
for await (const total of custom) {
  const n: number = total;
  void n;
}
const fitted: Promise<jepa.FitResult> = trainer.fit({
  data: captions,
  epochs: 2,
  checkpoint: { dir: 'ck/', every: 100 },
  toBatch: (b) => ({ images: b.image }),
  onStep: (s: jepa.FitStep) => void s.stats.loss,
  onEpoch: (e: jepa.FitEpoch) => void e.loss,
});
const npz: Promise<Record<string, Tensor>> = jepa.loadNpz('a.npz', { mmap: true });
jepa.saveNpzSync('a.npz', { x: t }, { compress: true });
const dataCode: string = ErrorCode.DATA_INVALID;
// @ts-expect-error: batchSize is a number
new jepa.data.DataLoader(featureDs, { batchSize: '4' });
// @ts-expect-error: variableLength modes are pad and crop
new jepa.data.DataLoader(featureDs, { variableLength: 'stretch' });
void [loaderState, fitted, npz, dataCode];

// @ts-expect-error: unknown dtype
zeros([2], { dtype: 'float8' });
// @ts-expect-error: device must be cpu, cuda or cuda:N
zeros([2], { device: 'gpu' });
// @ts-expect-error: shape is an array
zeros(3);

void [
  shape,
  dtype,
  data,
  i64,
  bits,
  moved,
  mem,
  ok,
  code,
  loaded,
  saved,
  mod,
  ctx,
  kind,
  libtorchVersion,
  notFound,
  wrongKind,
  img,
  imgs,
  clip,
  vinfo,
  idx,
  maxRank,
  limits,
  pg,
  summed,
  gathered,
  rankNow,
  shard,
  launched,
  opts,
  wrote,
  seed,
  emaDone,
  emaSync,
  mom,
  stepped,
  lossNow,
  savedCkpt,
  resumed,
  resumedSync,
  loadedSd,
  ckptCode,
  folderKind,
  preset,
  infoOrNull,
  canPredict,
  imageEmb,
  textEmb,
  tokenizerFile,
  folderCode,
  clips,
  explicit,
  extracted,
  picked,
  pre,
  recipeLr,
  kept,
  wasClipped,
  motionWd,
  decay,
  predicted,
  levelTargets,
  hnext,
  nb,
  nb3,
  htrainer,
  literal,
  copy,
  copySync,
  hjepaModel,
];

// Tensor ops (generated from libtorch's schema), scoped disposal
{
  using scoped = jepa.zeros([2, 3]);
  using model = jepa.loadModuleSync('encoder.pt');
  using archive = jepa.openSync('features.pt');
  const sum: Tensor = jepa.add(scoped, 1, { alpha: 2 }).sum(1, true);
  const byName: Tensor = scoped.sum({ dim: [0, 1], keepdim: true });
  const mx: Tensor = jepa.max(scoped, 1).values;
  const [values, indices] = scoped.max(0);
  const sorted: Tensor = scoped.sort({ dim: 1, descending: true }).indices;
  const stacked: Tensor = jepa
    .stack([scoped, scoped])
    .view(2, 6)
    .index([0, jepa.slice(1, null), null]);
  const inplace: Tensor = scoped.add_(1).clamp_(0, 1);
  const u: [Tensor, Tensor, Tensor] = jepa.linalg.svd(scoped) as [Tensor, Tensor, Tensor];
  const n: Tensor = jepa.nn.functional.normalize(scoped, { dim: 1 });
  const g = new jepa.Generator().manualSeed(0);
  const r: Tensor = jepa.rand([2, 3], { generator: g });
  const kept: Tensor = jepa.tidy(() => jepa.keep(scoped.mul(2)));
  const later: Promise<Tensor> = jepa.tidyAsync(async () => scoped.add(1));
  void [sum, byName, mx, values, indices, sorted, stacked, inplace, u, n, r, kept, later, model, archive];
  // @ts-expect-error: keepdim is a boolean
  scoped.sum(1, 'yes');
}

// VL-JEPA (seed 004): tokenizer, zero-shot, caption training
{
  const tok: jepa.TextTokenizer = jepa.TextTokenizer.fromFile('models/minilm/tokenizer.json', { maxLength: 256 });
  const batch: jepa.TokenizedBatch = tok.tokenize(['a dog', 'a cat']);
  const ids: number[] = tok.encode('a dog');
  const vlm: jepa.VisionLanguageModel = await jepa.VisionLanguageModel.load({
    dir: 'models/vl',
    predictor: 'trained/predictor',
  });
  const ranked: jepa.LabelScore[][] = await vlm.zeroShot(['photo.jpg'], ['a dog', 'a cat']);
  const textEmb2: Tensor = await vlm.text.embed(['a dog']);
  const paths: jepa.VisionLanguagePaths = jepa.findVisionLanguageParts('models/vl');
  const { trainer, result } = await vlm.train({
    csv: 'captions.csv',
    imageDir: 'images',
    epochs: 1,
    lr: 1e-4,
    fit: { progress: false },
  });
  const steps: number = result.steps;
  void [batch, ids, ranked, textEmb2, paths, trainer, steps];
  // @ts-expect-error: labels are strings
  await vlm.zeroShot(['photo.jpg'], [1, 2]);
}
