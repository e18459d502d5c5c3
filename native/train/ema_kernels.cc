#include "train/ema_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define JEPA_EMA_X86 1
#endif

namespace jepa::ema_kernels {

namespace {

// One element of the loop formula: (1 - m) * q is rounded on its own (ATen makes it a tensor),
// then added to the rounded m * t; where both are NaN the result is y's NaN, as ATen's.
inline float LoopOne(float t, float s, float m, float a) {
  const float x = t * m;
  const float y = s * a;
  return y != y ? y : y + x;
}

}  // namespace

#ifdef JEPA_EMA_X86

bool CpuHasAvx2Fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}

__attribute__((target("avx2,fma"))) void ForeachRange(float* t, const float* s, int64_t n, float m, float a) {
  const __m256 vm = _mm256_set1_ps(m);
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_mul_ps(_mm256_loadu_ps(t + i), vm);
    __m256 x1 = _mm256_mul_ps(_mm256_loadu_ps(t + i + 8), vm);
    x0 = _mm256_fmadd_ps(_mm256_loadu_ps(s + i), va, x0);
    x1 = _mm256_fmadd_ps(_mm256_loadu_ps(s + i + 8), va, x1);
    _mm256_storeu_ps(t + i, x0);
    _mm256_storeu_ps(t + i + 8, x1);
  }
  for (; i < n; ++i) {
    const float tm = t[i] * m;
    t[i] = __builtin_fmaf(s[i], a, tm);
  }
}

namespace {

// The AVX2 form of LoopRange. Its target has no "fma": the compiler cannot emit one here even
// if contraction were on.
__attribute__((target("avx2"))) void LoopRangeAvx2(float* t, const float* s, int64_t n, float m, float a) {
  const __m256 vm = _mm256_set1_ps(m);
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 x0 = _mm256_mul_ps(_mm256_loadu_ps(t + i), vm);
    const __m256 x1 = _mm256_mul_ps(_mm256_loadu_ps(t + i + 8), vm);
    const __m256 y0 = _mm256_mul_ps(_mm256_loadu_ps(s + i), va);
    const __m256 y1 = _mm256_mul_ps(_mm256_loadu_ps(s + i + 8), va);
    // Where both products are NaN, ATen's result is (1 - m) * q's: the blend keeps y's NaN
    // whichever operand order the compiler gives the (commutative) add.
    const __m256 r0 = _mm256_blendv_ps(_mm256_add_ps(y0, x0), y0, _mm256_cmp_ps(y0, y0, _CMP_UNORD_Q));
    const __m256 r1 = _mm256_blendv_ps(_mm256_add_ps(y1, x1), y1, _mm256_cmp_ps(y1, y1, _CMP_UNORD_Q));
    _mm256_storeu_ps(t + i, r0);
    _mm256_storeu_ps(t + i + 8, r1);
  }
  for (; i < n; ++i) t[i] = LoopOne(t[i], s[i], m, a);
}

}  // namespace

#else

bool CpuHasAvx2Fma() { return false; }

void ForeachRange(float* t, const float* s, int64_t n, float m, float a) {
  for (int64_t i = 0; i < n; ++i) t[i] = __builtin_fmaf(s[i], a, t[i] * m);
}

#endif

void LoopRange(float* t, const float* s, int64_t n, float m, float a) {
#ifdef JEPA_EMA_X86
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  if (avx2) {
    LoopRangeAvx2(t, s, n, m, a);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) t[i] = LoopOne(t[i], s[i], m, a);
}

}  // namespace jepa::ema_kernels
