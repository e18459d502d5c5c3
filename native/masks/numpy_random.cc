#include "masks/numpy_random.h"

#include <cmath>

namespace jepa {
namespace masks {

double NumpyRandomSample(Stream& s) {
  // mt19937_next_double: 27 bits of the first word, 26 of the second.
  const uint32_t a = s.random() >> 5;
  const uint32_t b = s.random() >> 6;
  return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
}

double Lerp(double lo, double hi, double r) {
  // The volatile product keeps the compiler from fusing it with the sum (an FMA rounds once).
  volatile double product = r * (hi - lo);
  return lo + product;
}

double NumpyUniform(Stream& s, double low, double high) {
  // random_uniform(lower, range) = lower + range * next_double, range = high - low.
  return Lerp(low, high, NumpyRandomSample(s));
}

int64_t NumpyRandint(Stream& s, int64_t low, int64_t high) {
  // _rand_int64 with the legacy masked method: off + bounded draw in [0, rng].
  const uint64_t rng = static_cast<uint64_t>(high) - 1 - static_cast<uint64_t>(low);
  return static_cast<int64_t>(static_cast<uint64_t>(low) + s.NumpyInterval(rng));
}

double RoundHalfEven(double x) {
  if (!std::isfinite(x)) return x;
  const double f = std::floor(x);
  const double diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return std::fmod(f, 2.0) == 0 ? f : f + 1;
}

}  // namespace masks
}  // namespace jepa
