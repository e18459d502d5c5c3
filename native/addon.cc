// Registration only: each concept's binding adds its functions to the exports.
#include <napi.h>

#include "bindings/core_binding.h"
#include "bindings/distributed_binding.h"
#include "bindings/masks_binding.h"
#include "bindings/module_binding.h"
#include "bindings/formats_binding.h"
#include "bindings/pt_binding.h"
#include "bindings/tensor_binding.h"
#include "bindings/train_binding.h"
#include "core/common.h"

namespace jepa {

// native/bindings/features_binding.cc
void InitFeatures(Napi::Env env, Napi::Object exports);

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->release_queue = std::make_shared<ReleaseQueue>(env);
  data->release_queue->Start(env);
  env.SetInstanceData<AddonData>(data);
  env.AddCleanupHook([queue = data->release_queue]() { queue->Shutdown(); });

  CoreBindingInit(env, exports);
  TensorHandle::Init(env, exports);
  InitMasks(env, exports);
  ModuleHandle::Init(env, exports);
  InitFeatures(env, exports);
  InitEma(env, exports);
  InitTrainer(env, exports);
  PtBindingInit(env, exports);
  FormatsBindingInit(env, exports);
  DistributedBindingInit(env, exports);
  return exports;
}

}  // namespace
}  // namespace jepa

static Napi::Object InitJepa(Napi::Env env, Napi::Object exports) { return jepa::Init(env, exports); }

NODE_API_MODULE(jepa_native, InitJepa)
