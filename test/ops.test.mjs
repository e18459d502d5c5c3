// PyTorch's ops by their Python names (issue 17, item 2): a table of calls, each run in Node and
// in Python (one Python process computes every expected value, on the same random inputs), with
// the method and in-place forms derived from each function call and checked the same way; every
// generated op must appear. Also: overload resolution as Python's, errors, indexing, generators,
// and the generated files being up to date with the schema.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect } from 'chai';
import jepa from 'jepa-native';
import { after, before, describe, it } from 'mocha';
import { cleanup, pythonPath, ROOT, runPython, thrown, tmpDir } from './helpers.mjs';

// Inputs, made in Python from one seed and read by Node from inputs.pt.
const INPUTS = `
g = torch.Generator().manual_seed(0)
a = torch.randn(3, 4, generator=g); b = torch.randn(3, 4, generator=g); c = torch.randn(3, 4, generator=g)
pos = torch.rand(3, 4, generator=g) + 0.5
unit = torch.rand(3, 4, generator=g) * 1.8 - 0.9
row = torch.randn(4, generator=g); v = torch.randn(4, generator=g); w = torch.randn(4, generator=g)
m = torch.randn(4, 5, generator=g); n = torch.randn(5, 3, generator=g); col = torch.randn(3, 1, generator=g)
sq = torch.randn(4, 4, generator=g); spd = sq @ sq.T + 4 * torch.eye(4)
b3 = torch.randn(2, 3, 4, generator=g); c3 = torch.randn(2, 4, 5, generator=g); d3 = torch.randn(2, 3, 5, generator=g)
x3 = torch.randn(4, 3, generator=g); y3 = torch.randn(4, 3, generator=g)
img = torch.randn(1, 2, 5, 6, generator=g); seq = torch.randn(2, 3, 7, generator=g); vol = torch.randn(1, 1, 3, 4, 5, generator=g)
ia = torch.randint(-5, 6, (3, 4), generator=g); ib = torch.randint(1, 6, (3, 4), generator=g)
idx = torch.tensor([2, 0, 1]); idx4 = torch.randint(0, 4, (3, 4), generator=g); src = torch.randn(3, 4, generator=g)
mask = a > 0; bmask = b > 0
labels = torch.tensor([0, 2, 1, 3]); counts = torch.tensor([0, 1, 1, 3, 2, 1])
probs = torch.rand(3, 4, generator=g); probs = probs / probs.sum(1, keepdim=True)
sorted1 = torch.tensor([1., 3., 5., 7.]); vals = torch.tensor([[2., 6.], [0., 8.]])
special = a.clone(); special[0, 0] = float('nan'); special[1, 1] = float('inf'); special[2, 2] = -float('inf')
lnw = torch.randn(4, generator=g); lnb = torch.randn(4, generator=g)
q4 = torch.randn(1, 2, 5, 8, generator=g); k4 = torch.randn(1, 2, 5, 8, generator=g); v4 = torch.randn(1, 2, 5, 8, generator=g)
lw = torch.randn(6, 4, generator=g); lb = torch.randn(6, generator=g)
tall = torch.randn(12, 5, generator=g)
`;
const NAMES = [...INPUTS.matchAll(/(?:^|; )([a-z0-9]+) = /gm)]
  .map((m) => m[1])
  .filter((n, i, all) => n !== 'g' && all.indexOf(n) === i);

const gen = (seed) => new jepa.Generator().manualSeed(seed);

// [op path, (x) => arguments, Python expression, options]. The op is called as jepa[path](...args);
// for a torch.* function, its method form args[0].op(...rest) and in-place form
// args[0].clone().op_(...rest) are derived and compared with Python's a.op(...) / a.clone().op_(...).
// Options: seed (jepa.manualSeed / torch.manual_seed first), shapeOnly, tol (relative tolerance),
// vectors and check (decompositions, see alignSigns).
const F = (op, args, py, opts = {}) => ({ op, args, py, ...opts });
// A method call: self.op(...args) against Python's expression.
const M = (op, self, args, py, opts = {}) => ({ op, method: true, self, args, py, ...opts });

// Decompositions are unique only up to the sign of each singular / eigen / basis vector, which
// LAPACK picks: Node's vectors are first given Python's signs (the same flip for the paired
// vectors of a group, e.g. column j of U and row j of Vh), then compared element by element, and
// `check` rebuilds the input from Node's factors in plain JS, so that a wrong pairing of signs or
// a wrong factor fails even where the signs were aligned.
// vectors: [result index, 'cols' | 'rows', group]; the first entry of a group decides its signs.
const SVD = [
  [0, 'cols', 0],
  [2, 'rows', 0],
];
const PCA = [
  [0, 'cols', 0],
  [2, 'cols', 0],
];

/** A Tensor's values as rows of plain numbers (2-D). */
function rows(t) {
  const [r, c] = t.shape;
  const d = Array.from(t.contiguous().to('float64').data());
  return Array.from({ length: r }, (_, i) => d.slice(i * c, (i + 1) * c));
}
function matmulJs(a, b) {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}
function closeTo(actual, expected, tol, what) {
  for (let i = 0; i < expected.length; i++) {
    for (let j = 0; j < expected[0].length; j++) {
      if (Math.abs(actual[i][j] - expected[i][j]) > tol)
        return `${what}: element [${i}, ${j}] is ${actual[i][j]}, expected ${expected[i][j]}`;
    }
  }
  return null;
}
/** U[:, :k] diag(S) Vh[:k] equals the input. */
const svdRebuilds =
  (name) =>
  ([U, S, Vh], x) => {
    const s = Array.from(S.to('float64').data());
    const u = rows(U).map((r) => s.map((v, j) => r[j] * v));
    return closeTo(matmulJs(u, rows(Vh).slice(0, s.length)), rows(x[name]), 1e-4, 'U diag(S) Vh');
  };
/** Q R equals the input. */
const qrRebuilds = ([Q, R], x) => closeTo(matmulJs(rows(Q), rows(R)), rows(x.m.t()), 1e-4, 'Q R');
/** V diag(L) V^T equals the input. */
const eighRebuilds = ([L, V], x) => {
  const l = Array.from(L.to('float64').data());
  const v = rows(V);
  const vl = v.map((r) => l.map((e, j) => r[j] * e));
  return closeTo(
    matmulJs(
      vl,
      v[0].map((_, j) => v.map((r) => r[j])),
    ),
    rows(x.spd),
    1e-3,
    'V diag(L) V^T',
  );
};
/** Full rank (q = min(m, n)): U diag(S) V^T equals the centred input. */
const pcaRebuilds =
  (name) =>
  ([U, S, V], x) => {
    const a = rows(x[name]);
    const mean = a[0].map((_, j) => a.reduce((t, r) => t + r[j], 0) / a.length);
    const s = Array.from(S.to('float64').data());
    const us = rows(U).map((r) => s.map((e, j) => r[j] * e));
    const v = rows(V);
    return closeTo(
      matmulJs(
        us,
        v[0].map((_, j) => v.map((r) => r[j])),
      ),
      a.map((r) => r.map((e, j) => e - mean[j])),
      1e-4,
      'U diag(S) V^T',
    );
  };

/** Gives Node's vectors Python's signs (see `vectors` above); other results pass through. */
function alignSigns(actual, expected, vectors) {
  if (!vectors || !Array.isArray(actual) || !Array.isArray(expected)) return actual;
  const out = [...actual];
  const groupSigns = new Map();
  for (const [k, axis, group] of vectors) {
    const A = actual[k];
    const E = expected[k];
    if (
      !(A instanceof jepa.Tensor) ||
      !(E instanceof jepa.Tensor) ||
      String(A.shape) !== String(E.shape) ||
      A.ndim !== 2
    )
      continue;
    const a = rows(axis === 'cols' ? A.t() : A);
    const e = rows(axis === 'cols' ? E.t() : E);
    // vectors without a partner (the null space rows of a full Vh) take their own sign
    const own = a.map((vec, i) => (vec.reduce((t, v, j) => t + v * e[i][j], 0) < 0 ? -1 : 1));
    const signs = groupSigns.get(group) ?? own;
    groupSigns.set(group, signs);
    const flipped = a.map((vec, i) => vec.map((v) => v * (signs[i] ?? own[i])));
    const t = jepa.tensor(Float64Array.from(flipped.flat()), [flipped.length, flipped[0].length]).to(A.dtype);
    out[k] = axis === 'cols' ? t.t().contiguous() : t;
  }
  return out;
}

const CASES = [
  // arithmetic
  F('add', (x) => [x.a, x.b], 'torch.add(a, b)'),
  F('add', (x) => [x.a, x.b, { alpha: 2 }], 'torch.add(a, b, alpha=2)'),
  F('add', (x) => [x.a, 2], 'torch.add(a, 2)'),
  F('add', (x) => [x.ia, 2], 'torch.add(ia, 2)'),
  F('add', (x) => [x.ia, 2.5], 'torch.add(ia, 2.5)'),
  F('add', (x) => [x.ia, jepa.float(2)], 'torch.add(ia, 2.0)'),
  F('add', (x) => [x.a, x.row], 'torch.add(a, row)'),
  F('add', (x) => [x.a, x.col], 'torch.add(a, col)'),
  F('sub', (x) => [x.a, x.b, { alpha: 0.5 }], 'torch.sub(a, b, alpha=0.5)'),
  F('mul', (x) => [x.a, x.b], 'torch.mul(a, b)'),
  F('mul', (x) => [x.ia, x.a], 'torch.mul(ia, a)'),
  F('div', (x) => [x.a, x.pos], 'torch.div(a, pos)'),
  F('div', (x) => [x.ia, x.ib], 'torch.div(ia, ib)'),
  F('div', (x) => [x.ia, x.ib, { rounding_mode: 'floor' }], "torch.div(ia, ib, rounding_mode='floor')"),
  F('div', (x) => [x.a, 3, { rounding_mode: 'trunc' }], "torch.div(a, 3, rounding_mode='trunc')"),
  F('true_divide', (x) => [x.ia, x.ib], 'torch.true_divide(ia, ib)'),
  F('floor_divide', (x) => [x.ia, x.ib], 'torch.floor_divide(ia, ib)'),
  F('remainder', (x) => [x.ia, x.ib], 'torch.remainder(ia, ib)'),
  F('remainder', (x) => [x.a, 0.7], 'torch.remainder(a, 0.7)'),
  F('fmod', (x) => [x.ia, x.ib], 'torch.fmod(ia, ib)'),
  F('neg', (x) => [x.a], 'torch.neg(a)'),
  F('abs', (x) => [x.ia], 'torch.abs(ia)'),
  F('pow', (x) => [x.pos, 2], 'torch.pow(pos, 2)'),
  F('pow', (x) => [x.pos, 0.5], 'torch.pow(pos, 0.5)'),
  F('pow', (x) => [2, x.a], 'torch.pow(2, a)'),
  F('pow', (x) => [x.pos, x.b], 'torch.pow(pos, b)'),
  F('float_power', (x) => [x.pos, 2], 'torch.float_power(pos, 2)'),
  F('sqrt', (x) => [x.pos], 'torch.sqrt(pos)'),
  F('rsqrt', (x) => [x.pos], 'torch.rsqrt(pos)'),
  F('square', (x) => [x.a], 'torch.square(a)'),
  F('reciprocal', (x) => [x.pos], 'torch.reciprocal(pos)'),
  F('exp', (x) => [x.a], 'torch.exp(a)'),
  F('exp2', (x) => [x.a], 'torch.exp2(a)'),
  F('expm1', (x) => [x.a], 'torch.expm1(a)'),
  F('log', (x) => [x.pos], 'torch.log(pos)'),
  F('log2', (x) => [x.pos], 'torch.log2(pos)'),
  F('log10', (x) => [x.pos], 'torch.log10(pos)'),
  F('log1p', (x) => [x.pos], 'torch.log1p(pos)'),
  F('sign', (x) => [x.a], 'torch.sign(a)'),
  F('floor', (x) => [x.a], 'torch.floor(a)'),
  F('ceil', (x) => [x.a], 'torch.ceil(a)'),
  F('round', (x) => [x.a], 'torch.round(a)'),
  F('round', (x) => [x.a, { decimals: 2 }], 'torch.round(a, decimals=2)'),
  F('trunc', (x) => [x.a], 'torch.trunc(a)'),
  F('frac', (x) => [x.a], 'torch.frac(a)'),
  F('clamp', (x) => [x.a, -0.5, 0.5], 'torch.clamp(a, -0.5, 0.5)'),
  F('clamp', (x) => [x.a, { max: 0.1 }], 'torch.clamp(a, max=0.1)'),
  F('clamp', (x) => [x.a, x.b, x.c], 'torch.clamp(a, b, c)'),
  F('clamp', (x) => [x.ia, 0], 'torch.clamp(ia, 0)'),
  F('clip', (x) => [x.a, -1, 1], 'torch.clip(a, -1, 1)'),
  F('clamp_min', (x) => [x.a, 0], 'torch.clamp_min(a, 0)'),
  F('clamp_max', (x) => [x.a, 0], 'torch.clamp_max(a, 0)'),
  F('maximum', (x) => [x.a, x.b], 'torch.maximum(a, b)'),
  F('minimum', (x) => [x.a, x.b], 'torch.minimum(a, b)'),
  F('lerp', (x) => [x.a, x.b, 0.3], 'torch.lerp(a, b, 0.3)'),
  F('lerp', (x) => [x.a, x.b, x.pos], 'torch.lerp(a, b, pos)'),
  F('addcmul', (x) => [x.a, x.b, x.c, { value: 0.5 }], 'torch.addcmul(a, b, c, value=0.5)'),
  F('addcdiv', (x) => [x.a, x.b, x.pos], 'torch.addcdiv(a, b, pos)'),
  F('hypot', (x) => [x.a, x.b], 'torch.hypot(a, b)'),
  F('logaddexp', (x) => [x.a, x.b], 'torch.logaddexp(a, b)'),
  F('xlogy', (x) => [x.a, x.pos], 'torch.xlogy(a, pos)'),
  F('nan_to_num', (x) => [x.special], 'torch.nan_to_num(special)'),
  F(
    'nan_to_num',
    (x) => [x.special, { nan: 0, posinf: 9, neginf: -9 }],
    'torch.nan_to_num(special, nan=0.0, posinf=9.0, neginf=-9.0)',
  ),
  F('sin', (x) => [x.a], 'torch.sin(a)'),
  F('cos', (x) => [x.a], 'torch.cos(a)'),
  F('tan', (x) => [x.unit], 'torch.tan(unit)'),
  F('asin', (x) => [x.unit], 'torch.asin(unit)'),
  F('acos', (x) => [x.unit], 'torch.acos(unit)'),
  F('atan', (x) => [x.a], 'torch.atan(a)'),
  F('atan2', (x) => [x.a, x.b], 'torch.atan2(a, b)'),
  F('sinh', (x) => [x.a], 'torch.sinh(a)'),
  F('cosh', (x) => [x.a], 'torch.cosh(a)'),
  F('tanh', (x) => [x.a], 'torch.tanh(a)'),
  F('sigmoid', (x) => [x.a], 'torch.sigmoid(a)'),
  F('logit', (x) => [x.probs, 1e-6], 'torch.logit(probs, 1e-6)'),
  F('erf', (x) => [x.a], 'torch.erf(a)'),
  F('erfinv', (x) => [x.unit], 'torch.erfinv(unit)'),
  F('relu', (x) => [x.a], 'torch.relu(a)'),
  // comparison and logic
  F('eq', (x) => [x.ia, x.ib], 'torch.eq(ia, ib)'),
  F('eq', (x) => [x.ia, 1], 'torch.eq(ia, 1)'),
  F('ne', (x) => [x.ia, x.ib], 'torch.ne(ia, ib)'),
  F('lt', (x) => [x.a, x.b], 'torch.lt(a, b)'),
  F('le', (x) => [x.a, 0], 'torch.le(a, 0)'),
  F('gt', (x) => [x.a, x.b], 'torch.gt(a, b)'),
  F('ge', (x) => [x.a, x.row], 'torch.ge(a, row)'),
  F('equal', (x) => [x.a, x.a.clone()], 'torch.equal(a, a.clone())'),
  F('equal', (x) => [x.a, x.b], 'torch.equal(a, b)'),
  F('isclose', (x) => [x.a, x.a.add(1e-9)], 'torch.isclose(a, a + 1e-9)'),
  F('allclose', (x) => [x.a, x.b, { atol: 10 }], 'torch.allclose(a, b, atol=10)'),
  F('isnan', (x) => [x.special], 'torch.isnan(special)'),
  F('isinf', (x) => [x.special], 'torch.isinf(special)'),
  F('isfinite', (x) => [x.special], 'torch.isfinite(special)'),
  F('logical_and', (x) => [x.mask, x.bmask], 'torch.logical_and(mask, bmask)'),
  F('logical_or', (x) => [x.mask, x.bmask], 'torch.logical_or(mask, bmask)'),
  F('logical_xor', (x) => [x.mask, x.bmask], 'torch.logical_xor(mask, bmask)'),
  F('logical_not', (x) => [x.mask], 'torch.logical_not(mask)'),
  F('where', (x) => [x.mask, x.a, x.b], 'torch.where(mask, a, b)'),
  F('where', (x) => [x.mask, x.a, 0], 'torch.where(mask, a, 0)'),
  F('where', (x) => [x.mask, 1, 0], 'torch.where(mask, 1, 0)'),
  F('where', (x) => [x.mask], 'torch.where(mask)'),
  // reductions
  F('sum', (x) => [x.a], 'torch.sum(a)'),
  F('sum', (x) => [x.a, 1], 'torch.sum(a, 1)'),
  F('sum', (x) => [x.b3, [0, 2], true], 'torch.sum(b3, [0, 2], True)'),
  F('sum', (x) => [x.a, { dim: 0, keepdim: true }], 'torch.sum(a, dim=0, keepdim=True)'),
  F('sum', (x) => [x.ia, { dtype: 'float64' }], 'torch.sum(ia, dtype=torch.float64)'),
  F(
    'nansum',
    (x) => [x.special.nan_to_num({ posinf: 1, neginf: 2 })],
    'torch.nansum(torch.nan_to_num(special, posinf=1.0, neginf=2.0))',
  ),
  F('mean', (x) => [x.a], 'torch.mean(a)'),
  F('mean', (x) => [x.b3, -1, true], 'torch.mean(b3, -1, True)'),
  F('nanmean', (x) => [x.a.where(x.mask, NaN), 1], "torch.nanmean(a.where(mask, float('nan')), 1)"),
  F('prod', (x) => [x.a], 'torch.prod(a)'),
  F('prod', (x) => [x.a, 1], 'torch.prod(a, 1)'),
  F('std', (x) => [x.a], 'torch.std(a)'),
  F('std', (x) => [x.a, 1], 'torch.std(a, 1)'),
  F('std', (x) => [x.a, { correction: 0 }], 'torch.std(a, correction=0)'),
  F('std', (x) => [x.a, 0, false, true], 'torch.std(a, 0, False, True)'),
  F('var', (x) => [x.a, 1], 'torch.var(a, 1)'),
  F('var', (x) => [x.a, { dim: 1, correction: 0, keepdim: true }], 'torch.var(a, dim=1, correction=0, keepdim=True)'),
  F('std_mean', (x) => [x.a, 1], 'torch.std_mean(a, 1)'),
  F('var_mean', (x) => [x.a], 'torch.var_mean(a)'),
  F('max', (x) => [x.a], 'torch.max(a)'),
  F('max', (x) => [x.a, 1], 'torch.max(a, 1)'),
  F('max', (x) => [x.a, 0, true], 'torch.max(a, 0, True)'),
  F('max', (x) => [x.a, x.b], 'torch.max(a, b)'),
  F('min', (x) => [x.a], 'torch.min(a)'),
  F('min', (x) => [x.a, { dim: 1 }], 'torch.min(a, dim=1)'),
  F('amax', (x) => [x.b3, [1, 2]], 'torch.amax(b3, [1, 2])'),
  F('amin', (x) => [x.a, 0], 'torch.amin(a, 0)'),
  F('aminmax', (x) => [x.a], 'torch.aminmax(a)'),
  F('argmax', (x) => [x.a], 'torch.argmax(a)'),
  F('argmax', (x) => [x.a, 1], 'torch.argmax(a, 1)'),
  F('argmin', (x) => [x.a, 0, true], 'torch.argmin(a, 0, True)'),
  F('topk', (x) => [x.a, 2], 'torch.topk(a, 2)'),
  F('topk', (x) => [x.a, 2, 0, false], 'torch.topk(a, 2, 0, False)'),
  F('sort', (x) => [x.a], 'torch.sort(a)'),
  F('sort', (x) => [x.a, 0, true], 'torch.sort(a, 0, True)'),
  F('sort', (x) => [x.ia, { stable: true, dim: 1 }], 'torch.sort(ia, stable=True, dim=1)'),
  F('argsort', (x) => [x.a, { dim: 0, descending: true }], 'torch.argsort(a, dim=0, descending=True)'),
  F('kthvalue', (x) => [x.a, 2, 1], 'torch.kthvalue(a, 2, 1)'),
  F('median', (x) => [x.a], 'torch.median(a)'),
  F('median', (x) => [x.a, 1], 'torch.median(a, 1)'),
  F('mode', (x) => [x.ia, 1], 'torch.mode(ia, 1)'),
  F('cumsum', (x) => [x.a, 1], 'torch.cumsum(a, 1)'),
  F('cumprod', (x) => [x.a, 0], 'torch.cumprod(a, 0)'),
  F('cummax', (x) => [x.a, 1], 'torch.cummax(a, 1)'),
  F('cummin', (x) => [x.a, 0], 'torch.cummin(a, 0)'),
  F('logsumexp', (x) => [x.a, 1], 'torch.logsumexp(a, 1)'),
  F('all', (x) => [x.mask], 'torch.all(mask)'),
  F('all', (x) => [x.mask, 1], 'torch.all(mask, 1)'),
  F('any', (x) => [x.mask, 0], 'torch.any(mask, 0)'),
  F('count_nonzero', (x) => [x.mask, 1], 'torch.count_nonzero(mask, 1)'),
  F('dist', (x) => [x.a, x.b, 3], 'torch.dist(a, b, 3)'),
  F('trace', (x) => [x.sq], 'torch.trace(sq)'),
  F('bincount', (x) => [x.counts], 'torch.bincount(counts)'),
  F('histc', (x) => [x.a, { bins: 5, min: -2, max: 2 }], 'torch.histc(a, bins=5, min=-2, max=2)'),
  // indexing
  F('select', (x) => [x.a, 1, -1], 'torch.select(a, 1, -1)'),
  F('narrow', (x) => [x.a, 1, 1, 2], 'torch.narrow(a, 1, 1, 2)'),
  F('index_select', (x) => [x.a, 1, x.idx], 'torch.index_select(a, 1, idx)'),
  F('gather', (x) => [x.a, 1, x.idx4], 'torch.gather(a, 1, idx4)'),
  F('take_along_dim', (x) => [x.a, x.a.argsort(1), 1], 'torch.take_along_dim(a, a.argsort(1), 1)'),
  F('scatter', (x) => [x.a, 1, x.idx4, x.src], 'torch.scatter(a, 1, idx4, src)'),
  F('scatter', (x) => [x.a, 1, x.idx4, 5.0], 'torch.scatter(a, 1, idx4, 5.0)'),
  F(
    'scatter',
    (x) => [x.a, 1, x.idx4, 2.0, { reduce: 'multiply' }],
    "torch.scatter(a, 1, idx4, 2.0, reduce='multiply')",
  ),
  F('scatter_add', (x) => [x.a, 1, x.idx4, x.src], 'torch.scatter_add(a, 1, idx4, src)'),
  F('index_add', (x) => [x.a, 0, x.idx, x.src, { alpha: 2 }], 'torch.index_add(a, 0, idx, src, alpha=2)'),
  F('index_copy', (x) => [x.a, 0, x.idx, x.src], 'torch.index_copy(a, 0, idx, src)'),
  F('index_fill', (x) => [x.a, 1, x.idx, -1], 'torch.index_fill(a, 1, idx, -1)'),
  F('masked_select', (x) => [x.a, x.mask], 'torch.masked_select(a, mask)'),
  F('masked_fill', (x) => [x.a, x.mask, 0], 'torch.masked_fill(a, mask, 0)'),
  F('argwhere', (x) => [x.mask], 'torch.argwhere(mask)'),
  F('nonzero', (x) => [x.mask], 'torch.nonzero(mask)'),
  F('index_put_', (x) => [x.a.clone(), [x.idx], x.row], 'torch.index_put_(a.clone(), [idx], row)'),
  F(
    'index_put_',
    (x) => [x.a.clone(), [x.idx, x.idx], x.idx.to('float32'), true],
    'torch.index_put_(a.clone(), [idx, idx], idx.float(), True)',
  ),
  F('searchsorted', (x) => [x.sorted1, x.vals], 'torch.searchsorted(sorted1, vals)'),
  F('searchsorted', (x) => [x.sorted1, x.vals, { right: true }], 'torch.searchsorted(sorted1, vals, right=True)'),
  F('bucketize', (x) => [x.vals, x.sorted1], 'torch.bucketize(vals, sorted1)'),
  // shape
  F('cat', (x) => [[x.a, x.b], 1], 'torch.cat([a, b], 1)'),
  F('cat', (x) => [[x.a, x.b]], 'torch.cat([a, b])'),
  F('concat', (x) => [[x.a, x.b], { dim: -1 }], 'torch.concat([a, b], dim=-1)'),
  F('stack', (x) => [[x.a, x.b, x.c], 1], 'torch.stack([a, b, c], 1)'),
  F('hstack', (x) => [[x.a, x.b]], 'torch.hstack([a, b])'),
  F('vstack', (x) => [[x.a, x.row]], 'torch.vstack([a, row])'),
  F('split', (x) => [x.a, 3, 1], 'torch.split(a, 3, 1)'),
  F('split', (x) => [x.a, [1, 3], 1], 'torch.split(a, [1, 3], 1)'),
  F('chunk', (x) => [x.a, 2, 1], 'torch.chunk(a, 2, 1)'),
  F('tensor_split', (x) => [x.a, 3, 1], 'torch.tensor_split(a, 3, 1)'),
  F('tensor_split', (x) => [x.a, [1, 2], 1], 'torch.tensor_split(a, [1, 2], 1)'),
  F('unbind', (x) => [x.a, 1], 'torch.unbind(a, 1)'),
  F('squeeze', (x) => [x.col], 'torch.squeeze(col)'),
  F('squeeze', (x) => [x.col, 1], 'torch.squeeze(col, 1)'),
  F('unsqueeze', (x) => [x.a, 1], 'torch.unsqueeze(a, 1)'),
  F('flatten', (x) => [x.b3], 'torch.flatten(b3)'),
  F('flatten', (x) => [x.b3, 1], 'torch.flatten(b3, 1)'),
  F('unflatten', (x) => [x.a, 1, [2, 2]], 'torch.unflatten(a, 1, [2, 2])'),
  F('reshape', (x) => [x.a, [2, -1]], 'torch.reshape(a, [2, -1])'),
  F('permute', (x) => [x.b3, [2, 0, 1]], 'torch.permute(b3, [2, 0, 1])'),
  F('transpose', (x) => [x.b3, 0, 2], 'torch.transpose(b3, 0, 2)'),
  F('swapaxes', (x) => [x.b3, 1, 2], 'torch.swapaxes(b3, 1, 2)'),
  F('movedim', (x) => [x.b3, 0, -1], 'torch.movedim(b3, 0, -1)'),
  F('t', (x) => [x.a], 'torch.t(a)'),
  F('broadcast_to', (x) => [x.row, [3, 4]], 'torch.broadcast_to(row, [3, 4])'),
  F('repeat_interleave', (x) => [x.a, 2, 1], 'torch.repeat_interleave(a, 2, 1)'),
  F('repeat_interleave', (x) => [x.idx], 'torch.repeat_interleave(idx)'),
  F('tile', (x) => [x.a, [2, 1]], 'torch.tile(a, [2, 1])'),
  F('flip', (x) => [x.a, [0, 1]], 'torch.flip(a, [0, 1])'),
  F('roll', (x) => [x.a, 1, 1], 'torch.roll(a, 1, 1)'),
  F('diagonal', (x) => [x.sq, 1], 'torch.diagonal(sq, 1)'),
  F('diag', (x) => [x.row], 'torch.diag(row)'),
  F('diag', (x) => [x.sq, -1], 'torch.diag(sq, -1)'),
  F('tril', (x) => [x.sq], 'torch.tril(sq)'),
  F('triu', (x) => [x.sq, 1], 'torch.triu(sq, 1)'),
  F('clone', (x) => [x.a], 'torch.clone(a)'),
  // linear algebra
  F('matmul', (x) => [x.a, x.m], 'torch.matmul(a, m)'),
  F('matmul', (x) => [x.b3, x.m], 'torch.matmul(b3, m)'),
  F('matmul', (x) => [x.m, x.n], 'torch.matmul(m, n)'),
  F('mm', (x) => [x.a, x.m], 'torch.mm(a, m)'),
  F('bmm', (x) => [x.b3, x.c3], 'torch.bmm(b3, c3)'),
  F('mv', (x) => [x.a, x.v], 'torch.mv(a, v)'),
  F('dot', (x) => [x.v, x.w], 'torch.dot(v, w)'),
  F('outer', (x) => [x.v, x.w], 'torch.outer(v, w)'),
  F(
    'addmm',
    (x) => [x.d3.select(0, 0), x.a, x.m, { beta: 0.5, alpha: 2 }],
    'torch.addmm(d3[0], a, m, beta=0.5, alpha=2)',
    { tol: 1e-5 },
  ),
  F('baddbmm', (x) => [x.d3, x.b3, x.c3], 'torch.baddbmm(d3, b3, c3)', { tol: 1e-5 }),
  F('einsum', (x) => ['bij,bjk->bik', [x.b3, x.c3]], "torch.einsum('bij,bjk->bik', [b3, c3])", { tol: 1e-5 }),
  F('einsum', (x) => ['ij->j', [x.a]], "torch.einsum('ij->j', [a])"),
  F('kron', (x) => [x.col, x.row], 'torch.kron(col, row)'),
  F('cross', (x) => [x.x3, x.y3, { dim: 1 }], 'torch.cross(x3, y3, dim=1)'),
  // neural-network functions
  F('softmax', (x) => [x.a, 1], 'torch.softmax(a, 1)'),
  F('softmax', (x) => [x.a, 0, { dtype: 'float64' }], 'torch.softmax(a, 0, dtype=torch.float64)'),
  F('log_softmax', (x) => [x.a, 1], 'torch.log_softmax(a, 1)'),
  F('layer_norm', (x) => [x.a, [4], x.lnw, x.lnb], 'torch.layer_norm(a, [4], lnw, lnb)', { tol: 1e-5 }),
  F('layer_norm', (x) => [x.b3, [3, 4], null, null, 1e-3], 'torch.layer_norm(b3, [3, 4], None, None, 1e-3)', {
    tol: 1e-5,
  }),
  F('cosine_similarity', (x) => [x.a, x.b], 'torch.cosine_similarity(a, b)'),
  F('cosine_similarity', (x) => [x.a, x.row, { dim: 1 }], 'torch.cosine_similarity(a, row, dim=1)'),
  F('dropout', (x) => [x.a, 0.5, true], 'torch.dropout(a, 0.5, True)', { seed: 3 }),
  F('dropout', (x) => [x.a, 0.5, false], 'torch.dropout(a, 0.5, False)'),
  // random and factories (a fresh generator per call, seeded as Python's)
  F('rand', () => [[2, 3], { generator: gen(7) }], 'torch.rand([2, 3], generator=gen(7))'),
  F(
    'rand',
    () => [2, 3, { generator: gen(7), dtype: 'float64' }],
    'torch.rand(2, 3, generator=gen(7), dtype=torch.float64)',
  ),
  F('randint', () => [0, 10, [5], { generator: gen(1) }], 'torch.randint(0, 10, [5], generator=gen(1))'),
  F('randint', () => [10, [2, 2], { generator: gen(2) }], 'torch.randint(10, [2, 2], generator=gen(2))'),
  F('randperm', () => [10, { generator: gen(0) }], 'torch.randperm(10, generator=gen(0))'),
  F('rand_like', (x) => [x.a], 'torch.rand_like(a)', { seed: 5 }),
  F('randn_like', (x) => [x.a, { dtype: 'float64' }], 'torch.randn_like(a, dtype=torch.float64)', { seed: 5 }),
  F('randint_like', (x) => [x.a, 3, 9], 'torch.randint_like(a, 3, 9)', { seed: 5 }),
  F('bernoulli', (x) => [x.probs, { generator: gen(4) }], 'torch.bernoulli(probs, generator=gen(4))'),
  F(
    'multinomial',
    (x) => [x.probs, 3, true, { generator: gen(4) }],
    'torch.multinomial(probs, 3, True, generator=gen(4))',
  ),
  F('full', () => [[2, 3], 1.5], 'torch.full([2, 3], 1.5)'),
  F('full', () => [[2], 7, { dtype: 'int32' }], 'torch.full([2], 7, dtype=torch.int32)'),
  F('full_like', (x) => [x.a, -2], 'torch.full_like(a, -2)'),
  F('zeros_like', (x) => [x.ia], 'torch.zeros_like(ia)'),
  F('ones_like', (x) => [x.a, { dtype: 'float64' }], 'torch.ones_like(a, dtype=torch.float64)'),
  F('empty_like', (x) => [x.b3], 'torch.empty_like(b3)', { shapeOnly: true }),
  F('eye', () => [3], 'torch.eye(3)'),
  F('eye', () => [2, 4, { dtype: 'int64' }], 'torch.eye(2, 4, dtype=torch.int64)'),
  F('linspace', () => [0, 1, 5], 'torch.linspace(0, 1, 5)'),
  // torch.linalg, torch.nn.functional and the hand-written Python functions
  F('linalg.svd', (x) => [x.m], 'torch.linalg.svd(m)', { tol: 1e-4, vectors: SVD, check: svdRebuilds('m') }),
  F('linalg.svd', (x) => [x.m, { full_matrices: false }], 'torch.linalg.svd(m, full_matrices=False)', {
    tol: 1e-4,
    vectors: SVD,
    check: svdRebuilds('m'),
  }),
  F('linalg.svd', (x) => [x.tall], 'torch.linalg.svd(tall)', { tol: 1e-4, vectors: SVD, check: svdRebuilds('tall') }),
  F('linalg.svdvals', (x) => [x.m], 'torch.linalg.svdvals(m)', { tol: 1e-5 }),
  F('linalg.qr', (x) => [x.m.t()], 'torch.linalg.qr(m.t())', {
    tol: 1e-5,
    vectors: [
      [0, 'cols', 0],
      [1, 'rows', 0],
    ],
    check: qrRebuilds,
  }),
  F('linalg.eigh', (x) => [x.spd], 'torch.linalg.eigh(spd)', {
    tol: 1e-4,
    vectors: [[1, 'cols', 0]],
    check: eighRebuilds,
  }),
  F('linalg.eigvalsh', (x) => [x.spd], 'torch.linalg.eigvalsh(spd)', { tol: 1e-5 }),
  F('linalg.inv', (x) => [x.spd], 'torch.linalg.inv(spd)', { tol: 1e-5 }),
  F('linalg.pinv', (x) => [x.m], 'torch.linalg.pinv(m)', { tol: 1e-4 }),
  F('linalg.det', (x) => [x.spd], 'torch.linalg.det(spd)', { tol: 1e-5 }),
  F('linalg.slogdet', (x) => [x.sq], 'torch.linalg.slogdet(sq)', { tol: 1e-5 }),
  F('linalg.solve', (x) => [x.spd, x.v], 'torch.linalg.solve(spd, v)', { tol: 1e-5 }),
  F('linalg.lstsq', (x) => [x.tall, x.tall.sum(1, true)], 'torch.linalg.lstsq(tall, tall.sum(1, True))', { tol: 1e-4 }),
  F('linalg.cholesky', (x) => [x.spd], 'torch.linalg.cholesky(spd)', { tol: 1e-5 }),
  F('linalg.matrix_rank', (x) => [x.m], 'torch.linalg.matrix_rank(m)'),
  F('linalg.norm', (x) => [x.a], 'torch.linalg.norm(a)'),
  F('linalg.norm', (x) => [x.a, 1, 1], 'torch.linalg.norm(a, 1, 1)'),
  F('linalg.vector_norm', (x) => [x.a, 3, [0, 1]], 'torch.linalg.vector_norm(a, 3, [0, 1])'),
  F('linalg.vector_norm', (x) => [x.a, Infinity], "torch.linalg.vector_norm(a, float('inf'))"),
  F('linalg.matrix_norm', (x) => [x.sq, 'nuc'], "torch.linalg.matrix_norm(sq, 'nuc')", { tol: 1e-5 }),
  F('linalg.cross', (x) => [x.x3, x.y3], 'torch.linalg.cross(x3, y3)'),
  F('linalg.vecdot', (x) => [x.a, x.b], 'torch.linalg.vecdot(a, b)'),
  F('linalg.matrix_power', (x) => [x.sq, 3], 'torch.linalg.matrix_power(sq, 3)', { tol: 1e-5 }),
  F('linalg.multi_dot', (x) => [[x.a, x.m, x.n]], 'torch.linalg.multi_dot([a, m, n])', { tol: 1e-5 }),
  F('nn.functional.gelu', (x) => [x.a], 'F.gelu(a)'),
  F('nn.functional.gelu', (x) => [x.a, { approximate: 'tanh' }], "F.gelu(a, approximate='tanh')"),
  F('nn.functional.silu', (x) => [x.a], 'F.silu(a)'),
  F('nn.functional.leaky_relu', (x) => [x.a, 0.2], 'F.leaky_relu(a, 0.2)'),
  F('nn.functional.elu', (x) => [x.a], 'F.elu(a)'),
  F('nn.functional.softplus', (x) => [x.a, { beta: 2 }], 'F.softplus(a, beta=2)'),
  F('nn.functional.hardtanh', (x) => [x.a, -0.5, 0.5], 'F.hardtanh(a, -0.5, 0.5)'),
  F('nn.functional.linear', (x) => [x.a, x.lw, x.lb], 'F.linear(a, lw, lb)', { tol: 1e-5 }),
  F('nn.functional.one_hot', (x) => [x.labels, 5], 'F.one_hot(labels, 5)'),
  F('nn.functional.pad', (x) => [x.a, [1, 2]], 'F.pad(a, [1, 2])'),
  F('nn.functional.pad', (x) => [x.img, [1, 1, 2, 0], 'reflect'], "F.pad(img, [1, 1, 2, 0], 'reflect')"),
  F(
    'nn.functional.scaled_dot_product_attention',
    (x) => [x.q4, x.k4, x.v4],
    'F.scaled_dot_product_attention(q4, k4, v4)',
    { tol: 1e-5 },
  ),
  F('nn.functional.normalize', (x) => [x.a], 'F.normalize(a)'),
  F('nn.functional.normalize', (x) => [x.b3, { p: 1, dim: -1 }], 'F.normalize(b3, p=1, dim=-1)'),
  F('nn.functional.interpolate', (x) => [x.img, { scale_factor: 2 }], 'F.interpolate(img, scale_factor=2)'),
  F(
    'nn.functional.interpolate',
    (x) => [x.img, { size: [7, 3], mode: 'bilinear' }],
    "F.interpolate(img, size=[7, 3], mode='bilinear')",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.img, { scale_factor: 0.5, mode: 'bilinear', antialias: true }],
    "F.interpolate(img, scale_factor=0.5, mode='bilinear', antialias=True)",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.img, { size: 4, mode: 'bicubic', align_corners: true }],
    "F.interpolate(img, size=4, mode='bicubic', align_corners=True)",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.img, { scale_factor: [1.5, 0.7], mode: 'nearest-exact' }],
    "F.interpolate(img, scale_factor=[1.5, 0.7], mode='nearest-exact')",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.img, { size: [2, 3], mode: 'area' }],
    "F.interpolate(img, size=[2, 3], mode='area')",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.img, { scale_factor: 0.6, mode: 'area' }],
    "F.interpolate(img, scale_factor=0.6, mode='area')",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.seq, { scale_factor: 1.7, mode: 'linear', recompute_scale_factor: true }],
    "F.interpolate(seq, scale_factor=1.7, mode='linear', recompute_scale_factor=True)",
  ),
  F(
    'nn.functional.interpolate',
    (x) => [x.vol, { size: [4, 5, 6], mode: 'trilinear' }],
    "F.interpolate(vol, size=[4, 5, 6], mode='trilinear')",
  ),
  F('nn.functional.softmax', (x) => [x.a, -1], 'F.softmax(a, -1)'),
  F('norm', (x) => [x.a], 'torch.norm(a)'),
  F('norm', (x) => [x.a, 1, 1], 'torch.norm(a, 1, 1)'),
  F(
    'norm',
    (x) => [x.b3, { p: 'fro', dim: [1, 2], keepdim: true }],
    "torch.norm(b3, p='fro', dim=[1, 2], keepdim=True)",
  ),
  F('norm', (x) => [x.sq, 'nuc'], "torch.norm(sq, 'nuc')", { tol: 1e-5 }),
  F('norm', (x) => [x.a, Infinity, 0], "torch.norm(a, float('inf'), 0)"),
  F('pca_lowrank', (x) => [x.tall, { q: 3 }], 'torch.pca_lowrank(tall, q=3)', { seed: 11, tol: 1e-4, vectors: PCA }),
  F('pca_lowrank', (x) => [x.tall, 4, false, 3], 'torch.pca_lowrank(tall, 4, False, 3)', {
    seed: 12,
    tol: 1e-4,
    vectors: PCA,
  }),
  F('pca_lowrank', (x) => [x.m], 'torch.pca_lowrank(m)', {
    seed: 13,
    tol: 1e-4,
    vectors: PCA,
    check: pcaRebuilds('m'),
  }),
  // our {generator}: draws what torch.manual_seed(21) makes Python's pca_lowrank draw, whatever the default generator holds
  F(
    'pca_lowrank',
    (x) => [x.tall, { q: 3, generator: gen(21) }],
    '(torch.manual_seed(21), torch.pca_lowrank(tall, q=3))[1]',
    { tol: 1e-4, vectors: PCA },
  ),
  // methods without a torch.* function
  M('expand', (x) => x.col, [3, 4], 'col.expand(3, 4)'),
  M('expand', (x) => x.col, [[-1, 5]], 'col.expand([-1, 5])'),
  M('expand_as', (x) => x.row, [(x) => x.a], 'row.expand_as(a)'),
  M('repeat', (x) => x.a, [2, 1, 3], 'a.repeat(2, 1, 3)'),
  M('view_as', (x) => x.a, [(x) => x.m.narrow(1, 0, 3).t()], 'a.view_as(m[:, :3].t())'),
  M('reshape_as', (x) => x.a.t(), [(x) => x.a], 'a.t().reshape_as(a)'),
  M('type_as', (x) => x.ia, [(x) => x.a], 'ia.type_as(a)'),
  M('new_zeros', (x) => x.ia, [[2, 2]], 'ia.new_zeros([2, 2])'),
  M('new_ones', (x) => x.a, [2, 3, { dtype: 'float64' }], 'a.new_ones(2, 3, dtype=torch.float64)'),
  M('new_full', (x) => x.a, [[3], 2.5], 'a.new_full([3], 2.5)'),
  M('new_empty', (x) => x.a, [[2]], 'a.new_empty([2])', { shapeOnly: true }),
  M('unfold', (x) => x.a, [1, 2, 1], 'a.unfold(1, 2, 1)'),
  M('slice', (x) => x.a, [1, 1, null, 2], 'a[:, 1::2]'),
  M('slice', (x) => x.a, [0, -2], 'a[-2:]'),
  M('uniform_', (x) => x.a.clone(), [-1, 1, { generator: gen(9) }], 'a.clone().uniform_(-1, 1, generator=gen(9))'),
  M('normal_', (x) => x.a.clone(), [2, 0.5, { generator: gen(9) }], 'a.clone().normal_(2, 0.5, generator=gen(9))'),
  M('random_', (x) => x.ia.clone(), [0, 100, { generator: gen(9) }], 'ia.clone().random_(0, 100, generator=gen(9))'),
  M(
    'exponential_',
    (x) => x.a.clone(),
    [{ lambd: 2, generator: gen(9) }],
    'a.clone().exponential_(lambd=2, generator=gen(9))',
  ),
  M('zero_', (x) => x.a.clone(), [], 'a.clone().zero_()'),
  M('fill_diagonal_', (x) => x.sq.clone(), [5], 'sq.clone().fill_diagonal_(5)'),
  M(
    'index_put_',
    (x) => x.a.clone(),
    [(x) => [x.idx], (x) => x.a.new_zeros([])],
    'a.clone().index_put_([idx], torch.tensor(0.))',
  ),
  M('bernoulli_', (x) => x.a.clone(), [0.3, { generator: gen(6) }], 'a.clone().bernoulli_(0.3, generator=gen(6))'),
  M('norm', (x) => x.a, [3, 1], 'a.norm(3, 1)'),
  M('addmm', (x) => x.d3.select(0, 0), [(x) => x.a, (x) => x.m], 'd3[0].addmm(a, m)', { tol: 1e-5 }),
  M(
    'addmm_',
    (x) => x.d3.select(0, 0).clone(),
    [(x) => x.a, (x) => x.m, { alpha: 2 }],
    'd3[0].clone().addmm_(a, m, alpha=2)',
    { tol: 1e-5 },
  ),
  M('float_power_', (x) => x.pos.to('float64'), [3], 'pos.double().float_power_(3)'),
  M('true_divide_', (x) => x.a.clone(), [(x) => x.pos], 'a.clone().true_divide_(pos)'),
  M('nanmean', (x) => x.a.where(x.mask, NaN), [0], "a.where(mask, float('nan')).nanmean(0)"),
  M('nansum', (x) => x.a.where(x.mask, NaN), [], "a.where(mask, float('nan')).nansum()"),
  M('where', (x) => x.a, [(x) => x.mask, (x) => x.b], 'a.where(mask, b)'),
];

// Python: builds the inputs, evaluates every case (function, method and in-place forms), saves
// inputs.pt and expected.pt. Forms Python rejects are recorded as 'SKIP' and not checked in Node.
const PY = `
import json, sys, torch
import torch.nn.functional as F
torch.set_num_threads(1)
def gen(s):
    return torch.Generator().manual_seed(s)
${INPUTS}
names = json.loads(sys.argv[2])
inputs = {k: globals()[k] for k in names}
cases = json.loads(sys.stdin.read())
def plain(v):
    if isinstance(v, torch.Tensor):
        return v.contiguous().clone()
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    return v
def run(expr, seed):
    if seed is not None:
        torch.manual_seed(seed)
    return plain(eval(expr))
out = []
for case in cases:
    entry = {'f': run(case['py'], case.get('seed'))}
    for key in ('m', 'i'):
        expr = case.get(key)
        if expr is None:
            entry[key] = 'SKIP'
            continue
        try:
            entry[key] = run(expr, case.get('seed'))
        except Exception:
            entry[key] = 'SKIP'
    out.append(entry)
torch.save(inputs, sys.argv[1] + '/inputs.pt')
torch.save({'cases': out}, sys.argv[1] + '/expected.pt')
`;

/** Python's method and in-place forms of `torch.op(first, rest...)`, when `first` is a name. */
function derivedPython(py) {
  const m = /^torch\.(\w+)\(([a-z0-9]+)(?:, (.*))?\)$/.exec(py);
  if (!m) return {};
  const [, op, first, rest = ''] = m;
  return { m: `${first}.${op}(${rest})`, i: `${first}.clone().${op}_(${rest})` };
}

function resolve(path) {
  return path.split('.').reduce((o, k) => o[k], jepa);
}

function describeValue(v) {
  if (v instanceof jepa.Tensor) return `Tensor(${v.dtype}, [${v.shape}])`;
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  return JSON.stringify(v);
}

/** Compares Node's value with Python's; returns a message when they differ. */
function compare(actual, expected, opts, where = 'result') {
  if (expected instanceof jepa.Tensor) {
    if (!(actual instanceof jepa.Tensor)) return `${where}: expected a Tensor, got ${describeValue(actual)}`;
    if (actual.dtype !== expected.dtype) return `${where}: dtype ${actual.dtype}, Python ${expected.dtype}`;
    if (String(actual.shape) !== String(expected.shape))
      return `${where}: shape [${actual.shape}], Python [${expected.shape}]`;
    if (opts.shapeOnly) return null;
    const x = actual.contiguous().data();
    const y = expected.contiguous().data();
    const tol = opts.tol ?? 0;
    for (let i = 0; i < y.length; i++) {
      const p = x[i];
      const q = y[i];
      if (p === q || (Number.isNaN(p) && Number.isNaN(q))) continue;
      if (typeof p === 'number' && Math.abs(p - q) <= tol * Math.max(1, Math.abs(q))) continue;
      return `${where}: element ${i} is ${p}, Python ${q}`;
    }
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${where}: expected ${expected.length} values, got ${describeValue(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const r = compare(actual[i], expected[i], opts, `${where}[${i}]`);
      if (r) return r;
    }
    return null;
  }
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(actual - expected) <= (opts.tol ?? 0) * Math.max(1, Math.abs(expected))
      ? null
      : `${where}: ${actual}, Python ${expected}`;
  }
  return actual === expected ? null : `${where}: ${describeValue(actual)}, Python ${describeValue(expected)}`;
}

function generated() {
  const text = fs.readFileSync(path.join(ROOT, 'lib', 'tensor', 'namespaces.generated.ts'), 'utf8');
  const list = (key) =>
    [...new RegExp(`${key}: \\[([^\\]]*)\\]`).exec(text)[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
  return { functions: list('functions'), methods: list('methods'), linalg: list('linalg'), nn: list('nnFunctional') };
}

describe('ops: Node equals Python for every generated op', function () {
  this.timeout(300000);
  let dir;
  let x;
  let expected;
  let threads;
  const checked = { functions: new Set(), methods: new Set() };
  const failures = [];

  before(() => {
    threads = jepa.getNumThreads();
    jepa.setNumThreads(1);
    dir = tmpDir('ops-');
    const payload = CASES.map((c) => ({ py: c.py, seed: c.seed ?? null, ...(c.method ? {} : derivedPython(c.py)) }));
    runPython(PY, { input: JSON.stringify(payload), args: [dir, JSON.stringify(NAMES)] });
    x = jepa.loadSync(path.join(dir, 'inputs.pt'));
    expected = jepa.loadSync(path.join(dir, 'expected.pt')).cases;
  });
  after(() => {
    jepa.setNumThreads(threads);
    cleanup(dir);
  });

  it(`runs ${CASES.length} calls and their method and in-place forms`, () => {
    const g = generated();
    CASES.forEach((c, i) => {
      const label = `${c.method ? 'Tensor.' : ''}${c.op}: ${c.py}`;
      const run = (form, fn) => {
        if (c.seed !== undefined) jepa.manualSeed(c.seed);
        let actual;
        try {
          actual = fn();
        } catch (e) {
          failures.push(`${label} [${form}]: threw ${e.message}`);
          return false;
        }
        const want = expected[i][form === 'function' ? 'f' : form === 'method' ? 'm' : 'i'] ?? expected[i].f;
        const diff = compare(alignSigns(actual, want, c.vectors), want, c) ?? c.check?.(actual, x) ?? null;
        if (diff) failures.push(`${label} [${form}]: ${diff}`);
        return !diff;
      };
      if (c.method) {
        const args = () => c.args.map((a) => (typeof a === 'function' ? a(x) : a));
        if (run('function', () => c.self(x)[c.op](...args()))) checked.methods.add(c.op);
        return;
      }
      const fn = resolve(c.op);
      if (run('function', () => fn(...c.args(x)))) checked.functions.add(c.op);
      if (c.op.includes('.')) return;
      if (expected[i].m !== 'SKIP' && g.methods.includes(c.op) && c.args(x)[0] instanceof jepa.Tensor) {
        if (
          run('method', () => {
            const [self, ...rest] = c.args(x);
            return self[c.op](...rest);
          })
        )
          checked.methods.add(c.op);
      }
      if (expected[i].i !== 'SKIP' && g.methods.includes(`${c.op}_`) && c.args(x)[0] instanceof jepa.Tensor) {
        const inplace = () => {
          const [self, ...rest] = c.args(x);
          const target = self.clone();
          const result = target[`${c.op}_`](...rest);
          if (result !== target) throw new Error('the in-place form did not return its receiver');
          return result;
        };
        if (run('inplace', inplace)) checked.methods.add(`${c.op}_`);
      }
    });
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('covers every generated function, method and namespace member', () => {
    const g = generated();
    const missing = [
      ...g.functions.filter((n) => !checked.functions.has(n)),
      ...g.linalg.map((n) => `linalg.${n}`).filter((n) => !checked.functions.has(n)),
      ...g.nn.map((n) => `nn.functional.${n}`).filter((n) => !checked.functions.has(n)),
      ...g.methods.filter((n) => !checked.methods.has(n)).map((n) => `Tensor.${n}`),
    ];
    expect(missing, `not checked against Python: ${missing.join(', ')}`).to.deep.equal([]);
  });
});

describe('ops: overloads, arguments and errors as in Python', () => {
  const a = jepa.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);

  it('picks overloads as Python does', () => {
    expect(jepa.sum(a).shape).to.deep.equal([]);
    expect(jepa.sum(a, 1).shape).to.deep.equal([2]);
    const m = a.max(1);
    expect(Array.from(m.values.data())).to.deep.equal([3, 6]);
    expect(Array.from(m.indices.data())).to.deep.equal([2n, 2n]);
    expect(m[0]).to.equal(m.values);
    expect(a.max().item()).to.equal(6);
    expect(jepa.pow(2, jepa.tensor([1, 2])).data()).to.deep.equal(new Float32Array([2, 4]));
    expect(jepa.clamp(a, { min: 2 }).min().item()).to.equal(2);
    expect(a.view(3, 2).shape).to.deep.equal([3, 2]);
    expect(jepa.rand(2, 3).shape).to.deep.equal([2, 3]);
  });

  it('treats integral numbers as Python ints and jepa.float(x) as a float', () => {
    const i = jepa.tensor([1n, 2n]);
    expect(jepa.mul(i, 2).dtype).to.equal('int64');
    expect(jepa.mul(i, 2.5).dtype).to.equal('float32');
    expect(jepa.mul(i, jepa.float(2)).dtype).to.equal('float32');
  });

  it('returns the receiver from in-place forms and the given tensor from out=', () => {
    const t = a.clone();
    expect(t.add_(1)).to.equal(t);
    expect(t.data()[0]).to.equal(2);
    const out = jepa.empty([2, 3]);
    expect(jepa.add(a, 1, { out })).to.equal(out);
    expect(out.data()[5]).to.equal(7);
    const values = jepa.empty([0]);
    const indices = jepa.empty([0], { dtype: 'int64' });
    const r = jepa.max(a, 1, { out: [values, indices] });
    expect(r.values).to.equal(values);
    expect(Array.from(indices.data())).to.deep.equal([2n, 2n]);
  });

  it('names the op and the argument in JEPA_INVALID_ARGUMENT errors', () => {
    let e = thrown(() => jepa.add(a, 'x'));
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(e).to.be.instanceOf(TypeError);
    expect(e.message).to.match(/jepa\.add\(\): argument 'other' must be Tensor, not str/);
    e = thrown(() => a.max('x'));
    expect(e.code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(e.message).to.match(/Tensor\.max\(\) received an invalid combination of arguments - got \(str\)/);
    expect(e.message).to.match(/argument 'dim' must be int, not str/);
    expect(thrown(() => a.sum({ dims: 1 })).message).to.match(/no argument 'dims'/);
    expect(thrown(() => jepa.sum(a, 1, { dim: 0 })).message).to.match(/given twice/);
    expect(thrown(() => jepa.narrow(a, 1)).message).to.match(/argument 'start' is missing/);
    expect(thrown(() => jepa.softmax(a, 1, { dtype: 'float' })).message).to.match(/'dtype' must be dtype\?, not str/);
    expect(thrown(() => jepa.cat([a, 1])).message).to.match(/'tensors' must be Tensor\[\]/);
    expect(thrown(() => jepa.rand([2], { generator: {} })).message).to.match(/generator/);
  });

  it("turns libtorch's errors into JEPA_TORCH_ERROR with libtorch's message", () => {
    let e = thrown(() => jepa.add(a, jepa.ones([4])));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message).to.equal(
      'The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1',
    );
    e = thrown(() => jepa.mm(a, a));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message).to.match(/mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
    e = thrown(() => a.select(0, 5));
    expect(e.code).to.equal('JEPA_TORCH_ERROR');
    expect(e.message).to.match(/index 5 out of range/);
    const d = jepa.ones([2]);
    d.dispose();
    expect(thrown(() => d.add(1)).code).to.equal('JEPA_DISPOSED');
  });

  it('indexes as Python does: ints, slices, None, Ellipsis, booleans, long and bool tensors; and assigns', () => {
    const t = jepa.arange(24).reshape(2, 3, 4);
    const py = JSON.parse(
      runPython(`
import json, torch
t = torch.arange(24).reshape(2, 3, 4)
m = t[0] > 5
r = [t[1], t[0, 1:], t[:, None, ::2], t[..., -1], t[True], t[1, torch.tensor([2, 0])], t[0][m], t[:, [0, 2], 1:3:2]]
u = t.clone(); u[0, :, 1] = -1; u[u > 20] = 0
r.append(u)
print(json.dumps([[list(x.shape), x.flatten().tolist()] for x in r]))
`),
    );
    const m = t.index(0).gt(5);
    const long = jepa.tensor([2n, 0n]);
    const got = [
      t.index(1),
      t.index([0, jepa.slice(1, null)]),
      t.index([jepa.slice(), null, jepa.slice(null, null, 2)]),
      t.index(['...', -1]),
      t.index([true]),
      t.index([1, long]),
      t.index(0).index([m]),
      t.index([jepa.slice(), jepa.tensor([0n, 2n]), jepa.slice(1, 3, 2)]),
    ];
    const u = t.clone();
    u.indexPut_([0, jepa.slice(), 1], -1);
    u.indexPut_([u.gt(20)], 0);
    got.push(u);
    got.forEach((g, i) => {
      expect(g.shape, `item ${i}`).to.deep.equal(py[i][0]);
      expect(Array.from(g.contiguous().data(), Number), `item ${i}`).to.deep.equal(py[i][1]);
    });
    expect(t.index([0, 1]).sharesStorage(t)).to.equal(true); // basic indexing gives views
    expect(thrown(() => t.index([{}])).code).to.equal('JEPA_INVALID_ARGUMENT');
    expect(thrown(() => t.index([5])).code).to.equal('JEPA_TORCH_ERROR');
  });

  it('draws what Python draws from a seeded Generator, and continues its stream', () => {
    const py = JSON.parse(
      runPython(`
import json, torch
g = torch.Generator().manual_seed(42)
a = torch.rand(3, generator=g).tolist(); b = torch.randperm(6, generator=g).tolist(); s = g.get_state()
c = torch.randint(0, 100, (4,), generator=g).tolist()
print(json.dumps([a, b, c, g.initial_seed(), torch.Generator().initial_seed()]))
`),
    );
    const g = new jepa.Generator().manualSeed(42);
    expect(Array.from(jepa.rand([3], { generator: g }).data())).to.deep.equal(py[0].map(Math.fround));
    expect(Array.from(jepa.randperm(6, { generator: g }).data(), Number)).to.deep.equal(py[1]);
    const state = g.getState();
    const c = Array.from(jepa.randint(0, 100, [4], { generator: g }).data(), Number);
    expect(c).to.deep.equal(py[2]);
    g.setState(state);
    expect(Array.from(jepa.randint(0, 100, [4], { generator: g }).data(), Number)).to.deep.equal(py[2]);
    expect(g.initialSeed()).to.equal(BigInt(py[3]));
    expect(new jepa.Generator().initialSeed()).to.equal(BigInt(py[4]));
    expect(thrown(() => g.manualSeed(-1)).code).to.equal('JEPA_INVALID_ARGUMENT');
  });
});

describe('ops: generated files', () => {
  it('are up to date with the schema of the pinned torch (scripts/dev/gen-ops.py --check)', function () {
    this.timeout(120000);
    // The files are made from the torch the set-up pins; another test Python (the GPU machine's
    // CUDA torch) has another schema, against which they are not meant to be current.
    const { PINNED_TORCH } = createRequire(import.meta.url)(path.join(ROOT, 'scripts', 'install', 'find-libtorch.js'));
    const r = spawnSync(pythonPath(), [path.join(ROOT, 'scripts', 'dev', 'gen-ops.py'), '--check'], {
      encoding: 'utf8',
    });
    const version = /torch ([^\s):]+)/.exec(r.stdout + r.stderr)?.[1];
    if (version !== undefined && version.split('+')[0] !== PINNED_TORCH.split('+')[0]) {
      console.log(
        `      not compared: the test Python has torch ${version}, the files follow the pinned ${PINNED_TORCH}`,
      );
      this.skip();
    }
    expect(r.status, r.stderr + r.stdout).to.equal(0);
  });
});
