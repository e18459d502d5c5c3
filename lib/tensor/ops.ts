/**
 * The runtime of the generated ops (lib/tensor/ops.generated.ts): Python's overload resolution
 * over the signatures torchgen gives for each name, then one native call that runs the chosen
 * ATen operator through libtorch's dispatcher (native/bindings/ops_binding.cc).
 *
 * Resolution follows Python's argument parser (torch/csrc/utils/python_arg_parser.cpp): the
 * signatures are tried in torchgen's order and the first that binds wins. A call binds when its
 * positional arguments fit the positional parameters, its keyword options (a trailing plain
 * object) name parameters, every required parameter is given, and each value has the
 * parameter's type:
 *
 * | parameter          | accepts                                                              |
 * |--------------------|----------------------------------------------------------------------|
 * | Tensor             | a Tensor; a number too for the ops Python allows it (add, sub, mul, div, ...) |
 * | Scalar             | a number, bigint, boolean, `jepa.float(x)`, or a 0-dim Tensor         |
 * | int                | an integer number or a bigint                                         |
 * | float              | a number (or bigint, or `jepa.float(x)`)                              |
 * | int[] / int[N]     | an array of integers; `int[N]` also a single integer                  |
 * | Tensor[]           | an array of Tensors (`Tensor?[]`: with nulls)                         |
 * | dtype / device     | a dtype name (`'float32'`, ...) / `'cpu'`, `'cuda'`, `'cuda:N'`      |
 * | `T?`               | also `null` (Python's None)                                          |
 *
 * A JS number is an int when it is an integer (Python's `2`), else a float (`2.5`); pass
 * `jepa.float(2)` for a float that is integral. A lone int-list parameter also takes the ints
 * as separate arguments (`t.view(2, 3)`, `jepa.rand(2, 3)`), as in Python.
 * (Internal to the package.)
 * @module
 */
import { native } from '../core/binding';
import { DTYPES } from '../core/dtype';
import { invalidArgument } from '../core/errors';
import type { NativeTensor } from '../core/native-types';
import { Tensor, tensorHandle, wrap } from './tensor';
import { isDeviceString, isPlainObject, show } from '../core/validate';
import { Float } from '../io/values';
import { generatorHandle } from './generator';

/** A Python number: int (integral number or bigint), float (other numbers, `jepa.float(x)`) or bool. */
export type Scalar = number | bigint | boolean | Float;

/** `torch.memory_format` by name. */
export type MemoryFormat = 'contiguous_format' | 'preserve_format' | 'channels_last' | 'channels_last_3d';

/** [name, kind, schema index, flags (1: has a default, 2: keyword-only), Python default]. @internal */
export type ParamData = [string, string, number, number, string?];

/** One Python signature of an op, as scripts/dev/gen-ops.py writes it. @internal */
export interface SigData {
  /** The ATen operator: `aten::name.overload`. */
  op: string;
  /** Its number of arguments. */
  n: number;
  /** Python's parameters (without a method's receiver). */
  p: ParamData[];
  /** Returns: `'t'` tensor, `'self'` the receiver, `'tl'` tensor list, `'i'`/`'f'`/`'b'`/`'s'` number/boolean, `'n'` none, `['tt', count, ...names]` tuple. */
  r: string | (string | number)[];
  /** Schema index of `self`. */
  self?: number;
  /** The `out=` form: its operator, argument count, where each parameter goes, where the outputs go. */
  out?: { op: string; n: number; map: number[]; outs: number[] };
  /** Python numbers are accepted for Tensor parameters (torch's should_allow_numbers_as_tensors). */
  nat?: boolean;
}

const enum K {
  Tensor,
  Scalar,
  Int,
  Float,
  Bool,
  Str,
  IntList,
  FloatList,
  BoolList,
  TensorList,
  OptionalTensorList,
  Dtype,
  Layout,
  Device,
  MemoryFormat,
  Generator,
}

const KINDS: Record<string, K> = {
  Tensor: K.Tensor,
  Scalar: K.Scalar,
  int: K.Int,
  float: K.Float,
  bool: K.Bool,
  str: K.Str,
  dtype: K.Dtype,
  layout: K.Layout,
  device: K.Device,
  memory_format: K.MemoryFormat,
  Generator: K.Generator,
  'Tensor?[]': K.OptionalTensorList,
};
const LIST_KINDS: Record<string, K> = { int: K.IntList, float: K.FloatList, bool: K.BoolList, Tensor: K.TensorList };
const MEMORY_FORMATS = new Set(['contiguous_format', 'preserve_format', 'channels_last', 'channels_last_3d']);
const DTYPE_SET = new Set<string>(DTYPES);

interface Param {
  name: string;
  kind: K;
  /** The type as Python writes it, for messages. */
  type: string;
  /** `T?`: null is accepted. */
  optional: boolean;
  /** `int[N]`: a single int is accepted. */
  single: boolean;
  required: boolean;
  keyword: boolean;
  index: number;
  display: string;
}

interface OpRef {
  name: string;
  overload: string;
  id: number;
}

interface Sig {
  params: Param[];
  /** The `given` bit mask of bind() when every parameter is given. */
  allGiven: number;
  byName: Map<string, Param>;
  positional: number;
  varargs: boolean;
  n: number;
  op: OpRef;
  self: number;
  /** Position in `params` of the function parameter that is `self`, or -1. */
  selfParam: number;
  ret: string | (string | number)[];
  out?: { op: OpRef; n: number; map: number[]; outs: number[] };
  nat: boolean;
  text: string;
}

/** An op: its display name and its signatures, compiled on first use. */
interface OpDef {
  display: string;
  data: SigData[];
  sigs: Sig[] | undefined;
}

const refs = new Map<string, OpRef>();

function opRef(qualified: string): OpRef {
  let ref = refs.get(qualified);
  if (ref === undefined) {
    const dot = qualified.indexOf('.');
    ref =
      dot < 0
        ? { name: qualified, overload: '', id: -1 }
        : { name: qualified.slice(0, dot), overload: qualified.slice(dot + 1), id: -1 };
    refs.set(qualified, ref);
  }
  return ref;
}

function opId(ref: OpRef): number {
  if (ref.id < 0) ref.id = native.opResolve(ref.name, ref.overload);
  return ref.id;
}

function compileParam([name, type, index, flags, pyDefault]: ParamData): Param {
  const optional = type.endsWith('?') && !type.endsWith('?[]');
  const base = optional ? type.slice(0, -1) : type;
  let kind = KINDS[base];
  let single = false;
  const list = /^(\w+)\[(\d*)\]$/.exec(base);
  if (kind === undefined && list) {
    kind = LIST_KINDS[list[1]];
    single = list[2] !== '';
  }
  if (kind === undefined) throw new Error(`jepa-native: unknown parameter type ${type} (regenerate the ops)`);
  const display = `${type} ${name}${pyDefault !== undefined ? `=${pyDefault}` : ''}`;
  return {
    name,
    kind,
    type,
    optional,
    single,
    required: (flags & 1) === 0,
    keyword: (flags & 2) !== 0,
    index,
    display,
  };
}

function compile(display: string, d: SigData): Sig {
  const params = d.p.map(compileParam);
  const positional = params.filter((p) => !p.keyword).length;
  const self = d.self ?? -1;
  const parts: string[] = [];
  let star = false;
  for (const p of params) {
    if (p.keyword && !star) {
      parts.push('*');
      star = true;
    }
    parts.push(p.display);
  }
  if (d.out) parts.push(`${star ? '' : '*, '}Tensor out=None`);
  if (params.length > 30) throw new Error(`jepa-native: ${display} has more than 30 parameters (regenerate the ops)`);
  return {
    params,
    allGiven: 2 ** params.length - 1,
    byName: new Map(params.map((p) => [p.name, p])),
    positional,
    varargs: positional === 1 && params[0].kind === K.IntList,
    n: d.n,
    op: opRef(d.op),
    self,
    selfParam: params.findIndex((p) => p.index === self),
    ret: d.r,
    out: d.out && { op: opRef(d.out.op), n: d.out.n, map: d.out.map, outs: d.out.outs },
    nat: d.nat === true,
    text: `${display.replace(/^.*\./, '')}(${parts.join(', ')})`,
  };
}

const NO = Symbol('no match');

function isInt(v: unknown): boolean {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

function isNumberLike(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof Float;
}

/** The native form of `v` for parameter `p`, or NO when `v` does not have its type. */
function convert(p: Param, v: unknown, nat: boolean): unknown {
  if (v === null) return p.optional ? null : NO;
  switch (p.kind) {
    case K.Tensor: {
      const h = tensorHandle(v);
      if (h !== undefined) return h;
      return nat && isNumberLike(v) ? v : NO;
    }
    case K.Scalar: {
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof Float) return v;
      const h = tensorHandle(v);
      return h !== undefined && h.shape().length === 0 ? h : NO;
    }
    case K.Int:
      return isInt(v) ? v : NO;
    case K.Float:
      if (typeof v === 'number' || typeof v === 'bigint') return v;
      return v instanceof Float ? v.value : NO;
    case K.Bool:
      return typeof v === 'boolean' ? v : NO;
    case K.Str:
      return typeof v === 'string' ? v : NO;
    case K.IntList:
      if (Array.isArray(v)) return v.every(isInt) ? v : NO;
      return p.single && isInt(v) ? [v] : NO;
    case K.FloatList:
      if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? v : NO;
      return p.single && typeof v === 'number' ? [v] : NO;
    case K.BoolList:
      return Array.isArray(v) && v.every((x) => typeof x === 'boolean') ? v : NO;
    case K.TensorList: {
      if (!Array.isArray(v)) return NO;
      const out = new Array<NativeTensor>(v.length);
      for (let i = 0; i < v.length; i++) {
        const h = tensorHandle(v[i]);
        if (h === undefined) return NO;
        out[i] = h;
      }
      return out;
    }
    case K.OptionalTensorList: {
      if (!Array.isArray(v)) return NO;
      const out = new Array<NativeTensor | null>(v.length);
      for (let i = 0; i < v.length; i++) {
        if (v[i] === null || v[i] === undefined) {
          out[i] = null;
          continue;
        }
        const h = tensorHandle(v[i]);
        if (h === undefined) return NO;
        out[i] = h;
      }
      return out;
    }
    case K.Dtype:
      return typeof v === 'string' && DTYPE_SET.has(v) ? v : NO;
    case K.Layout:
      return v === 'strided' ? v : NO;
    case K.Device:
      return isDeviceString(v) ? v : NO;
    case K.MemoryFormat:
      return typeof v === 'string' && MEMORY_FORMATS.has(v) ? v : NO;
    case K.Generator: {
      const g = generatorHandle(v);
      return g === undefined ? NO : g;
    }
  }
}

/** Python's name of a JS value's type, for messages. */
function typeName(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Tensor) return 'Tensor';
  if (v instanceof Float) return 'float';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return v.length === 0 ? 'list' : `list of [${[...new Set(v.map(typeName))].join(', ')}]`;
  return show(v);
}

interface Bound {
  argv: unknown[];
  outValues: unknown;
}

/**
 * Binds a call to one signature, or returns the reason it does not fit. (Written without closures
 * or per-call helper arrays: it runs on every op call.)
 */
function bind(
  sig: Sig,
  args: unknown[],
  nargs: number,
  kwargs: Record<string, unknown> | undefined,
  self: NativeTensor | undefined,
): Bound | string {
  let outValues: unknown;
  const out = kwargs !== undefined && kwargs.out !== undefined && kwargs.out !== null ? sig.out : undefined;
  if (out === undefined && kwargs !== undefined && kwargs.out !== undefined && kwargs.out !== null)
    return "it takes no argument 'out'";
  if (out !== undefined) outValues = kwargs!.out;
  const params = sig.params;
  const argv = new Array<unknown>(out === undefined ? sig.n : out.n);
  let given = 0; // bit i: params[i] was given
  if (self !== undefined) argv[sig.self] = self;
  let first = 0;
  if (sig.varargs && nargs > 1 && isInt(args[0])) {
    // Python's `t.view(2, 3)`: the ints are the lone int-list parameter.
    for (let i = 0; i < nargs; i++)
      if (!isInt(args[i])) return `argument '${params[0].name}' must be int[], not ${typeName(args[i])}`;
    argv[out === undefined ? params[0].index : out.map[0]] = args.slice(0, nargs);
    given = 1;
    first = nargs;
  } else if (nargs > sig.positional) {
    return `it takes ${sig.positional} positional argument${sig.positional === 1 ? '' : 's'} but ${nargs} were given`;
  }
  for (let i = first; i < nargs; i++) {
    const p = params[i];
    const c = convert(p, args[i], sig.nat);
    if (c === NO) return `argument '${p.name}' must be ${p.type}, not ${typeName(args[i])}`;
    const index = out === undefined ? p.index : out.map[i];
    if (index < 0) return `argument '${p.name}' cannot be combined with 'out'`;
    argv[index] = c;
    given |= 1 << i;
  }
  if (kwargs !== undefined) {
    for (const key in kwargs) {
      if (key === 'out') continue;
      const value = kwargs[key];
      if (value === undefined) continue;
      const p = sig.byName.get(key);
      if (p === undefined) return `it has no argument '${key}'`;
      const i = params.indexOf(p);
      if (given & (1 << i)) return `argument '${key}' was given twice (by position and by name)`;
      const c = convert(p, value, sig.nat);
      if (c === NO) return `argument '${p.name}' must be ${p.type}, not ${typeName(value)}`;
      const index = out === undefined ? p.index : out.map[i];
      if (index < 0) return `argument '${p.name}' cannot be combined with 'out'`;
      argv[index] = c;
      given |= 1 << i;
    }
  }
  if (given !== sig.allGiven) {
    for (let i = 0; i < params.length; i++) {
      if (!(given & (1 << i)) && params[i].required) return `argument '${params[i].name}' is missing`;
    }
  }
  if (out !== undefined) {
    const outs = out.outs;
    const values = outs.length === 1 && !Array.isArray(outValues) ? [outValues] : outValues;
    const expected = outs.length === 1 ? 'a Tensor' : `an array of ${outs.length} Tensors`;
    if (!Array.isArray(values) || values.length !== outs.length) return `'out' must be ${expected}`;
    for (let i = 0; i < outs.length; i++) {
      const h = tensorHandle(values[i]);
      if (h === undefined) return `'out' must be ${expected}, not ${typeName(values[i])}`;
      argv[outs[i]] = h;
    }
  }
  return { argv, outValues };
}

function callNative(id: number, argv: unknown[]): unknown {
  let n = argv.length;
  while (n > 0 && argv[n - 1] === undefined) n--;
  const f = native.opCall;
  switch (n) {
    case 0:
      return f(id);
    case 1:
      return f(id, argv[0]);
    case 2:
      return f(id, argv[0], argv[1]);
    case 3:
      return f(id, argv[0], argv[1], argv[2]);
    case 4:
      return f(id, argv[0], argv[1], argv[2], argv[3]);
    case 5:
      return f(id, argv[0], argv[1], argv[2], argv[3], argv[4]);
    case 6:
      return f(id, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5]);
    default:
      argv.length = n;
      return f(id, ...argv);
  }
}

function wrapMaybe(h: unknown): Tensor | null {
  return h === null || h === undefined ? null : wrap(h as NativeTensor);
}

function named<T>(items: T[], names: (string | number)[]): T[] {
  for (let i = 2; i < names.length; i++)
    Object.defineProperty(items, names[i] as string, { value: items[i - 2], enumerable: false });
  return items;
}

function result(sig: Sig, raw: unknown, receiver: Tensor | undefined, args: unknown[], bound: Bound): unknown {
  if (bound.outValues !== undefined) {
    const outs = Array.isArray(bound.outValues) ? bound.outValues : [bound.outValues];
    return Array.isArray(sig.ret) ? named(outs.slice(), sig.ret) : outs[0];
  }
  const r = sig.ret;
  switch (r) {
    case 't':
      return wrapMaybe(raw);
    case 'self':
      return receiver ?? args[sig.selfParam];
    case 'tl':
      return (raw as NativeTensor[]).map(wrapMaybe);
    case 'n':
      return undefined;
    case 'i':
    case 'f':
    case 'b':
    case 's':
      return raw;
    default:
      return named((raw as unknown[]).map(wrapMaybe), r as (string | number)[]);
  }
}

function noMatch(
  def: OpDef,
  args: unknown[],
  kwargs: Record<string, unknown> | undefined,
  reasons: string[],
): TypeError {
  const got = args.map(typeName);
  if (kwargs !== undefined)
    for (const [k, v] of Object.entries(kwargs)) if (v !== undefined) got.push(`${k}=${typeName(v)}`);
  const sigs = def.sigs!;
  if (sigs.length === 1)
    return invalidArgument(`${def.display}(): ${reasons[0]} (signature: ${sigs[0].text}; got (${got.join(', ')}))`);
  const lines = sigs.map((s, i) => ` * ${s.text}: ${reasons[i]}`);
  return invalidArgument(
    `${def.display}() received an invalid combination of arguments - got (${got.join(', ')}), but expected one of:\n${lines.join('\n')}`,
  );
}

function call(def: OpDef, args: unknown[], receiver: Tensor | undefined): unknown {
  const sigs = (def.sigs ??= def.data.map((d) => compile(def.display, d)));
  let self: NativeTensor | undefined;
  if (receiver !== undefined) {
    self = tensorHandle(receiver);
    if (self === undefined) throw invalidArgument(`${def.display}() must be called on a Tensor, got ${show(receiver)}`);
  }
  let nargs = args.length;
  let kwargs: Record<string, unknown> | undefined;
  if (nargs > 0 && isPlainObject(args[nargs - 1])) {
    kwargs = args[nargs - 1] as Record<string, unknown>;
    nargs--;
  }
  const reasons: string[] = [];
  for (const sig of sigs) {
    const bound = bind(sig, args, nargs, kwargs, self);
    if (typeof bound === 'string') {
      reasons.push(bound);
      continue;
    }
    const id = opId(bound.outValues !== undefined ? sig.out!.op : sig.op);
    return result(sig, callNative(id, bound.argv), receiver, args, bound);
  }
  throw noMatch(def, args.slice(0, nargs), kwargs, reasons);
}

/** A function of `jepa` (or a namespace) that resolves its calls among `data`. @internal */
export function defineFunction<F>(display: string, data: SigData[]): F {
  const def: OpDef = { display: `jepa.${display}`, data, sigs: undefined };
  const fn = function (...args: unknown[]): unknown {
    return call(def, args, undefined);
  };
  Object.defineProperty(fn, 'name', { value: display.replace(/^.*\./, '') });
  return fn as F;
}

/** Adds generated methods to Tensor.prototype (non-enumerable, as class methods are). @internal */
export function installMethods(table: Record<string, SigData[]>): void {
  for (const [name, data] of Object.entries(table)) {
    const def: OpDef = { display: `Tensor.${name}`, data, sigs: undefined };
    const method = {
      [name](this: Tensor, ...args: unknown[]): unknown {
        return call(def, args, this);
      },
    }[name];
    Object.defineProperty(Tensor.prototype, name, {
      value: method,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}

/**
 * Calls an ATen operator by its qualified name with arguments already in native form (tensors as
 * their native handles, in schema order), for the hand-written Python functions of
 * lib/tensor/functional.ts that use operators jepa does not expose. @internal
 */
export function callAten(qualified: string, argv: unknown[]): unknown {
  return callNative(opId(opRef(qualified)), argv);
}
