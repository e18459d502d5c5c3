// JS handles to TorchScript modules (the native side of lib/models/module.ts).
#pragma once
#include <napi.h>

#include <memory>

#include "model/module.h"

namespace jepa {

// One JS object per loaded module. Calls convert their arguments on the JS thread through the
// value codec (values_binding.h) into a value tree and then into IValues typed by the method's
// schema (pt/ivalue.h), run on a libuv worker (async forms; the result becomes a value tree
// there) and build the JS result on the JS thread (docs/values.md).
class ModuleHandle : public Napi::ObjectWrap<ModuleHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object New(Napi::Env env, std::shared_ptr<ScriptModule> module);
  // The module of a JS module handle; TypeError naming `what` for anything else, kDisposed
  // for a disposed one.
  static std::shared_ptr<ScriptModule> Get(const Napi::Value& value, const char* what);

  explicit ModuleHandle(const Napi::CallbackInfo& info);

 private:
  ScriptModule& Live() const;
  std::vector<c10::IValue> ConvertArgs(const Napi::CallbackInfo& info, const std::string& method);

  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunSync(const Napi::CallbackInfo& info);
  Napi::Value Methods(const Napi::CallbackInfo& info);
  Napi::Value Schema(const Napi::CallbackInfo& info);
  Napi::Value Arguments(const Napi::CallbackInfo& info);
  Napi::Value NamedParameters(const Napi::CallbackInfo& info);
  Napi::Value NamedBuffers(const Napi::CallbackInfo& info);
  Napi::Value LoadStateDict(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value IsTraining(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value SaveSync(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value CloneSync(const Napi::CallbackInfo& info);
  Napi::Value InFlight(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<ScriptModule> module_;
};

}  // namespace jepa
