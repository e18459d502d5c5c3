/**
 * Types of the raw native addon (native/addon.cc). Internal: the public classes wrap these.
 * @internal
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
  toString(): string;
  dispose(): void;
  isDisposed(): boolean;
  sharesStorage(other: NativeTensor): boolean;
}

/** The classes and helpers the .pt conversion needs (lib/io.ts). */
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
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  torchVersion: string;
  ptInit(classes: PtClasses): void;
  readTensorsSync(path: string, mmap: boolean, byteswap: boolean, slots: TensorSlot[], device: string | null): NativeTensor[];
  readTensors(path: string, mmap: boolean, byteswap: boolean, slots: TensorSlot[], device: string | null): Promise<NativeTensor[]>;
  writeTensorsSync(path: string, header: Buffer, tensors: NativeTensor[]): void;
  writeTensors(path: string, header: Buffer, tensors: NativeTensor[]): Promise<void>;
  ptLoadSync(path: string, mmap: boolean, device: string | null): unknown;
  ptLoad(path: string, mmap: boolean, device: string | null): Promise<unknown>;
  ptSaveSync(path: string, value: unknown): void;
  ptSave(path: string, value: unknown): Promise<void>;
  ptOpenSync(path: string, mmap: boolean): NativePtArchive;
  ptOpen(path: string, mmap: boolean): Promise<NativePtArchive>;
}
