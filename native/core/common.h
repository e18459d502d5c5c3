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

// Per-environment state (one per main thread or worker thread that loads the addon).
struct AddonData {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference module_ctor;
  Napi::FunctionReference trainer_ctor;
  Napi::FunctionReference dist_group_ctor;
  std::shared_ptr<ReleaseQueue> release_queue;
};

AddonData& GetAddonData(Napi::Env env);

// Builds a JS Error (or TypeError) carrying a stable `code`.
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
