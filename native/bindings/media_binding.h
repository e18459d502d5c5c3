// Registers the image preprocessing functions (lib/media/preprocess.ts) on the addon's exports.
#pragma once
#include <napi.h>

namespace jepa {

void InitMedia(Napi::Env env, Napi::Object exports);

}  // namespace jepa
