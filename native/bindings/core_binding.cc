#include "bindings/core_binding.h"

#include <torch/csrc/api/include/torch/version.h>
#include <torch/cuda.h>

#include "core/common.h"
#include "core/dtype.h"
#include "core/file_io.h"
#include "pt/value.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

// init({JepaError, JepaTypeError, Tuple, Size, OrderedDict, TorchDevice, TorchDtype, Float,
// FLOAT_KEYS, PY_ATTRS, wrapTensor, tensorHandle}): lib/core/binding.ts calls it once, right
// after loading the addon, before any other call.
Napi::Value Register(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Error(code::kInternal, "init needs the JS classes");
    Napi::Object o = info[0].As<Napi::Object>();
    auto fn = [&](Napi::Object from, const char* name) {
      Napi::Value v = from.Get(name);
      if (!v.IsFunction()) throw Error(code::kInternal, std::string("init: ") + name + " is not a function");
      return Napi::Persistent(v.As<Napi::Function>());
    };
    auto symbol = [&](const char* name) {
      Napi::Value v = o.Get(name);
      if (!v.IsSymbol()) throw Error(code::kInternal, std::string("init: ") + name + " is not a symbol");
      return Napi::Persistent(v);
    };
    Napi::Object global = env.Global();
    JsClasses js;
    js.jepa_error = fn(o, "JepaError");
    js.jepa_type_error = fn(o, "JepaTypeError");
    js.tuple = fn(o, "Tuple");
    js.size = fn(o, "Size");
    js.ordered_dict = fn(o, "OrderedDict");
    js.device = fn(o, "TorchDevice");
    js.dtype = fn(o, "TorchDtype");
    js.float_box = fn(o, "Float");
    js.float_keys = symbol("FLOAT_KEYS");
    js.attrs = symbol("PY_ATTRS");
    js.wrap_tensor = fn(o, "wrapTensor");
    js.tensor_handle = fn(o, "tensorHandle");
    js.set = fn(global, "Set");
    js.map = fn(global, "Map");
    js.array_from = fn(global.Get("Array").As<Napi::Object>(), "from");
    js.object_prototype = Napi::Persistent(global.Get("Object").As<Napi::Object>().Get("prototype"));
    js.registered = true;
    GetAddonData(env).js = std::move(js);
    return env.Undefined();
  });
}

// The dtype table (core/dtype.h): [{name, elementSize, typedArray, safetensors, npy}].
Napi::Array DtypeTable(Napi::Env env) {
  const auto& table = Dtypes();
  Napi::Array out = Napi::Array::New(env, table.size());
  auto text = [&](const char* s) {
    return s != nullptr ? Napi::Value(Napi::String::New(env, s)) : env.Null();
  };
  for (size_t i = 0; i < table.size(); ++i) {
    const DtypeInfo& d = table[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", d.name);
    o.Set("elementSize", Napi::Number::New(env, static_cast<double>(d.element_size)));
    o.Set("typedArray", text(d.typed_array));
    o.Set("safetensors", text(d.safetensors));
    o.Set("npy", text(d.npy));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

// The documented limits of the readers and writers (pt/value.h, core/file_io.h), for
// `jepa.limits`.
Napi::Object Limits(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* name, int64_t v) {
    o.Set(name, Napi::Number::New(env, static_cast<double>(v)));
  };
  set("maxDepth", pt::kMaxDepth);
  set("maxStringBytes", pt::kMaxStringBytes);
  set("maxRank", pt::kMaxRank);
  set("maxFileBytes", pt::kMaxFileBytes);
  set("maxPickleBytes", pt::kMaxPickleBytes);
  set("maxZipDirectoryBytes", pt::kMaxZipDirectoryBytes);
  set("maxDeflatedRecordBytes", pt::kMaxDeflatedRecordBytes);
  set("maxIntBytes", pt::kMaxIntBytes);
  set("staleTempSeconds", files::kStaleTempSeconds);
  return o;
}

Napi::Value CudaIsBuilt(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), CudaBuilt());
}

// torch.cuda.synchronize(device): waits for the device's queued work (CUDA calls return once
// queued). Throws JEPA_CUDA_UNAVAILABLE without CUDA, as the device parser does.
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cuda";
    const c10::Device device = ParseDevice(name);
    if (!device.is_cuda())
      throw Error(code::kInvalidArgument, "expected a CUDA device ('cuda' or 'cuda:N'), got '" + name + "'",
                  true);
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

}  // namespace

void CoreBindingInit(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Register, "init"));
  exports.Set("dtypes", DtypeTable(env));
  exports.Set("limits", Limits(env));
  exports.Set("cudaIsBuilt", Napi::Function::New(env, CudaIsBuilt));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, CudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCountJs));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
}

}  // namespace jepa
