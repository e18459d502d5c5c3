// The schedules of JEPA training: EMA momentum, learning rate, weight decay. Plain C++ (no
// Node-API). The defaults of every schedule a trainer uses live in lib/train/options.ts
// (SCHEDULE_DEFAULTS) and lib/train/defaults.ts (per trainer kind).
#pragma once
#include <cstdint>

namespace jepa {

// `At(step)` is the value used at 0-based training step `step`, computed with the
// same floating-point operations, in the same order, as the Python reference (so equal bit
// for bit; cos is libm's, as Python's math.cos):
//   kConstant      start
//   kLinear        I-JEPA momentum generator: start + i * (end - start) / steps, i = min(step, floor(steps))
//   kCosine        BYOL: end - (end - start) * (cos(pi * k / steps) + 1) / 2, k = min(step, steps)
//   kWarmupCosine  I-JEPA WarmupCosineSchedule (start -> peak over warmupSteps, cosine to end at steps), k =
//   step + 1 kCosineWd      I-JEPA CosineWDSchedule (start -> end over steps, clamped), k = step + 1
//   kLinearDecay   V-JEPA 2 LinearDecaySchedule (start -> end over steps, not clamped), k = step + 1
//   kHJepaWarmupCosine / kHJepaWarmupLinear  jonwiggins/H-JEPA CosineScheduler / LinearScheduler
//                  (start -> peak over warmupSteps, then cosine / linear to end at steps) as its
//                  trainer applies them: step 0 runs at the optimizer's initial lr (peak), step
//                  s > 0 at the scheduler's value for s - 1
//   kHJepaEma      jonwiggins/H-JEPA EMAScheduler: start until warmupSteps, then linear to end at
//                  steps, clamped
//   kSeed001Literal  seed 001's formula as written, start + (end - start) * (1 + cos(pi * k / steps)) / 2,
//                  k = min(step, steps): it runs from `end` down to `start`
enum class ScheduleKind {
  kConstant,
  kLinear,
  kCosine,
  kWarmupCosine,
  kCosineWd,
  kLinearDecay,
  kHJepaWarmupCosine,
  kHJepaWarmupLinear,
  kHJepaEma,
  kSeed001Literal,
};

struct Schedule {
  ScheduleKind kind = ScheduleKind::kConstant;
  double start = 0;
  double end = 0;
  double peak = 0;
  double steps = 1;
  double warmup_steps = 0;

  double At(int64_t step) const;
  // Throws kInvalidArgument when the parameters cannot define a schedule.
  void Validate() const;
};

}  // namespace jepa
