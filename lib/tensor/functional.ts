/**
 * The few PyTorch functions that are Python code in torch rather than ATen operators, written
 * here step for step as torch writes them, on top of the generated ops:
 *
 * - `norm` (torch/functional.py `norm`, and `Tensor.norm`): through linalg.vector_norm /
 *   matrix_norm, as torch does for strided CPU/CUDA tensors;
 * - `nn.functional.normalize` and `nn.functional.interpolate` (torch/nn/functional.py);
 * - `pca_lowrank` (torch/_lowrank.py, the dense path: get_approximate_basis and _svd_lowrank).
 *
 * Each was checked against torch 2.13's source and is compared with it by test/ops.test.mjs.
 * @module
 */
import { invalidArgument } from '../core/errors';
import type { Dtype } from '../core/dtype';
import type { NativeTensor } from '../core/native-types';
import { randn, Tensor, tensorHandle, wrap } from './tensor';
import { show } from '../core/validate';
import { Generator, generatorHandle } from './generator';
import { tidy } from './memory';
import { callAten } from './ops';
import { linalgOps } from './namespaces.generated';
import { matmul, mean, sub } from './ops.generated';

function h(t: Tensor, name: string): NativeTensor {
  const handle = tensorHandle(t);
  if (handle === undefined) throw invalidArgument(`expected \`${name}\` to be a Tensor, got ${show(t)}`);
  return handle;
}

function checkOptions<T extends object>(options: unknown, keys: string[], fn: string): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(`${fn}(): expected the options to be an object, got ${show(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!keys.includes(k)) throw invalidArgument(`${fn}(): unknown option \`${k}\` (expected ${keys.join(', ')})`);
  }
  return options as Partial<T>;
}

/** Options of {@link norm}. */
export interface NormOptions {
  /** The order: a number (2 by default through `'fro'`), `Infinity`, `-Infinity`, `'fro'` or `'nuc'`. */
  p?: number | 'fro' | 'nuc' | null;
  /** Dimensions to reduce (all by default). */
  dim?: number | number[] | null;
  /** Keep the reduced dimensions with size 1. */
  keepdim?: boolean;
  /** Compute in this dtype. */
  dtype?: Dtype | null;
}

/**
 * `torch.norm(input, p='fro', dim=None, keepdim=False, dtype=None)`: the vector p-norm over `dim`
 * (all elements by default); `'fro'` is the 2-norm over at most two dimensions and `'nuc'` the
 * nuclear norm. As torch does, this calls `linalg.vector_norm` (or `linalg.matrix_norm` for
 * `'nuc'`, and `'fro'` over more than two dimensions). Positional form: `norm(input, p, dim,
 * keepdim)`; or `norm(input, {p, dim, keepdim, dtype})`.
 */
export function norm(
  input: Tensor,
  p?: number | 'fro' | 'nuc' | null | NormOptions,
  dim?: number | number[] | null,
  keepdim?: boolean,
  options?: { dtype?: Dtype | null },
): Tensor {
  let o: NormOptions;
  if (p !== null && typeof p === 'object') {
    o = checkOptions<NormOptions>(p, ['p', 'dim', 'keepdim', 'dtype'], 'norm');
  } else {
    o = { p, dim, keepdim, ...checkOptions<NormOptions>(options, ['dtype'], 'norm') };
  }
  const order = o.p === undefined ? 'fro' : o.p;
  const d = o.dim === undefined ? null : o.dim;
  const keep = o.keepdim ?? false;
  const dtype = o.dtype ?? null;
  if (typeof order === 'string') {
    if (order === 'fro' && (d === null || typeof d === 'number' || d.length <= 2)) {
      return linalgOps.vector_norm(input, 2, d, keep, { dtype });
    }
    const dims = d === null ? [...Array(input.ndim).keys()] : d;
    return linalgOps.matrix_norm(input, order, dims as number[], keep, { dtype });
  }
  return linalgOps.vector_norm(input, order === null ? 2.0 : order, d, keep, { dtype });
}

declare module './tensor' {
  interface Tensor {
    /** `Tensor.norm(p='fro', dim=None, keepdim=False, dtype=None)`: {@link norm} of this tensor. */
    norm(
      p?: number | 'fro' | 'nuc' | null | NormOptions,
      dim?: number | number[] | null,
      keepdim?: boolean,
      options?: { dtype?: Dtype | null },
    ): Tensor;
  }
}

Object.defineProperty(Tensor.prototype, 'norm', {
  value: function (this: Tensor, ...args: Parameters<Tensor['norm']>): Tensor {
    return norm(this, ...args);
  },
  writable: true,
  configurable: true,
});

/** Options of `nn.functional.normalize`. */
export interface NormalizeOptions {
  /** The norm's order (2 by default). */
  p?: number;
  /** The dimension to normalise along (1 by default). */
  dim?: number;
  /** Lower bound of the divisor (1e-12 by default). */
  eps?: number;
}

/**
 * `torch.nn.functional.normalize(input, p=2.0, dim=1, eps=1e-12)`: `input / max(‖input‖_p, eps)`
 * along `dim`, computed as torch does (`input.norm(p, dim, keepdim=True).clamp_min(eps)
 * .expand_as(input)`, then a division).
 */
export function normalize(input: Tensor, options?: NormalizeOptions): Tensor;
export function normalize(input: Tensor, p?: number, dim?: number, eps?: number): Tensor;
export function normalize(input: Tensor, p?: number | NormalizeOptions, dim?: number, eps?: number): Tensor {
  const o =
    typeof p === 'object' ? checkOptions<NormalizeOptions>(p, ['p', 'dim', 'eps'], 'normalize') : { p, dim, eps };
  h(input, 'input');
  return tidy(() => {
    const denom = norm(input, o.p ?? 2.0, o.dim ?? 1, true)
      .clamp_min(o.eps ?? 1e-12)
      .expand_as(input);
    return input.div(denom);
  });
}

/** Options of `nn.functional.interpolate`. */
export interface InterpolateOptions {
  /** Output spatial size (one number for every spatial dimension, or one per dimension). */
  size?: number | number[] | null;
  /** Multiplier of the spatial size (one number, or one per dimension). */
  scale_factor?: number | number[] | null;
  /** `'nearest'` (default), `'nearest-exact'`, `'linear'`, `'bilinear'`, `'bicubic'`, `'trilinear'` or `'area'`. */
  mode?: 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' | 'area';
  /** For the interpolating modes: align the corner pixels (false by default). */
  align_corners?: boolean | null;
  /** Compute the output size from `scale_factor` and pass that size (not the factor) to the kernel. */
  recompute_scale_factor?: boolean | null;
  /** Anti-aliasing for `'bilinear'` and `'bicubic'` downsampling of 4-D input. */
  antialias?: boolean;
}

const INTERPOLATE_MODES = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'];

/**
 * `torch.nn.functional.interpolate`: resizes the spatial dimensions of a 3-D (N, C, L), 4-D
 * (N, C, H, W) or 5-D (N, C, D, H, W) tensor, with exactly one of `size` and `scale_factor`.
 * Follows torch/nn/functional.py: the same validation, the same output-size computation
 * (`floor(size * scale)` when the scale is recomputed, and always for `'area'`), and the same ATen
 * kernel per mode and rank (upsample_nearest*, _upsample_nearest_exact*, upsample_linear1d,
 * upsample_bilinear2d, _upsample_bilinear2d_aa, upsample_bicubic2d, _upsample_bicubic2d_aa,
 * upsample_trilinear3d, adaptive_avg_pool*).
 */
export function interpolate(input: Tensor, options: InterpolateOptions): Tensor {
  const o = checkOptions<InterpolateOptions>(
    options,
    ['size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor', 'antialias'],
    'interpolate',
  );
  const self = h(input, 'input');
  const mode = o.mode ?? 'nearest';
  if (!INTERPOLATE_MODES.includes(mode)) {
    throw invalidArgument(
      `interpolate(): expected \`mode\` to be one of ${INTERPOLATE_MODES.join(', ')}, got ${show(mode)}`,
    );
  }
  let alignCorners = o.align_corners ?? null;
  if (mode === 'nearest' || mode === 'area' || mode === 'nearest-exact') {
    if (alignCorners !== null) {
      throw invalidArgument(
        'interpolate(): align_corners can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear',
      );
    }
  } else if (alignCorners === null) {
    alignCorners = false;
  }
  const shape = input.shape;
  const dim = shape.length - 2;
  const size = o.size ?? null;
  const scale = o.scale_factor ?? null;
  let outputSize: number[] | null = null;
  let scaleFactors: number[] | null = null;
  if (size !== null && scale !== null)
    throw invalidArgument('interpolate(): only one of size or scale_factor should be defined');
  if (size !== null) {
    if (Array.isArray(size)) {
      if (size.length !== dim) {
        throw invalidArgument(
          `interpolate(): input and output must have the same number of spatial dimensions, but got input with spatial dimensions of ${show(shape.slice(2))} and output size of ${show(size)}`,
        );
      }
      if (!size.every((x) => Number.isInteger(x)))
        throw invalidArgument(`interpolate(): expected \`size\` to be integers, got ${show(size)}`);
      outputSize = size;
    } else {
      if (!Number.isInteger(size))
        throw invalidArgument(`interpolate(): expected \`size\` to be an integer, got ${show(size)}`);
      outputSize = Array<number>(dim).fill(size);
    }
  } else if (scale !== null) {
    if (Array.isArray(scale)) {
      if (scale.length !== dim) {
        throw invalidArgument(
          `interpolate(): input and scale_factor must have the same number of spatial dimensions, but got input with spatial dimensions of ${show(shape.slice(2))} and scale_factor of shape ${show(scale)}`,
        );
      }
      scaleFactors = scale;
    } else {
      scaleFactors = Array<number>(dim).fill(scale);
    }
    if (!scaleFactors.every((x) => typeof x === 'number'))
      throw invalidArgument(`interpolate(): expected \`scale_factor\` to be numbers, got ${show(scale)}`);
  } else {
    throw invalidArgument('interpolate(): either size or scale_factor should be defined');
  }
  let recompute = o.recompute_scale_factor ?? null;
  if (recompute === true && size !== null)
    throw invalidArgument('interpolate(): recompute_scale_factor is not meaningful with an explicit size');
  if (mode === 'area' && outputSize === null) recompute = true;
  if (recompute === true) {
    // Python: output_size = [sym_int(input.size(i + 2) * scale_factors[i])], then scale_factors = None
    outputSize = scaleFactors!.map((s, i) => Math.trunc(shape[i + 2] * s));
    scaleFactors = null;
  }
  const antialias = o.antialias ?? false;
  if (antialias && !((mode === 'bilinear' || mode === 'bicubic') && dim === 2)) {
    throw invalidArgument(
      'interpolate(): the anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor as input',
    );
  }
  const call = (op: string, ...rest: unknown[]): Tensor => wrap(callAten(op, [self, ...rest]) as NativeTensor);
  const rank = `${dim}d`;
  if (dim >= 1 && dim <= 3) {
    if (mode === 'nearest') return call(`aten::upsample_nearest${rank}.vec`, outputSize, scaleFactors);
    if (mode === 'nearest-exact') return call(`aten::_upsample_nearest_exact${rank}.vec`, outputSize, scaleFactors);
    if (mode === 'area') {
      return dim === 1
        ? call('aten::adaptive_avg_pool1d', outputSize)
        : call(`aten::adaptive_avg_pool${rank}`, outputSize);
    }
    if (dim === 1 && mode === 'linear')
      return call('aten::upsample_linear1d.vec', outputSize, alignCorners, scaleFactors);
    if (dim === 2 && mode === 'bilinear') {
      return call(
        antialias ? 'aten::_upsample_bilinear2d_aa.vec' : 'aten::upsample_bilinear2d.vec',
        outputSize,
        alignCorners,
        scaleFactors,
      );
    }
    if (dim === 3 && mode === 'trilinear')
      return call('aten::upsample_trilinear3d.vec', outputSize, alignCorners, scaleFactors);
    if (dim === 2 && mode === 'bicubic') {
      return call(
        antialias ? 'aten::_upsample_bicubic2d_aa.vec' : 'aten::upsample_bicubic2d.vec',
        outputSize,
        alignCorners,
        scaleFactors,
      );
    }
    const needs = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 }[mode as 'linear'];
    throw invalidArgument(`interpolate(): got ${dim + 2}D input, but ${mode} mode needs ${needs}D input`);
  }
  throw invalidArgument(
    `interpolate(): only 3D, 4D and 5D input tensors are supported (got ${dim + 2}D) for the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got ${mode})`,
  );
}

/** Options of {@link pca_lowrank}. */
export interface PcaLowrankOptions {
  /** Rank of the approximation (`min(6, m, n)` by default). */
  q?: number | null;
  /** Subtract the column means first (true by default). */
  center?: boolean;
  /** Subspace iterations (2 by default). */
  niter?: number;
  /**
   * Generator of the random projection. Without it the default generator is used, as Python's
   * pca_lowrank does: after `jepa.manualSeed(s)` the result equals Python's after
   * `torch.manual_seed(s)`.
   */
  generator?: Generator | null;
}

function floatingDtype(dtype: Dtype): Dtype {
  return dtype === 'float16' || dtype === 'float32' || dtype === 'float64' ? dtype : 'float32';
}

/** `A.mH` of a real tensor: the last two dimensions swapped. */
function mH(t: Tensor): Tensor {
  return t.transpose(-2, -1);
}

/**
 * `torch.pca_lowrank(A, q=None, center=True, niter=2)`: a randomised PCA of the matrix (or batch
 * of matrices) `A`, returning `[U, S, V]` with `A ≈ U diag(S) Vᵀ` after centring. The dense path
 * of torch/_lowrank.py step for step (Halko et al. 2009, algorithm 5.1): the same random
 * projection (`randn(n, q)` from the generator), QR subspace iterations and final SVD, so the
 * result equals Python's for the same generator state.
 */
export function pca_lowrank(A: Tensor, options?: PcaLowrankOptions): [Tensor, Tensor, Tensor];
export function pca_lowrank(A: Tensor, q?: number | null, center?: boolean, niter?: number): [Tensor, Tensor, Tensor];
export function pca_lowrank(
  A: Tensor,
  q?: number | null | PcaLowrankOptions,
  center?: boolean,
  niter?: number,
): [Tensor, Tensor, Tensor] {
  const o =
    q !== null && typeof q === 'object'
      ? checkOptions<PcaLowrankOptions>(q, ['q', 'center', 'niter', 'generator'], 'pca_lowrank')
      : { q, center, niter };
  h(A, 'A');
  const shape = A.shape;
  if (shape.length < 2)
    throw invalidArgument(`pca_lowrank(): expected \`A\` to have at least 2 dimensions, got shape ${show(shape)}`);
  const [m, n] = shape.slice(-2);
  let rank = o.q ?? null;
  if (rank === null) rank = Math.min(6, m, n);
  else if (!(Number.isInteger(rank) && rank >= 0 && rank <= Math.min(m, n))) {
    throw invalidArgument(
      `pca_lowrank(): q(=${rank}) must be non-negative integer and not greater than min(m, n)=${Math.min(m, n)}`,
    );
  }
  const iterations = o.niter ?? 2;
  if (!(Number.isInteger(iterations) && iterations >= 0))
    throw invalidArgument(`pca_lowrank(): niter(=${iterations}) must be non-negative integer`);
  const generator = o.generator ?? null;
  if (generator !== null && generatorHandle(generator) === undefined) {
    throw invalidArgument(`pca_lowrank(): expected \`generator\` to be a jepa.Generator, got ${show(generator)}`);
  }
  const qRank = rank;
  return tidy(() => {
    const centred = (o.center ?? true) ? sub(A, mean(A, [-2], true)) : A;
    return svdLowrank(centred, qRank, iterations, generator);
  });
}

function svdLowrank(A: Tensor, q: number, niter: number, generator: Generator | null): [Tensor, Tensor, Tensor] {
  const [m, n] = A.shape.slice(-2);
  const tall = m < n ? mH(A) : A;
  const Q = approximateBasis(tall, q, niter, generator);
  const B = matmul(mH(Q), tall);
  const [U0, S, Vh] = linalgOps.svd(B, { full_matrices: false });
  const V = mH(Vh);
  const U = Q.matmul(U0);
  return m < n ? [V, S, U] : [U, S, V];
}

function approximateBasis(A: Tensor, q: number, niter: number, generator: Generator | null): Tensor {
  const dtype = floatingDtype(A.dtype);
  const n = A.shape[A.ndim - 1];
  const R =
    generator === null
      ? randn([n, q], { dtype, device: A.device as 'cpu' })
      : wrap(
          callAten('aten::randn.generator', [
            [n, q],
            generatorHandle(generator),
            dtype,
            null,
            A.device,
          ]) as NativeTensor,
        );
  let Q = linalgOps.qr(matmul(A, R))[0];
  for (let i = 0; i < niter; i++) {
    Q = linalgOps.qr(matmul(mH(A), Q))[0];
    Q = linalgOps.qr(matmul(A, Q))[0];
  }
  return Q;
}
