// Node-API functions for .pt files: ptLoad/ptLoadSync, ptSave/ptSaveSync, ptOpen/ptOpenSync.
#pragma once
#include <napi.h>

namespace jepa {

// Adds the .pt functions to the addon's exports.
void PtBindingInit(Napi::Env env, Napi::Object exports);

}  // namespace jepa
