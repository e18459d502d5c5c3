/**
 * The documented maximums of the file readers and writers (`.pt`, safetensors, `.npy`, `.npz`). Input
 * beyond one is refused with a `JEPA_PT_LIMIT` error whose message names the limit and the value
 * found, before anything of that size is allocated. The values are fixed (they are compiled
 * into the readers); see docs/pt.md and RELIABILITY.md.
 *
 * ```js
 * jepa.limits.maxRank;   // 64
 * ```
 * @module
 */
import { native } from './binding';

/** The limits, in bytes or counts. */
export interface Limits {
  /** Nesting of containers in a `.pt` pickle (and of its MARKs), of a value saved, and of a `.npy` header: 1000 (Python's recursion limit). */
  readonly maxDepth: number;
  /** One `str` or `bytes` value in a `.pt` file: 256 MiB. */
  readonly maxStringBytes: number;
  /** Dimensions of one tensor (`.pt`, safetensors, `.npy`): 64. */
  readonly maxRank: number;
  /** A file read (`.pt`, safetensors, `.npy`, `.npz`): 1 TiB. */
  readonly maxFileBytes: number;
  /** The pickle (`data.pkl` record) of a `.pt` file, or the pickles of a legacy-format one together: 1 GiB. */
  readonly maxPickleBytes: number;
  /** The zip central directory of a `.pt` or `.npz` file: 256 MiB. */
  readonly maxZipDirectoryBytes: number;
  /** A compressed (deflated) record of a `.pt` file, inflated (`torch.save` stores records uncompressed): 16 MiB. */
  readonly maxDeflatedRecordBytes: number;
  /** An int written to a `.pt` file (what `torch.load(weights_only=True)` reads): 255 bytes. */
  readonly maxIntBytes: number;
  /** The JSON header of a safetensors file: 100,000,000 bytes (as the reference implementation). */
  readonly maxSafetensorsHeaderBytes: number;
  /** The header of a `.npy` file: 1 MiB. */
  readonly maxNpyHeaderBytes: number;
  /**
   * A deflated member of a `.npz` file (`np.savez_compressed`), inflated: 4 GiB - 1 (a Node.js
   * Buffer's limit). Stored members are bounded by the file's size.
   */
  readonly maxNpzMemberBytes: number;
  /**
   * Not a limit on input: a save removes the temporary files that writers killed mid-save left
   * in its folder once they are this many seconds old and their process is gone (RELIABILITY.md).
   */
  readonly staleTempSeconds: number;
}

/** The documented limits (read-only). */
export const limits: Limits = Object.freeze({
  ...native.limits,
  maxSafetensorsHeaderBytes: 100_000_000,
  maxNpyHeaderBytes: 1 << 20,
  maxNpzMemberBytes: 2 ** 32 - 1,
});
