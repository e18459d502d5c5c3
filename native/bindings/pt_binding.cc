// The Node-API side of .pt files: value trees <-> JS values (docs/values.md, docs/pt.md), and
// load / save / open as sync functions and Promises (worker threads).
#include "bindings/pt_binding.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/async.h"
#include "bindings/tensor_binding.h"
#include "core/common.h"
#include "core/file_io.h"
#include "pt/pickle_reader.h"
#include "pt/pt_file.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

using pt::Document;
using pt::Kind;
using pt::Value;

// The JS classes of lib/io/values.ts and helpers of lib/io/pt.ts, registered once per environment by
// ptInit (lib/io/pt.ts calls it when it loads) and kept as references.
struct ClassRefs {
  Napi::FunctionReference tuple, size, ordered_dict, device, dtype, float_box, wrap_tensor, tensor_info, set_ctor,
      map_ctor;
  Napi::Reference<Napi::Value> float_keys, attrs;
};

std::mutex g_refs_mutex;
std::unordered_map<napi_env, std::unique_ptr<ClassRefs>>& Refs() {
  static auto* refs = new std::unordered_map<napi_env, std::unique_ptr<ClassRefs>>();
  return *refs;
}

// The registered classes of this environment. Each is fetched from its reference where it is
// used (`c.size.Value()`): a conversion needs few of them.
const ClassRefs& ClassesOf(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_refs_mutex);
  auto it = Refs().find(env);
  if (it == Refs().end()) throw Error(code::kInternal, "the .pt functions were not initialised (ptInit)");
  return *it->second;  // lives until the environment's cleanup hook
}

// ptInit(classes): registers the value classes for this environment.
Napi::Value PtInit(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Error(code::kInternal, "ptInit needs the value classes");
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Object global = env.Global();
    auto fn = [&](Napi::Object from, const char* name) {
      Napi::Value v = from.Get(name);
      if (!v.IsFunction()) throw Error(code::kInternal, std::string("ptInit: ") + name + " is not a function");
      return Napi::Persistent(v.As<Napi::Function>());
    };
    auto refs = std::make_unique<ClassRefs>();
    refs->tuple = fn(o, "Tuple");
    refs->size = fn(o, "Size");
    refs->ordered_dict = fn(o, "OrderedDict");
    refs->device = fn(o, "TorchDevice");
    refs->dtype = fn(o, "TorchDtype");
    refs->float_box = fn(o, "Float");
    refs->wrap_tensor = fn(o, "wrapTensor");
    refs->tensor_info = fn(o, "tensorInfo");
    refs->set_ctor = fn(global, "Set");
    refs->map_ctor = fn(global, "Map");
    refs->float_keys = Napi::Persistent(o.Get("FLOAT_KEYS"));
    refs->attrs = Napi::Persistent(o.Get("PY_ATTRS"));
    std::lock_guard<std::mutex> lock(g_refs_mutex);
    const bool first = Refs().find(env) == Refs().end();
    Refs()[env] = std::move(refs);
    if (first) {
      napi_env raw = env;
      env.AddCleanupHook([raw]() {
        std::lock_guard<std::mutex> lock(g_refs_mutex);
        Refs().erase(raw);
      });
    }
    return env.Undefined();
  });
}

// ---------------------------------------------------------------------------------------------
// Strings: Python str is UTF-8 with lone surrogates allowed ("surrogatepass"); JS strings are
// UTF-16 and may hold lone surrogates too, so both directions are exact.

Napi::Value StrToJs(Napi::Env env, const std::string& s) {
  bool ascii = true;
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  napi_value out;
  if (ascii) {
    NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, s.data(), s.size(), &out), Napi::Value());
    return Napi::Value(env, out);
  }
  std::u16string u;
  u.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if (c < 0xe0) {
      cp = c & 0x1f;
      len = 2;
    } else if (c < 0xf0) {
      cp = c & 0x0f;
      len = 3;
    } else {
      cp = c & 0x07;
      len = 4;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3f);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      u.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      u.push_back(static_cast<char16_t>(cp));
    }
  }
  NAPI_THROW_IF_FAILED(env, napi_create_string_utf16(env, u.data(), u.size(), &out), Napi::Value());
  return Napi::Value(env, out);
}

std::string StrFromJs(Napi::Env env, napi_value v) {
  size_t n = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf16(env, v, nullptr, 0, &n), std::string());
  std::u16string u(n, u'\0');
  NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf16(env, v, &u[0], n + 1, &n), std::string());
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t cp = u[i];
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (u[i + 1] - 0xdc00);
      ++i;
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  return out;
}

// Python ints beyond int64 <-> bigint: minimal little-endian two's complement bytes.
Napi::Value BigIntToJs(Napi::Env env, const std::string& bytes) {
  std::vector<uint8_t> b(bytes.begin(), bytes.end());
  const bool negative = !b.empty() && (b.back() & 0x80);
  if (negative) {  // magnitude = two's complement negation
    bool carry = true;
    for (auto& x : b) {
      x = static_cast<uint8_t>(~x);
      if (carry) {
        carry = ++x == 0;
      }
    }
  }
  std::vector<uint64_t> words((b.size() + 7) / 8, 0);
  for (size_t i = 0; i < b.size(); ++i) words[i / 8] |= static_cast<uint64_t>(b[i]) << (8 * (i % 8));
  return Napi::BigInt::New(env, negative ? 1 : 0, words.size(), words.data());
}

std::string BigIntFromJs(Napi::BigInt v, bool* fits, int64_t* small) {
  size_t count = 0;
  int sign = 0;
  v.ToWords(nullptr, &count, nullptr);  // the count query needs both pointers null
  std::vector<uint64_t> words(count);
  v.ToWords(&sign, &count, words.data());
  std::vector<uint8_t> b(count * 8 + 1, 0);
  for (size_t i = 0; i < count * 8; ++i) b[i] = static_cast<uint8_t>(words[i / 8] >> (8 * (i % 8)));
  if (sign) {
    bool carry = true;
    for (auto& x : b) {
      x = static_cast<uint8_t>(~x);
      if (carry) carry = ++x == 0;
    }
  }
  while (b.size() > 1) {
    const uint8_t top = b.back(), next = b[b.size() - 2];
    if ((top == 0 && !(next & 0x80)) || (top == 0xff && (next & 0x80))) {
      b.pop_back();
    } else {
      break;
    }
  }
  *fits = b.size() <= 8;
  if (*fits) {
    uint64_t u = 0;
    for (size_t i = 0; i < b.size(); ++i) u |= static_cast<uint64_t>(b[i]) << (8 * i);
    if (b.size() < 8 && (b.back() & 0x80)) u |= ~uint64_t{0} << (8 * b.size());
    *small = static_cast<int64_t>(u);
  }
  return std::string(b.begin(), b.end());
}

bool IntegralFloat(double f) { return std::isfinite(f) && f == std::trunc(f) && !(f == 0 && std::signbit(f)); }

void DefineHidden(Napi::Env env, Napi::Object target, Napi::Value key, Napi::Value value) {
  napi_property_descriptor d = {};
  d.name = key;
  d.value = value;
  d.attributes = napi_default;  // not enumerable, not writable
  NAPI_THROW_IF_FAILED_VOID(env, napi_define_properties(env, target, 1, &d));
}

// ---------------------------------------------------------------------------------------------
// Value tree -> JS

class ToJs {
 public:
  ToJs(Napi::Env env, const ClassRefs& c) : env_(env), c_(c) {}

  Napi::Value Top(const Value* v) {
    if (v->kind == Kind::kFloat && IntegralFloat(v->f)) {
      return c_.float_box.Value().New({Napi::Number::New(env_, v->f)});
    }
    return Convert(v, 0);
  }

  Napi::Value Convert(const Value* v, int depth) {
    if (depth > pt::kMaxDepth) {
      throw Error(code::kPtLimit, "the value is nested deeper than " + std::to_string(pt::kMaxDepth) +
                                      " levels (jepa.limits.maxDepth)");
    }
    switch (v->kind) {
      case Kind::kNone: return env_.Null();
      case Kind::kBool: return Napi::Boolean::New(env_, v->b);
      case Kind::kInt:
        if (v->i >= -9007199254740991LL && v->i <= 9007199254740991LL) {
          return Napi::Number::New(env_, static_cast<double>(v->i));
        }
        return Napi::BigInt::New(env_, v->i);
      case Kind::kBigInt: return BigIntToJs(env_, v->s);
      case Kind::kFloat: return Napi::Number::New(env_, v->f);
      case Kind::kStr: return StrToJs(env_, v->s);
      case Kind::kBytes: return Napi::Buffer<uint8_t>::Copy(env_, reinterpret_cast<const uint8_t*>(v->s.data()), v->s.size());
      case Kind::kDtype: return c_.dtype.Value().New({Napi::String::New(env_, v->s)});
      case Kind::kDevice:
        return c_.device.Value().New({Napi::String::New(env_, v->s),
                              v->i >= 0 ? Napi::Value(Napi::Number::New(env_, static_cast<double>(v->i))) : env_.Null()});
      default:
        break;
    }
    auto seen = memo_.find(v);
    if (seen != memo_.end()) return Napi::Value(env_, seen->second);
    switch (v->kind) {
      case Kind::kList:
      case Kind::kTuple:
      case Kind::kSize: {
        Napi::Object arr = v->kind == Kind::kList   ? Napi::Array::New(env_, v->items.size())
                           : v->kind == Kind::kTuple ? c_.tuple.Value().New({})
                                                     : c_.size.Value().New({});
        Remember(v, arr);
        Napi::Object marks;
        for (size_t i = 0; i < v->items.size(); ++i) {
          const Value* item = v->items[i];
          arr.Set(static_cast<uint32_t>(i), Convert(item, depth + 1));
          if (item->kind == Kind::kFloat && IntegralFloat(item->f)) Mark(arr, &marks, Napi::Number::New(env_, static_cast<double>(i)));
        }
        return arr;
      }
      case Kind::kSet: {
        Napi::Object set = c_.set_ctor.Value().New({});
        Remember(v, set);
        Napi::Function add = set.Get("add").As<Napi::Function>();
        Napi::Object marks;
        for (const Value* item : v->items) {
          // An integral float element stays a number and is marked, as in other containers.
          Napi::Value js = Convert(item, depth + 1);
          add.Call(set, {js});
          if (item->kind == Kind::kFloat && IntegralFloat(item->f)) Mark(set, &marks, js);
        }
        return set;
      }
      case Kind::kDict:
      case Kind::kOrderedDict: {
        bool str_keys = v->kind == Kind::kDict;
        for (size_t k = 0; str_keys && k < v->items.size(); k += 2) str_keys = v->items[k]->kind == Kind::kStr;
        Napi::Object marks;
        if (str_keys) {
          Napi::Object obj = Napi::Object::New(env_);
          Remember(v, obj);
          for (size_t k = 0; k + 1 < v->items.size(); k += 2) {
            Napi::Value key = StrToJs(env_, v->items[k]->s);
            const Value* item = v->items[k + 1];
            Napi::Value val = Convert(item, depth + 1);
            if (v->items[k]->s == "__proto__") {
              napi_property_descriptor d = {};
              d.name = key;
              d.value = val;
              d.attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
              NAPI_THROW_IF_FAILED(env_, napi_define_properties(env_, obj, 1, &d), Napi::Value());
            } else {
              obj.Set(key, val);
            }
            if (item->kind == Kind::kFloat && IntegralFloat(item->f)) Mark(obj, &marks, key);
          }
          return obj;
        }
        Napi::Object map = v->kind == Kind::kOrderedDict ? c_.ordered_dict.Value().New({}) : c_.map_ctor.Value().New({});
        Remember(v, map);
        Napi::Function set = map.Get("set").As<Napi::Function>();
        for (size_t k = 0; k + 1 < v->items.size(); k += 2) {
          Napi::Value key = Key(v->items[k], depth);
          const Value* item = v->items[k + 1];
          set.Call(map, {key, Convert(item, depth + 1)});
          if (item->kind == Kind::kFloat && IntegralFloat(item->f)) Mark(map, &marks, key);
        }
        if (v->attrs != nullptr) DefineHidden(env_, map, c_.attrs.Value(), Convert(v->attrs, depth + 1));
        return map;
      }
      case Kind::kTensor: {
        const pt::TensorSpec& spec = *v->tensor;
        if (!spec.tensor.defined()) throw Error(code::kInternal, "a tensor was not read");
        Napi::Value t = c_.wrap_tensor.Value().Call({TensorHandle::New(env_, spec.tensor), Napi::Boolean::New(env_, spec.parameter),
                                             Napi::Boolean::New(env_, spec.requires_grad)});
        Remember(v, t.As<Napi::Object>());
        return t;
      }
      default:
        throw Error(code::kInternal, "an unexpected value in the tree");
    }
  }

 private:
  // A dict key or set element: integral float keys are boxed (Float) so they stay floats.
  Napi::Value Key(const Value* k, int depth) {
    if (k->kind == Kind::kFloat && IntegralFloat(k->f)) return c_.float_box.Value().New({Napi::Number::New(env_, k->f)});
    return Convert(k, depth + 1);
  }

  void Mark(Napi::Object container, Napi::Object* marks, Napi::Value key) {
    if (marks->IsEmpty()) {
      *marks = c_.set_ctor.Value().New({});
      DefineHidden(env_, container, c_.float_keys.Value(), *marks);
    }
    marks->Get("add").As<Napi::Function>().Call(*marks, {key});
  }

  // Values seen before (shared or cyclic references) give the same JS object. napi_values stay
  // valid: the whole conversion runs in one handle scope.
  void Remember(const Value* v, Napi::Object js) { memo_.emplace(v, static_cast<napi_value>(js)); }

  Napi::Env env_;
  const ClassRefs& c_;
  std::unordered_map<const Value*, napi_value> memo_;
};

// ---------------------------------------------------------------------------------------------
// JS -> value tree

class FromJs {
 public:
  FromJs(Napi::Env env, const ClassRefs& c, Document& doc) : env_(env), c_(c), doc_(doc) {
    seen_ = c_.map_ctor.Value().New({});
    seen_get_ = seen_.Get("get").As<Napi::Function>();
    seen_set_ = seen_.Get("set").As<Napi::Function>();
  }

  Value* Convert(const Napi::Value& v, int depth) {
    if (depth > pt::kMaxDepth) {
      throw Error(code::kPtLimit, "the value is nested deeper than " + std::to_string(pt::kMaxDepth) +
                                      " levels (jepa.limits.maxDepth), or holds a cycle through a tuple or Size");
    }
    switch (v.Type()) {
      case napi_null: return doc_.New(Kind::kNone);
      case napi_boolean: {
        Value* x = doc_.New(Kind::kBool);
        x->b = v.As<Napi::Boolean>().Value();
        return x;
      }
      case napi_number: return Number(v.As<Napi::Number>().DoubleValue(), false);
      case napi_bigint: {
        bool fits;
        int64_t small = 0;
        std::string bytes = BigIntFromJs(v.As<Napi::BigInt>(), &fits, &small);
        Value* x = doc_.New(fits ? Kind::kInt : Kind::kBigInt);
        if (fits) {
          x->i = small;
        } else {
          x->s = std::move(bytes);
        }
        return x;
      }
      case napi_string: {
        Value* x = doc_.New(Kind::kStr);
        x->s = StrFromJs(env_, v);
        return x;
      }
      case napi_object: return Object(v.As<Napi::Object>(), depth);
      case napi_undefined: Fail("undefined has no Python equivalent (use null for None)");
      case napi_symbol: Fail("a symbol has no Python equivalent");
      case napi_function: Fail("a function cannot be saved");
      default: Fail("this value cannot be saved");
    }
  }

  Value* Number(double f, bool is_float) {
    if (!is_float && IntegralFloat(f) && std::fabs(f) <= 9007199254740991.0) {
      Value* x = doc_.New(Kind::kInt);
      x->i = static_cast<int64_t>(f);
      return x;
    }
    Value* x = doc_.New(Kind::kFloat);
    x->f = f;
    return x;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    std::string where;
    for (const auto& p : path_) where += p;
    throw Error(code::kInvalidArgument,
                "cannot save `value" + where + "`: " + what, true);
  }

  // The number at `key` of `container`: a float when marked in FLOAT_KEYS.
  Value* Child(const Napi::Value& item, const Napi::Object& marks, const Napi::Value& key, int depth) {
    if (item.IsNumber()) {
      const double f = item.As<Napi::Number>().DoubleValue();
      bool marked = false;
      if (!marks.IsEmpty() && IntegralFloat(f)) {
        marked = marks.Get("has").As<Napi::Function>().Call(marks, {key}).ToBoolean().Value();
      }
      return Number(f, marked);
    }
    return Convert(item, depth + 1);
  }

  Napi::Object MarksOf(const Napi::Object& o) {
    Napi::Value m = o.Get(c_.float_keys.Value());
    return m.IsObject() ? m.As<Napi::Object>() : Napi::Object();
  }

  Value* Object(const Napi::Object& o, int depth) {
    Napi::Value known = seen_get_.Call(seen_, {o});
    if (known.IsNumber()) return values_[static_cast<size_t>(known.As<Napi::Number>().Int64Value())];
    if (o.InstanceOf(c_.float_box.Value())) {
      const double f = o.Get("value").ToNumber().DoubleValue();
      return Number(f, true);
    }
    Napi::Value info = c_.tensor_info.Value().Call({o});
    if (info.IsArray()) {
      Napi::Array a = info.As<Napi::Array>();
      Value* x = Remember(o, doc_.New(Kind::kTensor));
      x->tensor = std::make_unique<pt::TensorSpec>();
      x->tensor->tensor = TensorHandle::Get(a.Get(0u), "tensor");
      x->tensor->parameter = a.Get(1u).ToBoolean().Value();
      x->tensor->requires_grad = a.Get(2u).ToBoolean().Value();
      return x;
    }
    if (o.IsBuffer() || o.IsTypedArray() || o.IsArrayBuffer() || o.IsDataView()) {
      const uint8_t* data = nullptr;
      size_t n = 0;
      if (o.IsArrayBuffer()) {
        Napi::ArrayBuffer ab = o.As<Napi::ArrayBuffer>();
        data = static_cast<const uint8_t*>(ab.Data());
        n = ab.ByteLength();
      } else if (o.IsTypedArray() && o.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
        Napi::Uint8Array u = o.As<Napi::Uint8Array>();
        data = u.Data();
        n = u.ByteLength();
      } else {
        Fail("a typed array other than Uint8Array/Buffer (bytes) cannot be saved: make it a tensor with jepa.tensor()");
      }
      Value* x = Remember(o, doc_.New(Kind::kBytes));
      if (n > 0) x->s.assign(reinterpret_cast<const char*>(data), n);
      return x;
    }
    if (o.InstanceOf(c_.device.Value())) {
      Value* x = doc_.New(Kind::kDevice);
      Napi::Value type = o.Get("type"), index = o.Get("index");
      if (!type.IsString()) Fail("a TorchDevice needs a string type");
      x->s = type.As<Napi::String>().Utf8Value();
      x->i = index.IsNumber() ? index.As<Napi::Number>().Int64Value() : -1;
      return Remember(o, x);
    }
    if (o.InstanceOf(c_.dtype.Value())) {
      Napi::Value name = o.Get("name");
      at::ScalarType t;
      if (!name.IsString() || !pt::PythonDtypeOf(name.As<Napi::String>().Utf8Value(), &t)) {
        Fail("a TorchDtype with an unknown name");
      }
      Value* x = doc_.New(Kind::kDtype);
      x->s = name.As<Napi::String>().Utf8Value();
      return x;
    }
    if (o.IsArray()) {
      const bool is_size = o.InstanceOf(c_.size.Value());
      Value* x = Remember(o, doc_.New(is_size ? Kind::kSize : o.InstanceOf(c_.tuple.Value()) ? Kind::kTuple : Kind::kList));
      Napi::Array a = o.As<Napi::Array>();
      Napi::Object marks = MarksOf(o);
      const uint32_t n = a.Length();
      x->items.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        path_.push_back("[" + std::to_string(i) + "]");
        Value* item = Child(a.Get(i), marks, Napi::Number::New(env_, i), depth);
        if (is_size && item->kind != Kind::kInt) Fail("a Size holds only integers");
        x->items.push_back(item);
        path_.pop_back();
      }
      return x;
    }
    if (o.InstanceOf(c_.map_ctor.Value())) {
      const bool ordered = o.InstanceOf(c_.ordered_dict.Value());
      Value* x = Remember(o, doc_.New(ordered ? Kind::kOrderedDict : Kind::kDict));
      Napi::Object marks = MarksOf(o);
      Napi::Array entries = Entries(o);
      for (uint32_t i = 0; i < entries.Length(); ++i) {
        Napi::Array kv = entries.Get(i).As<Napi::Array>();
        Napi::Value key = kv.Get(0u);
        path_.push_back(".get(" + Describe(key) + ")");
        x->items.push_back(Convert(key, depth + 1));
        x->items.push_back(Child(kv.Get(1u), marks, key, depth));
        path_.pop_back();
      }
      if (ordered) {
        Napi::Value attrs = o.Get(c_.attrs.Value());
        if (attrs.IsObject()) {
          path_.push_back("[PY_ATTRS]");
          Value* a = Convert(attrs, depth + 1);
          if (a->kind != Kind::kDict) Fail("PY_ATTRS must be a plain object");
          x->attrs = a;
          path_.pop_back();
        }
      }
      return x;
    }
    if (o.InstanceOf(c_.set_ctor.Value())) {
      Value* x = Remember(o, doc_.New(Kind::kSet));
      Napi::Object marks = MarksOf(o);
      Napi::Array values = Values(o);
      for (uint32_t i = 0; i < values.Length(); ++i) {
        Napi::Value item = values.Get(i);
        path_.push_back("{" + Describe(item) + "}");
        x->items.push_back(Child(item, marks, item, depth));
        path_.pop_back();
      }
      return x;
    }
    Napi::Value proto = PrototypeOf(o);
    Napi::Object object_proto = env_.Global().Get("Object").As<Napi::Object>().Get("prototype").As<Napi::Object>();
    if (!proto.IsNull() && !proto.StrictEquals(object_proto)) {
      Napi::Value ctor = o.Get("constructor");
      std::string name = "object";
      if (ctor.IsFunction()) name = ctor.As<Napi::Object>().Get("name").ToString().Utf8Value();
      Fail("a " + name +
           " cannot be saved (expected null, booleans, numbers, bigints, strings, Buffers, arrays, "
           "Tuple, Size, plain objects, Map, OrderedDict, Set, Tensor, TorchDevice, TorchDtype or Float)");
    }
    Value* x = Remember(o, doc_.New(Kind::kDict));
    Napi::Object marks = MarksOf(o);
    napi_value names;
    NAPI_THROW_IF_FAILED(env_, napi_get_all_property_names(env_, o, napi_key_own_only,
                                                           static_cast<napi_key_filter>(napi_key_enumerable | napi_key_skip_symbols),
                                                           napi_key_numbers_to_strings, &names),
                         nullptr);
    Napi::Array keys(env_, names);
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      Napi::Value key = keys.Get(i);
      path_.push_back("." + key.As<Napi::String>().Utf8Value());
      Value* k = doc_.New(Kind::kStr);
      k->s = StrFromJs(env_, key);
      x->items.push_back(k);
      x->items.push_back(Child(o.Get(key), marks, key, depth));
      path_.pop_back();
    }
    return x;
  }

  Napi::Array Entries(const Napi::Object& map) {
    Napi::Function from = env_.Global().Get("Array").As<Napi::Object>().Get("from").As<Napi::Function>();
    return from.Call({map.Get("entries").As<Napi::Function>().Call(map, {})}).As<Napi::Array>();
  }
  Napi::Array Values(const Napi::Object& set) {
    Napi::Function from = env_.Global().Get("Array").As<Napi::Object>().Get("from").As<Napi::Function>();
    return from.Call({set}).As<Napi::Array>();
  }
  Napi::Value PrototypeOf(const Napi::Object& o) {
    napi_value proto;
    NAPI_THROW_IF_FAILED(env_, napi_get_prototype(env_, o, &proto), Napi::Value());
    return Napi::Value(env_, proto);
  }
  std::string Describe(const Napi::Value& key) {
    if (key.IsString()) return "'" + key.As<Napi::String>().Utf8Value() + "'";
    if (key.IsNumber() || key.IsBoolean() || key.IsNull()) return key.ToString().Utf8Value();
    return "...";
  }

  Value* Remember(const Napi::Object& o, Value* v) {
    seen_set_.Call(seen_, {o, Napi::Number::New(env_, static_cast<double>(values_.size()))});
    values_.push_back(v);
    return v;
  }

  Napi::Env env_;
  const ClassRefs& c_;
  Document& doc_;
  Napi::Object seen_;
  Napi::Function seen_get_, seen_set_;
  std::vector<Value*> values_;
  std::vector<std::string> path_;
};

// ---------------------------------------------------------------------------------------------
// Entry points

std::optional<c10::Device> DeviceArg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return ParseDevice(ToString(v, "options.device"));
}

Napi::Value Convert(Napi::Env env, const Document& doc) {
  const ClassRefs& c = ClassesOf(env);
  return ToJs(env, c).Top(doc.root);
}

// ptLoadSync(path, mmap, device, classes)
Napi::Value LoadSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    pt::LoadOptions opts;
    const std::string path = ToString(info[0], "path");
    opts.mmap = info[1].ToBoolean().Value();
    opts.device = DeviceArg(info[2]);
    Document doc = pt::Load(path, opts);
    return Convert(info.Env(), doc);
  });
}

// One file of a ptLoadMany batch: what to load, then its tree or its error.
struct LoadJob {
  std::string path;
  pt::LoadOptions opts;
  std::shared_ptr<pt::FileBytes> bytes;  // a small file, read on the worker, parsed on the JS thread
  std::optional<Document> doc;            // any other file, loaded on the worker
  std::string code, message;
  bool type_error = false;
  bool large = false;  // above 1 MiB, left unread (small_only)
};

// ptLoadMany(paths, mmaps, devices, smallOnly) -> Promise<[values, errors, large]>: reads the
// files one after another on one worker thread; files of at most 1 MiB (without mmap or a
// device) are parsed on the JS thread (pt::LoadBytes). values[i] is file i's value, or undefined
// where errors[i] is its Error. With smallOnly, a file above 1 MiB in a batch of several is left
// unread and its index listed in `large`, so that lib/io/pt.ts loads it in a call of its own: a
// batch of small files is never held up behind a large one. lib/io/pt.ts batches the load() calls made in one turn of the
// event loop into a few of these, so that a batch costs one threadpool round trip, not one per
// file.
Napi::Value LoadMany(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray()) {
      throw Error(code::kInternal, "ptLoadMany needs three arrays");
    }
    Napi::Array paths = info[0].As<Napi::Array>(), mmaps = info[1].As<Napi::Array>(), devices = info[2].As<Napi::Array>();
    const bool small_only = info[3].ToBoolean().Value();
    auto jobs = std::make_shared<std::vector<LoadJob>>(paths.Length());
    for (uint32_t i = 0; i < paths.Length(); ++i) {
      LoadJob& job = (*jobs)[i];
      job.path = ToString(paths.Get(i), "path");
      job.opts.mmap = mmaps.Get(i).ToBoolean().Value();
      try {
        job.opts.device = DeviceArg(devices.Get(i));  // fails without CUDA: that load alone rejects
      } catch (...) {
        DescribeCurrentException(&job.code, &job.message, &job.type_error);
      }
    }
    using Jobs = std::shared_ptr<std::vector<LoadJob>>;
    return RunAsync<Jobs>(
        info.Env(),
        [jobs, small_only]() {
          // A batch of one file (a lone load) has no file to hold up: it loads a large file too.
          const bool defer_large = small_only && jobs->size() > 1;
          for (LoadJob& job : *jobs) {
            if (!job.code.empty()) continue;  // its arguments already failed
            try {
              if (!job.opts.mmap && !job.opts.device) job.bytes = pt::ReadSmallFile(job.path);
              if (job.bytes) continue;
              if (defer_large) {
                job.large = true;
              } else {
                job.doc.emplace(pt::Load(job.path, job.opts));
              }
            } catch (...) {
              DescribeCurrentException(&job.code, &job.message, &job.type_error);
            }
          }
          return jobs;
        },
        [](Napi::Env env, Jobs& done) -> Napi::Value {
          const ClassRefs& c = ClassesOf(env);
          Napi::Array values = Napi::Array::New(env, done->size());
          Napi::Array errors = Napi::Array::New(env, done->size());
          Napi::Array large = Napi::Array::New(env);
          for (uint32_t i = 0; i < done->size(); ++i) {
            LoadJob& job = (*done)[i];
            if (job.large) large.Set(large.Length(), Napi::Number::New(env, i));
            if (job.bytes) {
              try {
                job.doc.emplace(pt::LoadBytes(std::move(job.bytes), job.path));
              } catch (...) {
                DescribeCurrentException(&job.code, &job.message, &job.type_error);
              }
            }
            if (job.doc) {
              try {
                values.Set(i, ToJs(env, c).Top(job.doc->root));
              } catch (const Napi::Error& e) {
                errors.Set(i, e.Value());  // a JS exception during the conversion
              } catch (...) {
                DescribeCurrentException(&job.code, &job.message, &job.type_error);
              }
              job.doc.reset();
            }
            if (!job.code.empty()) errors.Set(i, MakeError(env, job.code, job.message, job.type_error).Value());
          }
          Napi::Array out = Napi::Array::New(env, 3);
          out.Set(0u, values);
          out.Set(1u, errors);
          out.Set(2u, large);
          return out;
        });
  });
}

std::shared_ptr<Document> ToDocument(Napi::Env env, const Napi::Value& value) {
  const ClassRefs& c = ClassesOf(env);
  auto doc = std::make_shared<Document>();
  FromJs from(env, c, *doc);
  if (value.IsObject() && value.As<Napi::Object>().InstanceOf(c.float_box.Value())) {
    doc->root = from.Number(value.As<Napi::Object>().Get("value").ToNumber().DoubleValue(), true);
  } else {
    doc->root = from.Convert(value, 0);
  }
  return doc;
}

// ptSaveSync(path, value, classes)
Napi::Value SaveSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    auto doc = ToDocument(info.Env(), info[1]);
    pt::Save(path, *doc);
    return info.Env().Undefined();
  });
}

// ptSave(path, value, classes) -> Promise
Napi::Value SaveAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    auto doc = ToDocument(info.Env(), info[1]);
    return RunAsync<bool>(
        info.Env(), [path, doc]() { pt::Save(path, *doc); return true; },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

// ---------------------------------------------------------------------------------------------
// Lazy archives

// The path of keys from the root to a value, walking containers once each.
struct Entry {
  std::vector<const Value*> keys;  // dict keys (values of the tree) or nullptr for list indices
  std::vector<size_t> indices;
  const Value* tensor;
};

void CollectEntries(const Value* v, std::vector<const Value*>& keys, std::vector<size_t>& indices,
                    std::unordered_set<const Value*>& seen, std::vector<Entry>& out, int depth) {
  if (depth > pt::kMaxDepth) {
    throw Error(code::kPtLimit, "the value is nested deeper than " + std::to_string(pt::kMaxDepth) +
                                    " levels (jepa.limits.maxDepth)");
  }
  if (v->kind == Kind::kTensor) {
    out.push_back(Entry{keys, indices, v});
    return;
  }
  const bool list = v->kind == Kind::kList || v->kind == Kind::kTuple || v->kind == Kind::kSet;
  const bool dict = v->kind == Kind::kDict || v->kind == Kind::kOrderedDict;
  if (!list && !dict) return;
  if (!seen.insert(v).second) return;
  if (list) {
    for (size_t i = 0; i < v->items.size(); ++i) {
      keys.push_back(nullptr);
      indices.push_back(i);
      CollectEntries(v->items[i], keys, indices, seen, out, depth + 1);
      keys.pop_back();
      indices.pop_back();
    }
  } else {
    for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
      keys.push_back(v->items[i]);
      indices.push_back(0);
      CollectEntries(v->items[i + 1], keys, indices, seen, out, depth + 1);
      keys.pop_back();
      indices.pop_back();
    }
  }
}

std::string KeyText(const Value* k) {
  switch (k->kind) {
    case Kind::kStr: return k->s;
    case Kind::kInt: return std::to_string(k->i);
    case Kind::kBool: return k->b ? "True" : "False";
    case Kind::kNone: return "None";
    default: return "?";
  }
}

class ArchiveHandle : public Napi::ObjectWrap<ArchiveHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PtArchive",
                       {InstanceMethod("entries", &ArchiveHandle::Entries), InstanceMethod("get", &ArchiveHandle::Get),
                        InstanceMethod("getAsync", &ArchiveHandle::GetAsync), InstanceMethod("close", &ArchiveHandle::Close)});
  }
  explicit ArchiveHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ArchiveHandle>(info) {}

  std::shared_ptr<pt::Archive> archive;

 private:
  std::shared_ptr<pt::Archive> Live() {
    if (!archive) throw Error(code::kDisposed, "the archive was closed");
    return archive;
  }

  // entries(classes) -> [{key, path, dtype, shape, nbytes}]
  Napi::Value Entries(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      auto a = Live();
      const ClassRefs& c = ClassesOf(env);
      std::lock_guard<std::mutex> lock(a->mutex());
      std::vector<Entry> entries;
      std::vector<const pt::Value*> keys;
      std::vector<size_t> indices;
      std::unordered_set<const pt::Value*> seen;
      CollectEntries(a->doc().root, keys, indices, seen, entries, 0);
      ToJs to(env, c);
      Napi::Array out = Napi::Array::New(env, entries.size());
      for (size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        const pt::TensorSpec& spec = *e.tensor->tensor;
        Napi::Array path = Napi::Array::New(env, e.keys.size());
        std::string key;
        for (size_t k = 0; k < e.keys.size(); ++k) {
          if (e.keys[k] == nullptr) {
            path.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(e.indices[k])));
            key += (k ? "." : "") + std::to_string(e.indices[k]);
          } else {
            path.Set(static_cast<uint32_t>(k), to.Convert(e.keys[k], 1));
            key += (k ? "." : "") + KeyText(e.keys[k]);
          }
        }
        int64_t numel = 1;
        for (int64_t d : spec.sizes) numel *= d;
        Napi::Object o = Napi::Object::New(env);
        o.Set("key", StrToJs(env, key));
        o.Set("path", path);
        std::string dtype = DtypeName(spec.dtype);
        o.Set("dtype", Napi::String::New(env, dtype));
        o.Set("shape", FromShape(env, spec.sizes));
        o.Set("nbytes", Napi::Number::New(env, static_cast<double>(numel * pt::ElementSize(spec.dtype))));
        o.Set("parameter", Napi::Boolean::New(env, spec.parameter));
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    });
  }

  // Finds the value at `path` (an array of keys / indices).
  pt::Value* Find(pt::Archive& a, const Napi::Value& path) {
    if (!path.IsArray()) throw Error(code::kInvalidArgument, "expected `key` to be a key path", true);
    Napi::Array p = path.As<Napi::Array>();
    pt::Value* v = a.doc().root;
    for (uint32_t i = 0; i < p.Length(); ++i) {
      Napi::Value k = p.Get(i);
      pt::Value* next = nullptr;
      // A string step matches a str key, or (when no str key does) an int key or list index
      // written in decimal: "state.0.exp_avg".
      const std::string text = k.IsString() ? StrFromJs(k.Env(), k) : std::string();
      if (v->kind == Kind::kList || v->kind == Kind::kTuple) {
        int64_t idx = -1;
        if (k.IsNumber()) idx = k.As<Napi::Number>().Int64Value();
        if (k.IsString() && !text.empty() && text.size() < 16 && text.find_first_not_of("0123456789") == std::string::npos) {
          idx = std::stoll(text);
        }
        if (idx >= 0 && static_cast<size_t>(idx) < v->items.size()) next = v->items[static_cast<size_t>(idx)];
      } else if (v->kind == Kind::kDict || v->kind == Kind::kOrderedDict) {
        for (size_t j = 0; j + 1 < v->items.size() && next == nullptr; j += 2) {
          const pt::Value* key = v->items[j];
          if (k.IsString() && key->kind == Kind::kStr && key->s == text) next = v->items[j + 1];
          if (k.IsNumber() && key->kind == Kind::kInt && static_cast<double>(key->i) == k.As<Napi::Number>().DoubleValue()) {
            next = v->items[j + 1];
          }
          if (k.IsBoolean() && key->kind == Kind::kBool && key->b == k.As<Napi::Boolean>().Value()) next = v->items[j + 1];
        }
        for (size_t j = 0; j + 1 < v->items.size() && next == nullptr && k.IsString(); j += 2) {
          const pt::Value* key = v->items[j];
          if (key->kind == Kind::kInt && std::to_string(key->i) == text) next = v->items[j + 1];
        }
      }
      if (next == nullptr) {
        throw Error(code::kInvalidArgument, "no entry at key " + std::string(k.IsString() ? k.As<Napi::String>().Utf8Value() : k.ToString().Utf8Value()) +
                                                " (step " + std::to_string(i + 1) + " of the key path)", true);
      }
      v = next;
    }
    return v;
  }

  static void MaterializeUnder(pt::Archive& a, pt::Value* v, const std::optional<c10::Device>& device) {
    std::vector<pt::Value*> todo{v};
    std::unordered_set<pt::Value*> seen;
    while (!todo.empty()) {
      pt::Value* x = todo.back();
      todo.pop_back();
      if (!seen.insert(x).second) continue;
      if (x->kind == Kind::kTensor) a.Materialize(x, device);
      for (pt::Value* item : x->items) todo.push_back(item);
      if (x->attrs != nullptr) todo.push_back(x->attrs);
    }
  }

  // get(path, device, classes)
  Napi::Value Get(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      auto a = Live();
      const auto device = DeviceArg(info[1]);
      const ClassRefs& c = ClassesOf(info.Env());
      std::lock_guard<std::mutex> lock(a->mutex());
      pt::Value* v = Find(*a, info[0]);
      MaterializeUnder(*a, v, device);
      return ToJs(info.Env(), c).Top(v);
    });
  }

  // getAsync(path, device, classes) -> Promise
  Napi::Value GetAsync(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      auto a = Live();
      const auto device = DeviceArg(info[1]);
      pt::Value* v;
      {
        std::lock_guard<std::mutex> lock(a->mutex());
        v = Find(*a, info[0]);
      }
      return RunAsync<bool>(
          info.Env(),
          [a, v, device]() {
            std::lock_guard<std::mutex> lock(a->mutex());
            MaterializeUnder(*a, v, device);
            return true;
          },
          [a, v](Napi::Env env, bool&) -> Napi::Value {
            const ClassRefs& c = ClassesOf(env);
            std::lock_guard<std::mutex> lock(a->mutex());
            return ToJs(env, c).Top(v);
          });
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    archive.reset();
    return info.Env().Undefined();
  }
};

struct ArchiveCtor {
  Napi::FunctionReference ctor;
};

Napi::Value WrapArchive(Napi::Env env, ArchiveCtor* holder, std::shared_ptr<pt::Archive> a) {
  Napi::Object obj = holder->ctor.Value().New({});
  ArchiveHandle::Unwrap(obj)->archive = std::move(a);
  return obj;
}

// ptOpenSync(path, mmap) -> PtArchive (reads only the directory and the pickle)
Napi::Value OpenSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    std::shared_ptr<pt::Archive> a = pt::Archive::Open(path, info[1].ToBoolean().Value());
    return WrapArchive(info.Env(), static_cast<ArchiveCtor*>(info.Data()), std::move(a));
  });
}

// ptOpen(path, mmap) -> Promise<PtArchive>
Napi::Value OpenAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    const bool mmap = info[1].ToBoolean().Value();
    auto* holder = static_cast<ArchiveCtor*>(info.Data());
    return RunAsync<std::shared_ptr<pt::Archive>>(
        info.Env(), [path, mmap]() { return std::shared_ptr<pt::Archive>(pt::Archive::Open(path, mmap)); },
        [holder](Napi::Env env, std::shared_ptr<pt::Archive>& a) { return WrapArchive(env, holder, a); });
  });
}

}  // namespace

// The documented limits of the readers and writers (native/pt/value.h), for `jepa.limits`.
Napi::Object Limits(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* name, int64_t v) { o.Set(name, Napi::Number::New(env, static_cast<double>(v))); };
  set("maxDepth", pt::kMaxDepth);
  set("maxStringBytes", pt::kMaxStringBytes);
  set("maxRank", pt::kMaxRank);
  set("maxFileBytes", pt::kMaxFileBytes);
  set("maxPickleBytes", pt::kMaxPickleBytes);
  set("maxZipDirectoryBytes", pt::kMaxZipDirectoryBytes);
  set("maxDeflatedRecordBytes", pt::kMaxDeflatedRecordBytes);
  set("maxIntBytes", pt::kMaxIntBytes);
  set("staleTempSeconds", files::kStaleTempSeconds);
  return o;
}

void PtBindingInit(Napi::Env env, Napi::Object exports) {
  exports.Set("limits", Limits(env));
  exports.Set("ptInit", Napi::Function::New(env, PtInit));
  exports.Set("ptLoadSync", Napi::Function::New(env, LoadSync));
  exports.Set("ptLoadMany", Napi::Function::New(env, LoadMany));
  exports.Set("ptSaveSync", Napi::Function::New(env, SaveSync));
  exports.Set("ptSave", Napi::Function::New(env, SaveAsync));
  auto* holder = new ArchiveCtor();
  Napi::Function ctor = ArchiveHandle::Define(env);
  holder->ctor = Napi::Persistent(ctor);
  env.AddCleanupHook([holder]() { delete holder; });
  exports.Set("ptOpenSync", Napi::Function::New(env, OpenSync, "ptOpenSync", holder));
  exports.Set("ptOpen", Napi::Function::New(env, OpenAsync, "ptOpen", holder));
}

}  // namespace jepa
