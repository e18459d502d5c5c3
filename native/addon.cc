// Registration only: each concept's binding adds its functions to the exports.
#include <napi.h>

#include "bindings/core_binding.h"
#include "bindings/distributed_binding.h"
#include "bindings/formats_binding.h"
#include "bindings/masks_binding.h"
#include "bindings/media_binding.h"
#include "bindings/module_binding.h"
#include "bindings/pt_binding.h"
#include "bindings/tensor_binding.h"
#include "bindings/train_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "tensor/finalizers.h"

namespace jepa {

// native/bindings/ops_binding.cc
void OpsBindingInit(Napi::Env env, Napi::Object exports);
// native/bindings/data_binding.cc
void InitData(Napi::Env env, Napi::Object exports);

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->release_queue = std::make_shared<ReleaseQueue>(env);
  data->release_queue->Start(env);
  env.SetInstanceData<AddonData>(data);
  env.AddCleanupHook([queue = data->release_queue]() { queue->Shutdown(); });
  AsyncInit(env, exports);

  CoreBindingInit(env, exports);
  TensorHandle::Init(env, exports);
  InitMasks(env, exports);
  InitMedia(env, exports);
  ModuleHandle::Init(env, exports);
  InitEma(env, exports);
  InitTrainer(env, exports);
  InitData(env, exports);
  PtBindingInit(env, exports);
  FormatsBindingInit(env, exports);
  DistributedBindingInit(env, exports);
  OpsBindingInit(env, exports);
  exports.Set("finalizers", Napi::String::New(env, FinalizersRunInGc() ? "gc" : "event-loop"));
  return exports;
}

}  // namespace
}  // namespace jepa

static Napi::Object InitJepa(Napi::Env env, Napi::Object exports) { return jepa::Init(env, exports); }

// Registration by hand rather than with NODE_API_MODULE, to declare the module's Node-API version
// at run time (jepa::ModuleApiVersion in native/tensor/finalizers.h): that version decides whether
// Node runs the addon's finalizers inside the garbage collector.
extern "C" {
NAPI_MODULE_EXPORT int32_t node_api_module_get_api_version_v1(void) { return jepa::ModuleApiVersion(); }
NAPI_MODULE_EXPORT napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  return Napi::RegisterModule(env, exports, InitJepa);
}
}
