/**
 * What the process has: CUDA devices, live tensor memory, the libtorch in use.
 * @module
 */
import { native } from './binding';

/** Live tensor handles and the bytes of the distinct storages they hold. */
export interface MemoryInfo {
  /** Tensor handles not yet disposed or collected (in the whole process). */
  tensors: number;
  /** Distinct storages (memory blocks) those handles use. */
  storages: number;
  /** Bytes of those storages. */
  bytes: number;
}

/** Live tensors and bytes held through jepa-native handles. */
export function memory(): MemoryInfo {
  return native.memory();
}

/** CUDA queries. */
export const cuda = {
  /** Whether libtorch was built with CUDA and a GPU is visible. */
  isAvailable(): boolean {
    return native.cudaIsAvailable();
  },
  /** Number of visible CUDA devices (0 without CUDA). */
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
};

/** Version of the libtorch the addon was compiled against, e.g. `'2.13.0'`. */
export const torchVersion: string = native.torchVersion;
