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
  run(method: string, args: unknown[]): Promise<unknown>;
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

/** The classes and helpers the .pt conversion needs (lib/io/pt.ts). */
export interface PtClasses {
  Tuple: unknown;
  Size: unknown;
  OrderedDict: unknown;
  TorchDevice: unknown;
  TorchDtype: unknown;
  Float: unknown;
  FLOAT_KEYS: symbol;
  PY_ATTRS: symbol;
  wrapTensor(handle: NativeTensor, parameter: boolean, requiresGrad: boolean): unknown;
  tensorInfo(value: unknown): [NativeTensor, boolean, boolean] | undefined;
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
  NativeTensor: new () => NativeTensor;
  tensorFromTypedArray(data: ArrayBufferView, shape: number[], dtype: string, device: string): NativeTensor;
  zeros(shape: number[], dtype: string, device: string): NativeTensor;
  ones(shape: number[], dtype: string, device: string): NativeTensor;
  empty(shape: number[], dtype: string, device: string): NativeTensor;
  arange(start: number, end: number, step: number, dtype: string, device: string): NativeTensor;
  randn(shape: number[], dtype: string, device: string, seed: number | bigint | undefined): NativeTensor;
  memory(): { tensors: number; storages: number; bytes: number };
  cudaIsBuilt(): boolean;
  cudaSynchronize(device: string): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  torchVersion: string;
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
  featureMean(features: NativeTensor, dims: number[], keepdim: boolean): NativeTensor;
  featureSelect(features: NativeTensor, dim: number, index: number): NativeTensor;
  emaUpdate(target: unknown, source: unknown, momentum: number, options: object): Promise<NativeEmaStats>;
  emaUpdateSync(target: unknown, source: unknown, momentum: number, options: object): NativeEmaStats;
  emaFusedAvailable(): boolean;
  scheduleValues(spec: object, from: number, count: number): Float64Array;
  ptInit(classes: PtClasses): void;
  readTensorsSync(path: string, mmap: boolean, byteswap: boolean, slots: TensorSlot[], device: string | null): NativeTensor[];
  readTensors(path: string, mmap: boolean, byteswap: boolean, slots: TensorSlot[], device: string | null): Promise<NativeTensor[]>;
  writeTensorsSync(path: string, header: Buffer, tensors: NativeTensor[]): void;
  writeTensors(path: string, header: Buffer, tensors: NativeTensor[]): Promise<void>;
  ptLoadSync(path: string, mmap: boolean, device: string | null): unknown;
  ptLoadMany(
    paths: string[],
    mmaps: boolean[],
    devices: (string | null)[],
    smallOnly: boolean,
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

/** A native trainer (native/bindings/train_binding.cc). */
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

/** What an EMA update reports (native/bindings/train_binding.cc). */
export interface NativeEmaStats {
  tensors: number;
  copied: number;
  elements: number;
  fused: boolean;
}
