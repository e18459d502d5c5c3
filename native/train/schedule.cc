#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace jepa {

void Schedule::Validate() const {
  auto bad = [](const std::string& msg) { throw Error(code::kInvalidArgument, msg, true); };
  if (!std::isfinite(start) || !std::isfinite(end) || !std::isfinite(peak))
    bad("schedule values must be finite");
  if (kind == ScheduleKind::kConstant) return;
  if (!(steps > 0) || !std::isfinite(steps)) bad("expected the schedule's `steps` to be a positive number");
  const bool warms = kind == ScheduleKind::kWarmupCosine || kind == ScheduleKind::kHJepaWarmupCosine ||
                     kind == ScheduleKind::kHJepaWarmupLinear || kind == ScheduleKind::kHJepaEma;
  if (warms &&
      (!(warmup_steps >= 0) || !std::isfinite(warmup_steps) || warmup_steps != std::floor(warmup_steps))) {
    bad("expected the schedule's `warmupSteps` to be a non-negative integer");
  }
}

namespace {

// jonwiggins/H-JEPA's schedulers divide by steps - warmupSteps once past the warm-up; where that
// is 0, Python raises ZeroDivisionError at that step, and so does the schedule.
double AfterWarmup(double steps, double warmup_steps, int64_t step) {
  const double d = steps - warmup_steps;
  if (d == 0) {
    throw Error(code::kInvalidArgument,
                "the schedule divides by steps - warmupSteps = 0 at step " + std::to_string(step) +
                    " (jonwiggins/H-JEPA's scheduler raises ZeroDivisionError there)",
                true);
  }
  return d;
}

}  // namespace

double Schedule::At(int64_t step) const {
  constexpr double kPi = 3.141592653589793;  // Python's math.pi
  switch (kind) {
    case ScheduleKind::kConstant:
      return start;
    case ScheduleKind::kLinear: {
      // I-JEPA: (ema[0] + i*(ema[1]-ema[0])/(ipe*num_epochs*ipe_scale) for i in range(int(...)+1))
      const double last = std::floor(steps);
      const double i = std::min(static_cast<double>(step), last);
      return start + i * (end - start) / steps;
    }
    case ScheduleKind::kCosine: {
      // BYOL: 1 - (1 - base) * (cos(pi * k / K) + 1) / 2, with 1 -> end and base -> start.
      const double k = std::min(static_cast<double>(step), steps);
      return end - (end - start) * (std::cos(kPi * k / steps) + 1) / 2;
    }
    case ScheduleKind::kWarmupCosine: {
      // I-JEPA WarmupCosineSchedule.step(): _step += 1 first.
      const double k = static_cast<double>(step) + 1.0;
      if (k < warmup_steps) {
        const double progress = k / std::max(1.0, warmup_steps);
        return start + progress * (peak - start);
      }
      const double t_max = steps - warmup_steps;
      const double progress = (k - warmup_steps) / std::max(1.0, t_max);
      const double v = end + (peak - end) * 0.5 * (1. + std::cos(kPi * progress));
      return v > end ? v : end;  // Python's max(final_lr, v)
    }
    case ScheduleKind::kHJepaWarmupCosine:
    case ScheduleKind::kHJepaWarmupLinear: {
      // HJEPATrainer sets lr = scheduler(global_step) after each optimizer step: step 0 runs at
      // the optimizer's initial lr (the base value), step s at scheduler(s - 1).
      if (step == 0) return peak;
      const double k = static_cast<double>(step - 1);
      if (k < warmup_steps) return start + (peak - start) * k / warmup_steps;
      const double after = k - warmup_steps;
      const double total_after = AfterWarmup(steps, warmup_steps, step);
      if (kind == ScheduleKind::kHJepaWarmupCosine) {
        return end + (peak - end) * 0.5 * (1.0 + std::cos(kPi * after / total_after));
      }
      return peak - (peak - end) * after / total_after;
    }
    case ScheduleKind::kHJepaEma: {
      const double k = static_cast<double>(step);
      if (k < warmup_steps) return start;
      const double progress = std::min(1.0, (k - warmup_steps) / AfterWarmup(steps, warmup_steps, step));
      return start + (end - start) * progress;
    }
    case ScheduleKind::kSeed001Literal: {
      const double k = std::min(static_cast<double>(step), steps);
      return start + (end - start) * (1 + std::cos(kPi * k / steps)) / 2;
    }
    case ScheduleKind::kLinearDecay: {
      // V-JEPA 2 LinearDecaySchedule.step(): ref_lr = start, final_lr = end, T_max = steps.
      const double k = static_cast<double>(step) + 1.0;
      const double progress = k / std::max(1.0, steps);
      return start + progress * (end - start);
    }
    case ScheduleKind::kCosineWd: {
      // I-JEPA CosineWDSchedule.step(): ref_wd = start, final_wd = end.
      const double k = static_cast<double>(step) + 1.0;
      const double progress = k / steps;
      const double v = end + (start - end) * 0.5 * (1. + std::cos(kPi * progress));
      if (end <= start) return v > end ? v : end;
      return v < end ? v : end;
    }
  }
  return start;
}

}  // namespace jepa
