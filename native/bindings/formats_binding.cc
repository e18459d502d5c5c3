// Node-API side of raw tensor files (safetensors, .npy): the headers are parsed and checked in
// TypeScript (lib/io/formats.ts); these functions read or write the tensor bytes they describe.
#include "bindings/formats_binding.h"

#include "core/async.h"
#include "bindings/tensor_binding.h"
#include "core/common.h"
#include "core/file_io.h"
#include "tensor/tensor.h"
#include "pt/value.h"

namespace jepa {
namespace {

std::vector<int64_t> Ints(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an array", true);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to hold numbers", true);
    out[i] = x.As<Napi::Number>().Int64Value();
  }
  return out;
}

// slots: [{dtype, shape, strides|null, offset, nbytes}]
std::vector<files::TensorSlot> Slots(const Napi::Value& v) {
  if (!v.IsArray()) throw Error(code::kInvalidArgument, "expected `slots` to be an array", true);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<files::TensorSlot> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Object o = a.Get(i).As<Napi::Object>();
    files::TensorSlot& s = out[i];
    const std::string dtype = ToString(o.Get("dtype"), "dtype");
    if (!pt::PythonDtypeOf(dtype, &s.dtype)) throw Error(code::kUnknownDtype, "unknown dtype '" + dtype + "'", true);
    s.shape = Ints(o.Get("shape"), "shape");
    Napi::Value strides = o.Get("strides");
    if (!strides.IsNull() && !strides.IsUndefined()) s.strides = Ints(strides, "strides");
    s.offset = static_cast<int64_t>(ToDouble(o.Get("offset"), "offset"));
    s.nbytes = static_cast<int64_t>(ToDouble(o.Get("nbytes"), "nbytes"));
  }
  return out;
}

std::optional<c10::Device> Device(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return ParseDevice(ToString(v, "device"));
}

Napi::Value Handles(Napi::Env env, std::vector<at::Tensor>& tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, tensors[i]));
  return out;
}

// readTensorsSync(path, mmap, byteswap, slots, device) -> NativeTensor[]
Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    auto tensors = files::ReadTensors(path, Slots(info[3]), info[1].ToBoolean().Value(), info[2].ToBoolean().Value(),
                                      Device(info[4]));
    return Handles(info.Env(), tensors);
  });
}

// readTensors(path, mmap, byteswap, slots, device) -> Promise<NativeTensor[]>
Napi::Value ReadAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    const bool mmap = info[1].ToBoolean().Value(), swap = info[2].ToBoolean().Value();
    auto slots = Slots(info[3]);
    auto device = Device(info[4]);
    return RunAsync<std::vector<at::Tensor>>(
        info.Env(), [path, mmap, swap, slots, device]() { return files::ReadTensors(path, slots, mmap, swap, device); },
        [](Napi::Env env, std::vector<at::Tensor>& tensors) { return Handles(env, tensors); });
  });
}

std::vector<at::Tensor> TensorList(const Napi::Value& v) {
  if (!v.IsArray()) throw Error(code::kInvalidArgument, "expected `tensors` to be an array", true);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(TensorHandle::Get(a.Get(i), "tensor"));
  return out;
}

std::string Header(const Napi::Value& v) {
  if (!v.IsBuffer()) throw Error(code::kInvalidArgument, "expected `header` to be a Buffer", true);
  auto b = v.As<Napi::Buffer<char>>();
  return std::string(b.Data(), b.Length());
}

// writeTensorsSync(path, header, tensors)
Napi::Value WriteSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    files::WriteTensors(ToString(info[0], "path"), Header(info[1]), TensorList(info[2]));
    return info.Env().Undefined();
  });
}

// writeTensors(path, header, tensors) -> Promise
Napi::Value WriteAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    std::string header = Header(info[1]);
    auto tensors = TensorList(info[2]);
    return RunAsync<bool>(
        info.Env(), [path, header, tensors]() { files::WriteTensors(path, header, tensors); return true; },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

}  // namespace

void FormatsBindingInit(Napi::Env env, Napi::Object exports) {
  exports.Set("readTensorsSync", Napi::Function::New(env, ReadSync));
  exports.Set("readTensors", Napi::Function::New(env, ReadAsync));
  exports.Set("writeTensorsSync", Napi::Function::New(env, WriteSync));
  exports.Set("writeTensors", Napi::Function::New(env, WriteAsync));
}

}  // namespace jepa
