/**
 * The tracking behind {@link tidy}: while a tidy scope is open, every Tensor made in its
 * (synchronous or async) context is recorded in it. Kept separate from `tidy` itself so that the
 * Tensor constructor can record without importing the rest. (Internal to the package.)
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Anything a scope disposes at its end. */
export interface Disposable {
  dispose(): void;
}

/** One open `tidy` / `tidyAsync` call. */
export interface Scope {
  readonly parent: Scope | undefined;
  /** What was made in this scope, in order. */
  readonly tracked: Disposable[];
  /** False once the scope has ended; later tensors of its context go to the nearest open parent. */
  open: boolean;
}

const storage = new AsyncLocalStorage<Scope>();
/** Open scopes in the process: 0 makes {@link track} a single comparison. */
let openScopes = 0;
/** Tensors excluded from every scope by `keep()`. */
const kept = new WeakSet<object>();

/** The innermost open scope of the current context, if any. */
export function currentScope(): Scope | undefined {
  if (openScopes === 0) return undefined;
  let s = storage.getStore();
  while (s !== undefined && !s.open) s = s.parent;
  return s;
}

/** Records a new tensor in the current scope (called by the Tensor constructor). */
export function track(t: Disposable): void {
  if (openScopes === 0) return;
  const s = currentScope();
  if (s !== undefined) s.tracked.push(t);
}

/** Runs `fn` in a new scope, nested in the current one; returns the scope with `fn`'s result. */
export function runInScope<R>(fn: () => R): { scope: Scope; result: R } {
  const scope: Scope = { parent: currentScope(), tracked: [], open: true };
  openScopes++;
  try {
    return { scope, result: storage.run(scope, fn) };
  } catch (e) {
    closeScope(scope, new Set());
    throw e;
  }
}

/**
 * Ends a scope: disposes what it tracked except `survivors` and kept tensors; the survivors move
 * to the nearest open parent scope, which disposes them at its end unless it returns them too.
 */
export function closeScope(scope: Scope, survivors: Set<object>): void {
  if (!scope.open) return;
  scope.open = false;
  openScopes--;
  let parent = scope.parent;
  while (parent !== undefined && !parent.open) parent = parent.parent;
  for (const t of scope.tracked) {
    if (kept.has(t)) continue;
    if (survivors.has(t)) parent?.tracked.push(t);
    else t.dispose();
  }
  scope.tracked.length = 0;
}

/** Excludes `t` from every scope: no tidy disposes it. */
export function keepForever(t: object): void {
  kept.add(t);
}
