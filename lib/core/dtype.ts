/**
 * Dtypes and devices, and which JS typed array holds each dtype. The facts come from the one
 * native dtype table (native/core/dtype.h, the addon's `dtypes`): the `Dtype` type below names
 * the dtypes of that table that the tensor API accepts (test/errors.test.mjs checks they agree).
 * @module
 */
import { native } from './binding';

/** The element types a {@link Tensor} can have. */
export type Dtype =
  'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool';

/** A device: `'cpu'`, `'cuda'` (the current CUDA device) or `'cuda:N'`. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Every dtype of the tensor API, in a stable order. */
export const DTYPES: readonly Dtype[] = Object.freeze(
  native.dtypes.filter((d) => d.typedArray !== null).map((d) => d.name as Dtype),
);

/** Bytes per element of every dtype a tensor may have in a file (`float16`: 2, `complex64`: 8, ...). @internal */
export const ELEMENT_SIZE: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(native.dtypes.map((d) => [d.name, d.elementSize])),
);

/** safetensors' dtype codes (`'F16'`) -> dtype names, for the dtypes safetensors can hold. @internal */
export const SAFETENSORS_DTYPES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(native.dtypes.filter((d) => d.safetensors !== null).map((d) => [d.safetensors as string, d.name])),
);

/** numpy's type codes without byte order (`'f2'`) -> dtype names, for the dtypes .npy can hold. @internal */
export const NPY_DTYPES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(native.dtypes.filter((d) => d.npy !== null).map((d) => [d.npy as string, d.name])),
);

/**
 * The typed array that holds each dtype: float16 and bfloat16 as their raw 16-bit patterns in a
 * `Uint16Array`, int64 as a `BigInt64Array`, bool as 0/1 bytes in a `Uint8Array`.
 */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/** Any typed array that a {@link Tensor} can wrap. */
export type TensorTypedArray = TypedArrayOf[Dtype] | Uint8ClampedArray;

type TypedArrayCtor = { new (length: number): TensorTypedArray; readonly name: string };

/** The typed-array constructor for each dtype. */
export const TYPED_ARRAY_OF: Readonly<Record<Dtype, TypedArrayCtor>> = Object.freeze(
  Object.fromEntries(
    native.dtypes
      .filter((d) => d.typedArray !== null)
      .map((d) => [d.name, (globalThis as unknown as Record<string, TypedArrayCtor>)[d.typedArray as string]]),
  ) as Record<Dtype, TypedArrayCtor>,
);

/** The dtype a typed array stands for when none is given (null for Uint16Array: ambiguous). */
export function dtypeOfTypedArray(data: ArrayBufferView): Dtype | null | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  if (data instanceof Uint16Array) return null;
  return undefined;
}
