// Node-API functions for raw tensor files: readTensors(Sync), writeTensors(Sync).
#pragma once
#include <napi.h>

namespace jepa {

// Adds the raw tensor-file functions to the addon's exports.
void FormatsBindingInit(Napi::Env env, Napi::Object exports);

}  // namespace jepa
