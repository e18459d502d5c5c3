// JS handles to libtorch tensors (the native side of lib/tensor/tensor.ts) and the tensor factories.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

namespace jepa {

// One JS object per handle; it owns an at::Tensor until dispose() or garbage collection.
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // A new JS handle owning `t`.
  static Napi::Object New(Napi::Env env, at::Tensor t);
  // The tensor of a JS handle; throws a TypeError if `v` is not a handle, kDisposed if disposed.
  static const at::Tensor& Get(const Napi::Value& v, const char* what);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

 private:
  const at::Tensor& Live() const;
  void Reset();

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

  at::Tensor tensor_;
  bool live_ = false;
  // Weak reference to the external ArrayBuffer of the last data() call, reused while alive.
  Napi::Reference<Napi::ArrayBuffer> cached_buffer_;
  const void* cached_data_ = nullptr;
  size_t cached_bytes_ = 0;
};

}  // namespace jepa
