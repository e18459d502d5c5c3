// Reads the expected calls of test/fixtures/models/*.cases.{json,bin} (written by
// scripts/models/export.py after loading each TorchScript file back in Python) and compares
// Node's results with them.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { ROOT } from './helpers.mjs';

export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
export const TOLERANCE = 1e-5;

const TYPED = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Loads NAME.cases.json (+ .bin) next to a model file; values decoded into jepa values. */
export function loadCases(modelPath) {
  const stem = modelPath.replace(/\.pt$/, '');
  const doc = JSON.parse(fs.readFileSync(`${stem}.cases.json`, 'utf8'));
  const bin = fs.readFileSync(`${stem}.cases.bin`);
  const tensor = (i) => {
    const { dtype, shape, offset, nbytes } = doc.tensors[i];
    const Typed = TYPED[dtype];
    const copy = new Uint8Array(nbytes);
    copy.set(bin.subarray(offset, offset + nbytes));
    const data = new Typed(copy.buffer, 0, nbytes / Typed.BYTES_PER_ELEMENT);
    return jepa.tensor(data, shape, { dtype });
  };
  const decode = (v) => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(decode);
    if ('$tensor' in v) return tensor(v.$tensor);
    if ('$float' in v) return jepa.float(v.$float);
    if ('$tuple' in v) return jepa.Tuple.fromItems(v.$tuple.map(decode));
    if ('$dict' in v) {
      const entries = v.$dict.map(([k, x]) => [decode(k), decode(x)]);
      return entries.every(([k]) => typeof k === 'string') ? Object.fromEntries(entries) : new Map(entries);
    }
    throw new Error(`bad fixture value ${JSON.stringify(v)}`);
  };
  return {
    doc,
    cases: doc.cases.map((c) => ({ method: c.method, note: c.note, args: c.args.map(decode), expected: c.result })),
    extra: (key) => decode(doc.extra[key]),
    decode,
    tensor,
  };
}

/** Max |a - b| over two tensors of the same shape (as float64). */
export function maxAbsDiff(a, b) {
  const x = a.to('float64').contiguous().data();
  const y = b.to('float64').contiguous().data();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Asserts that `actual` (Node's result) equals the expected fixture value `expected` (raw JSON). */
export function expectMatches(actual, expected, cases, where = 'result', tol = TOLERANCE) {
  if (expected === null) return expect(actual, where).to.equal(null);
  if (typeof expected !== 'object') {
    if (typeof actual === 'bigint') return expect(actual, where).to.equal(BigInt(expected));
    return expect(actual, where).to.equal(expected);
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual) && !(actual instanceof jepa.Tuple), `${where} is a list`).to.equal(true);
    expect(actual.length, `${where}.length`).to.equal(expected.length);
    expected.forEach((e, i) => expectMatches(actual[i], e, cases, `${where}[${i}]`, tol));
    return;
  }
  if ('$tensor' in expected) {
    const want = cases.tensor(expected.$tensor);
    expect(actual, `${where} is a Tensor`).to.be.instanceOf(jepa.Tensor);
    expect(actual.shape, `${where}.shape`).to.deep.equal(want.shape);
    expect(actual.dtype, `${where}.dtype`).to.equal(want.dtype);
    const diff = maxAbsDiff(actual, want);
    expect(diff, `${where}: max |node - python|`).to.be.at.most(want.dtype.startsWith('float') ? tol : 0);
    return;
  }
  if ('$float' in expected) {
    expect(typeof actual, `${where} is a number`).to.equal('number');
    expect(Object.is(actual, expected.$float) || actual === expected.$float, `${where} = ${expected.$float}`).to.equal(
      true,
    );
    return;
  }
  if ('$tuple' in expected) {
    expect(actual, `${where} is a Tuple`).to.be.instanceOf(jepa.Tuple);
    expect(actual.length).to.equal(expected.$tuple.length);
    expected.$tuple.forEach((e, i) => expectMatches(actual[i], e, cases, `${where}[${i}]`, tol));
    return;
  }
  if ('$dict' in expected) {
    const entries = expected.$dict;
    if (entries.every(([k]) => typeof k === 'string')) {
      expect(Object.keys(actual), `${where} keys`).to.deep.equal(entries.map(([k]) => k));
      entries.forEach(([k, e]) => expectMatches(actual[k], e, cases, `${where}.${k}`, tol));
    } else {
      expect(actual, `${where} is a Map`).to.be.instanceOf(Map);
      expect([...actual.keys()]).to.deep.equal(entries.map(([k]) => k));
      entries.forEach(([k, e]) => expectMatches(actual.get(k), e, cases, `${where}.get(${k})`, tol));
    }
    return;
  }
  throw new Error(`bad fixture value at ${where}`);
}

/** Runs every case of a fixture through `call(method, args)` (sync or async) and compares. */
export async function checkParity(modulePath, call) {
  const cases = loadCases(modulePath);
  for (const c of cases.cases) {
    const actual = await call(c.method, c.args);
    expectMatches(
      actual,
      c.expected,
      cases,
      `${path.basename(modulePath)} ${c.method}()${c.note ? ` [${c.note}]` : ''}`,
    );
  }
  return cases.cases.length;
}
