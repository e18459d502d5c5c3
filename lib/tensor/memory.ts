/**
 * Scoped disposal of tensors, as TensorFlow.js has it: {@link tidy}, {@link tidyAsync} and
 * {@link keep}. (Tensors are also freed when the garbage collector collects them; a scope frees
 * them at a known point instead, which keeps peak memory low in loops.)
 * @module
 */
import { invalidArgument } from '../core/errors';
import { Tensor } from './tensor';
import { closeScope, keepForever, runInScope } from './scope';

/** Tensors in `value`: itself, or inside arrays, plain objects, Maps and Sets (to any depth). */
function tensorsIn(value: unknown, found = new Set<object>(), seen = new Set<object>()): Set<object> {
  if (value === null || typeof value !== 'object') return found;
  if (value instanceof Tensor) {
    found.add(value);
    return found;
  }
  if (seen.has(value)) return found;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const v of value) tensorsIn(v, found, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      tensorsIn(k, found, seen);
      tensorsIn(v, found, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) tensorsIn(v, found, seen);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const v of Object.values(value)) tensorsIn(v, found, seen);
    }
  }
  return found;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `fn` and then disposes every tensor made while it ran, except the tensors it returns
 * (the result itself, or tensors inside returned arrays, plain objects, Maps and Sets) and
 * tensors passed to {@link keep}. Tidies nest: the tensors an inner tidy returns belong to the
 * enclosing tidy, which disposes them at its end unless it returns them as well. Tensors made by
 * any call count (factories, ops, `load`, module results, `data` views are not tensors). If `fn`
 * throws, everything it made is disposed and the error is rethrown.
 *
 * `fn` must be synchronous: a Promise result throws `JEPA_INVALID_ARGUMENT` (after disposing what
 * `fn` made so far); use {@link tidyAsync} for async work.
 *
 * ```js
 * const mean = jepa.tidy(() => jepa.stack(batch).mean(0));   // the stack is disposed, mean kept
 * ```
 */
export function tidy<R>(fn: () => R): R {
  if (typeof fn !== 'function') throw invalidArgument(`expected \`fn\` to be a function, got ${typeof fn}`);
  const { scope, result } = runInScope(fn);
  if (isThenable(result)) {
    closeScope(scope, new Set());
    throw invalidArgument('tidy(fn) needs a synchronous fn, but fn returned a Promise: use jepa.tidyAsync(fn)');
  }
  closeScope(scope, tensorsIn(result));
  return result;
}

/**
 * {@link tidy} for an async `fn`: the tensors made in `fn`'s async context (across its `await`s)
 * are disposed when its Promise settles, except those it resolves with and kept ones. Concurrent
 * `tidyAsync` calls each track their own tensors (the scope follows the async context, through
 * Node's AsyncLocalStorage), so tensors made meanwhile by unrelated code are left alone.
 * On rejection everything `fn` made is disposed and the rejection is passed on.
 */
export async function tidyAsync<R>(fn: () => Promise<R> | R): Promise<R> {
  if (typeof fn !== 'function') throw invalidArgument(`expected \`fn\` to be a function, got ${typeof fn}`);
  const { scope, result } = runInScope(() => Promise.resolve().then(fn));
  let value: R;
  try {
    value = await result;
  } catch (e) {
    closeScope(scope, new Set());
    throw e;
  }
  closeScope(scope, tensorsIn(value));
  return value;
}

/**
 * Excludes `tensor` from disposal by every enclosing and later {@link tidy} scope (it is freed
 * by `dispose()` or the garbage collector only). Returns `tensor`.
 */
export function keep<T extends Tensor>(tensor: T): T {
  if (!(tensor instanceof Tensor)) throw invalidArgument('expected `tensor` to be a Tensor');
  keepForever(tensor);
  return tensor;
}
