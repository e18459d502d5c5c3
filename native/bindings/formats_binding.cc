// Node-API side of raw tensor files (safetensors, .npy, .npz): the headers are parsed and checked
// in TypeScript (lib/io/formats.ts, lib/io/npz.ts); these functions read or write the tensor
// bytes they describe, and compute the CRC-32 a zip member records.
#include "bindings/formats_binding.h"

#include "bindings/tensor_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "core/file_io.h"
#include "pt/value.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

std::vector<int64_t> Ints(const Napi::Value& v, const char* what) {
  if (!v.IsArray())
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an array", true);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber())
      throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to hold numbers", true);
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
    const DtypeInfo* info = FindDtype(dtype);
    if (info == nullptr) throw Error(code::kUnknownDtype, "unknown dtype '" + dtype + "'", true);
    s.dtype = info->type;
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
  for (size_t i = 0; i < tensors.size(); ++i)
    out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, tensors[i]));
  return out;
}

// readTensorsSync(path, mmap, byteswap, slots, device) -> NativeTensor[]
Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    auto tensors = files::ReadTensors(path, Slots(info[3]), info[1].ToBoolean().Value(),
                                      info[2].ToBoolean().Value(), Device(info[4]));
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
        info.Env(),
        [path, mmap, swap, slots, device]() { return files::ReadTensors(path, slots, mmap, swap, device); },
        [](Napi::Env env, std::vector<at::Tensor>& tensors) { return Handles(env, tensors); });
  });
}

// tensorsFromBytesSync(bytes, name, byteswap, slots, device) -> NativeTensor[]: slots of a uint8
// tensor (an inflated zip member), aliased when aligned.
Napi::Value FromBytesSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    auto tensors = files::TensorsFromBytes(TensorHandle::Get(info[0], "bytes"), ToString(info[1], "name"),
                                           Slots(info[3]), info[2].ToBoolean().Value(), Device(info[4]));
    return Handles(info.Env(), tensors);
  });
}

// tensorsFromBytes(bytes, name, byteswap, slots, device) -> Promise<NativeTensor[]>
Napi::Value FromBytesAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor bytes = TensorHandle::Get(info[0], "bytes");
    const std::string name = ToString(info[1], "name");
    const bool swap = info[2].ToBoolean().Value();
    auto slots = Slots(info[3]);
    auto device = Device(info[4]);
    return RunAsync<std::vector<at::Tensor>>(
        info.Env(),
        [bytes, name, swap, slots, device]() {
          return files::TensorsFromBytes(bytes, name, slots, swap, device);
        },
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

// `header`: a Buffer written first, or an Array of Buffers, one before each tensor (and one more
// after them).
std::vector<std::string> Pieces(const Napi::Value& v) {
  auto bytes = [](const Napi::Value& x) {
    if (!x.IsBuffer())
      throw Error(code::kInvalidArgument, "expected `header` to be a Buffer or an Array of Buffers", true);
    auto b = x.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  };
  if (!v.IsArray()) return {bytes(v)};
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(bytes(a.Get(i)));
  return out;
}

// writeTensorsSync(path, header, tensors)
Napi::Value WriteSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    files::WriteTensors(ToString(info[0], "path"), Pieces(info[1]), TensorList(info[2]));
    return info.Env().Undefined();
  });
}

// writeTensors(path, header, tensors) -> Promise
Napi::Value WriteAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    std::vector<std::string> pieces = Pieces(info[1]);
    auto tensors = TensorList(info[2]);
    return RunAsync<bool>(
        info.Env(),
        [path, pieces, tensors]() {
          files::WriteTensors(path, pieces, tensors);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

// tensorBytes(tensor) -> NativeTensor: its row-major bytes as uint8 (RowMajorBytes).
Napi::Value TensorBytes(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::New(info.Env(), files::RowMajorBytes(TensorHandle::Get(info[0], "tensor")));
  });
}

uint32_t CrcInit(const Napi::Value& v) {
  const double init = ToDouble(v, "init");
  if (!(init >= 0 && init <= 4294967295.0))
    throw Error(code::kInvalidArgument, "expected `init` to be a uint32", true);
  return static_cast<uint32_t>(init);
}

// crc32Sync(tensor, init) -> number: the CRC-32 of the tensor's bytes in row-major order.
Napi::Value Crc32Sync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(),
                             files::TensorCrc32(TensorHandle::Get(info[0], "tensor"), CrcInit(info[1])));
  });
}

// crc32(tensor, init) -> Promise<number>, on a worker thread.
Napi::Value Crc32Async(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor t = TensorHandle::Get(info[0], "tensor");
    const uint32_t init = CrcInit(info[1]);
    return RunAsync<uint32_t>(
        info.Env(), [t, init]() { return files::TensorCrc32(t, init); },
        [](Napi::Env env, uint32_t& crc) -> Napi::Value { return Napi::Number::New(env, crc); });
  });
}

}  // namespace

void FormatsBindingInit(Napi::Env env, Napi::Object exports) {
  exports.Set("readTensorsSync", Napi::Function::New(env, ReadSync));
  exports.Set("readTensors", Napi::Function::New(env, ReadAsync));
  exports.Set("writeTensorsSync", Napi::Function::New(env, WriteSync));
  exports.Set("writeTensors", Napi::Function::New(env, WriteAsync));
  exports.Set("tensorsFromBytesSync", Napi::Function::New(env, FromBytesSync));
  exports.Set("tensorsFromBytes", Napi::Function::New(env, FromBytesAsync));
  exports.Set("tensorBytes", Napi::Function::New(env, TensorBytes));
  exports.Set("crc32Sync", Napi::Function::New(env, Crc32Sync));
  exports.Set("crc32", Napi::Function::New(env, Crc32Async));
}

}  // namespace jepa
