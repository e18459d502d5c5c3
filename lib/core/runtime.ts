/**
 * What the process has: CUDA devices, live tensor memory, the libtorch in use.
 * @module
 */
import { loadedAddon, native } from './binding';
import { checkDevice } from './validate';

/** Live tensor handles and the bytes of the distinct storages they hold. */
export interface MemoryInfo {
  /** Tensor handles not yet disposed or collected (in the whole process). */
  tensors: number;
  /** Distinct storages (memory blocks) those handles use. */
  storages: number;
  /** Bytes of those storages. */
  bytes: number;
  /**
   * Of those bytes, the ones held by this thread's handles and reported to V8 as external memory
   * (libtorch's allocations; not the JS buffers that tensors made from typed arrays borrow, which
   * V8 already counts). V8 weighs them when it decides to collect garbage.
   */
  external: number;
  /**
   * When the memory of tensors that became unreachable is freed: `'gc'` inside V8's garbage
   * collection, also while a synchronous loop runs (Node 20.10 and later); `'event-loop'` after
   * the garbage collection, once the running JS code returns to the event loop (Node 20.9, or
   * with `JEPA_GC_FINALIZERS=0`). See docs/tensors.md, "Memory".
   */
  finalizers: 'gc' | 'event-loop';
}

/** Live tensors and bytes held through jepa-native handles. */
export function memory(): MemoryInfo {
  return { ...native.memory(), finalizers: native.finalizers };
}

/** CUDA queries. */
export const cuda = {
  /**
   * Whether the libtorch in use has CUDA support (its libtorch_cuda is loaded and registered),
   * whether or not a GPU is present: Python's `torch.backends.cuda.is_built()`.
   */
  isBuilt(): boolean {
    return native.cudaIsBuilt();
  },
  /** Whether libtorch has CUDA support and a GPU is visible: Python's `torch.cuda.is_available()`. */
  isAvailable(): boolean {
    return native.cudaIsAvailable();
  },
  /**
   * Waits until the work queued on a CUDA device (default: the current one) has finished, as
   * Python's `torch.cuda.synchronize()`: CUDA operations return once queued, so timings of GPU
   * work end with it. `JEPA_CUDA_UNAVAILABLE` without CUDA, `JEPA_INVALID_ARGUMENT` for `'cpu'`.
   */
  synchronize(device: 'cuda' | `cuda:${number}` = 'cuda'): void {
    native.cudaSynchronize(checkDevice(device));
  },
  /** Number of visible CUDA devices (0 without CUDA). */
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
};

/** Version of the libtorch the addon was compiled against, e.g. `'2.13.0'`. */
export const torchVersion: string = native.torchVersion;

/** Which native binary is in use and which libtorch it runs on (see {@link addonInfo}). */
export interface AddonInfo {
  /** Absolute path of the loaded `.node` file. */
  binary: string;
  /**
   * `'prebuilt'`: the binary shipped in the package (prebuilds/), which loads a libtorch found at
   * run time; `'source'`: the binary compiled on this machine (build/Release), which finds the
   * libtorch it was built against through its RUNPATH.
   */
  kind: 'prebuilt' | 'source';
  /** The libtorch version the binary was compiled against, e.g. `'2.13.0+cpu'` (null if unknown). */
  builtAgainst: string | null;
  /** The libtorch in use. */
  libtorch: {
    /** Its folder (a libtorch distribution or a torch package folder). */
    dir: string;
    /** Its version, e.g. `'2.13.0+cpu'`. */
    version: string | null;
    /** How it was found: `'LIBTORCH'`, the Python whose torch it is, `'project-local'`, or `'rpath'` (source build). */
    source: string;
    /** Whether it is a CUDA build of libtorch (a GPU may still be absent: see {@link cuda}). */
    cuda: boolean;
  };
}

/** Which native binary is in use (prebuilt or compiled here) and which libtorch it runs on. */
export function addonInfo(): AddonInfo {
  return { ...loadedAddon, libtorch: { ...loadedAddon.libtorch } };
}
