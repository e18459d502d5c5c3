#include "core/common.h"

#include <cmath>

namespace jepa {

ReleaseQueue::ReleaseQueue(napi_env env) : env_(env), js_thread_(std::this_thread::get_id()) {}

void ReleaseQueue::Start(Napi::Env env) {
  tsfn_ = Tsfn::New(env, "jepa-native:release", 0, 1, this);
  tsfn_.Unref(env);  // never keeps the process alive
}

void ReleaseQueue::Release(napi_ref ref) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!alive_) return;
  if (std::this_thread::get_id() == js_thread_) {
    lock.unlock();
    napi_delete_reference(env_, ref);
    return;
  }
  pending_.push_back(ref);
  const bool first = pending_.size() == 1;
  lock.unlock();
  if (first) tsfn_.NonBlockingCall();
}

void ReleaseQueue::ReleaseLater(napi_ref ref) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!alive_) return;
  pending_.push_back(ref);
  const bool first = pending_.size() == 1;
  lock.unlock();
  if (first) tsfn_.NonBlockingCall();
}

void ReleaseQueue::Shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!alive_) return;
  alive_ = false;
  pending_.clear();
  tsfn_.Release();
}

void ReleaseQueue::Drain(Napi::Env env, Napi::Function, ReleaseQueue* self, void*) {
  if (env == nullptr || self == nullptr) return;
  std::vector<napi_ref> refs;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->alive_) return;
    refs.swap(self->pending_);
  }
  for (napi_ref ref : refs) napi_delete_reference(env, ref);
}

AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

const JsClasses& JsClassesOf(Napi::Env env) {
  const JsClasses& js = GetAddonData(env).js;
  if (!js.registered)
    throw Error(code::kInternal,
                "the addon's JS classes were not registered (lib/core/binding.ts calls init)");
  return js;
}

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message, bool type_error) {
  const JsClasses& js = GetAddonData(env).js;
  if (js.registered) {
    const Napi::FunctionReference& ctor = type_error ? js.jepa_type_error : js.jepa_error;
    return Napi::Error(env, ctor.New({Napi::String::New(env, code), Napi::String::New(env, message)}));
  }
  Napi::Error err = type_error ? Napi::TypeError::New(env, message) : Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

std::string ToString(const Napi::Value& v, const char* what) {
  if (!v.IsString()) {
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be a string", true);
  }
  return v.As<Napi::String>().Utf8Value();
}

double ToDouble(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) {
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be a number", true);
  }
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<int64_t> ToShape(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) {
    throw Error(code::kInvalidArgument,
                std::string("expected `") + what + "` to be an array of non-negative integers", true);
  }
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0) {
      throw Error(code::kInvalidArgument,
                  std::string("expected `") + what + "` to be an array of non-negative integers", true);
    }
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

Napi::Array FromShape(Napi::Env env, at::IntArrayRef shape) {
  Napi::Array arr = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) arr.Set(i, Napi::Number::New(env, static_cast<double>(shape[i])));
  return arr;
}

}  // namespace jepa
