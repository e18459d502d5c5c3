// The fused one-pass EMA kernels over contiguous float32 arrays: each reads the target and the
// source once and writes the target once, and rounds exactly as the two-pass ATen calls of its
// formula do. Plain C++ without ATen (a test or a fuzzer can call them directly).
//
// This translation unit is compiled with -ffp-contract=off (CMakeLists.txt): the compiler may
// not fuse a multiplication and an addition into an FMA unless the source asks for one, so each
// kernel's rounding is the one written here.
#pragma once
#include <cstdint>

namespace jepa::ema_kernels {

// V-JEPA 2's torch._foreach_mul_(k, m); torch._foreach_add_(k, q, alpha=a): ATen's AVX2 and
// AVX512 kernels round t * m, then compute fma(s, a, t * m) (its add with alpha is a fused
// multiply-add, vector body and scalar tail alike). Needs AVX2 + FMA: call only when
// CpuHasAvx2Fma().
void ForeachRange(float* t, const float* s, int64_t n, float m, float a);

// I-JEPA's and V-JEPA's param_k.mul_(m).add_((1 - m) * param_q): t * m rounded, s * a rounded
// ((1 - m) * q is a temporary tensor), then their sum rounded; no FMA anywhere. Where both
// products are NaN the result is s * a's NaN, as ATen's add gives (NaN payloads and signs
// included). Runs on any CPU (AVX2 when present, else the compiler's baseline vectors).
void LoopRange(float* t, const float* s, int64_t n, float m, float a);

// Whether this CPU has AVX2 and FMA (x86-64 only; false elsewhere).
bool CpuHasAvx2Fma();

}  // namespace jepa::ema_kernels
