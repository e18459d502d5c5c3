#include "bindings/module_binding.h"

#include <ATen/core/ivalue.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/async.h"
#include "bindings/tensor_binding.h"
#include "core/common.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

// ---------------------------------------------------------------------------------------------
// The raw value encoding shared with lib/models/module.ts. JSON-like values travel as themselves
// (null, boolean, number, bigint, string, Array = Python list); tensors as native tensor
// handles; everything else as an object tagged with a `$jepa` string:
//   {$jepa: 'tuple', items: [...]}
//   {$jepa: 'dict', keys: [...], values: [...]}
//   {$jepa: 'float', value: n}            (an integral number that is a Python float)
//   {$jepa: 'device', type: 'cuda', index: 0 | null}

const char kTag[] = "$jepa";

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string TagOf(const Napi::Value& v) {
  if (!v.IsObject() || v.IsArray()) return "";
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value tag = o.Get(kTag);
  return tag.IsString() ? tag.As<Napi::String>().Utf8Value() : "";
}

bool IsTensorHandle(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(GetAddonData(v.Env()).tensor_ctor.Value());
}

// "a number (1.5)", "an array of length 3", ... for error messages.
std::string Describe(const Napi::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsBoolean()) return std::string("a boolean (") + (v.As<Napi::Boolean>().Value() ? "true" : "false") + ")";
  if (v.IsNumber()) {
    std::string s = v.ToString().Utf8Value();
    return "a number (" + s + ")";
  }
  if (v.IsBigInt()) return "a bigint";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (IsTensorHandle(v)) return "a Tensor";
  const std::string tag = TagOf(v);
  if (tag == "tuple") return "a Tuple";
  if (tag == "dict") return "a dict";
  if (tag == "float") return "a Float";
  if (tag == "device") return "a TorchDevice";
  if (v.IsFunction()) return "a function";
  return "an object";
}

// Conversion of one JS value to an IValue of `type`; `where` names the argument (with a path
// into containers) and `expected` the whole argument's declared type, for the error message.
struct ArgContext {
  std::string method;
  std::string arg;
  std::string expected;
};

[[noreturn]] void Mismatch(const ArgContext& ctx, const std::string& where, const std::string& want,
                           const Napi::Value& got) {
  std::string msg = "expected argument `" + ctx.arg + "` of " + ctx.method + "() to be " + ctx.expected;
  if (where != ctx.arg) msg += " (" + where + " should be " + want + ")";
  msg += ", got " + Describe(got);
  throw Error(code::kInvalidArgument, msg, true);
}

bool IsSafeInteger(double d) { return std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0; }

std::vector<Napi::Value> Items(const Napi::Value& v) {
  Napi::Array arr = v.IsArray() ? v.As<Napi::Array>() : v.As<Napi::Object>().Get("items").As<Napi::Array>();
  std::vector<Napi::Value> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(arr.Get(i));
  return out;
}

c10::IValue ToIValue(const Napi::Value& v, const c10::TypePtr& type, const ArgContext& ctx, const std::string& where);

// A value for an `Any` slot: the type follows the JS value.
c10::IValue InferIValue(const Napi::Value& v, const ArgContext& ctx, const std::string& where) {
  if (v.IsNull() || v.IsUndefined()) return c10::IValue();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (IsSafeInteger(d) && !(d == 0 && std::signbit(d))) return static_cast<int64_t>(d);
    return d;
  }
  if (v.IsBigInt()) return ToIValue(v, c10::IntType::get(), ctx, where);
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (IsTensorHandle(v)) return TensorHandle::Get(v, where.c_str());
  const std::string tag = TagOf(v);
  if (tag == "float") return ToIValue(v, c10::FloatType::get(), ctx, where);
  if (tag == "device") return ToIValue(v, c10::DeviceObjType::get(), ctx, where);
  if (v.IsArray() || tag == "tuple") {
    std::vector<Napi::Value> items = Items(v);
    std::vector<c10::IValue> values;
    for (size_t i = 0; i < items.size(); ++i) values.push_back(InferIValue(items[i], ctx, where + "[" + std::to_string(i) + "]"));
    if (tag == "tuple") return c10::ivalue::Tuple::create(std::move(values));
    bool all_tensors = !values.empty();
    for (const auto& x : values) all_tensors = all_tensors && x.isTensor();
    c10::impl::GenericList list(all_tensors ? c10::TypePtr(c10::TensorType::get()) : c10::TypePtr(c10::AnyType::get()));
    for (auto& x : values) list.push_back(std::move(x));
    return list;
  }
  if (tag == "dict") return ToIValue(v, c10::DictType::create(c10::StringType::get(), c10::AnyType::get()), ctx, where);
  throw Error(code::kInvalidArgument,
              "argument `" + ctx.arg + "` of " + ctx.method + "(): " + where + " is " + Describe(v) +
                  ", which has no TorchScript form",
              true);
}

c10::IValue ToIValue(const Napi::Value& v, const c10::TypePtr& type, const ArgContext& ctx, const std::string& where) {
  using c10::TypeKind;
  const std::string want = type->annotation_str();
  switch (type->kind()) {
    case TypeKind::TensorType:
      if (!IsTensorHandle(v)) Mismatch(ctx, where, want, v);
      return TensorHandle::Get(v, where.c_str());
    case TypeKind::IntType: {
      if (v.IsNumber()) {
        const double d = v.As<Napi::Number>().DoubleValue();
        if (!IsSafeInteger(d)) Mismatch(ctx, where, "an integer", v);
        return static_cast<int64_t>(d);
      }
      if (v.IsBigInt()) {
        bool lossless = false;
        int64_t x = v.As<Napi::BigInt>().Int64Value(&lossless);
        if (!lossless) Mismatch(ctx, where, "an integer that fits in int64", v);
        return x;
      }
      Mismatch(ctx, where, want, v);
    }
    case TypeKind::FloatType: {
      if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
      if (TagOf(v) == "float") return v.As<Napi::Object>().Get("value").As<Napi::Number>().DoubleValue();
      Mismatch(ctx, where, want, v);
    }
    case TypeKind::NumberType: {
      if (v.IsNumber() || v.IsBigInt()) return InferIValue(v, ctx, where);
      if (TagOf(v) == "float") return ToIValue(v, c10::FloatType::get(), ctx, where);
      Mismatch(ctx, where, want, v);
    }
    case TypeKind::BoolType:
      if (!v.IsBoolean()) Mismatch(ctx, where, want, v);
      return v.As<Napi::Boolean>().Value();
    case TypeKind::StringType:
      if (!v.IsString()) Mismatch(ctx, where, want, v);
      return v.As<Napi::String>().Utf8Value();
    case TypeKind::NoneType:
      if (!v.IsNull() && !v.IsUndefined()) Mismatch(ctx, where, "None (null)", v);
      return c10::IValue();
    case TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return ToIValue(v, type->expectRef<c10::OptionalType>().getElementType(), ctx, where);
    case TypeKind::UnionType: {
      for (const auto& t : type->containedTypes()) {
        try {
          return ToIValue(v, t, ctx, where);
        } catch (const Error&) {
        }
      }
      Mismatch(ctx, where, want, v);
    }
    case TypeKind::ListType: {
      if (!v.IsArray() && TagOf(v) != "tuple") Mismatch(ctx, where, want, v);
      const c10::TypePtr& elem = type->expectRef<c10::ListType>().getElementType();
      c10::impl::GenericList list(elem);
      std::vector<Napi::Value> items = Items(v);
      list.reserve(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        list.push_back(ToIValue(items[i], elem, ctx, where + "[" + std::to_string(i) + "]"));
      }
      return list;
    }
    case TypeKind::TupleType: {
      if (!v.IsArray() && TagOf(v) != "tuple") Mismatch(ctx, where, want, v);
      const auto& elems = type->expectRef<c10::TupleType>().elements();
      std::vector<Napi::Value> items = Items(v);
      if (items.size() != elems.size()) {
        Mismatch(ctx, where, want + " (" + std::to_string(elems.size()) + " items)", v);
      }
      std::vector<c10::IValue> values;
      for (size_t i = 0; i < items.size(); ++i) {
        values.push_back(ToIValue(items[i], elems[i], ctx, where + "[" + std::to_string(i) + "]"));
      }
      return c10::ivalue::Tuple::create(std::move(values));
    }
    case TypeKind::DictType: {
      const auto& dt = type->expectRef<c10::DictType>();
      c10::impl::GenericDict dict(dt.getKeyType(), dt.getValueType());
      if (TagOf(v) == "dict") {
        Napi::Object o = v.As<Napi::Object>();
        Napi::Array keys = o.Get("keys").As<Napi::Array>();
        Napi::Array values = o.Get("values").As<Napi::Array>();
        for (uint32_t i = 0; i < keys.Length(); ++i) {
          Napi::Value k = keys.Get(i);
          std::string key_where = where + ".keys[" + std::to_string(i) + "]";
          c10::IValue key = ToIValue(k, dt.getKeyType(), ctx, key_where);
          std::string vw = where + "[" + (k.IsString() ? JsonQuote(k.As<Napi::String>().Utf8Value()) : std::to_string(i)) + "]";
          dict.insert_or_assign(std::move(key), ToIValue(values.Get(i), dt.getValueType(), ctx, vw));
        }
        return dict;
      }
      Mismatch(ctx, where, want, v);
    }
    case TypeKind::DeviceObjType: {
      if (v.IsString()) return ParseDevice(v.As<Napi::String>().Utf8Value());
      if (TagOf(v) == "device") {
        Napi::Object o = v.As<Napi::Object>();
        std::string name = o.Get("type").ToString().Utf8Value();
        Napi::Value index = o.Get("index");
        if (index.IsNumber()) name += ":" + index.ToString().Utf8Value();
        return c10::Device(name);
      }
      Mismatch(ctx, where, want, v);
    }
    case TypeKind::AnyType:
      return InferIValue(v, ctx, where);
    default:
      throw Error(code::kInvalidArgument,
                  "argument `" + ctx.arg + "` of " + ctx.method + "() has type " + want +
                      ", which jepa-native cannot build from JS",
                  true);
  }
}

// ---------------------------------------------------------------------------------------------
// IValue -> raw JS (on the JS thread).

Napi::Object Tagged(Napi::Env env, const char* tag) {
  Napi::Object o = Napi::Object::New(env);
  o.Set(kTag, Napi::String::New(env, tag));
  return o;
}

Napi::Value ToJs(Napi::Env env, const c10::IValue& v) {
  if (v.isNone()) return env.Null();
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    return TensorHandle::New(env, t);
  }
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) {
    const int64_t x = v.toInt();
    if (x >= -9007199254740991LL && x <= 9007199254740991LL) return Napi::Number::New(env, static_cast<double>(x));
    return Napi::BigInt::New(env, x);
  }
  if (v.isDouble()) {
    const double d = v.toDouble();
    if (std::isfinite(d) && d == std::floor(d) && !(d == 0 && std::signbit(d))) {
      Napi::Object o = Tagged(env, "float");
      o.Set("value", Napi::Number::New(env, d));
      return o;
    }
    return Napi::Number::New(env, d);
  }
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isList()) {
    auto items = v.toListRef();
    Napi::Array arr = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) arr.Set(static_cast<uint32_t>(i), ToJs(env, items[i]));
    return arr;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array arr = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); ++i) arr.Set(static_cast<uint32_t>(i), ToJs(env, elems[i]));
    Napi::Object o = Tagged(env, "tuple");
    o.Set("items", arr);
    return o;
  }
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    Napi::Array keys = Napi::Array::New(env, dict.size());
    Napi::Array values = Napi::Array::New(env, dict.size());
    uint32_t i = 0;
    for (const auto& entry : dict) {
      keys.Set(i, ToJs(env, entry.key()));
      values.Set(i, ToJs(env, entry.value()));
      ++i;
    }
    Napi::Object o = Tagged(env, "dict");
    o.Set("keys", keys);
    o.Set("values", values);
    return o;
  }
  if (v.isDevice()) {
    const c10::Device d = v.toDevice();
    Napi::Object o = Tagged(env, "device");
    o.Set("type", Napi::String::New(env, c10::DeviceTypeName(d.type(), true)));
    o.Set("index", d.has_index() ? Napi::Value(Napi::Number::New(env, d.index())) : env.Null());
    return o;
  }
  throw Error(code::kInvalidArgument,
              "the method returned a value of TorchScript type " + v.type()->annotation_str() +
                  ", which has no JS form (supported: Tensor, int, float, bool, str, None, list, tuple, dict, "
                  "device)");
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
        [](Napi::Env env, std::shared_ptr<ScriptModule>& m) -> Napi::Value { return ModuleHandle::New(env, m); });
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
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(GetAddonData(value.Env()).module_ctor.Value())) {
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

// run(method, args[]) / runSync(method, args[]): args converted here, on the JS thread, with
// the method's schema; missing trailing arguments take their defaults.
std::vector<c10::IValue> ModuleHandle::ConvertArgs(const Napi::CallbackInfo& info, const std::string& method) {
  std::vector<MethodArg> params = Live().Arguments(method);
  if (!info[1].IsArray()) throw Error(code::kInvalidArgument, "expected `args` to be an array", true);
  Napi::Array args = info[1].As<Napi::Array>();
  if (args.Length() > params.size()) {
    throw Error(code::kInvalidArgument,
                method + "() takes " + std::to_string(params.size()) + " argument(s) (" + Live().Schema(method) +
                    "), got " + std::to_string(args.Length()),
                true);
  }
  std::vector<c10::IValue> out;
  out.reserve(args.Length());
  for (uint32_t i = 0; i < args.Length(); ++i) {
    ArgContext ctx{method, params[i].name, params[i].type->annotation_str()};
    out.push_back(ToIValue(args.Get(i), params[i].type, ctx, params[i].name));
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
    std::shared_ptr<ScriptModule> module = module_;
    std::shared_ptr<void> token = module->Reserve();
    return RunAsync<c10::IValue>(
        env,
        [module, method, args = std::move(args), token]() mutable {
          return module->Run(method, std::move(args));
        },
        [](Napi::Env env, c10::IValue& result) { return ToJs(env, result); });
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
    return ToJs(env, result);
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
  return Guard(info.Env(), [&]() -> Napi::Value { return NamedTensors(info.Env(), Live().NamedParameters()); });
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
      entries.emplace_back(ToString(pair.Get(0u), "name"), TensorHandle::Get(pair.Get(1u), "state dict value"));
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
  return Guard(info.Env(), [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), Live().IsTraining()); });
}

Napi::Value ModuleHandle::To(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Live().To(OptDevice(info[0]), OptDtype(info[1]));
    return info.Env().Undefined();
  });
}

Napi::Value ModuleHandle::Device(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), DeviceName(Live().Device()));
  });
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

Napi::Value ModuleHandle::InFlight(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), Live().InFlight()); });
}

// dispose(): drops this handle's reference; calls in flight keep the module alive until they end.
Napi::Value ModuleHandle::Dispose(const Napi::CallbackInfo& info) {
  module_.reset();
  return info.Env().Undefined();
}

}  // namespace jepa
