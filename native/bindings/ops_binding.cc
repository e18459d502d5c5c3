// The Node-API side of native/tensor/ops.h: one function that calls any libtorch operator with
// its arguments in schema order (lib/tensor/ops.ts has already chosen the overload and checked
// the types, as Python's argument parser does), Python-style indexing, and seeded generators.
// opCall trusts that objects in tensor positions are tensor handles: only lib/tensor/ops.ts
// calls it, with handles it took from Tensors (the raw addon is private to the package).
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "bindings/tensor_binding.h"
#include "core/common.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

// A JS handle to an at::Generator (lib/tensor/generator.ts wraps it).
class GeneratorHandle : public Napi::ObjectWrap<GeneratorHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeGenerator",
                                      {
                                          InstanceMethod("manualSeed", &GeneratorHandle::ManualSeed),
                                          InstanceMethod("initialSeed", &GeneratorHandle::InitialSeed),
                                          InstanceMethod("seed", &GeneratorHandle::Seed),
                                          InstanceMethod("getState", &GeneratorHandle::GetState),
                                          InstanceMethod("setState", &GeneratorHandle::SetState),
                                      });
    GetAddonData(env).generator_ctor = Napi::Persistent(ctor);
    exports.Set("NativeGenerator", ctor);
  }

  // new NativeGenerator(seed): a CPU generator, as torch.Generator().manual_seed(seed).
  explicit GeneratorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorHandle>(info) {
    Guard(info.Env(), [&]() {
      generator_ = ops::MakeGenerator(SeedOf(info[0]));
      return 0;
    });
  }

  static const at::Generator& Get(const Napi::Value& v, const std::string& what) {
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(GetAddonData(v.Env()).generator_ctor.Value())) {
      throw Error(code::kInvalidArgument, "expected `" + what + "` to be a jepa.Generator", true);
    }
    return Unwrap(v.As<Napi::Object>())->generator_;
  }

 private:
  static uint64_t SeedOf(const Napi::Value& v) {
    if (v.IsBigInt()) {
      bool lossless = false;
      return v.As<Napi::BigInt>().Uint64Value(&lossless);
    }
    return static_cast<uint64_t>(ToDouble(v, "seed"));
  }

  Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(generator_.mutex());
      generator_.set_current_seed(SeedOf(info[0]));
      return info.This();
    });
  }

  Napi::Value InitialSeed(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    return Napi::BigInt::New(info.Env(), generator_.current_seed());
  }

  // seed(): reseeds from a non-deterministic source and returns the new seed (Python's seed()).
  Napi::Value Seed(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    return Napi::BigInt::New(info.Env(), generator_.seed());
  }

  Napi::Value GetState(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(generator_.mutex());
      return TensorHandle::New(info.Env(), generator_.get_state());
    });
  }

  Napi::Value SetState(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      const at::Tensor& state = TensorHandle::Get(info[0], "state");
      std::lock_guard<std::mutex> lock(generator_.mutex());
      generator_.set_state(state);
      return info.This();
    });
  }

  at::Generator generator_;
};

[[noreturn]] void BadArgument(const ops::Op& op, const ops::ArgSpec& spec, const char* expected) {
  throw Error(code::kInvalidArgument, op.name + ": expected argument `" + spec.name + "` to be " + expected,
              true);
}

// A JS number as Python's number: an int when it is an integer (and not -0), else a float.
at::Scalar NumberScalar(double d) {
  if (std::nearbyint(d) == d && std::fabs(d) <= 9007199254740992.0 && !(d == 0 && std::signbit(d))) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

int64_t BigIntValue(const Napi::Value& v, const ops::Op& op, const ops::ArgSpec& spec) {
  bool lossless = false;
  const int64_t i = v.As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless) BadArgument(op, spec, "an integer that fits in int64");
  return i;
}

bool IsTensor(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(GetAddonData(v.Env()).tensor_ctor.Value());
}

// Python scalars: numbers (int or float by value), bigints (int), booleans, jepa.float(x) boxes
// (float) and 0-dim tensors (their value).
std::optional<at::Scalar> ToScalar(const Napi::Value& v) {
  if (v.IsNumber()) return NumberScalar(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless = false;
    const int64_t i = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) return std::nullopt;
    return at::Scalar(i);
  }
  if (v.IsObject()) {
    const at::Tensor* t = TensorHandle::GetTrusted(v.As<Napi::Object>());
    if (t != nullptr) return t->item();
    Napi::Value boxed = v.As<Napi::Object>().Get("value");  // a jepa.float(x) box
    if (boxed.IsNumber()) return at::Scalar(boxed.As<Napi::Number>().DoubleValue());
  }
  return std::nullopt;
}

int64_t ToInt(const Napi::Value& v, const ops::Op& op, const ops::ArgSpec& spec) {
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::nearbyint(d) != d || std::fabs(d) > 9223372036854775807.0) BadArgument(op, spec, "an integer");
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) return BigIntValue(v, op, spec);
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  BadArgument(op, spec, "an integer");
}

Napi::Array ArrayArg(const Napi::Value& v, const ops::Op& op, const ops::ArgSpec& spec,
                     const char* expected) {
  if (!v.IsArray()) BadArgument(op, spec, expected);
  return v.As<Napi::Array>();
}

c10::IValue ToIValue(const ops::Op& op, size_t index, const Napi::Value& v) {
  const ops::ArgSpec& spec = op.args[index];
  if (v.IsUndefined()) {
    if (spec.default_value) return *spec.default_value;
    if (spec.optional) return c10::IValue();
    throw Error(code::kInvalidArgument, op.name + ": missing argument `" + spec.name + "`", true);
  }
  if (v.IsNull()) {
    if (spec.optional) return c10::IValue();
    BadArgument(op, spec, "given (None is not accepted)");
  }
  switch (spec.kind) {
    case ops::ArgKind::kTensor: {
      if (v.IsObject()) {
        const at::Tensor* t = TensorHandle::GetTrusted(v.As<Napi::Object>());
        if (t != nullptr) return *t;
      }
      std::optional<at::Scalar> s = ToScalar(v);  // a number, or a jepa.float(x) box
      if (!s) BadArgument(op, spec, "a Tensor or a number");
      return ops::WrappedNumber(*s);
    }
    case ops::ArgKind::kScalar: {
      std::optional<at::Scalar> s = ToScalar(v);
      if (!s) BadArgument(op, spec, "a number");
      return *s;
    }
    case ops::ArgKind::kInt:
      return ToInt(v, op, spec);
    case ops::ArgKind::kFloat:
      if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
      if (v.IsBigInt()) return static_cast<double>(BigIntValue(v, op, spec));
      BadArgument(op, spec, "a number");
    case ops::ArgKind::kBool:
      if (!v.IsBoolean()) BadArgument(op, spec, "a boolean");
      return v.As<Napi::Boolean>().Value();
    case ops::ArgKind::kString:
      if (!v.IsString()) BadArgument(op, spec, "a string");
      return v.As<Napi::String>().Utf8Value();
    case ops::ArgKind::kIntList: {
      Napi::Array a = ArrayArg(v, op, spec, "an array of integers");
      c10::List<int64_t> list;
      list.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) list.push_back(ToInt(a.Get(i), op, spec));
      return list;
    }
    case ops::ArgKind::kFloatList: {
      Napi::Array a = ArrayArg(v, op, spec, "an array of numbers");
      c10::List<double> list;
      list.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value e = a.Get(i);
        if (!e.IsNumber()) BadArgument(op, spec, "an array of numbers");
        list.push_back(e.As<Napi::Number>().DoubleValue());
      }
      return list;
    }
    case ops::ArgKind::kBoolList: {
      Napi::Array a = ArrayArg(v, op, spec, "an array of booleans");
      c10::List<bool> list;
      list.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value e = a.Get(i);
        if (!e.IsBoolean()) BadArgument(op, spec, "an array of booleans");
        list.push_back(e.As<Napi::Boolean>().Value());
      }
      return list;
    }
    case ops::ArgKind::kTensorList: {
      Napi::Array a = ArrayArg(v, op, spec, "an array of Tensors");
      c10::List<at::Tensor> list;
      list.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i)
        list.push_back(TensorHandle::Get(a.Get(i), spec.name.c_str()));
      return list;
    }
    case ops::ArgKind::kOptionalTensorList: {
      Napi::Array a = ArrayArg(v, op, spec, "an array of Tensors and nulls");
      c10::List<std::optional<at::Tensor>> list;
      list.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value e = a.Get(i);
        if (e.IsNull() || e.IsUndefined()) {
          list.push_back(std::nullopt);
        } else {
          list.push_back(TensorHandle::Get(e, spec.name.c_str()));
        }
      }
      return list;
    }
    case ops::ArgKind::kScalarType:
      return ParseDtype(ToString(v, spec.name.c_str()));
    case ops::ArgKind::kLayout:
      if (ToString(v, spec.name.c_str()) != "strided")
        BadArgument(op, spec, "'strided' (the only layout supported)");
      return at::kStrided;
    case ops::ArgKind::kDevice:
      return ParseDevice(ToString(v, spec.name.c_str()));
    case ops::ArgKind::kMemoryFormat: {
      const std::string f = ToString(v, spec.name.c_str());
      if (f == "contiguous_format") return at::MemoryFormat::Contiguous;
      if (f == "preserve_format") return at::MemoryFormat::Preserve;
      if (f == "channels_last") return at::MemoryFormat::ChannelsLast;
      if (f == "channels_last_3d") return at::MemoryFormat::ChannelsLast3d;
      BadArgument(op, spec, "'contiguous_format', 'preserve_format', 'channels_last' or 'channels_last_3d'");
    }
    case ops::ArgKind::kGenerator:
      return GeneratorHandle::Get(v, spec.name);
    case ops::ArgKind::kUnsupported:
      break;
  }
  BadArgument(op, spec, "of a type jepa-native cannot pass");
}

Napi::Value TensorOrNull(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  return TensorHandle::New(env, std::move(t));
}

Napi::Value FromIValue(Napi::Env env, const ops::ReturnSpec& spec, c10::IValue& v) {
  if (spec.written_argument) return env.Undefined();  // the caller holds it already
  if (v.isNone()) return env.Null();
  switch (spec.kind) {
    case ops::ReturnKind::kTensor:
      return TensorOrNull(env, std::move(v).toTensor());
    case ops::ReturnKind::kTensorList: {
      std::vector<at::Tensor> list = v.toTensorVector();
      Napi::Array a = Napi::Array::New(env, list.size());
      for (size_t i = 0; i < list.size(); ++i)
        a.Set(static_cast<uint32_t>(i), TensorOrNull(env, std::move(list[i])));
      return a;
    }
    case ops::ReturnKind::kInt:
      return Napi::Number::New(env, static_cast<double>(v.toInt()));
    case ops::ReturnKind::kFloat:
      return Napi::Number::New(env, v.toDouble());
    case ops::ReturnKind::kBool:
      return Napi::Boolean::New(env, v.toBool());
    case ops::ReturnKind::kScalar: {
      const at::Scalar s = v.toScalar();
      if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
      if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
      return Napi::Number::New(env, s.toDouble());
    }
    case ops::ReturnKind::kOther:
      break;
  }
  throw Error(code::kInternal, "an operator returned a value jepa-native cannot convert: " + v.tagKind());
}

// opResolve(name, overload) -> id
Napi::Value OpResolve(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const int id = ops::Resolve(ToString(info[0], "name"), ToString(info[1], "overload"));
    return Napi::Number::New(info.Env(), id);
  });
}

// opCall(id, ...arguments in schema order; undefined takes the schema's default) -> the return
// value, an array of them for several returns; undefined for a return written in place.
Napi::Value OpCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const ops::Op& op = ops::Get(info[0].As<Napi::Number>().Int32Value());
    const size_t nargs = op.args.size();
    if (info.Length() > nargs + 1) {
      throw Error(code::kInvalidArgument,
                  op.name + ": " + std::to_string(info.Length() - 1) +
                      " arguments given, the operator takes " + std::to_string(nargs),
                  true);
    }
    std::vector<c10::IValue> stack;
    stack.reserve(std::max(nargs, op.returns.size()));
    for (size_t i = 0; i < nargs; ++i) stack.push_back(ToIValue(op, i, info[i + 1]));
    ops::Call(op, &stack);
    if (stack.size() != op.returns.size())
      throw Error(code::kInternal, op.name + " returned an unexpected number of values");
    if (op.returns.empty()) return env.Undefined();
    if (op.returns.size() == 1) return FromIValue(env, op.returns[0], stack[0]);
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); ++i)
      out.Set(static_cast<uint32_t>(i), FromIValue(env, op.returns[i], stack[i]));
    return out;
  });
}

// Index items as lib/tensor/indexing.ts encodes them: a number (int), null (None), '...'
// (Ellipsis), a boolean, a tensor, or [start, stop, step] with nulls (a slice).
std::vector<ops::IndexItem> ToIndexItems(const Napi::Value& v) {
  if (!v.IsArray()) throw Error(code::kInvalidArgument, "expected `indices` to be an array", true);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<ops::IndexItem> items(a.Length());
  auto optional_int = [](const Napi::Value& e) -> std::optional<int64_t> {
    if (e.IsNull() || e.IsUndefined()) return std::nullopt;
    if (e.IsBigInt()) {
      bool lossless = false;
      return e.As<Napi::BigInt>().Int64Value(&lossless);
    }
    return static_cast<int64_t>(ToDouble(e, "slice bound"));
  };
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    ops::IndexItem& item = items[i];
    if (e.IsNumber() || e.IsBigInt()) {
      item.kind = ops::IndexItem::Kind::kInt;
      item.integer = *optional_int(e);
    } else if (e.IsNull()) {
      item.kind = ops::IndexItem::Kind::kNone;
    } else if (e.IsString()) {
      item.kind = ops::IndexItem::Kind::kEllipsis;
    } else if (e.IsBoolean()) {
      item.kind = ops::IndexItem::Kind::kBool;
      item.boolean = e.As<Napi::Boolean>().Value();
    } else if (e.IsArray()) {
      Napi::Array s = e.As<Napi::Array>();
      item.kind = ops::IndexItem::Kind::kSlice;
      item.start = optional_int(s.Get(0u));
      item.stop = optional_int(s.Get(1u));
      item.step = optional_int(s.Get(2u));
    } else {
      item.kind = ops::IndexItem::Kind::kTensor;
      item.tensor = TensorHandle::Get(e, "index");
    }
  }
  return items;
}

// tensorIndex(tensor, items) -> tensor
Napi::Value TensorIndex(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& self = TensorHandle::Get(info[0], "tensor");
    return TensorHandle::New(info.Env(), ops::Index(self, ToIndexItems(info[1])));
  });
}

// tensorIndexPut(tensor, items, value: tensor | number | boolean | bigint)
Napi::Value TensorIndexPut(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& self = TensorHandle::Get(info[0], "tensor");
    std::vector<ops::IndexItem> items = ToIndexItems(info[1]);
    if (IsTensor(info[2])) {
      ops::IndexPut(self, items, TensorHandle::Get(info[2], "value"));
    } else {
      std::optional<at::Scalar> s = ToScalar(info[2]);
      if (!s) throw Error(code::kInvalidArgument, "expected `value` to be a Tensor or a number", true);
      ops::IndexPut(self, items, *s);
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void OpsBindingInit(Napi::Env env, Napi::Object exports) {
  GeneratorHandle::Init(env, exports);
  exports.Set("opResolve", Napi::Function::New(env, OpResolve));
  exports.Set("opCall", Napi::Function::New(env, OpCall));
  exports.Set("tensorIndex", Napi::Function::New(env, TensorIndex));
  exports.Set("tensorIndexPut", Napi::Function::New(env, TensorIndexPut));
}

}  // namespace jepa
