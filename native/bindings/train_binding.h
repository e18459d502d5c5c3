// Node-API functions of training: EMA updates and schedules (ema_binding.cc), trainers
// (trainer_binding.cc).
#pragma once
#include <napi.h>

#include "train/schedule.h"

namespace jepa {

// A schedule from its raw form (lib/train/ema.ts toScheduleOptions: every field given).
Schedule ScheduleFromJs(const Napi::Value& raw);

// emaUpdate, emaUpdateSync, emaFusedAvailable, scheduleValues.
void InitEma(Napi::Env env, Napi::Object exports);

// createTrainer, manualSeed.
void InitTrainer(Napi::Env env, Napi::Object exports);

}  // namespace jepa
