// NumPy's legacy global generator (`np.random.seed(s)` then `np.random.uniform`,
// `np.random.randint`, `np.random.random_sample`), drawn from a masks::Stream, and the Python /
// NumPy float helpers the reference samplers use. Plain C++ (no Node-API, no dispatcher call per
// draw), so the fuzzer calls it directly.
//
// `np.random.seed(s)` for an integer s < 2^32 seeds the same MT19937 as `torch.manual_seed(s)`
// (init_genrand), so a Stream(s) is NumPy's state right after the seed. The draws follow
// numpy/random/src (legacy RandomState): a double takes two 32-bit words,
// (a >> 5) * 2^26 + (b >> 6), divided by 2^53; `uniform(low, high)` is low + (high - low) * that;
// `randint(low, high)` draws in [0, high - 1 - low] by masked rejection (the mask of the range's
// bit length; 32-bit words below 2^32, else 64-bit words made of two 32-bit ones), no draw at
// all when the range holds one value.
#pragma once
#include <cstdint>

#include "masks/masks.h"

namespace jepa {
namespace masks {

// np.random.random_sample(): a double in [0, 1) with 53 random bits.
double NumpyRandomSample(Stream& s);

// np.random.uniform(low, high) (any order of low and high; needs a finite high - low).
double NumpyUniform(Stream& s, double low, double high);

// np.random.randint(low, high) for the default dtype (int64): uniform in [low, high), needs low < high.
int64_t NumpyRandint(Stream& s, int64_t low, int64_t high);

// Python's round(x) / np.round(x) on a float: to nearest, ties to even, as a double (an integer
// value, or +-inf / NaN unchanged).
double RoundHalfEven(double x);

// lo + r * (hi - lo) with each operation rounded, as Python evaluates it (never fused into an FMA).
double Lerp(double lo, double hi, double r);

}  // namespace masks
}  // namespace jepa
