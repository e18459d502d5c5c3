#include "bindings/module_binding.h"

#include <ATen/core/ivalue.h>

#include <cmath>
#include <string>
#include <vector>

#include "bindings/tensor_binding.h"
#include "bindings/values_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "pt/ivalue.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

// A method's result as a value tree (on the worker thread for the async forms).
std::shared_ptr<pt::Document> ResultTree(const c10::IValue& result) {
  auto doc = std::make_shared<pt::Document>();
  doc->root = pt::FromIValue(result, *doc);
  return doc;
}

std::optional<c10::Device> OptDevice(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  return ParseDevice(ToString(v, "device"));
}

std::optional<at::ScalarType> OptDtype(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  return ParseDtype(ToString(v, "dtype"));
}

Napi::Value LoadModule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string path = ToString(info[0], "path");
    auto device = OptDevice(info[1]);
    auto dtype = OptDtype(info[2]);
    return RunAsync<std::shared_ptr<ScriptModule>>(
        env, [path, device, dtype]() { return ScriptModule::Load(path, device, dtype); },
        [](Napi::Env env, std::shared_ptr<ScriptModule>& m) -> Napi::Value {
          return ModuleHandle::New(env, m);
        });
  });
}

Napi::Value LoadModuleSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string path = ToString(info[0], "path");
    return ModuleHandle::New(env, ScriptModule::Load(path, OptDevice(info[1]), OptDtype(info[2])));
  });
}

Napi::Value SetNumThreadsJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    SetNumThreads(static_cast<int>(ToDouble(info[0], "threads")));
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreadsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), GetNumThreads());
}

Napi::Array NamedTensors(Napi::Env env, const std::vector<std::pair<std::string, at::Tensor>>& list) {
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, list[i].first));
    pair.Set(1u, TensorHandle::New(env, list[i].second));
    arr.Set(static_cast<uint32_t>(i), pair);
  }
  return arr;
}

}  // namespace

void ModuleHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NativeModule",
                                    {
                                        InstanceMethod("run", &ModuleHandle::Run),
                                        InstanceMethod("runSync", &ModuleHandle::RunSync),
                                        InstanceMethod("methods", &ModuleHandle::Methods),
                                        InstanceMethod("schema", &ModuleHandle::Schema),
                                        InstanceMethod("arguments", &ModuleHandle::Arguments),
                                        InstanceMethod("namedParameters", &ModuleHandle::NamedParameters),
                                        InstanceMethod("namedBuffers", &ModuleHandle::NamedBuffers),
                                        InstanceMethod("loadStateDict", &ModuleHandle::LoadStateDict),
                                        InstanceMethod("train", &ModuleHandle::Train),
                                        InstanceMethod("isTraining", &ModuleHandle::IsTraining),
                                        InstanceMethod("to", &ModuleHandle::To),
                                        InstanceMethod("device", &ModuleHandle::Device),
                                        InstanceMethod("dtype", &ModuleHandle::Dtype),
                                        InstanceMethod("save", &ModuleHandle::Save),
                                        InstanceMethod("saveSync", &ModuleHandle::SaveSync),
                                        InstanceMethod("clone", &ModuleHandle::Clone),
                                        InstanceMethod("cloneSync", &ModuleHandle::CloneSync),
                                        InstanceMethod("inFlight", &ModuleHandle::InFlight),
                                        InstanceMethod("dispose", &ModuleHandle::Dispose),
                                    });
  GetAddonData(env).module_ctor = Napi::Persistent(ctor);
  exports.Set("loadModule", Napi::Function::New(env, LoadModule));
  exports.Set("loadModuleSync", Napi::Function::New(env, LoadModuleSync));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreadsJs));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreadsJs));
}

Napi::Object ModuleHandle::New(Napi::Env env, std::shared_ptr<ScriptModule> module) {
  Napi::Object obj = GetAddonData(env).module_ctor.New({});
  Unwrap(obj)->module_ = std::move(module);
  return obj;
}

std::shared_ptr<ScriptModule> ModuleHandle::Get(const Napi::Value& value, const char* what) {
  if (!value.IsObject() ||
      !value.As<Napi::Object>().InstanceOf(GetAddonData(value.Env()).module_ctor.Value())) {
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be a Module", true);
  }
  std::shared_ptr<ScriptModule> module = Unwrap(value.As<Napi::Object>())->module_;
  if (!module) throw Error(code::kDisposed, std::string("`") + what + "` is a disposed Module");
  return module;
}

ModuleHandle::ModuleHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModuleHandle>(info) {}

ScriptModule& ModuleHandle::Live() const {
  if (!module_) throw Error(code::kDisposed, "this Module was disposed: it can no longer be used");
  return *module_;
}

// run(method, args[], {threads, optimize}?) / runSync(method, args[]): args converted here, on
// the JS thread, with the method's schema; missing trailing arguments take their defaults.
std::vector<c10::IValue> ModuleHandle::ConvertArgs(const Napi::CallbackInfo& info,
                                                   const std::string& method) {
  std::vector<MethodArg> params = Live().Arguments(method);
  if (!info[1].IsArray()) throw Error(code::kInvalidArgument, "expected `args` to be an array", true);
  Napi::Array args = info[1].As<Napi::Array>();
  if (args.Length() > params.size()) {
    throw Error(code::kInvalidArgument,
                method + "() takes " + std::to_string(params.size()) + " argument(s) (" +
                    Live().Schema(method) + "), got " + std::to_string(args.Length()),
                true);
  }
  std::vector<c10::IValue> out;
  out.reserve(args.Length());
  pt::Document doc;  // the arguments' value trees; the IValues share their tensors
  for (uint32_t i = 0; i < args.Length(); ++i) {
    const JsReadContext read{"cannot pass", params[i].name, " to " + method + "()", true};
    const pt::Value* value = ValueFromJs(info.Env(), args.Get(i), doc, read);
    const pt::ArgContext ctx{method, params[i].name, params[i].type->annotation_str()};
    out.push_back(pt::ToIValue(value, params[i].type, ctx));
  }
  for (size_t i = args.Length(); i < params.size(); ++i) {
    if (!params[i].has_default) {
      throw Error(code::kInvalidArgument,
                  "missing argument `" + params[i].name + "` (" + params[i].type->annotation_str() + ") of " +
                      Live().Schema(method),
                  true);
    }
  }
  return out;
}

Napi::Value ModuleHandle::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string method = ToString(info[0], "method");
    std::vector<c10::IValue> args = ConvertArgs(info, method);
    // {threads, optimize} of this call, validated by lib/models/module.ts runWith; absent: the defaults.
    ScriptModule::CallOptions options;
    if (info.Length() > 2 && info[2].IsObject()) {
      Napi::Object o = info[2].As<Napi::Object>();
      if (!o.Get("threads").IsUndefined())
        options.threads = static_cast<int>(ToDouble(o.Get("threads"), "threads"));
      if (o.Get("optimize").IsBoolean()) options.optimize = o.Get("optimize").As<Napi::Boolean>().Value();
    }
    std::shared_ptr<ScriptModule> module = module_;
    std::shared_ptr<void> token = module->Reserve();
    return RunAsync<std::shared_ptr<pt::Document>>(
        env,
        [module, method, args = std::move(args), token, options]() mutable {
          return ResultTree(module->Run(method, std::move(args), options));
        },
        [](Napi::Env env, std::shared_ptr<pt::Document>& result) { return ValueToJs(env, result->root); });
  });
}

Napi::Value ModuleHandle::RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string method = ToString(info[0], "method");
    std::vector<c10::IValue> args = ConvertArgs(info, method);
    c10::IValue result;
    {
      std::shared_ptr<void> token = module_->Reserve();
      result = module_->Run(method, std::move(args));
    }
    return ValueToJs(env, ResultTree(result)->root);
  });
}

Napi::Value ModuleHandle::Methods(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    std::vector<std::string> names = Live().Methods();
    Napi::Array arr = Napi::Array::New(info.Env(), names.size());
    for (size_t i = 0; i < names.size(); ++i) arr.Set(static_cast<uint32_t>(i), names[i]);
    return arr;
  });
}

Napi::Value ModuleHandle::Schema(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), Live().Schema(ToString(info[0], "method")));
  });
}

Napi::Value ModuleHandle::Arguments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::vector<MethodArg> params = Live().Arguments(ToString(info[0], "method"));
    Napi::Array arr = Napi::Array::New(env, params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", params[i].name);
      o.Set("type", params[i].type->annotation_str());
      o.Set("hasDefault", params[i].has_default);
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  });
}

Napi::Value ModuleHandle::NamedParameters(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return NamedTensors(info.Env(), Live().NamedParameters()); });
}

Napi::Value ModuleHandle::NamedBuffers(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return NamedTensors(info.Env(), Live().NamedBuffers()); });
}

// loadStateDict([[name, tensor], ...], strict) -> {missing: [...], unexpected: [...]}
Napi::Value ModuleHandle::LoadStateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::vector<std::pair<std::string, at::Tensor>> entries;
    Napi::Array arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Array pair = arr.Get(i).As<Napi::Array>();
      entries.emplace_back(ToString(pair.Get(0u), "name"),
                           TensorHandle::Get(pair.Get(1u), "state dict value"));
    }
    ScriptModule::LoadResult r = Live().LoadStateDict(entries, info[1].ToBoolean().Value());
    auto list = [&](const std::vector<std::string>& v) {
      Napi::Array a = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
      return a;
    };
    Napi::Object o = Napi::Object::New(env);
    o.Set("missing", list(r.missing));
    o.Set("unexpected", list(r.unexpected));
    return o;
  });
}

Napi::Value ModuleHandle::Train(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Live().Train(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  });
}

Napi::Value ModuleHandle::IsTraining(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), Live().IsTraining()); });
}

Napi::Value ModuleHandle::To(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Live().To(OptDevice(info[0]), OptDtype(info[1]));
    return info.Env().Undefined();
  });
}

Napi::Value ModuleHandle::Device(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return Napi::String::New(info.Env(), DeviceName(Live().Device())); });
}

Napi::Value ModuleHandle::Dtype(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    auto dtype = Live().FloatDtype();
    return dtype ? Napi::Value(Napi::String::New(info.Env(), DtypeName(*dtype))) : info.Env().Null();
  });
}

Napi::Value ModuleHandle::Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string path = ToString(info[0], "path");
    Live();
    std::shared_ptr<ScriptModule> module = module_;
    return RunAsync<bool>(
        env,
        [module, path]() {
          module->Save(path);
          return true;
        },
        [](Napi::Env env, bool&) { return env.Undefined(); });
  });
}

Napi::Value ModuleHandle::SaveSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Live().Save(ToString(info[0], "path"));
    return info.Env().Undefined();
  });
}

Napi::Value ModuleHandle::Clone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Live();
    std::shared_ptr<ScriptModule> module = module_;
    return RunAsync<std::shared_ptr<ScriptModule>>(
        env, [module]() { return module->Clone(); },
        [](Napi::Env env, std::shared_ptr<ScriptModule>& copy) {
          return Napi::Value(ModuleHandle::New(env, copy));
        });
  });
}

Napi::Value ModuleHandle::CloneSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return ModuleHandle::New(info.Env(), Live().Clone()); });
}

Napi::Value ModuleHandle::InFlight(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), Live().InFlight()); });
}

// dispose(): drops this handle's reference; calls in flight keep the module alive until they end.
Napi::Value ModuleHandle::Dispose(const Napi::CallbackInfo& info) {
  module_.reset();
  return info.Env().Undefined();
}

}  // namespace jepa
