// Node-API functions for .pt files: ptLoadSync, ptLoadMany, ptSave/ptSaveSync
// (pt_binding.cc), ptOpen/ptOpenSync and the PtArchive class (pt_archive_binding.cc).
#pragma once
#include <napi.h>

namespace jepa {

// Adds the .pt functions, lazy archives included, to the addon's exports.
void PtBindingInit(Napi::Env env, Napi::Object exports);

// Adds ptOpen/ptOpenSync (lazy archives) to the addon's exports.
void PtArchiveBindingInit(Napi::Env env, Napi::Object exports);

}  // namespace jepa
