// The one JS <-> value tree codec: see values_binding.h and docs/values.md.
#include "bindings/values_binding.h"

#include <cmath>
#include <vector>

#include "bindings/tensor_binding.h"

namespace jepa {

using pt::Document;
using pt::Kind;
using pt::Value;

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
    for (size_t k = 1; k < len && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3f);
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

namespace {

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
  v.ToWords(nullptr, &count, nullptr);                      // the count query needs both pointers null
  std::vector<uint64_t> words(std::max<size_t>(count, 1));  // 0n has no words; the call needs a buffer
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

bool IntegralFloat(double f) {
  return std::isfinite(f) && f == std::trunc(f) && !(f == 0 && std::signbit(f));
}

void DefineHidden(Napi::Env env, Napi::Object target, Napi::Value key, Napi::Value value) {
  napi_property_descriptor d = {};
  d.name = key;
  d.value = value;
  d.attributes = napi_default;  // not enumerable, not writable
  NAPI_THROW_IF_FAILED_VOID(env, napi_define_properties(env, target, 1, &d));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Value tree -> JS

JsWriter::JsWriter(Napi::Env env) : env_(env), c_(JsClassesOf(env)) {}

Napi::Value JsWriter::Top(const Value* v) {
  if (v->kind == Kind::kFloat && IntegralFloat(v->f)) {
    return c_.float_box.Value().New({Napi::Number::New(env_, v->f)});
  }
  return Convert(v, 0);
}

Napi::Value JsWriter::Convert(const Value* v, int depth) {
  if (depth > pt::kMaxDepth) {
    throw Error(code::kPtLimit, "the value is nested deeper than " + std::to_string(pt::kMaxDepth) +
                                    " levels (jepa.limits.maxDepth)");
  }
  switch (v->kind) {
    case Kind::kNone:
      return env_.Null();
    case Kind::kBool:
      return Napi::Boolean::New(env_, v->b);
    case Kind::kInt:
      if (v->i >= -9007199254740991LL && v->i <= 9007199254740991LL) {
        return Napi::Number::New(env_, static_cast<double>(v->i));
      }
      return Napi::BigInt::New(env_, v->i);
    case Kind::kBigInt:
      return BigIntToJs(env_, v->s);
    case Kind::kFloat:
      return Napi::Number::New(env_, v->f);
    case Kind::kStr:
      return StrToJs(env_, v->s);
    case Kind::kBytes:
      return Napi::Buffer<uint8_t>::Copy(env_, reinterpret_cast<const uint8_t*>(v->s.data()), v->s.size());
    case Kind::kDtype:
      return c_.dtype.Value().New({Napi::String::New(env_, v->s)});
    case Kind::kDevice:
      return c_.device.Value().New(
          {Napi::String::New(env_, v->s),
           v->i >= 0 ? Napi::Value(Napi::Number::New(env_, static_cast<double>(v->i))) : env_.Null()});
    default:
      break;
  }
  auto seen = memo_.find(v);
  if (seen != memo_.end()) return Napi::Value(env_, seen->second);
  switch (v->kind) {
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kSize:
      return Sequence(v, depth);
    case Kind::kSet:
      return Set(v, depth);
    case Kind::kDict:
    case Kind::kOrderedDict:
      return Dict(v, depth);
    case Kind::kTensor: {
      const pt::TensorSpec& spec = *v->tensor;
      if (!spec.tensor.defined()) throw Error(code::kInternal, "a tensor was not read");
      Napi::Value t = c_.wrap_tensor.Value().Call(
          {TensorHandle::New(env_, spec.tensor, spec.parameter, spec.requires_grad)});
      Remember(v, t.As<Napi::Object>());
      return t;
    }
    default:
      throw Error(code::kInternal, "an unexpected value in the tree");
  }
}

Napi::Value JsWriter::Sequence(const Value* v, int depth) {
  Napi::Object arr = v->kind == Kind::kList    ? Napi::Array::New(env_, v->items.size())
                     : v->kind == Kind::kTuple ? c_.tuple.Value().New({})
                                               : c_.size.Value().New({});
  Remember(v, arr);
  Napi::Object marks;
  for (size_t i = 0; i < v->items.size(); ++i) {
    const Value* item = v->items[i];
    arr.Set(static_cast<uint32_t>(i), Convert(item, depth + 1));
    if (item->kind == Kind::kFloat && IntegralFloat(item->f))
      Mark(arr, &marks, Napi::Number::New(env_, static_cast<double>(i)));
  }
  return arr;
}

Napi::Value JsWriter::Set(const Value* v, int depth) {
  Napi::Object set = c_.set.Value().New({});
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

// A dict with only str keys is a plain object; any other dict a Map, an OrderedDict a
// jepa.OrderedDict (with its PY_ATTRS).
Napi::Value JsWriter::Dict(const Value* v, int depth) {
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
      if (v->items[k]->s == "__proto__") {  // an own property, not the prototype
        napi_property_descriptor d = {};
        d.name = key;
        d.value = val;
        d.attributes =
            static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
        NAPI_THROW_IF_FAILED(env_, napi_define_properties(env_, obj, 1, &d), Napi::Value());
      } else {
        obj.Set(key, val);
      }
      if (item->kind == Kind::kFloat && IntegralFloat(item->f)) Mark(obj, &marks, key);
    }
    return obj;
  }
  Napi::Object map = v->kind == Kind::kOrderedDict ? c_.ordered_dict.Value().New({}) : c_.map.Value().New({});
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

// A dict key or set element: integral float keys are boxed (Float) so they stay floats.
Napi::Value JsWriter::Key(const Value* k, int depth) {
  if (k->kind == Kind::kFloat && IntegralFloat(k->f))
    return c_.float_box.Value().New({Napi::Number::New(env_, k->f)});
  return Convert(k, depth + 1);
}

// Records in the container's FLOAT_KEYS that `key` holds a float.
void JsWriter::Mark(Napi::Object container, Napi::Object* marks, Napi::Value key) {
  if (marks->IsEmpty()) {
    *marks = c_.set.Value().New({});
    DefineHidden(env_, container, c_.float_keys.Value(), *marks);
  }
  marks->Get("add").As<Napi::Function>().Call(*marks, {key});
}

Napi::Value ValueToJs(Napi::Env env, const Value* v) { return JsWriter(env).Top(v); }

// ---------------------------------------------------------------------------------------------
// JS -> value tree

namespace {

class FromJs {
 public:
  FromJs(Napi::Env env, Document& doc, const JsReadContext& ctx)
      : env_(env), c_(JsClassesOf(env)), doc_(doc), ctx_(ctx) {
    seen_ = c_.map.Value().New({});
    seen_get_ = seen_.Get("get").As<Napi::Function>();
    seen_set_ = seen_.Get("set").As<Napi::Function>();
  }

  Value* Convert(const Napi::Value& v, int depth) {
    if (depth > pt::kMaxDepth) {
      throw Error(code::kPtLimit,
                  "the value is nested deeper than " + std::to_string(pt::kMaxDepth) +
                      " levels (jepa.limits.maxDepth), or holds a cycle through a tuple or Size");
    }
    switch (v.Type()) {
      case napi_null:
        return doc_.New(Kind::kNone);
      case napi_boolean: {
        Value* x = doc_.New(Kind::kBool);
        x->b = v.As<Napi::Boolean>().Value();
        return x;
      }
      case napi_number:
        return Number(v.As<Napi::Number>().DoubleValue(), false);
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
      case napi_object:
        return Object(v.As<Napi::Object>(), depth);
      case napi_undefined:
        if (ctx_.undefined_is_none) return doc_.New(Kind::kNone);
        Fail("undefined has no Python equivalent (use null for None)");
      case napi_symbol:
        Fail("a symbol has no Python equivalent");
      case napi_function:
        Fail("a function has no Python equivalent");
      default:
        Fail("this value has no Python equivalent");
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
                ctx_.action + " `" + ctx_.root + where + "`" + ctx_.target + ": " + what, true);
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

  // An object: one already converted (a shared or cyclic reference), or by its class.
  Value* Object(const Napi::Object& o, int depth) {
    Napi::Value known = seen_get_.Call(seen_, {o});
    if (known.IsNumber()) return values_[static_cast<size_t>(known.As<Napi::Number>().Int64Value())];
    if (o.InstanceOf(c_.float_box.Value())) return Number(o.Get("value").ToNumber().DoubleValue(), true);
    if (o.IsBuffer() || o.IsTypedArray() || o.IsArrayBuffer() || o.IsDataView()) return Bytes(o);
    if (o.InstanceOf(c_.device.Value())) return Device(o);
    if (o.InstanceOf(c_.dtype.Value())) return Dtype(o);
    if (o.IsArray()) return Sequence(o, depth);
    if (o.InstanceOf(c_.map.Value())) return Dict(o, depth);
    if (o.InstanceOf(c_.set.Value())) return Set(o, depth);
    Napi::Value proto = PrototypeOf(o);
    if (!proto.IsNull() && !proto.StrictEquals(c_.object_prototype.Value())) return Instance(o);
    return PlainObject(o, depth);
  }

  // A Buffer or Uint8Array (or ArrayBuffer): Python bytes.
  Value* Bytes(const Napi::Object& o) {
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
      Fail(
          "a typed array other than Uint8Array/Buffer (bytes) has no Python equivalent: make it a tensor "
          "with jepa.tensor()");
    }
    Value* x = Remember(o, doc_.New(Kind::kBytes));
    if (n > 0) x->s.assign(reinterpret_cast<const char*>(data), n);
    return x;
  }

  Value* Device(const Napi::Object& o) {
    Value* x = doc_.New(Kind::kDevice);
    Napi::Value type = o.Get("type"), index = o.Get("index");
    if (!type.IsString()) Fail("a TorchDevice needs a string type");
    x->s = type.As<Napi::String>().Utf8Value();
    x->i = index.IsNumber() ? index.As<Napi::Number>().Int64Value() : -1;
    return Remember(o, x);
  }

  Value* Dtype(const Napi::Object& o) {
    Napi::Value name = o.Get("name");
    if (!name.IsString() || FindDtype(name.As<Napi::String>().Utf8Value()) == nullptr) {
      Fail("a TorchDtype with an unknown name");
    }
    Value* x = doc_.New(Kind::kDtype);
    x->s = name.As<Napi::String>().Utf8Value();
    return x;
  }

  // An Array (list), Tuple or Size.
  Value* Sequence(const Napi::Object& o, int depth) {
    const bool is_size = o.InstanceOf(c_.size.Value());
    Value* x = Remember(o, doc_.New(is_size                          ? Kind::kSize
                                    : o.InstanceOf(c_.tuple.Value()) ? Kind::kTuple
                                                                     : Kind::kList));
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

  // A Map (dict) or OrderedDict, with its PY_ATTRS.
  Value* Dict(const Napi::Object& o, int depth) {
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

  Value* Set(const Napi::Object& o, int depth) {
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

  // An instance of another class: a jepa.Tensor (its handle carries the Parameter flags), or
  // nothing Python has.
  Value* Instance(const Napi::Object& o) {
    Napi::Value handle = c_.tensor_handle.Value().Call({o});
    if (handle.IsObject()) {
      TensorHandle* h = TensorHandle::Unwrap(handle.As<Napi::Object>());
      Value* x = Remember(o, doc_.New(Kind::kTensor));
      x->tensor = std::make_unique<pt::TensorSpec>();
      x->tensor->tensor = h->tensor();
      x->tensor->parameter = h->parameter();
      x->tensor->requires_grad = h->requires_grad();
      return x;
    }
    Napi::Value ctor = o.Get("constructor");
    std::string name = "object";
    if (ctor.IsFunction()) name = ctor.As<Napi::Object>().Get("name").ToString().Utf8Value();
    Fail("a " + name +
         " has no Python equivalent (expected null, booleans, numbers, bigints, strings, Buffers, arrays, "
         "Tuple, Size, plain objects, Map, OrderedDict, Set, Tensor, TorchDevice, TorchDtype or Float)");
  }

  // A plain object: a dict with str keys (its own enumerable string keys, in order).
  Value* PlainObject(const Napi::Object& o, int depth) {
    Value* x = Remember(o, doc_.New(Kind::kDict));
    Napi::Object marks = MarksOf(o);
    napi_value names;
    NAPI_THROW_IF_FAILED(
        env_,
        napi_get_all_property_names(env_, o, napi_key_own_only,
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
    return c_.array_from.Call({map.Get("entries").As<Napi::Function>().Call(map, {})}).As<Napi::Array>();
  }
  Napi::Array Values(const Napi::Object& set) { return c_.array_from.Call({set}).As<Napi::Array>(); }
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
  const JsClasses& c_;
  Document& doc_;
  const JsReadContext& ctx_;
  Napi::Object seen_;
  Napi::Function seen_get_, seen_set_;
  std::vector<Value*> values_;
  std::vector<std::string> path_;
};

}  // namespace

Value* ValueFromJs(Napi::Env env, const Napi::Value& value, Document& doc, const JsReadContext& ctx) {
  return FromJs(env, doc, ctx).Convert(value, 0);
}

}  // namespace jepa
