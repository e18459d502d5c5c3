// Registers the mask sampler functions (jepa.masks) on the addon's exports.
#pragma once
#include <napi.h>

namespace jepa {

void InitMasks(Napi::Env env, Napi::Object exports);

}  // namespace jepa
