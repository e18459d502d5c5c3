/**
 * The schedules of the facebookresearch training loops (I-JEPA, V-JEPA, V-JEPA 2), built from
 * their config values with the official arithmetic, operation for operation:
 *
 * - lr: `WarmupCosineSchedule(warmup_steps=int(warmup * ipe), start_lr, ref_lr=lr, final_lr,
 *   T_max=int(ipe_scale * num_epochs * ipe))` (V-JEPA 2 with `is_anneal`:
 *   `LinearDecaySchedule(ref_lr=lr, final_lr, T_max)`);
 * - weight decay: `CosineWDSchedule(ref_wd=weight_decay, final_wd=final_weight_decay, T_max)`;
 * - momentum: the generator `ema[0] + i * (ema[1] - ema[0]) / (ipe * num_epochs * ipe_scale)`.
 *
 * (`int()` truncates; the products are evaluated left to right as Python does.)
 * @module
 */
import type { ScheduleOptions } from '../ema';
import { invalidArgument } from '../../core/errors';

/** The optimisation values of an I-JEPA / V-JEPA / V-JEPA 2 config. */
export interface OfficialOptimization {
  ipe: number;
  epochs: number;
  ipeScale: number;
  warmup: number;
  startLr: number;
  lr: number;
  finalLr: number;
  weightDecay: number;
  finalWeightDecay: number;
  ema: [number, number];
  /** V-JEPA 2's `is_anneal`: a linear decay from `lr` to `final_lr` instead of warm-up + cosine. */
  anneal?: boolean;
}

/** The lr, weight-decay and momentum schedules of the official loop. */
export function officialSchedules(o: OfficialOptimization): {
  lr: ScheduleOptions;
  weightDecay: ScheduleOptions;
  momentum: ScheduleOptions;
} {
  const tMax = Math.trunc(o.ipeScale * o.epochs * o.ipe);
  if (!(tMax >= 1)) {
    throw invalidArgument(
      `expected int(ipe_scale * epochs * ipe) to be at least 1, got int(${o.ipeScale} * ${o.epochs} * ${o.ipe}) = ${tMax} (the official schedulers divide by it)`,
    );
  }
  const lr: ScheduleOptions = o.anneal
    ? { kind: 'linearDecay', start: o.lr, end: o.finalLr, steps: tMax }
    : {
        kind: 'warmupCosine',
        start: o.startLr,
        peak: o.lr,
        end: o.finalLr,
        warmupSteps: Math.trunc(o.warmup * o.ipe),
        steps: tMax,
      };
  return {
    lr,
    weightDecay: { kind: 'cosineWd', start: o.weightDecay, end: o.finalWeightDecay, steps: tMax },
    momentum: { kind: 'linear', start: o.ema[0], end: o.ema[1], steps: o.ipe * o.epochs * o.ipeScale },
  };
}
