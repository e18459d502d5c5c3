// Registration only: each concept's binding adds its functions to the exports.
#include <napi.h>
#include <torch/csrc/api/include/torch/version.h>
#include <torch/cuda.h>

#include "bindings/distributed_binding.h"
#include "bindings/masks_binding.h"
#include "bindings/module_binding.h"
#include "bindings/formats_binding.h"
#include "bindings/pt_binding.h"
#include "bindings/tensor_binding.h"
#include "core/common.h"
#include "tensor/tensor.h"

namespace jepa {

// native/bindings/features_binding.cc
void InitFeatures(Napi::Env env, Napi::Object exports);
// native/bindings/train_binding.cc
void InitTrain(Napi::Env env, Napi::Object exports);

namespace {

Napi::Value CudaIsBuilt(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), CudaBuilt()); }

// torch.cuda.synchronize(device): waits for the device's queued work (CUDA calls return once
// queued). Throws JEPA_CUDA_UNAVAILABLE without CUDA, as the device parser does.
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cuda";
    const c10::Device device = ParseDevice(name);
    if (!device.is_cuda()) throw Error(code::kInvalidArgument, "expected a CUDA device ('cuda' or 'cuda:N'), got '" + name + "'", true);
    torch::cuda::synchronize(device.has_index() ? device.index() : -1);
    return info.Env().Undefined();
  });
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), CudaAvailable());
}

Napi::Value CudaDeviceCountJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(CudaAvailable() ? CudaDeviceCount() : 0));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->release_queue = std::make_shared<ReleaseQueue>(env);
  data->release_queue->Start(env);
  env.SetInstanceData<AddonData>(data);
  env.AddCleanupHook([queue = data->release_queue]() { queue->Shutdown(); });

  TensorHandle::Init(env, exports);
  InitMasks(env, exports);
  ModuleHandle::Init(env, exports);
  InitFeatures(env, exports);
  InitTrain(env, exports);
  PtBindingInit(env, exports);
  FormatsBindingInit(env, exports);
  DistributedBindingInit(env, exports);
  exports.Set("cudaIsBuilt", Napi::Function::New(env, CudaIsBuilt));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, CudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCountJs));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  return exports;
}

}  // namespace
}  // namespace jepa

static Napi::Object InitJepa(Napi::Env env, Napi::Object exports) { return jepa::Init(env, exports); }

NODE_API_MODULE(jepa_native, InitJepa)
