/**
 * The JS half of the async machinery's short wait (native/core/async.cc): while the result of a
 * native async call is due, the event loop keeps polling (a chain of `setImmediate`) instead of
 * sleeping in the kernel, for at most the spin window after the call (`asyncSpinMicros()`:
 * `JEPA_ASYNC_SPIN_US`, 100 µs by default, 0 while more threads are runnable than there are
 * cores). Waking a sleeping event loop costs 20-30 µs on a virtual machine whose vCPU was
 * halted, as much as a small job; a loop that polls picks the result up within a few
 * microseconds. Work longer than the window costs at most the window's polling. @internal
 * @module
 */
import type { NativeAddon } from './native-types';

let addon: NativeAddon | undefined;
/** The addon, on first use: lib/core/errors.ts imports this file and lib/core/binding.ts imports errors.ts. */
function native(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= (require('./binding') as { native: NativeAddon }).native;
  return addon;
}

let pending = 0; // native results being awaited
let until = 0; // performance.now() until which the loop polls
let polling = false;
let windowMs = 0;
let checkedAt = Number.NEGATIVE_INFINITY;

function poll(): void {
  if (pending > 0 && performance.now() < until) setImmediate(poll);
  else polling = false;
}

function settled(): void {
  pending--;
}

/** Returns `promise`, keeping the event loop polling for a while until it settles. @internal */
export function pollWhile<T>(promise: Promise<T>): Promise<T> {
  const now = performance.now();
  if (now - checkedAt > 1000) {
    windowMs = native().asyncSpinMicros() / 1000;
    checkedAt = now;
  }
  if (windowMs === 0) return promise;
  pending++;
  until = Math.max(until, now + windowMs);
  promise.then(settled, settled);
  if (!polling) {
    polling = true;
    setImmediate(poll);
  }
  return promise;
}
