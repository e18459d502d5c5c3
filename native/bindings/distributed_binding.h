// JS handles to process groups (the native side of lib/distributed/distributed.ts).
#pragma once
#include <napi.h>

#include <memory>

#include "distributed/distributed.h"

namespace jepa {

void DistributedBindingInit(Napi::Env env, Napi::Object exports);

// The group of a JS process-group handle; TypeError naming `what` for anything else.
std::shared_ptr<DistGroup> DistGroupFromJs(const Napi::Value& value, const char* what);

}  // namespace jepa
