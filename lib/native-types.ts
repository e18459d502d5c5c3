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
  permute(dims: number[]): NativeTensor;
  fill_(value: number): NativeTensor;
  copy_(src: NativeTensor): NativeTensor;
  toString(): string;
  dispose(): void;
  isDisposed(): boolean;
  sharesStorage(other: NativeTensor): boolean;
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
}
