/**
 * `Symbol.dispose` and `Symbol.asyncDispose` (TC39 explicit resource management: `using x = ...`),
 * defined in this one place for the whole package.
 *
 * Node defines both from 20.4 on, as `Symbol.for('nodejs.dispose')` and
 * `Symbol.for('nodejs.asyncDispose')`, before JS engines had them; engines that have them natively
 * (V8 from Node 24) define their own. Where neither has happened, this module defines them exactly
 * as Node does (same registered symbols, non-writable, non-enumerable, non-configurable), so that
 * TypeScript's `using` helpers, Node's own disposables and ours all agree. An existing definition
 * is never replaced. (Internal to the package.)
 * @module
 */

function ensure(name: 'dispose' | 'asyncDispose', registered: string): symbol {
  const existing = (Symbol as unknown as Record<string, unknown>)[name];
  if (typeof existing === 'symbol') return existing;
  const value = Symbol.for(registered);
  Object.defineProperty(Symbol, name, { value, writable: false, enumerable: false, configurable: false });
  return value;
}

/** `Symbol.dispose`, defined if this runtime lacked it. */
export const disposeSymbol: typeof Symbol.dispose = ensure('dispose', 'nodejs.dispose') as typeof Symbol.dispose;
/** `Symbol.asyncDispose`, defined if this runtime lacked it. */
export const asyncDisposeSymbol: typeof Symbol.asyncDispose = ensure(
  'asyncDispose',
  'nodejs.asyncDispose',
) as typeof Symbol.asyncDispose;
