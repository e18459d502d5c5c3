/**
 * Errors raised by jepa-native. Every error carries a stable `code` that programs can test for;
 * the message says what was wrong and what was expected.
 * @module
 */

import { pollWhile } from './poll';

/** Stable error codes. Native errors use the same codes (native/core/errors.h). */
export const ErrorCode = {
  /** An argument has the wrong type or value (thrown as a `TypeError`). */
  INVALID_ARGUMENT: 'JEPA_INVALID_ARGUMENT',
  /** Data length, shape or element count do not agree. */
  SHAPE_MISMATCH: 'JEPA_SHAPE_MISMATCH',
  /** A dtype name outside the supported set (thrown as a `TypeError`). */
  UNKNOWN_DTYPE: 'JEPA_UNKNOWN_DTYPE',
  /** A CUDA device was asked for but CUDA is not available (or the index is out of range). */
  CUDA_UNAVAILABLE: 'JEPA_CUDA_UNAVAILABLE',
  /** The tensor was disposed and can no longer be used. */
  DISPOSED: 'JEPA_DISPOSED',
  /** The operation needs a CPU tensor. */
  NOT_CPU: 'JEPA_NOT_CPU',
  /** The operation needs a contiguous tensor. */
  NOT_CONTIGUOUS: 'JEPA_NOT_CONTIGUOUS',
  /** libtorch raised an error (`c10::Error`); the message is libtorch's, without the backtrace. */
  TORCH_ERROR: 'JEPA_TORCH_ERROR',
  /** An allocation failed. */
  OUT_OF_MEMORY: 'JEPA_OUT_OF_MEMORY',
  /**
   * The libtorch the addon needs is not the one found: a source build's libtorch moved or changed
   * version, or the libtorch found for a prebuilt binary is another version.
   */
  LIBTORCH_MISMATCH: 'JEPA_LIBTORCH_MISMATCH',
  /** A prebuilt binary found no libtorch at all (LIBTORCH, python3's torch, the project-local .venv). */
  LIBTORCH_NOT_FOUND: 'JEPA_LIBTORCH_NOT_FOUND',
  /** The native addon is missing (not built). */
  ADDON_NOT_FOUND: 'JEPA_ADDON_NOT_FOUND',
  /**
   * A mask sampler's options cannot produce a mask: the blocks drawn for this seed are too small
   * for `minKeep`, or cover the whole grid (the reference sampler would loop forever).
   */
  MASK_UNSATISFIABLE: 'JEPA_MASK_UNSATISFIABLE',
  /** An unexpected internal error. */
  INTERNAL: 'JEPA_INTERNAL',
  /** A file to read does not exist. */
  FILE_NOT_FOUND: 'JEPA_FILE_NOT_FOUND',
  /** A file is not a TorchScript module (torch.jit.save), or is corrupt. */
  INVALID_MODULE: 'JEPA_INVALID_MODULE',
  /** A TorchScript module has no method of the given name. */
  METHOD_NOT_FOUND: 'JEPA_METHOD_NOT_FOUND',
  /** A module cannot change (train/eval/to) while calls on it are in flight. */
  MODULE_BUSY: 'JEPA_MODULE_BUSY',
  /** A tensor is on another device than the module that should use it. */
  DEVICE_MISMATCH: 'JEPA_DEVICE_MISMATCH',
  /** Two parameter sets that must correspond (EMA target and source, a state dict and a model) differ in names, shapes or dtypes. */
  PARAMETER_MISMATCH: 'JEPA_PARAMETER_MISMATCH',
  /**
   * A training checkpoint lacks a key the trainer needs ('encoder', 'opt', ...) or holds a value
   * of the wrong kind; the message lists what is there and what was expected.
   */
  CHECKPOINT_INVALID: 'JEPA_CHECKPOINT_INVALID',
  /** Reading or writing a file failed (permissions, full disk, ...); the message has the reason. */
  IO_ERROR: 'JEPA_IO_ERROR',
  /** A .pt, safetensors or .npy file is damaged or is not such a file (truncated, bad records, ...). */
  PT_CORRUPT: 'JEPA_PT_CORRUPT',
  /**
   * A .pt file's pickle names a global that `torch.load(weights_only=True)` does not allow
   * (`os.system`, `builtins.eval`, ...). Nothing was run.
   */
  PT_UNSAFE_GLOBAL: 'JEPA_PT_UNSAFE_GLOBAL',
  /** A .pt file holds something safe that jepa-native cannot represent (sparse, quantized, complex numbers...). */
  PT_UNSUPPORTED: 'JEPA_PT_UNSUPPORTED',
  /** A file or value goes beyond a documented limit (nesting depth, string length, rank, size). */
  PT_LIMIT: 'JEPA_PT_LIMIT',
  /** The file is a TorchScript archive (torch.jit.save), not a torch.save file. */
  PT_TORCHSCRIPT: 'JEPA_PT_TORCHSCRIPT',
  /**
   * The file uses the `.tar` format of torch < 0.4, which `torch.load(weights_only=True)` refuses
   * too (the later legacy format, torch < 1.6, is read).
   */
  PT_LEGACY_FORMAT: 'JEPA_PT_LEGACY_FORMAT',
  /**
   * A model folder's `jepa.json` (written by `jepa-native export`) is not valid: not JSON,
   * another format, a newer format version, or fields of the wrong kind; the message names the file.
   */
  MODEL_FOLDER_INVALID: 'JEPA_MODEL_FOLDER_INVALID',
  /**
   * A dataset's sample is not what `jepa.data` can use: a feature file without a tensor under its
   * key, a CSV without the named columns, a folder without images, samples a batch cannot be
   * made of (different fields or dtypes).
   */
  DATA_INVALID: 'JEPA_DATA_INVALID',
  /** An image or video could not be decoded (not an image, damaged, unsupported); the message names the file. */
  MEDIA_DECODE: 'JEPA_MEDIA_DECODE',
  /** `ffmpeg` / `ffprobe` (needed for video) are not installed or not where `FFMPEG_PATH` / `FFPROBE_PATH` say. */
  FFMPEG_NOT_FOUND: 'JEPA_FFMPEG_NOT_FOUND',
  /**
   * A collective of `jepa.distributed` (or the rendezvous of `init`) failed: a peer died, hung
   * past the timeout or left, or the group was destroyed. The group is unusable afterwards.
   */
  DISTRIBUTED_ERROR: 'JEPA_DISTRIBUTED_ERROR',
  /** The asked-for distributed backend is not in this build (NCCL without a CUDA libtorch), or no group was initialised. */
  DISTRIBUTED_UNAVAILABLE: 'JEPA_DISTRIBUTED_UNAVAILABLE',
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * An `Error` with a stable {@link ErrorCode}. Every error jepa-native throws or rejects with is a
 * `JepaError` (`err instanceof JepaError`), from TypeScript and native code alike; errors about
 * the type or value of an argument are also `TypeError`s ({@link JepaTypeError}).
 */
export class JepaError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JepaError';
    this.code = code;
  }

  /** True for a JepaError and for a {@link JepaTypeError}. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== JepaError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (
      typeof value === 'object' &&
      value !== null &&
      (Object.prototype.isPrototypeOf.call(JepaError.prototype, value) ||
        Object.prototype.isPrototypeOf.call(JepaTypeError.prototype, value))
    );
  }
}

/**
 * A {@link JepaError} about the type or value of an argument (`JEPA_INVALID_ARGUMENT`,
 * `JEPA_UNKNOWN_DTYPE`): a `TypeError`, and `instanceof JepaError` too.
 */
export class JepaTypeError extends TypeError {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** The error for an invalid argument: a {@link JepaTypeError} with `JEPA_INVALID_ARGUMENT`. */
export function invalidArgument(message: string): JepaTypeError {
  return new JepaTypeError(ErrorCode.INVALID_ARGUMENT, message);
}

/**
 * Gives a native Promise's rejection the stack of the async functions that await it: the stack
 * is taken when the rejection arrives, where V8's async stack traces name every awaiting
 * function (`at async yourFunction (file.js:12:3)`). A rejection made on the event loop has no
 * user frames otherwise. Taking the caller's synchronous stack at every call instead cost 3-6 µs
 * a call (`Error.captureStackTrace`), a fifth of what loading a small `.pt` file costs; a caller
 * that uses `.then()` rather than `await` gets no frames of its own. The native message and code
 * are kept.
 * @internal
 */
export async function withCallerStack<T>(promise: Promise<T>): Promise<T> {
  try {
    return await pollWhile(promise);
  } catch (err) {
    if (err instanceof Error) Error.captureStackTrace(err, withCallerStack);
    throw err;
  }
}
