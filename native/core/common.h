// The seam between JS and C++: per-environment addon data, the one error-translation guard,
// and JS <-> C++ converters shared by every binding.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"

namespace jepa {

// Releases references to JS ArrayBuffers that libtorch storages borrowed (zero-copy tensors).
// A storage's deleter may run on any thread: on the JS thread the reference is deleted at once,
// elsewhere it is queued and deleted on the JS thread through a thread-safe function.
class ReleaseQueue {
 public:
  ReleaseQueue(napi_env env);
  void Start(Napi::Env env);
  // Called from any thread.
  void Release(napi_ref ref);
  // Deletes `ref` on a later turn of the JS thread's event loop, even when called on that thread
  // (from a finalizer that runs inside the garbage collector). Called from any thread.
  void ReleaseLater(napi_ref ref);
  // Called on the JS thread when the environment shuts down: later releases are dropped
  // (the references die with the environment).
  void Shutdown();

 private:
  static void Drain(Napi::Env env, Napi::Function, ReleaseQueue* self, void*);
  using Tsfn = Napi::TypedThreadSafeFunction<ReleaseQueue, void, &ReleaseQueue::Drain>;

  std::mutex mutex_;
  napi_env env_;
  std::thread::id js_thread_;
  bool alive_ = true;
  std::vector<napi_ref> pending_;
  Tsfn tsfn_;
};

class AsyncLane;  // native/core/async.cc

// The JS classes and functions of lib/ that native code builds values and errors with,
// registered once per environment by lib/core/binding.ts right after it loads the addon
// (the `init` export, native/bindings/core_binding.cc).
struct JsClasses {
  bool registered = false;
  Napi::FunctionReference jepa_error;       // JepaError(code, message)
  Napi::FunctionReference jepa_type_error;  // JepaTypeError(code, message): also a TypeError
  // lib/io/values.ts (docs/values.md)
  Napi::FunctionReference tuple, size, ordered_dict, device, dtype, float_box;
  Napi::Reference<Napi::Value> float_keys, attrs;  // the FLOAT_KEYS and PY_ATTRS symbols
  // lib/tensor/tensor.ts: wrap_tensor(NativeTensor) -> Tensor; tensor_handle(x) -> the
  // NativeTensor of a Tensor, or undefined for anything else
  Napi::FunctionReference wrap_tensor, tensor_handle;
  // JS built-ins, fetched once
  Napi::FunctionReference set, map, array_from;
  Napi::Reference<Napi::Value> object_prototype;
};

// Per-environment state (one per main thread or worker thread that loads the addon): the one
// store of everything native code keeps per environment.
struct AddonData {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference module_ctor;
  Napi::FunctionReference trainer_ctor;
  Napi::FunctionReference dist_group_ctor;
  Napi::FunctionReference archive_ctor;
  JsClasses js;
  Napi::FunctionReference generator_ctor;
  std::shared_ptr<ReleaseQueue> release_queue;
  std::shared_ptr<AsyncLane> async_lane;  // where async work's results come back (native/core/async.h)
};

AddonData& GetAddonData(Napi::Env env);

// The registered classes; throws kInternal when lib/core/binding.ts has not called `init`.
const JsClasses& JsClassesOf(Napi::Env env);

// Builds a JepaError (or, for a TypeError, a JepaTypeError) carrying a stable `code`; before the
// classes are registered, a plain Error (TypeError) with `code` set.
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message,
                      bool type_error = false);

// Called in a catch block, on any thread: the code, message and kind of the exception being
// handled (jepa::Error, c10::Error, std::bad_alloc, std::exception, anything else), as every
// JS error of the addon reports it.
inline void DescribeCurrentException(std::string* code, std::string* message, bool* type_error) {
  *type_error = false;
  try {
    throw;
  } catch (const Error& e) {
    *code = e.code();
    *type_error = e.type_error();
    *message = e.what();
  } catch (const c10::OutOfMemoryError& e) {
    *code = code::kOutOfMemory;
    *message = e.what_without_backtrace();
  } catch (const c10::Error& e) {
    *code = code::kTorch;
    *message = e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    *code = code::kOutOfMemory;
    *message = "out of memory";
  } catch (const std::exception& e) {
    *code = code::kInternal;
    *message = e.what();
  } catch (...) {
    *code = code::kInternal;
    *message = "an unknown C++ exception";
  }
}

// Runs `fn`, turning every C++ exception (jepa::Error, c10::Error, std::bad_alloc,
// std::exception) into a JS exception. No C++ exception crosses Node-API.
template <typename F>
auto Guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    std::string code, message;
    bool type_error;
    DescribeCurrentException(&code, &message, &type_error);
    throw MakeError(env, code, message, type_error);
  }
}

// Argument converters; each throws a TypeError naming `what` and the expected type.
std::string ToString(const Napi::Value& v, const char* what);
std::vector<int64_t> ToShape(const Napi::Value& v, const char* what);
double ToDouble(const Napi::Value& v, const char* what);
Napi::Array FromShape(Napi::Env env, at::IntArrayRef shape);

}  // namespace jepa
