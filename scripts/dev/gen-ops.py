#!/usr/bin/env python3
"""Generates jepa-native's PyTorch ops from libtorch's own operator schema.

Reads `native_functions.yaml` as the torch wheel ships it (torchgen/packaged/ATen/native) with
torchgen, the code PyTorch builds its Python bindings with, and asks torchgen for what Python
users call: each name's Python signatures in the order Python's argument parser tries them
(`torch.max(t)`, `torch.max(t, other)`, `torch.max(t, dim)`), with Python's argument names,
keyword-only arguments, defaults and `out=` forms. For every op listed below it writes

  lib/tensor/ops.generated.ts   functions on `jepa` and methods on `Tensor`: typed overloads
                                with TSDoc, and the data the runtime (lib/tensor/ops.ts)
                                resolves calls with
  lib/tensor/namespaces.generated.ts   the members of `jepa.linalg` and `jepa.nn.functional`
  docs/tensors.md               the op list, between the `ops:begin` / `ops:end` markers

Run it with the test Python (torch installed): `npm run gen:ops`, or
`.venv/bin/python scripts/dev/gen-ops.py [--check]`. `--check` writes nothing and fails when the
committed files differ from what it would write (test/ops.test.mjs runs it).

The one-line descriptions below are ours; the signatures, defaults and overload order come from
torchgen. Ops that are Python code in torch rather than ATen operators (torch.norm,
nn.functional.normalize / interpolate, torch.pca_lowrank) are written by hand in
lib/tensor/functional.ts; HANDWRITTEN lists them for the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

import torch
import torchgen
from torchgen.api.python import PythonSignatureDeprecated, signature as python_signature, structseq_fieldnames
from torchgen.gen import parse_native_yaml
from torchgen.model import BaseTy, BaseType, ListType, OptionalType, SchemaKind, Variant
from torchgen.packaged.autograd import gen_python_functions as gpf

# The schema's version: the same for the CPU and CUDA wheels of a release.
TORCH_VERSION = torch.__version__.split('+')[0]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TS_OUT = os.path.join(ROOT, 'lib', 'tensor', 'ops.generated.ts')
NS_OUT = os.path.join(ROOT, 'lib', 'tensor', 'namespaces.generated.ts')
DOC_OUT = os.path.join(ROOT, 'docs', 'tensors.md')

# ---------------------------------------------------------------------------------------------
# What jepa exposes. (python name, one line of our own). Functions are `jepa.<name>`; those that
# Python also has as Tensor methods become methods too, with their in-place `_` forms.

TORCH = [
    # arithmetic
    ('add', 'Adds `other`, multiplied by `alpha`, to `input`.'),
    ('sub', 'Subtracts `other`, multiplied by `alpha`, from `input`.'),
    ('mul', 'Multiplies elementwise.'),
    ('div', 'Divides elementwise; `rounding_mode` `\'trunc\'` or `\'floor\'` rounds the quotient.'),
    ('true_divide', 'Divides elementwise, always in floating point (`div` without rounding).'),
    ('floor_divide', 'Divides elementwise and rounds the quotient down.'),
    ('remainder', 'Python\'s modulus: the remainder has the sign of the divisor.'),
    ('fmod', 'C\'s modulus: the remainder has the sign of the dividend.'),
    ('neg', 'Negates each element.'),
    ('abs', 'Absolute value of each element.'),
    ('pow', 'Raises `input` to `exponent` elementwise (either may be a number).'),
    ('float_power', 'Power computed in float64.'),
    ('sqrt', 'Square root of each element.'),
    ('rsqrt', 'Reciprocal of the square root of each element.'),
    ('square', 'Square of each element.'),
    ('reciprocal', 'Reciprocal (1 / x) of each element.'),
    ('exp', 'e raised to each element.'),
    ('exp2', '2 raised to each element.'),
    ('expm1', '`exp(x) - 1`, accurate near 0.'),
    ('log', 'Natural logarithm of each element.'),
    ('log2', 'Base-2 logarithm of each element.'),
    ('log10', 'Base-10 logarithm of each element.'),
    ('log1p', '`log(1 + x)`, accurate near 0.'),
    ('sign', 'Sign of each element (-1, 0 or 1).'),
    ('floor', 'Rounds down.'),
    ('ceil', 'Rounds up.'),
    ('round', 'Rounds half to even, to `decimals` decimal places.'),
    ('trunc', 'Rounds toward zero.'),
    ('frac', 'Fractional part (x - trunc(x)).'),
    ('clamp', 'Limits each element to [`min`, `max`] (numbers or tensors; either may be omitted).'),
    ('clip', 'Alias of `clamp`.'),
    ('clamp_min', 'Limits each element from below.'),
    ('clamp_max', 'Limits each element from above.'),
    ('maximum', 'Elementwise maximum of two tensors.'),
    ('minimum', 'Elementwise minimum of two tensors.'),
    ('lerp', 'Linear interpolation `input + weight * (end - input)`.'),
    ('addcmul', '`input + value * tensor1 * tensor2`.'),
    ('addcdiv', '`input + value * tensor1 / tensor2`.'),
    ('hypot', 'Elementwise `sqrt(input² + other²)`.'),
    ('logaddexp', '`log(exp(input) + exp(other))`, computed stably.'),
    ('xlogy', '`input * log(other)`, 0 where `input` is 0.'),
    ('nan_to_num', 'Replaces NaN, +inf and -inf by finite numbers.'),
    ('sin', 'Sine.'),
    ('cos', 'Cosine.'),
    ('tan', 'Tangent.'),
    ('asin', 'Arcsine.'),
    ('acos', 'Arccosine.'),
    ('atan', 'Arctangent.'),
    ('atan2', 'Arctangent of `input / other` with the quadrant of the signs.'),
    ('sinh', 'Hyperbolic sine.'),
    ('cosh', 'Hyperbolic cosine.'),
    ('tanh', 'Hyperbolic tangent.'),
    ('sigmoid', 'Logistic function 1 / (1 + exp(-x)).'),
    ('logit', 'Inverse of the sigmoid, `log(p / (1 - p))`, optionally clamped by `eps`.'),
    ('erf', 'Gauss error function.'),
    ('erfinv', 'Inverse error function.'),
    ('relu', 'max(x, 0).'),
    # comparison and logic
    ('eq', 'Elementwise `==` (a bool tensor).'),
    ('ne', 'Elementwise `!=`.'),
    ('lt', 'Elementwise `<`.'),
    ('le', 'Elementwise `<=`.'),
    ('gt', 'Elementwise `>`.'),
    ('ge', 'Elementwise `>=`.'),
    ('equal', 'Whether both tensors have the same shape and elements (a boolean).'),
    ('isclose', 'Elementwise closeness within `rtol` and `atol`.'),
    ('allclose', 'Whether all elements are close within `rtol` and `atol` (a boolean).'),
    ('isnan', 'Whether each element is NaN.'),
    ('isinf', 'Whether each element is infinite.'),
    ('isfinite', 'Whether each element is finite.'),
    ('logical_and', 'Elementwise logical AND.'),
    ('logical_or', 'Elementwise logical OR.'),
    ('logical_xor', 'Elementwise logical XOR.'),
    ('logical_not', 'Elementwise logical NOT.'),
    ('where', 'Elements of `input` where `condition` holds, else of `other`; `where(condition)` gives the indices of its nonzero elements.'),
    # reductions
    ('sum', 'Sum of all elements, or over `dim`.'),
    ('nansum', 'Sum treating NaN as 0.'),
    ('mean', 'Mean of all elements, or over `dim`.'),
    ('nanmean', 'Mean ignoring NaN.'),
    ('prod', 'Product of all elements, or over `dim`.'),
    ('std', 'Standard deviation (Bessel-corrected unless `correction`/`unbiased` say otherwise).'),
    ('var', 'Variance (Bessel-corrected unless `correction`/`unbiased` say otherwise).'),
    ('std_mean', 'Standard deviation and mean in one pass.'),
    ('var_mean', 'Variance and mean in one pass.'),
    ('max', 'Largest element; with `dim`, values and indices along it; with a tensor, the elementwise maximum.'),
    ('min', 'Smallest element; with `dim`, values and indices along it; with a tensor, the elementwise minimum.'),
    ('amax', 'Largest values over `dim` (no indices).'),
    ('amin', 'Smallest values over `dim` (no indices).'),
    ('aminmax', 'Smallest and largest values (`{min, max}`).'),
    ('argmax', 'Index of the largest element, flattened or along `dim`.'),
    ('argmin', 'Index of the smallest element, flattened or along `dim`.'),
    ('topk', 'The `k` largest (or smallest) elements along `dim`, with their indices.'),
    ('sort', 'Sorts along `dim`; values and indices.'),
    ('argsort', 'Indices that sort along `dim`.'),
    ('kthvalue', 'The `k`-th smallest element along `dim`, with its index.'),
    ('median', 'Median (the lower of the two middle values), or along `dim` with indices.'),
    ('mode', 'Most frequent value along `dim`, with its index.'),
    ('cumsum', 'Cumulative sum along `dim`.'),
    ('cumprod', 'Cumulative product along `dim`.'),
    ('cummax', 'Cumulative maximum along `dim`, with indices.'),
    ('cummin', 'Cumulative minimum along `dim`, with indices.'),
    ('logsumexp', '`log(sum(exp(x)))` over `dim`, computed stably.'),
    ('all', 'Whether all elements (or all along `dim`) are true.'),
    ('any', 'Whether any element (or any along `dim`) is true.'),
    ('count_nonzero', 'Number of nonzero elements, in total or over `dim`.'),
    ('dist', 'p-norm of `input - other`.'),
    ('trace', 'Sum of the main diagonal of a matrix.'),
    ('bincount', 'Counts of each value of a 1-D non-negative int tensor, optionally weighted.'),
    ('histc', 'Histogram with `bins` equal-width bins between `min` and `max`.'),
    # indexing
    ('select', 'The slice at `index` along `dim`, without that dimension (a view).'),
    ('narrow', 'Elements `start` to `start + length` along `dim` (a view).'),
    ('index_select', 'Entries at the positions of the int tensor `index` along `dim`.'),
    ('gather', 'Values along `dim` at the positions of `index` (same rank as `input`).'),
    ('take_along_dim', 'Values at `indices` along `dim` (as numpy\'s take_along_axis).'),
    ('scatter', 'A copy with values from `src` (or `value`) written at `index` along `dim`; `reduce` combines them.'),
    ('scatter_add', 'A copy with `src` added at `index` along `dim`.'),
    ('index_add', 'A copy with `source` (times `alpha`) added at `index` along `dim`.'),
    ('index_copy', 'A copy with `source` written at `index` along `dim`.'),
    ('index_fill', 'A copy with `value` written at `index` along `dim`.'),
    ('masked_select', 'The elements where the bool `mask` is true, as a 1-D tensor.'),
    ('masked_fill', 'A copy with `value` where the bool `mask` is true.'),
    ('argwhere', 'Indices of the nonzero elements, one row per element.'),
    ('index_put_', 'Writes `values` at the index tensors `indices` in place (`accumulate` adds).'),
    ('searchsorted', 'Where to insert values into sorted `sorted_sequence` to keep it sorted.'),
    ('bucketize', 'Which bucket of `boundaries` each element falls in.'),
    # shape
    ('cat', 'Joins tensors along an existing dimension.'),
    ('concat', 'Alias of `cat`.'),
    ('stack', 'Joins tensors along a new dimension.'),
    ('hstack', 'Joins tensors column-wise (along dim 1, or 0 for 1-D tensors).'),
    ('vstack', 'Joins tensors row-wise (along dim 0 after making them at least 2-D).'),
    ('split', 'Splits into chunks of `split_size` elements along `dim`, or of the given sizes (views).'),
    ('chunk', 'Splits into `chunks` nearly equal pieces along `dim` (views).'),
    ('tensor_split', 'Splits into `sections` pieces, or at `indices`, along `dim` (views).'),
    ('unbind', 'The slices along `dim`, without that dimension (views).'),
    ('squeeze', 'Removes dimensions of size 1 (all, or those in `dim`).'),
    ('unsqueeze', 'Inserts a dimension of size 1 at `dim`.'),
    ('flatten', 'Flattens dimensions `start_dim` to `end_dim` into one.'),
    ('unflatten', 'Expands dimension `dim` into `sizes`.'),
    ('reshape', 'The same elements with another shape (a view when possible).'),
    ('permute', 'Reorders the dimensions (a view).'),
    ('transpose', 'Swaps two dimensions (a view).'),
    ('swapaxes', 'Alias of `transpose`.'),
    ('movedim', 'Moves dimensions to new positions (a view).'),
    ('t', 'Transposes a matrix (a view; 0-D and 1-D tensors are returned as they are).'),
    ('broadcast_to', 'Broadcasts to `size` (a view).'),
    ('repeat_interleave', 'Repeats each element `repeats` times (along `dim`).'),
    ('tile', 'Repeats the whole tensor along each dimension.'),
    ('flip', 'Reverses the order along `dims`.'),
    ('roll', 'Rolls elements along `dims` by `shifts`, wrapping around.'),
    ('diagonal', 'A diagonal as a view.'),
    ('diag', 'The diagonal of a matrix, or a matrix with the vector on its diagonal.'),
    ('tril', 'Lower triangle of a matrix (the rest zeroed).'),
    ('triu', 'Upper triangle of a matrix (the rest zeroed).'),
    ('clone', 'A copy with its own memory.'),
    # linear algebra
    ('matmul', 'Matrix product with broadcasting over batch dimensions.'),
    ('mm', 'Product of two matrices.'),
    ('bmm', 'Batched product of two 3-D tensors.'),
    ('mv', 'Matrix-vector product.'),
    ('dot', 'Dot product of two 1-D tensors.'),
    ('outer', 'Outer product of two vectors.'),
    ('addmm', '`beta * input + alpha * (mat1 @ mat2)`.'),
    ('baddbmm', '`beta * input + alpha * (batch1 @ batch2)` per batch.'),
    ('einsum', 'Einstein summation over a list of tensors, e.g. `einsum(\'bij,bjk->bik\', [a, b])` (contracted left to right: no opt_einsum path).'),
    ('kron', 'Kronecker product.'),
    ('cross', 'Cross product of 3-vectors along `dim`.'),
    # neural-network functions
    ('softmax', 'Softmax along `dim`.'),
    ('log_softmax', 'Log of the softmax along `dim`, computed stably.'),
    ('layer_norm', 'Layer normalisation over the last dimensions (`normalized_shape`), with optional affine `weight` and `bias`.'),
    ('cosine_similarity', 'Cosine similarity of `x1` and `x2` along `dim`, with broadcasting.'),
    ('dropout', 'Zeroes elements with probability `p` and scales the rest by 1/(1-p) when `train` is true (libtorch\'s default generator).'),
    # random and factories
    ('rand', 'Uniform samples in [0, 1); with `generator`, reproducible as in Python.'),
    ('randint', 'Uniform integers in [`low`, `high`); with `generator`, reproducible as in Python.'),
    ('randperm', 'A random permutation of 0..n-1; with `generator`, reproducible as in Python.'),
    ('rand_like', 'Uniform samples in [0, 1) with the shape of `input`.'),
    ('randn_like', 'Standard normal samples with the shape of `input`.'),
    ('randint_like', 'Uniform integers with the shape of `input`.'),
    ('bernoulli', '0/1 samples with the probabilities in `input`.'),
    ('multinomial', 'Samples category indices from the rows of probabilities `input`.'),
    ('full', 'A tensor filled with `fill_value`.'),
    ('full_like', 'A tensor with the shape of `input` filled with `fill_value`.'),
    ('zeros_like', 'Zeros with the shape of `input`.'),
    ('ones_like', 'Ones with the shape of `input`.'),
    ('empty_like', 'An uninitialised tensor with the shape of `input`.'),
    ('eye', 'An identity matrix (`n` x `m`).'),
    ('linspace', '`steps` evenly spaced values from `start` to `end`.'),
]

# Tensor methods that Python has without a torch.* function.
METHOD_ONLY = [
    ('expand', 'A view with singleton dimensions expanded to `size` (-1 keeps a size).'),
    ('expand_as', 'A view expanded to the shape of `other`.'),
    ('repeat', 'Repeats the tensor along each dimension (a copy).'),
    ('view_as', 'A view with the shape of `other`.'),
    ('reshape_as', '`reshape` to the shape of `other`.'),
    ('type_as', 'A copy converted to the dtype of `other` (the same tensor if it has it).'),
    ('new_zeros', 'Zeros of `size` with this tensor\'s dtype and device (unless given).'),
    ('new_ones', 'Ones of `size` with this tensor\'s dtype and device (unless given).'),
    ('new_full', 'A tensor of `size` filled with `fill_value`, with this tensor\'s dtype and device.'),
    ('new_empty', 'An uninitialised tensor of `size` with this tensor\'s dtype and device.'),
    ('unfold', 'All slices of `size` elements along `dimension`, `step` apart (a view).'),
    ('uniform_', 'Fills with uniform samples in [`from`, `to`).'),
    ('normal_', 'Fills with normal samples of `mean` and `std`.'),
    ('random_', 'Fills with uniform integers.'),
    ('exponential_', 'Fills with exponential samples of rate `lambd`.'),
    ('zero_', 'Fills with zeros.'),
    ('fill_diagonal_', 'Writes `fill_value` on the main diagonal.'),
]

# Operators that Python does not bind under these names but that jepa exposes from the schema.
SCHEMA_ONLY = [
    # (python-style name, aten name, overload, variants, description)
    ('slice', 'slice', 'Tensor', ('method',),
     'Elements `start` to `end` (exclusive) by `step` along `dim`, as Python\'s `t[..., start:end:step]` (a view).'),
    ('nonzero', 'nonzero', '', ('function', 'method'),
     'Indices of the nonzero elements, one row per element (Python\'s `as_tuple=False`).'),
]

LINALG = [
    ('linalg_svd', 'svd', 'Singular value decomposition `U, S, Vh` (`full_matrices` true by default).'),
    ('linalg_svdvals', 'svdvals', 'Singular values.'),
    ('linalg_qr', 'qr', 'QR decomposition `Q, R`.'),
    ('linalg_eigh', 'eigh', 'Eigenvalues and eigenvectors of a symmetric (Hermitian) matrix.'),
    ('linalg_eigvalsh', 'eigvalsh', 'Eigenvalues of a symmetric (Hermitian) matrix.'),
    ('linalg_inv', 'inv', 'Matrix inverse.'),
    ('linalg_pinv', 'pinv', 'Pseudo-inverse.'),
    ('linalg_det', 'det', 'Determinant.'),
    ('linalg_slogdet', 'slogdet', 'Sign and log of the absolute determinant.'),
    ('linalg_solve', 'solve', 'Solves `A X = B`.'),
    ('linalg_lstsq', 'lstsq', 'Least-squares solution of `A X = B`.'),
    ('linalg_cholesky', 'cholesky', 'Cholesky factor of a positive-definite matrix.'),
    ('linalg_matrix_rank', 'matrix_rank', 'Numerical rank.'),
    ('linalg_norm', 'norm', 'Vector or matrix norm (chosen by `dim` and `ord`).'),
    ('linalg_vector_norm', 'vector_norm', 'Vector norm of order `ord` over `dim` (all elements by default).'),
    ('linalg_matrix_norm', 'matrix_norm', 'Matrix norm (`\'fro\'`, `\'nuc\'`, inf, 1, 2, ...) over two dimensions.'),
    ('linalg_cross', 'cross', 'Cross product of 3-vectors along `dim`.'),
    ('linalg_vecdot', 'vecdot', 'Dot product along `dim` with broadcasting.'),
    ('linalg_matrix_power', 'matrix_power', 'Matrix raised to an integer power.'),
    ('linalg_multi_dot', 'multi_dot', 'Product of a chain of matrices in the cheapest order.'),
]

# torch.nn.functional: ATen ops Python binds in torch._C._nn ...
NN = [
    ('gelu', 'GELU activation (`approximate` `\'none\'` or `\'tanh\'`).'),
    ('silu', 'SiLU (swish) activation x * sigmoid(x).'),
    ('leaky_relu', 'Leaky ReLU with slope `negative_slope` below 0.'),
    ('elu', 'ELU activation.'),
    ('softplus', 'Softplus log(1 + exp(beta x)) / beta.'),
    ('hardtanh', 'Clamps to [`min_val`, `max_val`].'),
    ('linear', '`input @ weight.T + bias`.'),
    ('one_hot', 'One-hot encoding of an int tensor with `num_classes` classes (-1: inferred).'),
    ('pad', 'Pads the last dimensions by `pad` (pairs from the last dimension back), `mode` constant, reflect, replicate or circular.'),
    ('scaled_dot_product_attention', 'Attention softmax(q kᵀ / sqrt(d) + mask) v.'),
]
# ... and torch.* functions that torch.nn.functional exposes under the same name and semantics.
NN_FROM_TORCH = ['softmax', 'log_softmax', 'layer_norm', 'cosine_similarity', 'relu', 'dropout']

# Python functions of torch written by hand in lib/tensor/functional.ts (for the docs).
HANDWRITTEN = {
    'torch': [
        ('norm', "norm(input, p='fro', dim=None, keepdim=False, *, dtype=None)",
         'Vector norm (or `\'nuc\'`/matrix norm), as torch.norm: through linalg.vector_norm / matrix_norm. Also a Tensor method.'),
        ('pca_lowrank', 'pca_lowrank(A, q=None, center=True, niter=2, *, generator=None)',
         'Randomised PCA `U, S, V` as torch.pca_lowrank (torch/_lowrank.py); `generator` is our addition, the default draws from libtorch\'s default generator as Python does.'),
    ],
    'nn.functional': [
        ('normalize', 'normalize(input, p=2.0, dim=1, eps=1e-12)',
         'Divides by the p-norm along `dim` (at least `eps`), as torch.nn.functional.normalize.'),
        ('interpolate', "interpolate(input, size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None, antialias=False)",
         'Resizes 3-D, 4-D or 5-D input (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area), as torch.nn.functional.interpolate.'),
    ],
}

# Hand-written members of Tensor (lib/tensor.ts) that the generated methods must not replace.
HAND_METHODS = {
    'to', 'toAsync', 'cpu', 'contiguous', 'clone', 'reshape', 'view', 'permute', 'fill_', 'copy_', 'data',
    'item', 'dispose', 'toString', 'sharesStorage', 'isDisposed', 'shape', 'strides', 'dtype', 'device',
    'numel', 'ndim', 'nbytes', 'storageOffset', 'isContiguous', 'index', 'indexPut_', 'norm',
}
# Hand-written functions of jepa (lib/tensor.ts, lib/tensor/functional.ts).
HAND_FUNCTIONS = {'tensor', 'zeros', 'ones', 'empty', 'arange', 'randn', 'norm'}

# ---------------------------------------------------------------------------------------------


def load():
    base = os.path.join(os.path.dirname(torchgen.__file__), 'packaged')
    parsed = parse_native_yaml(os.path.join(base, 'ATen', 'native', 'native_functions.yaml'),
                               os.path.join(base, 'ATen', 'native', 'tags.yaml'))
    everything = parsed.native_functions
    bound = [f for f in everything if gpf.should_generate_py_binding(f)]
    deprecated = os.path.join(base, 'autograd', 'deprecated.yaml')
    functions = gpf.load_signatures(bound, deprecated, method=False)
    methods = gpf.load_signatures(bound, deprecated, method=True)
    return everything, {
        'torch': gpf.group_filter_overloads(functions, gpf.is_py_torch_function),
        'method': gpf.group_filter_overloads(methods, gpf.is_py_variable_method),
        'linalg': gpf.group_filter_overloads(functions, gpf.is_py_linalg_function),
        'nn': gpf.group_filter_overloads(functions, gpf.is_py_nn_function),
    }


def groups_of(pool, name):
    for key, pairs in pool.items():
        if str(key) == name:
            return gpf.sort_overloads(gpf.group_overloads(pairs, symint=True), symint=True)
    return None


def kind_of(t):
    """Our name of a schema type, or None when JS cannot pass it (Dimname, Storage, ...)."""
    if isinstance(t, OptionalType):
        inner = kind_of(t.elem)
        return None if inner is None else inner + '?'
    if isinstance(t, ListType):
        if isinstance(t.elem, OptionalType) and isinstance(t.elem.elem, BaseType) and t.elem.elem.name == BaseTy.Tensor:
            return 'Tensor?[]'
        inner = kind_of(t.elem)
        if inner not in ('int', 'float', 'bool', 'Tensor'):
            return None
        return f'{inner}[{t.size or ""}]'
    if isinstance(t, BaseType):
        return {
            BaseTy.Tensor: 'Tensor', BaseTy.Scalar: 'Scalar', BaseTy.int: 'int', BaseTy.SymInt: 'int',
            BaseTy.float: 'float', BaseTy.bool: 'bool', BaseTy.str: 'str', BaseTy.ScalarType: 'dtype',
            BaseTy.Layout: 'layout', BaseTy.Device: 'device', BaseTy.MemoryFormat: 'memory_format',
            BaseTy.Generator: 'Generator',
        }.get(t.name)
    return None


PY_DEFAULTS = {
    '::std::nullopt': 'None', 'c10::nullopt': 'None', 'nullptr': 'None', '{}': 'None', 'None': 'None',
    'True': 'True', 'False': 'False', 'true': 'True', 'false': 'False',
    'c10::MemoryFormat::Contiguous': 'torch.contiguous_format', 'at::kLong': 'torch.int64',
    'MemoryFormat::Contiguous': 'torch.contiguous_format',
}


def py_default(d):
    if d is None:
        return None
    if d in PY_DEFAULTS:
        return PY_DEFAULTS[d]
    if d.startswith('"') and d.endswith('"'):
        return "'" + d[1:-1] + "'"
    return d


def returns_of(func, inplace_self):
    rets = func.returns
    if len(rets) == 0:
        return 'n'
    if inplace_self and len(rets) == 1 and rets[0].annotation is not None and rets[0].annotation.is_write:
        return 'self'
    kinds = [kind_of(r.type) for r in rets]
    if len(rets) == 1:
        return {'Tensor': 't', 'Tensor[]': 'tl', 'int': 'i', 'float': 'f', 'bool': 'b', 'Scalar': 's'}.get(kinds[0], None)
    if all(k == 'Tensor' for k in kinds):
        names = structseq_fieldnames(rets)
        return ['tt', len(rets)] + names
    return None


def schema_name(func):
    return f'aten::{func.name.name}', func.name.overload_name


def build_sig(name, grp, method, numbers_as_tensors):
    """The data of one Python signature, or None when JS cannot call it."""
    sig = grp.signature
    if isinstance(sig, PythonSignatureDeprecated):
        return None
    func = grp.base.func
    schema_args = [a.name for a in func.schema_order_arguments()]
    kw_names = {a.name for a in sig.input_kwargs} | {a.name for a in sig.tensor_options_args}
    params = []
    for a in sig.arguments(skip_outputs=True, skip_tensor_options=False):
        if a.name == 'requires_grad':
            continue  # Python's autograd flag: jepa's tensors do not record gradients
        kind = kind_of(a.type)
        if kind is None:
            return None
        if a.name not in schema_args:
            return None
        flags = (1 if a.default is not None else 0) | (2 if a.name in kw_names else 0)
        # Python calls a function's first tensor `input` (a method's is the receiver)
        pname = 'input' if a.name == 'self' and kind == 'Tensor' and not method else a.name
        params.append({'name': pname, 'schema_name': a.name, 'kind': kind, 'index': schema_args.index(a.name), 'flags': flags,
                       'default': py_default(a.default)})
    entry = {'op': schema_name(func), 'n': len(schema_args), 'params': params}
    if 'self' in schema_args:
        entry['self'] = schema_args.index('self')
    elif method:
        return None
    inplace = func.kind() == SchemaKind.inplace
    ret = returns_of(func, inplace)
    if ret is None:
        return None
    entry['r'] = ret
    if grp.outplace is not None and sig.output_args is not None:
        ofunc = grp.outplace.func
        oargs = [a.name for a in ofunc.schema_order_arguments()]
        outs = [oargs.index(a.name) for a in ofunc.arguments.out]
        entry['out'] = {'op': schema_name(ofunc), 'n': len(oargs),
                        'map': [oargs.index(p['schema_name']) if p['schema_name'] in oargs else -1 for p in params],
                        'outs': outs}
    entry['nat'] = bool(numbers_as_tensors)
    return entry


def build_schema_only(everything, aten, overload, method):
    for f in everything:
        if str(f.func.name.name) == aten and f.func.name.overload_name == overload:
            sig = python_signature(f, method=method)

            class Grp:
                signature = sig
                base = f
                outplace = None
            return build_sig(aten, Grp, method, False)
    raise SystemExit(f'gen-ops: no operator aten::{aten}.{overload}')


# ---------------------------------------------------------------------------------------------
# TypeScript


def ts_kind(kind, nat):
    opt = kind.endswith('?') and not kind.endswith('[]?') or kind.endswith(']?')
    base = kind[:-1] if kind.endswith('?') else kind
    m = re.fullmatch(r'(\w+)\[(\d*)\]', base)
    if base == 'Tensor?[]':
        t = '(Tensor | null)[]'
    elif m:
        elem = {'int': 'number', 'float': 'number', 'bool': 'boolean', 'Tensor': 'Tensor'}[m.group(1)]
        t = f'{elem}[]' if not m.group(2) else f'{elem} | {elem}[]'
    else:
        t = {
            'Tensor': 'Tensor | Scalar' if nat else 'Tensor', 'Scalar': 'Scalar', 'int': 'number', 'float': 'number',
            'bool': 'boolean', 'str': 'string', 'dtype': 'Dtype', 'layout': "'strided'", 'device': 'Device',
            'memory_format': 'MemoryFormat', 'Generator': 'Generator',
        }[base]
    return f'{t} | null' if opt else t


def ts_return(r, method):
    if r == 't':
        return 'Tensor'
    if r == 'self':
        return 'this' if method else 'Tensor'
    if r == 'tl':
        return 'Tensor[]'
    if r in ('i', 'f'):
        return 'number'
    if r == 'b':
        return 'boolean'
    if r == 's':
        return 'number | boolean'
    if r == 'n':
        return 'void'
    count, names = r[1], r[2:]
    tup = '[' + ', '.join(['Tensor'] * count) + ']'
    if names:
        return f'{tup} & {{ ' + '; '.join(f'{n}: Tensor' for n in names) + ' }'
    return tup


# JS reserved words among the op names: the constant gets a `_`, the export keeps Python's name.
RESERVED = {'var', 'delete', 'new', 'function', 'in', 'typeof', 'void', 'with', 'default', 'export', 'import'}


def ts_name(n):
    return {'from': 'from_', 'function': 'function_'}.get(n, n)


def ts_overloads(entry, method):
    params = [p for p in entry['params']]
    pos = [p for p in params if not p['flags'] & 2]
    kws = [p for p in params if p['flags'] & 2]
    ret = ts_return(entry['r'], method)
    nat = entry['nat']
    out_t = None
    if 'out' in entry:
        r = entry['r']
        out_t = 'Tensor' if r in ('t', 'self') or isinstance(r, str) else 'Tensor[]'

    def opts_type(props, required_names=()):
        fields = []
        for p in props:
            q = '' if p['name'] in required_names else '?'
            fields.append(f"{ts_name(p['name'])}{q}: {ts_kind(p['kind'], nat)}")
        if out_t:
            fields.append(f'out?: {out_t}')
        return '{ ' + '; '.join(fields) + ' }' if fields else None

    required_kw = [p['name'] for p in kws if not p['flags'] & 1]
    out = []
    # 1. positional style
    args = []
    for p in pos:
        q = '?' if p['flags'] & 1 else ''
        args.append(f"{ts_name(p['name'])}{q}: {ts_kind(p['kind'], nat)}")
    o = opts_type(kws, required_kw)
    if o:
        args.append(f"options{'' if required_kw else '?'}: {o}")
    # an optional parameter before a required one is not allowed in TS: make them required
    seen_required = False
    for i in range(len(args) - 1, -1, -1):
        if '?:' not in args[i].split(':')[0] + ':' and not args[i].startswith('options?'):
            seen_required = True
        elif seen_required:
            args[i] = args[i].replace('?:', ':', 1)
    out.append(f"({', '.join(args)}): {ret}")
    # 2. trailing positional parameters with defaults given by name
    opt_pos = [p for p in pos if p['flags'] & 1]
    if opt_pos:
        req = [p for p in pos if not p['flags'] & 1]
        args2 = [f"{ts_name(p['name'])}: {ts_kind(p['kind'], nat)}" for p in req]
        args2.append(f"options: {opts_type(opt_pos + kws, required_kw)}")
        out.append(f"({', '.join(args2)}): {ret}")
    # 3. every parameter after the first (a function's input; a method's first argument too) by name
    head = pos[:0 if method else 1]
    tail = [p for p in pos if p not in head]
    if tail:
        args3 = [f"{ts_name(p['name'])}: {ts_kind(p['kind'], nat)}" for p in head]
        required = [p['name'] for p in tail if not p['flags'] & 1] + required_kw
        args3.append(f"options: {opts_type(tail + kws, required)}")
        out.append(f"({', '.join(args3)}): {ret}")
    # 4. Python's varargs form of a lone int list: view(2, 3), zeros(2, 3)
    if len(pos) == 1 and re.fullmatch(r'int\[\d*\]', pos[0]['kind']):
        o = opts_type(kws, required_kw)
        name = ts_name(pos[0]['name'])
        if not required_kw:
            out.append(f"(...{name}: number[]): {ret}")
        if o:
            out.append(f"(...args: [...{name}: number[], options: {o}]): {ret}")
    return out


def py_signature_text(display, entry, method):
    parts, star = [], False
    for p in entry['params']:
        if p['flags'] & 2 and not star:
            parts.append('*')
            star = True
        name = p['name']
        parts.append(name if p['default'] is None else f"{name}={p['default']}")
    if 'out' in entry:
        if not star:
            parts.append('*')
        parts.append('out=None')
    return f"{display}({', '.join(parts)})"


def js_data(entry):
    def op(o):
        return f"'{o[0]}.{o[1]}'" if o[1] else f"'{o[0]}'"
    def param(p):
        d = '' if p['default'] is None else ', ' + json.dumps(p['default'])
        return f"['{p['name']}', '{p['kind']}', {p['index']}, {p['flags']}{d}]"
    ps = ', '.join(param(p) for p in entry['params'])
    fields = [f"op: {op(entry['op'])}", f"n: {entry['n']}", f'p: [{ps}]']
    r = entry['r']
    fields.append('r: ' + (f"'{r}'" if isinstance(r, str) else '[' + ', '.join(repr(x) if isinstance(x, str) else str(x) for x in r).replace('"', "'") + ']'))
    if 'self' in entry:
        fields.append(f"self: {entry['self']}")
    if 'out' in entry:
        o = entry['out']
        fields.append(f"out: {{ op: {op(o['op'])}, n: {o['n']}, map: [{', '.join(map(str, o['map']))}], outs: [{', '.join(map(str, o['outs']))}] }}")
    if entry['nat']:
        fields.append('nat: true')
    return '{ ' + ', '.join(fields) + ' }'


def doc_comment(indent, description, python_texts, see):
    lines = [f'{indent}/**', f'{indent} * {description}', f'{indent} *']
    lines.append(f'{indent} * Python: ' + ' · '.join(f'`{t}`' for t in python_texts))
    if see:
        lines.append(f'{indent} * @see {see}')
    lines.append(f'{indent} */')
    return '\n'.join(lines)


def pytorch_doc_url(qualified):
    return f'https://docs.pytorch.org/docs/stable/generated/{qualified}.html'


class Gen:
    def __init__(self):
        self.everything, self.pools = load()
        self.functions = []  # (js name, description, entries)
        self.methods = []  # (js name, description, entries)
        self.linalg = []
        self.nn = []
        self.schema_ops = {}

    def entries(self, pool, name, method):
        groups = groups_of(self.pools[pool], name)
        if groups is None:
            raise SystemExit(f'gen-ops: torchgen has no {pool} op {name}')
        nat = torch._C._should_allow_numbers_as_tensors(name)
        out = [e for e in (build_sig(name, grp, method, nat) for grp in groups) if e is not None]
        if not out:
            raise SystemExit(f'gen-ops: no signature of {pool} {name} can be called from JS')
        return out

    def collect(self):
        method_names = {str(k) for k in self.pools['method']}
        for name, desc in TORCH:
            if name not in HAND_FUNCTIONS:
                self.functions.append((name, desc, self.entries('torch', name, False)))
            if name in method_names and name not in HAND_METHODS:
                self.methods.append((name, desc, self.entries('method', name, True)))
            if name + '_' in method_names and not name.endswith('_'):
                self.methods.append((name + '_', f'In-place form of `{name}`: writes the result into this tensor.',
                                     self.entries('method', name + '_', True)))
        for name, desc in METHOD_ONLY:
            self.methods.append((name, desc, self.entries('method', name, True)))
        for name, aten, overload, variants, desc in SCHEMA_ONLY:
            if 'function' in variants:
                self.functions.append((name, desc, [build_schema_only(self.everything, aten, overload, False)]))
            if 'method' in variants:
                self.methods.append((name, desc, [build_schema_only(self.everything, aten, overload, True)]))
        for aten, short, desc in LINALG:
            self.linalg.append((short, desc, self.entries('linalg', aten, False)))
        for name, desc in NN:
            self.nn.append((name, desc, self.entries('nn', name, False)))
        self.methods.sort(key=lambda m: m[0])

    def python_texts(self, display, entries, method):
        return [py_signature_text(display, e, method) for e in entries]

    def ts(self):
        out = []
        w = out.append
        w('// Generated by scripts/dev/gen-ops.py from the operator schema of libtorch '
          f'{TORCH_VERSION} (native_functions.yaml,')
        w("// through torchgen's Python signatures). Do not edit: run `npm run gen:ops`. See docs/tensors.md.")
        w("import type { Device, Dtype } from '../core/dtype';")
        w("import type { Tensor } from './tensor';")
        w("import type { Generator } from './generator';")
        w("import { defineFunction, installMethods, type MemoryFormat, type Scalar } from './ops';")
        w('')
        for name, desc, entries in self.functions:
            w(doc_comment('', desc, self.python_texts(f'torch.{name}', entries, False), pytorch_doc_url(f'torch.{name}')))
            overloads = '\n'.join(f'  {o};' for o in dict.fromkeys(x for e in entries for x in ts_overloads(e, False)))
            ident = name + '_' if name in RESERVED else name
            w(f'{"" if ident != name else "export "}const {ident}: {{\n{overloads}\n}} = defineFunction(\'{name}\', [')
            for e in entries:
                w(f'  {js_data(e)},')
            w(']);')
            if ident != name:
                w(f'export {{ {ident} as {name} }};')
            w('')
        w("declare module './tensor' {")
        w('  interface Tensor {')
        for name, desc, entries in self.methods:
            w(doc_comment('    ', desc, self.python_texts(f'Tensor.{name}', entries, True), pytorch_doc_url(f'torch.Tensor.{name}')))
            for o in dict.fromkeys(x for e in entries for x in ts_overloads(e, True)):
                w(f'    {name}{o};')
        w('  }')
        w('}')
        w('')
        w('installMethods({')
        for name, _desc, entries in self.methods:
            w(f'  {name}: [')
            for e in entries:
                w(f'    {js_data(e)},')
            w('  ],')
        w('});')
        return fix_imports('\n'.join(out) + '\n')

    def ts_namespaces(self):
        out = []
        w = out.append
        w('// Generated by scripts/dev/gen-ops.py from the operator schema of libtorch '
          f'{TORCH_VERSION}: the generated members of')
        w("// jepa.linalg and jepa.nn.functional (lib/tensor/api.ts adds the hand-written ones). Do not edit: run")
        w('// `npm run gen:ops`. See docs/tensors.md.')
        w("import type { Device, Dtype } from '../core/dtype';")
        w("import type { Tensor } from './tensor';")
        w("import type { Generator } from './generator';")
        w("import { defineFunction, type MemoryFormat, type Scalar } from './ops';")
        w('')
        for label, items, prefix in (('linalgOps', self.linalg, 'torch.linalg.'), ('nnFunctionalOps', self.nn, 'torch.nn.functional.')):
            w(f'/** Generated members of `jepa.{"linalg" if label == "linalgOps" else "nn.functional"}`. */')
            w(f'export const {label} = {{')
            for name, desc, entries in items:
                w(doc_comment('  ', desc, self.python_texts(prefix + name, entries, False), pytorch_doc_url(prefix + name)))
                overloads = '\n'.join(f'    {o};' for o in dict.fromkeys(x for e in entries for x in ts_overloads(e, False)))
                w(f"  {name}: defineFunction('{prefix[6:]}{name}', [")
                for e in entries:
                    w(f'    {js_data(e)},')
                w(f'  ]) as {{\n{overloads}\n  }},')
            w('};')
            w('')
        w('/** The names generated, for the parity test. */')
        w('export const GENERATED = {')
        w('  functions: [' + ', '.join(f"'{n}'" for n, _, _ in self.functions) + '],')
        w('  methods: [' + ', '.join(f"'{n}'" for n, _, _ in self.methods) + '],')
        w('  linalg: [' + ', '.join(f"'{n}'" for n, _, _ in self.linalg) + '],')
        w('  nnFunctional: [' + ', '.join(f"'{n}'" for n, _, _ in self.nn) + '],')
        w('};')
        return fix_imports('\n'.join(out) + '\n')

    def docs(self):
        out = []
        w = out.append
        w(f'<!-- ops:begin: generated by scripts/dev/gen-ops.py from libtorch {TORCH_VERSION}\'s operator schema; do not edit -->')
        w('')

        def table(title, rows):
            w(f'### {title}')
            w('')
            w('| op | Python signature(s) | what it does |')
            w('|---|---|---|')
            for name, sigs, desc in rows:
                cell = '<br>'.join('`' + s + '`' for s in sigs)
                escaped = desc.replace('|', '\\|')
                w(f'| `{name}` | {cell} | {escaped} |')
            w('')

        rows = [(f'jepa.{n}', self.python_texts(n, es, False), d) for n, d, es in self.functions]
        rows += [(f'jepa.{n}', [s], d + ' *(hand-written)*') for n, s, d in HANDWRITTEN['torch']]
        rows.sort(key=lambda r: r[0])
        table(f'Functions on `jepa` (torch.*): {len(rows)}', rows)
        table(f'`jepa.linalg` (torch.linalg): {len(self.linalg)}',
              [(f'linalg.{n}', self.python_texts(n, es, False), d) for n, d, es in self.linalg])
        nn_rows = [(f'nn.functional.{n}', self.python_texts(n, es, False), d) for n, d, es in self.nn]
        nn_rows += [(f'nn.functional.{n}', [s], d + ' *(hand-written)*') for n, s, d in HANDWRITTEN['nn.functional']]
        nn_rows += [(f'nn.functional.{n}', ['same as `jepa.' + n + '`'], 'The torch function of the same name.') for n in NN_FROM_TORCH]
        nn_rows.sort(key=lambda r: r[0])
        table(f'`jepa.nn.functional` (torch.nn.functional): {len(nn_rows)}', nn_rows)
        inplace = [n for n, d, _ in self.methods if d.startswith('In-place form')]
        plain = [(f't.{n}', self.python_texts(n, es, True), d) for n, d, es in self.methods if not d.startswith('In-place form')]
        plain.append(('t.norm', ["norm(p='fro', dim=None, keepdim=False, *, dtype=None)"], 'As `jepa.norm` *(hand-written)*.'))
        plain.sort(key=lambda r: r[0])
        table(f'Tensor methods: {len(plain)} (and {len(inplace)} in-place forms)', plain)
        w('In-place forms (`t.add_(x)` writes into `t` and returns `t`): ' + ', '.join(f'`{n}`' for n in inplace) + '.')
        w('')
        w('<!-- ops:end -->')
        return '\n'.join(out) + '\n'


def fix_imports(text):
    """Drops the type imports a generated file does not use (tsc's noUnusedLocals)."""
    body = '\n'.join(l for l in text.split('\n') if not l.startswith('import '))

    def used(name):
        return re.search(rf'\b{name}\b', body) is not None

    lines = []
    for line in text.split('\n'):
        m = re.match(r"import (type )?\{ (.*) \} from '(.*)';$", line)
        if m:
            names = [n for n in m.group(2).split(', ') if used(n.replace('type ', ''))]
            if not names:
                continue
            line = f"import {m.group(1) or ''}{{ {', '.join(names)} }} from '{m.group(3)}';"
        lines.append(line)
    return '\n'.join(lines)


def replace_between_markers(text, block):
    begin = text.find('<!-- ops:begin')
    end = text.find('<!-- ops:end -->')
    if begin < 0 or end < 0:
        raise SystemExit(f'gen-ops: {DOC_OUT} has no <!-- ops:begin --> / <!-- ops:end --> markers')
    return text[:begin] + block + text[end + len('<!-- ops:end -->\n'):]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true', help='fail if the committed files are not up to date')
    args = ap.parse_args()
    gen = Gen()
    gen.collect()
    outputs = {TS_OUT: gen.ts(), NS_OUT: gen.ts_namespaces()}
    with open(DOC_OUT, encoding='utf8') as f:
        outputs[DOC_OUT] = replace_between_markers(f.read(), gen.docs())
    stale = []
    for path, text in outputs.items():
        current = open(path, encoding='utf8').read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not args.check:
                with open(path, 'w', encoding='utf8') as f:
                    f.write(text)
    if args.check and stale:
        print(f'gen-ops: out of date for torch {torch.__version__} (run `npm run gen:ops`): ' + ', '.join(stale), file=sys.stderr)
        sys.exit(1)
    print(f'gen-ops (torch {torch.__version__}): {len(gen.functions)} functions, {len(gen.methods)} methods, {len(gen.linalg)} linalg, '
          f'{len(gen.nn)} nn.functional' + (f'; wrote {", ".join(stale)}' if stale and not args.check else ''))


if __name__ == '__main__':
    main()
