/**
 * Types of the raw native addon (native/addon.cc). Internal: the public classes wrap these.
 * (Internal to the package.)
 * @module
 */

export interface NativeTensor {
  shape(): number[];
  strides(): number[];
  dtype(): string;
  device(): string;
  numel(): number;
  nbytes(): number;
  storageOffset(): number;
  isContiguous(): boolean;
  data(): ArrayBufferView;
  item(): number | bigint | boolean;
  to(device: string | null, dtype: string | null): NativeTensor;
  toAsync(device: string | null, dtype: string | null): Promise<NativeTensor>;
  contiguous(): NativeTensor;
  clone(): NativeTensor;
  reshape(shape: number[]): NativeTensor;
  view(shape: number[]): NativeTensor;
  permute(dims: number[]): NativeTensor;
  fill_(value: number): NativeTensor;
  copy_(src: NativeTensor): NativeTensor;
  toString(): string;
  dispose(): void;
  isDisposed(): boolean;
  sharesStorage(other: NativeTensor): boolean;
  setParameter(parameter: boolean, requiresGrad: boolean): void;
  isParameter(): boolean;
}

/** What lib/core/binding.ts registers once, right after loading the addon (`init`). */
export interface NativeClasses {
  JepaError: unknown;
  JepaTypeError: unknown;
  Tuple: unknown;
  Size: unknown;
  OrderedDict: unknown;
  TorchDevice: unknown;
  TorchDtype: unknown;
  Float: unknown;
  FLOAT_KEYS: symbol;
  PY_ATTRS: symbol;
  /** A jepa.Tensor for a native handle. */
  wrapTensor(handle: NativeTensor): unknown;
  /** The native handle of a jepa.Tensor; undefined for anything else. */
  tensorHandle(value: unknown): NativeTensor | undefined;
}

/** One dtype of the native table (native/core/dtype.h). */
export interface NativeDtype {
  name: string;
  elementSize: number;
  /** The typed array that holds it: the tensor API accepts exactly the dtypes that have one. */
  typedArray: string | null;
  safetensors: string | null;
  npy: string | null;
}

/** What a native mask sampler returns (native/bindings/masks_binding.cc). */
export interface NativeMaskResult {
  context: NativeTensor[];
  targets: NativeTensor[];
  binary: NativeTensor[];
  sizes: number[][];
  relaxed: number;
  state: Uint32Array;
}

/** A TorchScript module handle (native/bindings/module_binding.cc). */
export interface NativeModule {
  run(method: string, args: unknown[], options?: { threads?: number; optimize?: boolean }): Promise<unknown>;
  runSync(method: string, args: unknown[]): unknown;
  methods(): string[];
  schema(method: string): string;
  arguments(method: string): { name: string; type: string; hasDefault: boolean }[];
  namedParameters(): [string, NativeTensor][];
  namedBuffers(): [string, NativeTensor][];
  loadStateDict(entries: [string, NativeTensor][], strict: boolean): { missing: string[]; unexpected: string[] };
  train(on: boolean): void;
  isTraining(): boolean;
  to(device: string | null, dtype: string | null): void;
  device(): string;
  dtype(): string | null;
  save(path: string): Promise<void>;
  saveSync(path: string): void;
  clone(): Promise<NativeModule>;
  cloneSync(): NativeModule;
  inFlight(): number;
  dispose(): void;
}

export interface PtEntry {
  key: string;
  path: unknown[];
  dtype: string;
  shape: number[];
  nbytes: number;
  parameter: boolean;
}

/** A tensor in a byte range of a file (safetensors, .npy). */
export interface TensorSlot {
  dtype: string;
  shape: number[];
  strides: number[] | null;
  offset: number;
  nbytes: number;
}

export interface NativePtArchive {
  entries(): PtEntry[];
  get(path: unknown[], device: string | null): unknown;
  getAsync(path: unknown[], device: string | null): Promise<unknown>;
  close(): void;
}
export interface NativeAddon {
  init(classes: NativeClasses): void;
  dtypes: NativeDtype[];
  NativeTensor: new () => NativeTensor;
  tensorFromTypedArray(data: ArrayBufferView, shape: number[], dtype: string, device: string): NativeTensor;
  zeros(shape: number[], dtype: string, device: string): NativeTensor;
  ones(shape: number[], dtype: string, device: string): NativeTensor;
  empty(shape: number[], dtype: string, device: string): NativeTensor;
  arange(start: number, end: number, step: number, dtype: string, device: string): NativeTensor;
  randn(shape: number[], dtype: string, device: string, seed: number | bigint | undefined): NativeTensor;
  memory(): { tensors: number; storages: number; bytes: number; external: number };
  cudaIsBuilt(): boolean;
  cudaSynchronize(device: string): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  torchVersion: string;
  /** Generated ops (native/bindings/ops_binding.cc). */
  opResolve(name: string, overload: string): number;
  opCall(id: number, ...args: unknown[]): unknown;
  tensorIndex(tensor: NativeTensor, items: unknown[]): NativeTensor;
  tensorIndexPut(tensor: NativeTensor, items: unknown[], value: unknown): void;
  NativeGenerator: new (seed: number | bigint) => NativeGenerator;
  /** When the addon's finalizers run (native/tensor/finalizers.h). */
  finalizers: 'gc' | 'event-loop';
  limits: {
    maxDepth: number;
    maxStringBytes: number;
    maxRank: number;
    maxFileBytes: number;
    maxPickleBytes: number;
    maxZipDirectoryBytes: number;
    maxDeflatedRecordBytes: number;
    maxIntBytes: number;
    staleTempSeconds: number;
  };
  masksMultiblock(opts: object, state?: Uint32Array | null): NativeMaskResult;
  masksMultiblockAsync(opts: object, state?: Uint32Array | null): Promise<NativeMaskResult>;
  masksMultiblock3d(opts: object, state?: Uint32Array | null): NativeMaskResult;
  masksMultiblock3dAsync(opts: object, state?: Uint32Array | null): Promise<NativeMaskResult>;
  masksRandomTube(opts: object, state?: Uint32Array | null): NativeMaskResult;
  masksRandomTubeAsync(opts: object, state?: Uint32Array | null): Promise<NativeMaskResult>;
  masksToBinary(masks: NativeTensor[], numPatches: number, dtype: string): NativeTensor;
  masksToIndices(mask: NativeTensor, nonzero: boolean): NativeTensor;
  masksRngCheck(seed: number, ranges: number[]): { ours: number[]; torch: number[] };
  masksNumpyCheck(seed: number, ops: number[]): number[];
  masksHjepa(opts: object, state?: Uint32Array | null): NativeMaskResult;
  masksHjepaAsync(opts: object, state?: Uint32Array | null): Promise<NativeMaskResult>;
  masksNotebook2d(opts: object, state?: Uint32Array | null): NativeMaskResult;
  masksNotebook2dAsync(opts: object, state?: Uint32Array | null): Promise<NativeMaskResult>;
  masksNotebook3d(opts: object, state?: Uint32Array | null): NativeMaskResult;
  masksNotebook3dAsync(opts: object, state?: Uint32Array | null): Promise<NativeMaskResult>;
  loadModule(path: string, device: string | null, dtype: string | null): Promise<NativeModule>;
  loadModuleSync(path: string, device: string | null, dtype: string | null): NativeModule;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  mediaPreprocess(
    pixels: Uint8Array,
    layout: object,
    plan: object,
    lut: Float32Array,
    out: Float32Array,
    offset: number,
  ): Promise<void>;
  mediaInfo(): { cpuCapability: string; nativeUint8Bilinear: boolean };
  numpyRandint(seed: number, low: number, high: number, count: number): number[];
  emaUpdate(target: unknown, source: unknown, momentum: number, options: object): Promise<NativeEmaStats>;
  emaUpdateSync(target: unknown, source: unknown, momentum: number, options: object): NativeEmaStats;
  emaFusedAvailable(): boolean;
  scheduleValues(spec: object, from: number, count: number): Float64Array;
  readTensorsSync(
    path: string,
    mmap: boolean,
    byteswap: boolean,
    slots: TensorSlot[],
    device: string | null,
  ): NativeTensor[];
  readTensors(
    path: string,
    mmap: boolean,
    byteswap: boolean,
    slots: TensorSlot[],
    device: string | null,
  ): Promise<NativeTensor[]>;
  /** `header`: one Buffer written first, or one Buffer before each tensor (and one more after them). */
  writeTensorsSync(path: string, header: Buffer | Buffer[], tensors: NativeTensor[]): void;
  writeTensors(path: string, header: Buffer | Buffer[], tensors: NativeTensor[]): Promise<void>;
  tensorsFromBytesSync(
    bytes: NativeTensor,
    name: string,
    byteswap: boolean,
    slots: TensorSlot[],
    device: string | null,
  ): NativeTensor[];
  tensorsFromBytes(
    bytes: NativeTensor,
    name: string,
    byteswap: boolean,
    slots: TensorSlot[],
    device: string | null,
  ): Promise<NativeTensor[]>;
  /** A tensor's row-major bytes as a uint8 tensor (a view when it is contiguous on the CPU). */
  tensorBytes(tensor: NativeTensor): NativeTensor;
  /** CRC-32 (zip's) of a tensor's bytes in row-major order, continuing from `init`. */
  crc32Sync(tensor: NativeTensor, init: number): number;
  crc32(tensor: NativeTensor, init: number): Promise<number>;
  /** How long (µs) to poll for an async result before sleeping (native/core/async.cc AsyncSpinNs). */
  asyncSpinMicros(): number;
  /** A CPU generator after `torch.Generator().manual_seed(seed)` (jepa.data's shuffles). */
  dataGenerator(seed: number | bigint): object;
  /** `torch.randperm(n, generator)`; with loaderEpoch, one epoch of `DataLoader(shuffle=True, generator)`'s draws. */
  dataRandperm(generator: object, n: number, loaderEpoch: boolean): Int32Array;
  /**
   * Stacks tensors into a new CPU tensor [B, ...] on reused memory; with dim >= 0 each is cut or
   * zero-padded to `target` along `dim` (dim -1: a plain stack). The shapes are checked in TS.
   */
  dataStackSync(tensors: NativeTensor[], dim: number, target: number): NativeTensor;
  dataStack(tensors: NativeTensor[], dim: number, target: number): Promise<NativeTensor>;
  /** `torch.get_rng_state()` / `torch.set_rng_state(s)` of libtorch's default CPU generator. */
  rngState(): NativeTensor;
  setRngState(state: NativeTensor): void;
  ptLoadSync(path: string, mmap: boolean, device: string | null): unknown;
  ptLoadMany(
    paths: string[],
    mmaps: boolean[],
    devices: (string | null)[],
    smallOnly: boolean,
    inline: boolean,
  ): Promise<[unknown[], (Error | undefined)[], number[]]>;
  ptSaveSync(path: string, value: unknown): void;
  ptSave(path: string, value: unknown): Promise<void>;
  ptOpenSync(path: string, mmap: boolean): NativePtArchive;
  ptOpen(path: string, mmap: boolean): Promise<NativePtArchive>;
  createTrainer(config: object): NativeTrainer;
  manualSeed(seed: number | bigint): void;
  distInit(options: object): Promise<NativeProcessGroup>;
  distInitSync(options: object): NativeProcessGroup;
  distBackendAvailable(backend: string): string | null;
}

/** An at::Generator (native/bindings/ops_binding.cc). */
export interface NativeGenerator {
  manualSeed(seed: number | bigint): NativeGenerator;
  initialSeed(): bigint;
  seed(): bigint;
  getState(): NativeTensor;
  setState(state: NativeTensor): NativeGenerator;
}

/** A c10d process group (native/bindings/distributed_binding.cc). */
export interface NativeProcessGroup {
  rank(): number;
  worldSize(): number;
  backend(): string;
  allReduce(tensor: unknown, op: string): Promise<NativeTensor[]>;
  allReduceSync(tensor: unknown, op: string): NativeTensor[];
  broadcast(tensor: unknown, root: number): Promise<NativeTensor[]>;
  broadcastSync(tensor: unknown, root: number): NativeTensor[];
  allGather(tensor: unknown): Promise<NativeTensor[]>;
  allGatherSync(tensor: unknown): NativeTensor[];
  barrier(): Promise<NativeTensor[]>;
  barrierSync(): NativeTensor[];
  destroy(): Promise<void>;
  destroySync(): void;
}

/** A native trainer (native/bindings/trainer_binding.cc). */
export interface NativeTrainer {
  step(batch: object): Promise<NativeStepStats>;
  stepSync(batch: object): NativeStepStats;
  getStep(): number;
  setStep(step: number): void;
  getEpoch(): number;
  setEpoch(epoch: number): void;
  paramGroups(): {
    groups: { lr: number; weightDecay: number; wdExclude: boolean; names: string[] }[];
    beta1: number;
    beta2: number;
    eps: number;
  };
  optimizerState(): ({ step: NativeTensor; expAvg: NativeTensor; expAvgSq: NativeTensor } | null)[];
  setOptimizerState(
    states: ({ step: NativeTensor; expAvg: NativeTensor; expAvgSq: NativeTensor } | null)[],
    groups?: { lr: number; weightDecay: number }[],
  ): void;
}

export interface NativeStepStats {
  loss: number;
  lossMean: number;
  parts: number[];
  lr: number;
  weightDecay: number;
  momentum: number | null;
  gradNorm: number;
  gradNormPredictor: number;
  clipped: boolean;
  step: number;
  ms: number;
}

/** What an EMA update reports (native/bindings/ema_binding.cc). */
export interface NativeEmaStats {
  tensors: number;
  copied: number;
  elements: number;
  fused: boolean;
}
