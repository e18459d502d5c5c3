/**
 * jepa-native: libtorch for JEPA models in Node.js.
 *
 * ```js
 * const jepa = require('jepa-native');
 * const t = jepa.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * ```
 * @module jepa-native
 */
export { DTYPES, type Device, type Dtype, type TensorTypedArray, type TypedArrayOf } from './dtype';
export { ErrorCode, JepaError, type ErrorCodeValue } from './errors';
export {
  isParameter,
  load,
  loadSync,
  open,
  openSync,
  parameter,
  PtArchive,
  save,
  saveSync,
  type LoadOptions,
  type PtEntry,
} from './io';
export {
  loadNpy,
  loadNpySync,
  loadSafetensors,
  loadSafetensorsSync,
  readSafetensorsHeader,
  saveNpy,
  saveNpySync,
  saveSafetensors,
  saveSafetensorsSync,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type TensorFileOptions,
} from './formats';
export { cuda, memory, torchVersion, type MemoryInfo } from './runtime';
export {
  arange,
  empty,
  ones,
  randn,
  Tensor,
  tensor,
  zeros,
  type NestedArray,
  type RandnOptions,
  type TensorData,
  type TensorOptions,
} from './tensor';
export { float, Float, FLOAT_KEYS, OrderedDict, PY_ATTRS, Size, TorchDevice, TorchDtype, Tuple } from './values';
