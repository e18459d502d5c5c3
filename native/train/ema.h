// The target-encoder EMA of JEPA training (target = m * target + (1 - m) * source); the
// schedules of its momentum (and of the learning rate and weight decay) are train/schedule.h.
// Plain C++ (no Node-API).
//
// Numerics. `EmaFormula::kForeach` computes exactly what V-JEPA 2's
//   torch._foreach_mul_(params_k, m); torch._foreach_add_(params_k, params_q, alpha=1 - m)
// computes, bit for bit; `EmaFormula::kLoop` exactly what I-JEPA's and V-JEPA's
//   param_k.mul_(m).add_((1 - m) * param_q)
// computes (it rounds (1 - m) * q before the add, so the two differ by at most one ulp). For
// contiguous float32 CPU tensors both run a one-pass fused kernel (native/train/ema_kernels.h:
// one read of each tensor, one write, instead of two or three passes) with the same roundings;
// elsewhere they run those ATen calls. The foreach kernel needs AVX2 + FMA (FusedEmaAvailable()); the loop
// kernel runs on any CPU.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace jepa {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

enum class EmaFormula { kForeach, kLoop };

struct EmaStats {
  int64_t tensors = 0;   // tensors averaged (floating point)
  int64_t copied = 0;    // non-floating tensors copied (integer buffers)
  int64_t elements = 0;  // elements averaged
  bool fused = false;    // whether a one-pass kernel ran (float32, CPU, contiguous)
};

// Pairs `target` and `source` by name. Every name must be in both, with equal shape, dtype and
// device; otherwise throws kParameterMismatch listing every name only in one of them and every
// shape/dtype difference (kDeviceMismatch when only devices differ). Order follows `target`.
std::vector<std::pair<at::Tensor, at::Tensor>> MatchByName(const NamedTensors& target,
                                                           const NamedTensors& source);

// Pairs two unnamed lists by position (same length, shapes, dtypes, devices; same errors).
std::vector<std::pair<at::Tensor, at::Tensor>> MatchByPosition(const std::vector<at::Tensor>& target,
                                                               const std::vector<at::Tensor>& source);

// target = m * target + (1 - m) * source for every floating-point pair, in place, without
// autograd (at::NoGradGuard); non-floating pairs (integer buffers) are copied. `allow_fused`
// false forces the two-call ATen path (for tests and benchmarks). Thread-safe for disjoint
// targets; the intra-op thread count set by SetNumThreads applies.
EmaStats EmaUpdate(const std::vector<std::pair<at::Tensor, at::Tensor>>& pairs, double momentum,
                   EmaFormula formula = EmaFormula::kForeach, bool allow_fused = true);

// Whether the fused float32 kernel of the foreach formula can reproduce ATen's result on this
// CPU: ATen's kernels use FMA (capability AVX2 or AVX512) and the CPU has AVX2 + FMA. (The loop
// formula's kernel is always available.)
bool FusedEmaAvailable();

}  // namespace jepa
