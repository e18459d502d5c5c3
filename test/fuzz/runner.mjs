// The driver of the JavaScript fuzz harnesses (test/fuzz/*.fuzz.mjs). They use fast-check
// (seeded property-based generation with shrinking), not a coverage-guided fuzzer: Jazzer.js,
// the coverage-guided choice for Node, ships a libFuzzer addon that needs glibc 2.38 (Debian
// bookworm has 2.36) and cannot be built offline. To make up for it, the generators mutate a
// seed corpus of valid inputs (test/fuzz-corpus/<name>/) and build near-valid structured ones.
//
// A run replays every corpus file first (crash inputs saved there become regression cases),
// then generates inputs for a bounded time from a seed (FUZZ_SEED, else random and printed).
// A failing input is shrunk, written to build/fuzz/js/<name>/ and reported with the seed that
// reproduces it: `FUZZ_SEED=<seed> node test/fuzz/<name>.fuzz.mjs 60`. A hang (the driver,
// scripts/test/fuzz.js, kills a harness that overruns) is found with FUZZ_TRACE (below).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The files of a corpus folder as { name, bytes } (none if the folder is absent). */
export function corpus(name) {
  const dir = path.join(ROOT, 'test', 'fuzz-corpus', name);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => ({ name: path.join(dir, f), bytes: fs.readFileSync(path.join(dir, f)) }));
}

/** Seconds from argv[2] (default 45). */
export function seconds() {
  const s = Number(process.argv[2] ?? 45);
  if (!Number.isFinite(s) || s <= 0) throw new Error(`expected a number of seconds, got ${process.argv[2]}`);
  return s;
}

/**
 * Runs `check(input)` on each replay input, then on generated inputs for `secs` seconds.
 * `encode(input)` gives the bytes saved for a failing input. Exits the process with 1 on failure.
 */
export function run({ name, replay, arbitrary, check, encode, secs }) {
  const started = Date.now();
  for (const r of replay) {
    try {
      check(r.input);
    } catch (e) {
      console.error(`fuzz ${name}: corpus input ${r.label} fails:\n${e.stack ?? e}`);
      process.exit(1);
    }
  }
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  const left = Math.max(1000, secs * 1000 - (Date.now() - started));
  // FUZZ_TRACE=FILE writes each input there before it runs: the last one is the culprit of a hang.
  const trace = process.env.FUZZ_TRACE;
  const details = fc.check(
    fc.property(arbitrary, (input) => {
      if (trace) fs.writeFileSync(trace, encode(input));
      check(input);
    }),
    { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: left, markInterruptAsFailure: false },
  );
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (details.failed) {
    const dir = path.join(ROOT, 'build', 'fuzz', 'js', name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `crash-seed${seed}`);
    fs.writeFileSync(file, encode(details.counterexample[0]));
    console.error(
      `fuzz ${name}: FAILED after ${details.numRuns} inputs (seed ${seed}, shrunk ${details.numShrinks} times).\n` +
        `The input is in ${path.relative(ROOT, file)}: fix the bug, then copy it to test/fuzz-corpus/${name}/ ` +
        `as a regression case. Reproduce: FUZZ_SEED=${seed} node test/fuzz/${name}.fuzz.mjs ${secs}\n` +
        `${details.errorInstance?.stack ?? details.error}`,
    );
    process.exit(1);
  }
  console.log(
    `fuzz ${name}: ${replay.length} corpus inputs + ${details.numRuns} generated inputs in ${took} s (seed ${seed}): no failure`,
  );
}
