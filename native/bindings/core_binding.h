// The addon's own facts and set-up: `init` (the JS classes native code builds values and errors
// with, registered once per environment), the dtype table, the readers' limits, CUDA and the
// libtorch version.
#pragma once
#include <napi.h>

namespace jepa {

void CoreBindingInit(Napi::Env env, Napi::Object exports);

}  // namespace jepa
