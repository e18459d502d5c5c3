#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace jepa {

void Schedule::Validate() const {
  auto bad = [](const std::string& msg) { throw Error(code::kInvalidArgument, msg, true); };
  if (!std::isfinite(start) || !std::isfinite(end) || !std::isfinite(peak)) bad("schedule values must be finite");
  if (kind == ScheduleKind::kConstant) return;
  if (!(steps > 0) || !std::isfinite(steps)) bad("expected the schedule's `steps` to be a positive number");
  if (kind == ScheduleKind::kWarmupCosine &&
      (!(warmup_steps >= 0) || !std::isfinite(warmup_steps) || warmup_steps != std::floor(warmup_steps))) {
    bad("expected the schedule's `warmupSteps` to be a non-negative integer");
  }
}

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
