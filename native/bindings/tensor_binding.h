// JS handles to libtorch tensors (the native side of lib/tensor/tensor.ts) and the tensor factories.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include "core/common.h"
#include "tensor/tensor.h"

namespace jepa {

// One JS object per handle; it owns an at::Tensor until dispose() or garbage collection.
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // A new JS handle owning `t`. `parameter` and `requires_grad` are the Python-side flags a .pt
  // file records for a tensor (torch.nn.Parameter, requires_grad): kept with the handle and
  // written back by a save; they do not turn on autograd.
  static Napi::Object New(Napi::Env env, at::Tensor t, bool parameter = false, bool requires_grad = false);
  // The tensor of a JS handle; throws a TypeError if `v` is not a handle, kDisposed if disposed.
  static const at::Tensor& Get(const Napi::Value& v, const char* what);
  // Like Get, for an object the caller knows to be a tensor handle if it wraps anything
  // (lib/tensor/ops.ts passes only handles it took from Tensors, and plain objects): skips the
  // instanceof check, a quarter of a small op's native argument handling. Null for an object
  // that wraps nothing; throws kDisposed if disposed.
  static const at::Tensor* GetTrusted(const Napi::Object& v);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  // The tensor; throws kDisposed after dispose().
  const at::Tensor& tensor() const { return Live(); }
  bool parameter() const { return parameter_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  const at::Tensor& Live() const;
  // Drops the tensor; `in_gc`: called from the destructor, which may run inside the collector.
  void Reset(bool in_gc);

  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Strides(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Nbytes(const Napi::CallbackInfo& info);
  Napi::Value StorageOffset(const Napi::CallbackInfo& info);
  Napi::Value IsContiguous(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value ToAsync(const Napi::CallbackInfo& info);
  Napi::Value Contiguous(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value View(const Napi::CallbackInfo& info);
  Napi::Value Permute(const Napi::CallbackInfo& info);
  Napi::Value Fill(const Napi::CallbackInfo& info);
  Napi::Value Copy(const Napi::CallbackInfo& info);
  Napi::Value ToString(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value SharesStorage(const Napi::CallbackInfo& info);
  Napi::Value SetParameter(const Napi::CallbackInfo& info);
  Napi::Value IsParameter(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
  bool live_ = false;
  bool parameter_ = false;
  bool requires_grad_ = false;
  napi_env env_ = nullptr;
  // What New() counted in the registry of live tensors (native/tensor.h).
  Registration registration_;
  // Weak reference to the external ArrayBuffer of the last data() call, reused while alive. A
  // raw napi_ref so that the destructor can hand it to cache_queue_ instead of deleting it (see
  // Reset).
  napi_ref cached_buffer_ = nullptr;
  std::shared_ptr<ReleaseQueue> cache_queue_;
  const void* cached_data_ = nullptr;
  size_t cached_bytes_ = 0;
};

}  // namespace jepa
