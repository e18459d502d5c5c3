#include "bindings/tensor_binding.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>

#include "core/async.h"
#include "core/common.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

// Context of a storage that borrows a JS ArrayBuffer (zero-copy in).
struct JsBuffer {
  std::shared_ptr<ReleaseQueue> queue;
  napi_ref ref;   // strong reference to the ArrayBuffer
  uint8_t* base;  // start of the ArrayBuffer's memory
};

// Storage deleter: may run on any thread.
void ReleaseJsBuffer(void* ctx) {
  std::unique_ptr<JsBuffer> buffer(static_cast<JsBuffer*>(ctx));
  buffer->queue->Release(buffer->ref);
}

// Tells V8 how much memory outside its heap its objects keep alive. Allowed inside the garbage
// collector; a failure (an environment being torn down) only loses a hint, so it is ignored.
void ReportExternalMemory(napi_env env, int64_t change) {
  int64_t total;
  napi_adjust_external_memory(env, change, &total);
}

const char* TypedArrayName(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
      return "Int8Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint8_clamped_array:
      return "Uint8ClampedArray";
    case napi_int16_array:
      return "Int16Array";
    case napi_uint16_array:
      return "Uint16Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint32_array:
      return "Uint32Array";
    case napi_float32_array:
      return "Float32Array";
    case napi_float64_array:
      return "Float64Array";
    case napi_bigint64_array:
      return "BigInt64Array";
    case napi_biguint64_array:
      return "BigUint64Array";
    default:
      return "TypedArray";
  }
}

// The typed array that holds a dtype (the dtype table's `typed_array`).
napi_typedarray_type TypedArrayTypeOf(at::ScalarType type) {
  const DtypeInfo* d = FindDtype(type);
  if (d != nullptr && d->typed_array != nullptr) {
    for (napi_typedarray_type t :
         {napi_float32_array, napi_float64_array, napi_uint16_array, napi_int8_array, napi_int16_array,
          napi_int32_array, napi_bigint64_array, napi_uint8_array}) {
      if (std::strcmp(TypedArrayName(t), d->typed_array) == 0) return t;
    }
  }
  throw Error(code::kUnknownDtype, "dtype " + DtypeName(type) + " has no typed array form", true);
}

Napi::Value TypedArray(Napi::Env env, napi_typedarray_type type, size_t length, Napi::ArrayBuffer ab,
                       size_t byte_offset) {
  napi_value result;
  napi_status status = napi_create_typedarray(env, type, length, ab, byte_offset, &result);
  NAPI_THROW_IF_FAILED(env, status, Napi::Value());
  return Napi::Value(env, result);
}

std::vector<int64_t> ToIntList(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) {
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an array of integers",
                true);
  }
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || d != std::floor(d) || d < -1) {
      throw Error(code::kInvalidArgument,
                  std::string("expected `") + what + "` to be an array of integers >= -1", true);
    }
    out[i] = static_cast<int64_t>(d);
  }
  return out;
}

at::TensorOptions Options(const Napi::Value& dtype, const Napi::Value& device) {
  at::TensorOptions opts = at::TensorOptions().dtype(ParseDtype(ToString(dtype, "dtype")));
  return opts.device(ParseDevice(ToString(device, "device")));
}

// tensorFromTypedArray(typedArray, shape, dtype, device): wraps the JS memory (zero-copy) and,
// for another device, copies it there.
Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray()) {
      throw Error(code::kInvalidArgument, "expected `data` to be a typed array", true);
    }
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value ab_value;
    size_t byte_offset;
    NAPI_THROW_IF_FAILED(
        env, napi_get_typedarray_info(env, info[0], &type, &length, &data, &ab_value, &byte_offset),
        Napi::Value());
    std::vector<int64_t> shape = ToShape(info[1], "shape");
    const at::ScalarType dtype = ParseDtype(ToString(info[2], "dtype"));
    const c10::Device device = ParseDevice(ToString(info[3], "device"));
    napi_typedarray_type expected = TypedArrayTypeOf(dtype);
    const bool ok = type == expected || (expected == napi_uint8_array && type == napi_uint8_clamped_array);
    if (!ok) {
      throw Error(code::kInvalidArgument,
                  "dtype " + DtypeName(dtype) + " needs a " + TypedArrayName(expected) + ", got a " +
                      TypedArrayName(type),
                  true);
    }
    const int64_t numel = jepa::Numel(shape);
    if (numel != static_cast<int64_t>(length)) {
      throw Error(code::kShapeMismatch, "data has " + std::to_string(length) + " elements but shape " +
                                            ShapeString(shape) + " needs " + std::to_string(numel));
    }
    if (dtype == at::kBool) {
      const uint8_t* bytes = static_cast<const uint8_t*>(data);
      for (size_t i = 0; i < length; ++i) {
        if (bytes[i] > 1) {
          throw Error(code::kInvalidArgument, "dtype bool needs bytes that are 0 or 1; element " +
                                                  std::to_string(i) + " is " + std::to_string(bytes[i]));
        }
      }
    }
    auto buffer = std::make_unique<JsBuffer>();
    buffer->queue = GetAddonData(env).release_queue;
    buffer->base = static_cast<uint8_t*>(data) - byte_offset;
    NAPI_THROW_IF_FAILED(env, napi_create_reference(env, ab_value, 1, &buffer->ref), Napi::Value());
    JsBuffer* ctx = buffer.release();
    at::Tensor t;
    try {
      t = at::for_blob(data, shape)
              .context(ctx, &ReleaseJsBuffer)
              .options(at::TensorOptions().dtype(dtype))
              .make_tensor();
    } catch (...) {
      ReleaseJsBuffer(ctx);
      throw;
    }
    if (device != t.device()) t = t.to(device);
    return TensorHandle::New(env, std::move(t));
  });
}

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::New(info.Env(), at::zeros(ToShape(info[0], "shape"), Options(info[1], info[2])));
  });
}

Napi::Value Ones(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::New(info.Env(), at::ones(ToShape(info[0], "shape"), Options(info[1], info[2])));
  });
}

Napi::Value Empty(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::New(info.Env(), at::empty(ToShape(info[0], "shape"), Options(info[1], info[2])));
  });
}

// arange(start, end, step, dtype, device)
Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const double start = ToDouble(info[0], "start");
    const double end = ToDouble(info[1], "end");
    const double step = ToDouble(info[2], "step");
    return TensorHandle::New(info.Env(), at::arange(start, end, step, Options(info[3], info[4])));
  });
}

// randn(shape, dtype, device, seed | undefined): with a seed, the values equal Python's
// torch.randn(shape, generator=torch.Generator().manual_seed(seed)) drawn on the CPU.
Napi::Value Randn(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    std::vector<int64_t> shape = ToShape(info[0], "shape");
    at::TensorOptions opts = Options(info[1], info[2]);
    at::Tensor t;
    if (info[3].IsUndefined() || info[3].IsNull()) {
      t = at::randn(shape, opts);
    } else {
      bool lossless = false;
      uint64_t seed = info[3].IsBigInt() ? info[3].As<Napi::BigInt>().Uint64Value(&lossless)
                                         : static_cast<uint64_t>(ToDouble(info[3], "seed"));
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
      t = at::randn(shape, gen, opts.device(c10::kCPU));
      if (opts.device() != t.device()) t = t.to(opts.device());
    }
    return TensorHandle::New(info.Env(), std::move(t));
  });
}

Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemoryStats s = Memory(static_cast<napi_env>(env));
  Napi::Object o = Napi::Object::New(env);
  o.Set("tensors", Napi::Number::New(env, static_cast<double>(s.tensors)));
  o.Set("storages", Napi::Number::New(env, static_cast<double>(s.storages)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(s.bytes)));
  o.Set("external", Napi::Number::New(env, static_cast<double>(s.reported)));
  return o;
}

}  // namespace

void TensorHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NativeTensor",
                                    {
                                        InstanceMethod("shape", &TensorHandle::Shape),
                                        InstanceMethod("strides", &TensorHandle::Strides),
                                        InstanceMethod("dtype", &TensorHandle::Dtype),
                                        InstanceMethod("device", &TensorHandle::Device),
                                        InstanceMethod("numel", &TensorHandle::Numel),
                                        InstanceMethod("nbytes", &TensorHandle::Nbytes),
                                        InstanceMethod("storageOffset", &TensorHandle::StorageOffset),
                                        InstanceMethod("isContiguous", &TensorHandle::IsContiguous),
                                        InstanceMethod("setParameter", &TensorHandle::SetParameter),
                                        InstanceMethod("isParameter", &TensorHandle::IsParameter),
                                        InstanceMethod("data", &TensorHandle::Data),
                                        InstanceMethod("item", &TensorHandle::Item),
                                        InstanceMethod("to", &TensorHandle::To),
                                        InstanceMethod("toAsync", &TensorHandle::ToAsync),
                                        InstanceMethod("contiguous", &TensorHandle::Contiguous),
                                        InstanceMethod("clone", &TensorHandle::Clone),
                                        InstanceMethod("reshape", &TensorHandle::Reshape),
                                        InstanceMethod("view", &TensorHandle::View),
                                        InstanceMethod("permute", &TensorHandle::Permute),
                                        InstanceMethod("fill_", &TensorHandle::Fill),
                                        InstanceMethod("copy_", &TensorHandle::Copy),
                                        InstanceMethod("toString", &TensorHandle::ToString),
                                        InstanceMethod("dispose", &TensorHandle::Dispose),
                                        InstanceMethod("isDisposed", &TensorHandle::IsDisposed),
                                        InstanceMethod("sharesStorage", &TensorHandle::SharesStorage),
                                    });
  GetAddonData(env).tensor_ctor = Napi::Persistent(ctor);
  exports.Set("NativeTensor", ctor);
  exports.Set("tensorFromTypedArray", Napi::Function::New(env, FromTypedArray));
  exports.Set("zeros", Napi::Function::New(env, Zeros));
  exports.Set("ones", Napi::Function::New(env, Ones));
  exports.Set("empty", Napi::Function::New(env, Empty));
  exports.Set("arange", Napi::Function::New(env, Arange));
  exports.Set("randn", Napi::Function::New(env, Randn));
  exports.Set("memory", Napi::Function::New(env, MemoryInfo));
}

Napi::Object TensorHandle::New(Napi::Env env, at::Tensor t, bool parameter, bool requires_grad) {
  Napi::Object obj = GetAddonData(env).tensor_ctor.New({});
  TensorHandle* h = Unwrap(obj);
  h->tensor_ = std::move(t);
  h->live_ = true;
  h->parameter_ = parameter;
  h->requires_grad_ = requires_grad;
  h->env_ = env;
  // Memory that V8 cannot see (libtorch's allocations, not a borrowed ArrayBuffer) is reported
  // to it, so that allocating tensors in a loop makes V8 collect the unreachable ones.
  const bool borrowed = h->tensor_.defined() && h->tensor_.has_storage() &&
                        h->tensor_.storage().data_ptr().get_deleter() == &ReleaseJsBuffer;
  const int64_t bytes = RegisterTensor(env, h->tensor_, !borrowed, &h->registration_);
  if (bytes > 0) ReportExternalMemory(env, bytes);
  return obj;
}

const at::Tensor& TensorHandle::Get(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(GetAddonData(env).tensor_ctor.Value())) {
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be a Tensor", true);
  }
  return Unwrap(v.As<Napi::Object>())->Live();
}

const at::Tensor* TensorHandle::GetTrusted(const Napi::Object& v) {
  void* wrapped = nullptr;
  if (napi_unwrap(v.Env(), v, &wrapped) != napi_ok || wrapped == nullptr) return nullptr;
  return &static_cast<TensorHandle*>(wrapped)->Live();
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

TensorHandle::~TensorHandle() { Reset(true); }

// Runs from dispose() and from the destructor. The destructor may run inside V8's garbage
// collector (a basic finalizer, see native/tensor/finalizers.h), where nothing may call into JS.
// Adjusting external memory is allowed there, and so is deleting a strong reference (the storage
// deleter of a borrowed ArrayBuffer, ReleaseJsBuffer, does that). Deleting a weak reference is
// not: its target may die in the same collection, and V8 would then reset a handle already
// destroyed (Node 20 aborts with "Check failed: node->IsInUse()"). So the weak reference of the
// data() cache is deleted later, on the JS thread, through the release queue.
void TensorHandle::Reset(bool in_gc) {
  if (cached_buffer_ != nullptr) {
    if (in_gc) {
      cache_queue_->ReleaseLater(cached_buffer_);
    } else {
      napi_delete_reference(env_, cached_buffer_);
    }
    cached_buffer_ = nullptr;
    cache_queue_.reset();
  }
  if (!live_) return;
  const int64_t bytes = UnregisterTensor(registration_);
  if (bytes > 0) ReportExternalMemory(env_, -bytes);
  live_ = false;
  tensor_ = at::Tensor();
}

const at::Tensor& TensorHandle::Live() const {
  if (!live_) throw Error(code::kDisposed, "this Tensor was disposed: it can no longer be used");
  return tensor_;
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return FromShape(info.Env(), Live().sizes()); });
}

Napi::Value TensorHandle::Strides(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return FromShape(info.Env(), Live().strides()); });
}

Napi::Value TensorHandle::Dtype(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), DtypeName(Live().scalar_type()));
  });
}

Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return Napi::String::New(info.Env(), DeviceName(Live().device())); });
}

Napi::Value TensorHandle::Numel(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(Live().numel()));
  });
}

Napi::Value TensorHandle::Nbytes(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(Live().nbytes()));
  });
}

Napi::Value TensorHandle::StorageOffset(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(Live().storage_offset()));
  });
}

Napi::Value TensorHandle::IsContiguous(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), Live().is_contiguous()); });
}

// data(): a typed array over the tensor's own memory (zero-copy out). A tensor that borrows a
// JS ArrayBuffer answers with a view of that same ArrayBuffer; any other gets an external
// ArrayBuffer whose finalizer holds a reference to the storage, so the memory outlives
// dispose() of the handle for as long as the typed array lives.
Napi::Value TensorHandle::Data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const at::Tensor& t = Live();
    if (!t.device().is_cpu()) {
      throw Error(code::kNotCpu, "data() needs a CPU tensor, but this tensor is on " +
                                     DeviceName(t.device()) + ": call cpu() first (that copies)");
    }
    if (!t.is_contiguous()) {
      throw Error(code::kNotContiguous,
                  "data() needs a contiguous tensor, but this one has shape " + ShapeString(t.sizes()) +
                      " and strides " + ShapeString(t.strides()) + ": call contiguous() first (that copies)");
    }
    const napi_typedarray_type type = TypedArrayTypeOf(t.scalar_type());
    const size_t numel = static_cast<size_t>(t.numel());
    if (numel == 0) return TypedArray(env, type, 0, Napi::ArrayBuffer::New(env, 0), 0);
    const c10::DataPtr& ptr = t.storage().data_ptr();
    if (ptr.get_deleter() == &ReleaseJsBuffer) {
      auto* buffer = static_cast<JsBuffer*>(ptr.get_context());
      napi_value ab;
      NAPI_THROW_IF_FAILED(env, napi_get_reference_value(env, buffer->ref, &ab), Napi::Value());
      const size_t offset = static_cast<size_t>(static_cast<uint8_t*>(t.data_ptr()) - buffer->base);
      return TypedArray(env, type, numel, Napi::ArrayBuffer(env, ab), offset);
    }
    // Reuse the ArrayBuffer of an earlier call while JS still holds it: creating an external
    // ArrayBuffer makes V8 account for its size, which costs time for large tensors.
    if (cached_buffer_ != nullptr && cached_data_ == t.data_ptr() && cached_bytes_ == t.nbytes()) {
      napi_value ab = nullptr;
      NAPI_THROW_IF_FAILED(env, napi_get_reference_value(env, cached_buffer_, &ab), Napi::Value());
      if (ab != nullptr) return TypedArray(env, type, numel, Napi::ArrayBuffer(env, ab), 0);
    }
    auto* keep = new at::Tensor(t);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
        env, t.data_ptr(), t.nbytes(), [](Napi::Env, void*, at::Tensor* hint) { delete hint; }, keep);
    if (cached_buffer_ != nullptr) napi_delete_reference(env, cached_buffer_);
    cached_buffer_ = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_create_reference(env, ab, 0, &cached_buffer_), Napi::Value());
    cache_queue_ = GetAddonData(env).release_queue;
    cached_data_ = t.data_ptr();
    cached_bytes_ = t.nbytes();
    return TypedArray(env, type, numel, ab, 0);
  });
}

Napi::Value TensorHandle::Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const at::Tensor& t = Live();
    if (t.numel() != 1) {
      throw Error(code::kShapeMismatch,
                  "item() needs a tensor with one element, got shape " + ShapeString(t.sizes()));
    }
    at::Scalar s = t.item();
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(env, s.toBool());
    if (t.scalar_type() == at::kLong) return Napi::BigInt::New(env, s.toLong());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  });
}

// to(device | null, dtype | null)
Napi::Value TensorHandle::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    at::Tensor t = Live();
    if (!info[0].IsNull() && !info[0].IsUndefined()) t = t.to(ParseDevice(jepa::ToString(info[0], "device")));
    if (!info[1].IsNull() && !info[1].IsUndefined()) t = t.to(ParseDtype(jepa::ToString(info[1], "dtype")));
    return New(env, std::move(t));
  });
}

// toAsync(device | null, dtype | null): the copy runs on a worker thread (device transfers,
// large dtype conversions). Arguments are parsed here, on the JS thread.
Napi::Value TensorHandle::ToAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    at::Tensor t = Live();
    std::optional<c10::Device> device;
    std::optional<at::ScalarType> dtype;
    if (!info[0].IsNull() && !info[0].IsUndefined()) device = ParseDevice(jepa::ToString(info[0], "device"));
    if (!info[1].IsNull() && !info[1].IsUndefined()) dtype = ParseDtype(jepa::ToString(info[1], "dtype"));
    return RunAsync<at::Tensor>(
        env,
        [t, device, dtype]() mutable {
          at::Tensor out = t;
          if (device) out = out.to(*device);
          if (dtype) out = out.to(*dtype);
          t = at::Tensor();  // drop the input here: its storage may be freed on this thread
          return out;
        },
        [](Napi::Env env, at::Tensor& out) -> Napi::Value { return New(env, std::move(out)); });
  });
}

Napi::Value TensorHandle::Contiguous(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return New(info.Env(), Live().contiguous()); });
}

Napi::Value TensorHandle::Clone(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return New(info.Env(), Live().clone(at::MemoryFormat::Preserve)); });
}

Napi::Value TensorHandle::Reshape(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return New(info.Env(), Live().reshape(ToIntList(info[0], "shape"))); });
}

Napi::Value TensorHandle::View(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return New(info.Env(), Live().view(ToIntList(info[0], "shape"))); });
}

Napi::Value TensorHandle::Permute(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return New(info.Env(), Live().permute(ToIntList(info[0], "dims"))); });
}

// fill_(value): writes `value` into every element, in place.
Napi::Value TensorHandle::Fill(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor t = Live();
    t.fill_(ToDouble(info[0], "value"));
    return info.This();
  });
}

// copy_(src): copies `src` (broadcast, converted) into this tensor, in place.
Napi::Value TensorHandle::Copy(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& src = Get(info[0], "src");
    at::Tensor t = Live();
    t.copy_(src);
    return info.This();
  });
}

Napi::Value TensorHandle::ToString(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!live_) return Napi::String::New(info.Env(), "Tensor(disposed)");
    return Napi::String::New(info.Env(), Describe(tensor_));
  });
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Reset(false);
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !live_);
}

Napi::Value TensorHandle::SharesStorage(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& other = Get(info[0], "other");
    const at::Tensor& t = Live();
    const bool same = t.has_storage() && other.has_storage() &&
                      t.storage().unsafeGetStorageImpl() == other.storage().unsafeGetStorageImpl();
    return Napi::Boolean::New(info.Env(), same);
  });
}

// setParameter(parameter, requiresGrad): the Python-side flags written back by a save
// (jepa.parameter).
Napi::Value TensorHandle::SetParameter(const Napi::CallbackInfo& info) {
  parameter_ = info[0].ToBoolean().Value();
  requires_grad_ = info[1].ToBoolean().Value();
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsParameter(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), parameter_);
}

}  // namespace jepa
