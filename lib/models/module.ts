/**
 * TorchScript modules (files written by `torch.jit.save`): load them, call `forward` and the
 * other exported methods, read their parameters, move them, save them.
 *
 * ```js
 * const encoder = await jepa.loadModule('encoder.pt');
 * const features = await encoder.forward(images);          // on a worker thread
 * const pooled = await hjepa.run('extract_features', images, 2);
 * ```
 *
 * Arguments and results use the value mapping of docs/values.md, through the same native codec as
 * the `.pt` reader and writer: tensors are {@link Tensor}s, `int`/`float` are numbers (bigints
 * beyond 2^53), `str` strings, `None` null, lists Arrays, tuples `jepa.Tuple`s, dicts with str
 * keys plain objects (other keys: Maps), `torch.device` `jepa.TorchDevice`; an integral `float`
 * result at the top level is a `jepa.Float`, inside containers a number marked in
 * `jepa.FLOAT_KEYS`. Arguments are converted following the method's TorchScript schema, so a JS
 * number given for a `float` parameter is a float.
 * @module
 */
import '../tensor/dispose'; // defines Symbol.dispose where missing, before the classes use it
import * as fs from 'node:fs';
import { native } from '../core/binding';
import type { Device, Dtype } from '../core/dtype';
import { ErrorCode, invalidArgument, JepaError, withCallerStack } from '../core/errors';
import type { NativeModule, NativeTensor } from '../core/native-types';
import { nativeOf, Tensor, wrap } from '../tensor/tensor';
import {
  checkDevice,
  checkDtype,
  checkOptions,
  checkPath,
  checkPositiveInt,
  isDeviceString,
  isPlainObject,
  show,
} from '../core/validate';
import { OrderedDict } from '../io/values';

/** Options of {@link loadModule}. */
export interface LoadModuleOptions {
  /** Where the parameters go: `'cpu'` (default), `'cuda'`, `'cuda:N'`. */
  device?: Device;
  /** Converts the floating-point parameters and buffers (as Python's `module.to(dtype)`). */
  dtype?: Dtype;
}

/** One parameter of a method, from its TorchScript schema. */
export interface MethodArgument {
  name: string;
  /** TorchScript type, e.g. `'Tensor'`, `'List[Tensor]'`, `'Optional[int]'`. */
  type: string;
  hasDefault: boolean;
}

const TOKEN = Symbol('jepa-native.Module');
const handles = new WeakMap<Module, NativeModule>();

/** What a call needs to know about its module, fetched once (methods and schemas never change). */
interface ModuleInfo {
  methods: string[];
  args: Map<string, MethodArgument[]>;
  hasState: boolean;
  device: string | null;
}
const infos = new WeakMap<NativeModule, ModuleInfo>();

function infoOf(handle: NativeModule): ModuleInfo {
  let info = infos.get(handle);
  if (!info) {
    const params = handle.namedParameters();
    const buffers = handle.namedBuffers();
    for (const [, t] of params) t.dispose();
    for (const [, t] of buffers) t.dispose();
    info = { methods: handle.methods(), args: new Map(), hasState: params.length + buffers.length > 0, device: null };
    infos.set(handle, info);
  }
  return info;
}

/** Every tensor in a (nested) argument list, with where it is. */
function* tensorsIn(value: unknown, where: string, depth = 0): Generator<[Tensor, string]> {
  if (depth > 32 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    yield [value, where];
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* tensorsIn(value[i], `${where}[${i}]`, depth + 1);
  } else if (value instanceof Map) {
    for (const [k, v] of value) yield* tensorsIn(v, `${where}.get(${show(k)})`, depth + 1);
  } else if (isPlainObject(value)) {
    for (const k of Object.keys(value)) yield* tensorsIn(value[k], `${where}.${k}`, depth + 1);
  }
}

function parseTarget(target: unknown): { device: string | null; dtype: string | null } {
  if (typeof target === 'string') {
    return isDeviceString(target)
      ? { device: target, dtype: null }
      : { device: null, dtype: checkDtype(target, 'target') };
  }
  if (isPlainObject(target)) {
    const o = checkOptions(target, 'target', ['device', 'dtype']);
    return {
      device: o.device === undefined ? null : checkDevice(o.device, 'target.device'),
      dtype: o.dtype === undefined ? null : checkDtype(o.dtype, 'target.dtype'),
    };
  }
  throw invalidArgument(`expected \`target\` to be a device, a dtype or {device, dtype}, got ${show(target)}`);
}

function checkMethodName(method: unknown): string {
  if (typeof method !== 'string' || method.length === 0) {
    throw invalidArgument(`expected \`method\` to be a method name (a non-empty string), got ${show(method)}`);
  }
  return method;
}

/**
 * A loaded TorchScript module.
 *
 * **Concurrency.** Any number of calls (`forward`, `run`) may be in flight at once: they run
 * in parallel on libuv worker threads and share the module read-only (a shared lock).
 * `train()`, `eval()` and `to()` change the module; while calls are in flight they throw
 * `JEPA_MODULE_BUSY` rather than wait (await the calls first). A scripted method that assigns
 * module attributes (an EMA update, a counter) must not run beside other calls: await it alone.
 *
 * **Gradients.** In eval mode (the default after loading a module saved in eval mode) every call
 * runs under `torch.no_grad()`; in train mode grad mode is left on, as in Python.
 */
export class Module {
  /** @internal */
  constructor(token: symbol, handle: NativeModule) {
    if (token !== TOKEN) throw invalidArgument('Module cannot be constructed directly: use jepa.loadModule()');
    handles.set(this, handle);
  }

  /** Runs `forward(...args)` on a worker thread; the event loop stays free. */
  forward(...args: unknown[]): Promise<unknown> {
    return this.run('forward', ...args);
  }

  /** Runs `forward(...args)` on the calling thread (blocks the event loop: for scripts). */
  forwardSync(...args: unknown[]): unknown {
    return this.runSync('forward', ...args);
  }

  /**
   * Runs an exported method (`@torch.jit.export`, or any method the module compiled) on a
   * worker thread. Missing trailing arguments take their TorchScript defaults.
   */
  async run(method: string, ...args: unknown[]): Promise<unknown> {
    const [handle, name] = this.#prepare(method, args);
    return withCallerStack(handle.run(name, args));
  }

  /**
   * Like {@link run}, with this call's own settings (on a worker thread of the addon's pool):
   * `threads`, its intra-op threads instead of {@link setNumThreads}'s count; `optimize: false`,
   * no TorchScript graph optimisation (Python's `torch.jit.optimized_execution(False)`: no
   * profiling runs on the first calls, the same ops). Extraction uses both. @internal
   */
  async runWith(
    options: { threads?: number; optimize?: boolean },
    method: string,
    ...args: unknown[]
  ): Promise<unknown> {
    const o = checkOptions(options, 'options', ['threads', 'optimize']);
    if (o.threads !== undefined) checkPositiveInt(o.threads, 'options.threads');
    if (o.optimize !== undefined && typeof o.optimize !== 'boolean')
      throw invalidArgument(`expected \`options.optimize\` to be a boolean, got ${show(o.optimize)}`);
    const [handle, name] = this.#prepare(method, args);
    return withCallerStack(handle.run(name, args, o));
  }

  /** Like {@link run} but on the calling thread. */
  runSync(method: string, ...args: unknown[]): unknown {
    const [handle, name] = this.#prepare(method, args);
    return handle.runSync(name, args);
  }

  // The handle and method name of a call, after the checks that need the module: the method
  // exists, no argument tensor is disposed or on another device. The arguments themselves are
  // converted natively, by the value codec, following the method's schema.
  #prepare(method: unknown, args: unknown[]): [NativeModule, string] {
    const handle = h(this);
    const name = checkMethodName(method);
    const info = infoOf(handle);
    if (!info.methods.includes(name)) {
      throw new JepaError(
        ErrorCode.METHOD_NOT_FOUND,
        `the module has no method \`${name}\`; its methods are: ${info.methods.join(', ') || '(none)'}`,
      );
    }
    const params = info.args.get(name) ?? handle.arguments(name);
    info.args.set(name, params);
    if (info.device === null) info.device = handle.device();
    const device = info.device;
    for (const [t, where] of tensorsIn(args, 'args')) {
      if (t.isDisposed) throw new JepaError(ErrorCode.DISPOSED, `\`${where}\` of ${name}() is a disposed Tensor`);
      if (t.device !== device && info.hasState) {
        const i = Number(/^args\[(\d+)\]/.exec(where)?.[1] ?? -1);
        const argName = params[i] ? `\`${params[i].name}\`` : `\`${where}\``;
        throw new JepaError(
          ErrorCode.DEVICE_MISMATCH,
          `expected ${argName} of ${name}() to be on ${device} (the module's device), got a tensor on ${t.device}: ` +
            `move it with tensor.to('${device}') or the module with module.to('${t.device}')`,
        );
      }
    }
    return [handle, name];
  }

  /** Names of the callable methods (`forward` and the exported ones), sorted. */
  methods(): string[] {
    return [...infoOf(h(this)).methods];
  }

  /** Whether the module has a method `name`. */
  hasMethod(name: string): boolean {
    return infoOf(h(this)).methods.includes(name);
  }

  /** A method's signature as text, e.g. `forward(Tensor x, Optional[List[Tensor]] masks=None) -> Tensor`. */
  schema(method = 'forward'): string {
    return h(this).schema(checkMethodName(method));
  }

  /** A method's parameters (without `self`). */
  arguments(method = 'forward'): MethodArgument[] {
    return h(this).arguments(checkMethodName(method));
  }

  /** Parameters by dotted name, as Python's `named_parameters()`; the tensors share the module's memory. */
  namedParameters(): Map<string, Tensor> {
    return new Map(
      h(this)
        .namedParameters()
        .map(([k, t]) => [k, wrap(t)] as [string, Tensor]),
    );
  }

  /** Buffers by dotted name, as Python's `named_buffers()`; the tensors share the module's memory. */
  namedBuffers(): Map<string, Tensor> {
    return new Map(
      h(this)
        .namedBuffers()
        .map(([k, t]) => [k, wrap(t)] as [string, Tensor]),
    );
  }

  /**
   * Parameters then buffers by dotted name, as Python's `state_dict()` (an OrderedDict whose
   * tensors share the module's memory; Python orders the same keys module by module, which
   * `load_state_dict` does not depend on). `jepa.save(path, module.stateDict())` writes a file
   * that Python's eager model loads with `model.load_state_dict(torch.load(path))`.
   */
  stateDict(): OrderedDict<string, Tensor> {
    const handle = h(this);
    const out = new OrderedDict<string, Tensor>();
    for (const [k, t] of handle.namedParameters()) out.set(k, wrap(t));
    for (const [k, t] of handle.namedBuffers()) out.set(k, wrap(t));
    return out;
  }

  /**
   * Python's `load_state_dict`: copies each tensor of `stateDict` (a Map, e.g. an OrderedDict
   * read from a `.pt` file, or a plain object) into the parameter or buffer of its name,
   * converted to its dtype and device, without recording gradients. A shape difference always
   * fails, and with `strict` (default true) a missing or unexpected key too: the error
   * (`JEPA_PARAMETER_MISMATCH`) lists every one and nothing is copied. Returns the missing and
   * unexpected keys. Throws `JEPA_MODULE_BUSY` while calls on the module are in flight.
   */
  loadStateDict(
    stateDict: Map<string, Tensor> | Record<string, Tensor>,
    options?: { strict?: boolean },
  ): { missingKeys: string[]; unexpectedKeys: string[] } {
    const handle = h(this);
    const o = checkOptions(options, 'options', ['strict']);
    if (o.strict !== undefined && typeof o.strict !== 'boolean') {
      throw invalidArgument(`expected \`options.strict\` to be a boolean, got ${show(o.strict)}`);
    }
    const entries = stateDictEntries(stateDict, 'stateDict');
    const r = handle.loadStateDict(entries, o.strict !== false);
    return { missingKeys: r.missing, unexpectedKeys: r.unexpected };
  }

  /** Switches train mode on or off for the module and its submodules. Throws `JEPA_MODULE_BUSY` during calls. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw invalidArgument(`expected \`mode\` to be a boolean, got ${show(mode)}`);
    h(this).train(mode);
    return this;
  }

  /** Switches to eval mode (`train(false)`). */
  eval(): this {
    return this.train(false);
  }

  /** Whether the module is in train mode. */
  get training(): boolean {
    return h(this).isTraining();
  }

  /** Device of the module's first parameter or buffer (`'cpu'` for a module without any). */
  get device(): string {
    return h(this).device();
  }

  /** Dtype of the first floating-point parameter or buffer (null when there is none). */
  get dtype(): Dtype | null {
    return h(this).dtype() as Dtype | null;
  }

  /**
   * Moves the module to a device and/or converts its floating-point parameters and buffers
   * (integer buffers keep their dtype, as in Python). In place; returns the module.
   */
  to(target: Device | Dtype | { device?: Device; dtype?: Dtype }): this {
    const { device, dtype } = parseTarget(target);
    const handle = h(this);
    handle.to(device, dtype);
    infoOf(handle).device = null;
    return this;
  }

  /** Writes the module in `torch.jit.save`'s format (Python's `torch.jit.load` reads it). */
  async save(path: string): Promise<void> {
    await withCallerStack(h(this).save(checkPath(path)));
  }

  /** Like {@link save} on the calling thread. */
  saveSync(path: string): void {
    h(this).saveSync(checkPath(path));
  }

  /**
   * A deep copy, as Python's `copy.deepcopy(module)` (seed 002's `target = deepcopy(context)`):
   * every parameter and buffer copied into its own memory, with the same dtype, device and
   * `requires_grad`, the same train/eval mode, the same methods. Changing either module (an
   * optimizer step, an EMA update, `to()`, `train()`) leaves the other as it was. Runs on a worker
   * thread (the copy is as large as the model).
   */
  async clone(): Promise<Module> {
    return new Module(TOKEN, await withCallerStack(h(this).clone()));
  }

  /** {@link clone} on the calling thread. */
  cloneSync(): Module {
    return new Module(TOKEN, h(this).cloneSync());
  }

  /** Releases the module now (calls in flight finish first). Calling it twice is harmless. */
  dispose(): void {
    handles.get(this)?.dispose();
    handles.delete(this);
  }

  /** `using m = jepa.loadModuleSync(path)` disposes `m` at the end of the block (same as {@link dispose}). */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return !handles.has(this);
  }

  toString(): string {
    if (this.isDisposed) return 'Module(disposed)';
    return `Module(methods=[${this.methods().join(', ')}], device=${this.device}, training=${this.training})`;
  }
}

/**
 * The [name, native tensor] entries of a state dict (a Map with string keys or a plain object
 * of Tensors), or a TypeError naming the bad entry.
 * @internal
 */
export function stateDictEntries(value: unknown, name: string): [string, NativeTensor][] {
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (isPlainObject(value)) entries = Object.entries(value);
  else
    throw invalidArgument(
      `expected \`${name}\` to be a Map or an object of Tensors (a state dict), got ${show(value)}`,
    );
  return entries.map(([k, t]) => {
    if (typeof k !== 'string') throw invalidArgument(`expected the keys of \`${name}\` to be strings, got ${show(k)}`);
    if (!(t instanceof Tensor)) throw invalidArgument(`expected \`${name}['${k}']\` to be a Tensor, got ${show(t)}`);
    return [k, nativeOf(t, `${name}['${k}']`)];
  });
}

/**
 * The native handle of a Module (for other features' bindings), or a TypeError naming `name`.
 * @internal
 */
export function nativeModuleOf(m: unknown, name = 'module'): NativeModule {
  if (!(m instanceof Module)) throw invalidArgument(`expected \`${name}\` to be a Module, got ${show(m)}`);
  const handle = handles.get(m);
  if (!handle) throw new JepaError(ErrorCode.DISPOSED, `\`${name}\` is a disposed Module: it can no longer be used`);
  return handle;
}

function h(m: Module): NativeModule {
  const handle = handles.get(m);
  if (!handle) throw new JepaError(ErrorCode.DISPOSED, 'this Module was disposed: it can no longer be used');
  return handle;
}

function loadArgs(path: unknown, options: unknown): [string, string | null, string | null] {
  const p = checkPath(path);
  const o = checkOptions(options, 'options', ['device', 'dtype']);
  const device = o.device === undefined ? null : checkDevice(o.device, 'options.device');
  const dtype = o.dtype === undefined ? null : checkDtype(o.dtype, 'options.dtype');
  if (!fs.existsSync(p)) {
    throw new JepaError(
      ErrorCode.FILE_NOT_FOUND,
      `no such file: ${p} (expected a TorchScript module written by torch.jit.save)`,
    );
  }
  return [p, device, dtype];
}

/**
 * Loads a TorchScript module (a file from `torch.jit.save`) on a worker thread. Rejects with
 * `JEPA_FILE_NOT_FOUND` for a missing file and `JEPA_INVALID_MODULE` for a file that is not a
 * TorchScript archive (a `torch.save` state dict, a corrupt or truncated file).
 */
export async function loadModule(path: string, options?: LoadModuleOptions): Promise<Module> {
  const [p, device, dtype] = loadArgs(path, options);
  return new Module(TOKEN, await withCallerStack(native.loadModule(p, device, dtype)));
}

/** Like {@link loadModule} on the calling thread. */
export function loadModuleSync(path: string, options?: LoadModuleOptions): Module {
  const [p, device, dtype] = loadArgs(path, options);
  return new Module(TOKEN, native.loadModuleSync(p, device, dtype));
}

/**
 * Sets the number of intra-op threads libtorch uses for module calls and tensor operations
 * (`torch.set_num_threads`). Applied on each worker thread before each call.
 */
export function setNumThreads(threads: number): void {
  native.setNumThreads(checkPositiveInt(threads, 'threads'));
}

/** The number of intra-op threads (`torch.get_num_threads()`). */
export function getNumThreads(): number {
  return native.getNumThreads();
}
