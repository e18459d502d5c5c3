#include "pt/ivalue.h"

#include <cmath>
#include <cstdio>
#include <unordered_set>
#include <vector>

#include "core/errors.h"
#include "tensor/tensor.h"

namespace jepa {
namespace pt {
namespace {

// The shortest decimal that reads back as `d`, as JS prints numbers ("1.5", "0.1", "3").
std::string NumberText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

bool HasTorchScriptForm(Kind k) {
  return k != Kind::kSet && k != Kind::kBytes && k != Kind::kBigInt && k != Kind::kDtype;
}

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class Converter {
 public:
  explicit Converter(const ArgContext& ctx) : ctx_(ctx) {}

  c10::IValue To(const Value* v, const c10::TypePtr& type, const std::string& where) {
    using c10::TypeKind;
    const std::string want = type->annotation_str();
    switch (type->kind()) {
      case TypeKind::TensorType:
        if (v->kind != Kind::kTensor) Mismatch(where, want, v);
        return v->tensor->tensor;
      case TypeKind::IntType:
        if (v->kind == Kind::kInt) return v->i;
        if (v->kind == Kind::kBigInt) Mismatch(where, "an integer that fits in int64", v);
        Mismatch(where, want, v);
      case TypeKind::FloatType:
        if (v->kind == Kind::kFloat) return v->f;
        if (v->kind == Kind::kInt) return static_cast<double>(v->i);
        Mismatch(where, want, v);
      case TypeKind::NumberType:
        if (v->kind == Kind::kInt) return v->i;
        if (v->kind == Kind::kFloat) return v->f;
        Mismatch(where, want, v);
      case TypeKind::BoolType:
        if (v->kind != Kind::kBool) Mismatch(where, want, v);
        return v->b;
      case TypeKind::StringType:
        if (v->kind != Kind::kStr) Mismatch(where, want, v);
        return v->s;
      case TypeKind::NoneType:
        if (v->kind != Kind::kNone) Mismatch(where, "None (null)", v);
        return c10::IValue();
      case TypeKind::OptionalType:
        if (v->kind == Kind::kNone) return c10::IValue();
        return To(v, type->expectRef<c10::OptionalType>().getElementType(), where);
      case TypeKind::UnionType:
        for (const auto& t : type->containedTypes()) {
          try {
            return To(v, t, where);
          } catch (const Error&) {
          }
        }
        Mismatch(where, want, v);
      case TypeKind::ListType: {
        if (!IsSequence(v)) Mismatch(where, want, v);
        const c10::TypePtr& elem = type->expectRef<c10::ListType>().getElementType();
        Enter enter(this, v, where);
        c10::impl::GenericList list(elem);
        list.reserve(v->items.size());
        for (size_t i = 0; i < v->items.size(); ++i) list.push_back(To(v->items[i], elem, Index(where, i)));
        return list;
      }
      case TypeKind::TupleType: {
        const auto& elems = type->expectRef<c10::TupleType>().elements();
        if (!IsSequence(v)) Mismatch(where, want, v);
        if (v->items.size() != elems.size())
          Mismatch(where, want + " (" + std::to_string(elems.size()) + " items)", v);
        Enter enter(this, v, where);
        std::vector<c10::IValue> values;
        for (size_t i = 0; i < v->items.size(); ++i)
          values.push_back(To(v->items[i], elems[i], Index(where, i)));
        return c10::ivalue::Tuple::create(std::move(values));
      }
      case TypeKind::DictType: {
        if (v->kind != Kind::kDict && v->kind != Kind::kOrderedDict) Mismatch(where, want, v);
        const auto& dt = type->expectRef<c10::DictType>();
        Enter enter(this, v, where);
        c10::impl::GenericDict dict(dt.getKeyType(), dt.getValueType());
        for (size_t k = 0; k + 1 < v->items.size(); k += 2) {
          const Value* key = v->items[k];
          c10::IValue ikey = To(key, dt.getKeyType(), where + ".keys[" + std::to_string(k / 2) + "]");
          const std::string at =
              where + "[" + (key->kind == Kind::kStr ? JsonQuote(key->s) : std::to_string(k / 2)) + "]";
          dict.insert_or_assign(std::move(ikey), To(v->items[k + 1], dt.getValueType(), at));
        }
        return dict;
      }
      case TypeKind::DeviceObjType:
        if (v->kind == Kind::kStr) return ParseDevice(v->s);
        if (v->kind == Kind::kDevice)
          return ParseDevice(v->i >= 0 ? v->s + ":" + std::to_string(v->i) : v->s);
        Mismatch(where, want, v);
      case TypeKind::AnyType:
        return Infer(v, where);
      default:
        throw Error(code::kInvalidArgument,
                    "argument `" + ctx_.arg + "` of " + ctx_.method + "() has type " + want +
                        ", which jepa-native cannot build from JS",
                    true);
    }
  }

 private:
  // Marks a container as being converted, so that one that holds itself is refused rather than
  // converted forever.
  struct Enter {
    Enter(Converter* c, const Value* v, const std::string& where) : c_(c), v_(v) {
      if (!c_->open_.insert(v).second) {
        throw Error(code::kInvalidArgument,
                    "argument `" + c_->ctx_.arg + "` of " + c_->ctx_.method + "(): " + where +
                        " contains itself (a cycle), which has no TorchScript form",
                    true);
      }
    }
    ~Enter() { c_->open_.erase(v_); }
    Converter* c_;
    const Value* v_;
  };

  static bool IsSequence(const Value* v) {
    return v->kind == Kind::kList || v->kind == Kind::kTuple || v->kind == Kind::kSize;
  }
  static std::string Index(const std::string& where, size_t i) {
    return where + "[" + std::to_string(i) + "]";
  }

  [[noreturn]] void Mismatch(const std::string& where, const std::string& want, const Value* got) {
    std::string msg = "expected argument `" + ctx_.arg + "` of " + ctx_.method + "() to be " + ctx_.expected;
    if (where != ctx_.arg) msg += " (" + where + " should be " + want + ")";
    msg += ", got " + Describe(got);
    if (!HasTorchScriptForm(got->kind)) msg += ", which has no TorchScript form";
    throw Error(code::kInvalidArgument, msg, true);
  }

  // A value for an `Any` slot: the type follows the value.
  c10::IValue Infer(const Value* v, const std::string& where) {
    switch (v->kind) {
      case Kind::kNone:
        return c10::IValue();
      case Kind::kBool:
        return v->b;
      case Kind::kInt:
        return v->i;
      case Kind::kFloat:
        return v->f;
      case Kind::kStr:
        return v->s;
      case Kind::kTensor:
        return v->tensor->tensor;
      case Kind::kDevice:
        return To(v, c10::DeviceObjType::get(), where);
      case Kind::kList:
      case Kind::kTuple:
      case Kind::kSize: {
        Enter enter(this, v, where);
        std::vector<c10::IValue> values;
        for (size_t i = 0; i < v->items.size(); ++i) values.push_back(Infer(v->items[i], Index(where, i)));
        if (v->kind != Kind::kList) return c10::ivalue::Tuple::create(std::move(values));
        bool all_tensors = !values.empty();
        for (const auto& x : values) all_tensors = all_tensors && x.isTensor();
        c10::impl::GenericList list(all_tensors ? c10::TypePtr(c10::TensorType::get())
                                                : c10::TypePtr(c10::AnyType::get()));
        for (auto& x : values) list.push_back(std::move(x));
        return list;
      }
      case Kind::kDict:
      case Kind::kOrderedDict:
        return To(v, c10::DictType::create(c10::StringType::get(), c10::AnyType::get()), where);
      default:
        throw Error(code::kInvalidArgument,
                    "argument `" + ctx_.arg + "` of " + ctx_.method + "(): " + where + " is " + Describe(v) +
                        ", which has no TorchScript form",
                    true);
    }
  }

  const ArgContext& ctx_;
  std::unordered_set<const Value*> open_;
};

}  // namespace

std::string Describe(const Value* v) {
  switch (v->kind) {
    case Kind::kNone:
      return "null";
    case Kind::kBool:
      return std::string("a boolean (") + (v->b ? "true" : "false") + ")";
    case Kind::kInt:
      return "a number (" + std::to_string(v->i) + ")";
    case Kind::kFloat:
      return "a number (" + NumberText(v->f) + ")";
    case Kind::kBigInt:
      return "a bigint";
    case Kind::kStr:
      return "a string";
    case Kind::kBytes:
      return "a Buffer";
    case Kind::kList:
      return "an array of length " + std::to_string(v->items.size());
    case Kind::kTuple:
      return "a Tuple";
    case Kind::kSize:
      return "a Size";
    case Kind::kSet:
      return "a Set";
    case Kind::kDict:
      return "a dict";
    case Kind::kOrderedDict:
      return "an OrderedDict";
    case Kind::kTensor:
      return "a Tensor";
    case Kind::kDevice:
      return "a TorchDevice";
    case Kind::kDtype:
      return "a TorchDtype";
    default:
      return "a value";
  }
}

c10::IValue ToIValue(const Value* v, const c10::TypePtr& type, const ArgContext& ctx) {
  return Converter(ctx).To(v, type, ctx.arg);
}

Value* FromIValue(const c10::IValue& v, Document& doc) {
  if (v.isNone() || (v.isTensor() && !v.toTensor().defined())) return doc.New(Kind::kNone);
  if (v.isTensor()) {
    Value* x = doc.New(Kind::kTensor);
    x->tensor = std::make_unique<TensorSpec>();
    x->tensor->tensor = v.toTensor();
    return x;
  }
  if (v.isBool()) {
    Value* x = doc.New(Kind::kBool);
    x->b = v.toBool();
    return x;
  }
  if (v.isInt()) {
    Value* x = doc.New(Kind::kInt);
    x->i = v.toInt();
    return x;
  }
  if (v.isDouble()) {
    Value* x = doc.New(Kind::kFloat);
    x->f = v.toDouble();
    return x;
  }
  if (v.isString()) {
    Value* x = doc.New(Kind::kStr);
    x->s = v.toStringRef();
    return x;
  }
  if (v.isList() || v.isTuple()) {
    Value* x = doc.New(v.isList() ? Kind::kList : Kind::kTuple);
    if (v.isList()) {
      for (const c10::IValue& item : v.toListRef()) x->items.push_back(FromIValue(item, doc));
    } else {
      for (const c10::IValue& item : v.toTupleRef().elements()) x->items.push_back(FromIValue(item, doc));
    }
    return x;
  }
  if (v.isGenericDict()) {
    Value* x = doc.New(Kind::kDict);
    for (const auto& entry : v.toGenericDict()) {
      x->items.push_back(FromIValue(entry.key(), doc));
      x->items.push_back(FromIValue(entry.value(), doc));
    }
    return x;
  }
  if (v.isDevice()) {
    const c10::Device d = v.toDevice();
    Value* x = doc.New(Kind::kDevice);
    x->s = c10::DeviceTypeName(d.type(), true);
    x->i = d.has_index() ? d.index() : -1;
    return x;
  }
  throw Error(
      code::kInvalidArgument,
      "the method returned a value of TorchScript type " + v.type()->annotation_str() +
          ", which has no JS form (supported: Tensor, int, float, bool, str, None, list, tuple, dict, "
          "device)");
}

}  // namespace pt
}  // namespace jepa
