#include "core/dtype.h"

#include <unordered_map>

#include "core/errors.h"

namespace jepa {

const std::vector<DtypeInfo>& Dtypes() {
  static const auto* table = new std::vector<DtypeInfo>{
      // name, type, size, typed array, legacy storage, safetensors, npy
      {"float32", at::kFloat, 4, "Float32Array", "FloatStorage", "F32", "f4"},
      {"float64", at::kDouble, 8, "Float64Array", "DoubleStorage", "F64", "f8"},
      {"float16", at::kHalf, 2, "Uint16Array", "HalfStorage", "F16", "f2"},
      {"bfloat16", at::kBFloat16, 2, "Uint16Array", "BFloat16Storage", "BF16", nullptr},
      {"int8", at::kChar, 1, "Int8Array", "CharStorage", "I8", "i1"},
      {"int16", at::kShort, 2, "Int16Array", "ShortStorage", "I16", "i2"},
      {"int32", at::kInt, 4, "Int32Array", "IntStorage", "I32", "i4"},
      {"int64", at::kLong, 8, "BigInt64Array", "LongStorage", "I64", "i8"},
      {"uint8", at::kByte, 1, "Uint8Array", "ByteStorage", "U8", "u1"},
      {"bool", at::kBool, 1, "Uint8Array", "BoolStorage", "BOOL", "b1"},
      // Read from and written to files only.
      {"complex32", at::kComplexHalf, 4, nullptr, nullptr, nullptr, nullptr},
      {"complex64", at::kComplexFloat, 8, nullptr, "ComplexFloatStorage", "C64", "c8"},
      {"complex128", at::kComplexDouble, 16, nullptr, "ComplexDoubleStorage", nullptr, "c16"},
      {"uint16", at::kUInt16, 2, nullptr, nullptr, "U16", "u2"},
      {"uint32", at::kUInt32, 4, nullptr, nullptr, "U32", "u4"},
      {"uint64", at::kUInt64, 8, nullptr, nullptr, "U64", "u8"},
      {"float8_e5m2", at::kFloat8_e5m2, 1, nullptr, nullptr, "F8_E5M2", nullptr},
      {"float8_e4m3fn", at::kFloat8_e4m3fn, 1, nullptr, nullptr, "F8_E4M3", nullptr},
      {"float8_e5m2fnuz", at::kFloat8_e5m2fnuz, 1, nullptr, nullptr, "F8_E5M2FNUZ", nullptr},
      {"float8_e4m3fnuz", at::kFloat8_e4m3fnuz, 1, nullptr, nullptr, "F8_E4M3FNUZ", nullptr},
      {"float8_e8m0fnu", at::kFloat8_e8m0fnu, 1, nullptr, nullptr, nullptr, nullptr},
      {"float4_e2m1fn_x2", at::kFloat4_e2m1fn_x2, 1, nullptr, nullptr, nullptr, nullptr},
      {"bits8", at::ScalarType::Bits8, 1, nullptr, nullptr, nullptr, nullptr},
      {"bits16", at::ScalarType::Bits16, 2, nullptr, nullptr, nullptr, nullptr},
      {"bits1x8", at::ScalarType::Bits1x8, 1, nullptr, nullptr, nullptr, nullptr},
      {"bits2x4", at::ScalarType::Bits2x4, 1, nullptr, nullptr, nullptr, nullptr},
      {"bits4x2", at::ScalarType::Bits4x2, 1, nullptr, nullptr, nullptr, nullptr},
      // Named so that a file holding them gets a clear JEPA_PT_UNSUPPORTED (ElementSize).
      {"qint8", at::kQInt8, 0, nullptr, nullptr, nullptr, nullptr},
      {"quint8", at::kQUInt8, 0, nullptr, nullptr, nullptr, nullptr},
      {"qint32", at::kQInt32, 0, nullptr, nullptr, nullptr, nullptr},
      {"quint4x2", at::kQUInt4x2, 0, nullptr, nullptr, nullptr, nullptr},
      {"quint2x4", at::kQUInt2x4, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint1", at::ScalarType::UInt1, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint2", at::ScalarType::UInt2, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint3", at::ScalarType::UInt3, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint4", at::ScalarType::UInt4, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint5", at::ScalarType::UInt5, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint6", at::ScalarType::UInt6, 0, nullptr, nullptr, nullptr, nullptr},
      {"uint7", at::ScalarType::UInt7, 0, nullptr, nullptr, nullptr, nullptr},
      {"int1", at::ScalarType::Int1, 0, nullptr, nullptr, nullptr, nullptr},
      {"int2", at::ScalarType::Int2, 0, nullptr, nullptr, nullptr, nullptr},
      {"int3", at::ScalarType::Int3, 0, nullptr, nullptr, nullptr, nullptr},
      {"int4", at::ScalarType::Int4, 0, nullptr, nullptr, nullptr, nullptr},
      {"int5", at::ScalarType::Int5, 0, nullptr, nullptr, nullptr, nullptr},
      {"int6", at::ScalarType::Int6, 0, nullptr, nullptr, nullptr, nullptr},
      {"int7", at::ScalarType::Int7, 0, nullptr, nullptr, nullptr, nullptr},
  };
  return *table;
}

const DtypeInfo* FindDtype(const std::string& name) {
  // A hash table, not a scan: every torch.* global of a pickle (torch.Size, torch.HalfStorage)
  // is looked up here first, and comparing against 45 names was a fifth of a small pickle's time.
  static const auto* by_name = [] {
    auto* t = new std::unordered_map<std::string, const DtypeInfo*>();
    for (const DtypeInfo& d : Dtypes()) t->emplace(d.name, &d);
    return t;
  }();
  auto it = by_name->find(name);
  return it == by_name->end() ? nullptr : it->second;
}

const DtypeInfo* FindDtype(at::ScalarType type) {
  for (const DtypeInfo& d : Dtypes()) {
    if (d.type == type) return &d;
  }
  return nullptr;
}

std::string DtypeName(at::ScalarType type) {
  const DtypeInfo* d = FindDtype(type);
  return d != nullptr ? d->name : c10::toString(type);
}

at::ScalarType ParseDtype(const std::string& name) {
  const DtypeInfo* d = FindDtype(name);
  if (d != nullptr && d->typed_array != nullptr) return d->type;
  std::string names;
  for (const DtypeInfo& e : Dtypes()) {
    if (e.typed_array != nullptr) names += std::string(names.empty() ? "" : ", ") + e.name;
  }
  throw Error(code::kUnknownDtype, "unknown dtype '" + name + "': expected one of " + names, true);
}

int64_t ElementSize(at::ScalarType type) {
  const DtypeInfo* d = FindDtype(type);
  if (d != nullptr && d->element_size > 0) return d->element_size;
  if (d == nullptr) return static_cast<int64_t>(c10::elementSize(type));
  throw Error(code::kPtUnsupported,
              "tensors of dtype torch." + std::string(d->name) + " are not supported by jepa-native");
}

}  // namespace jepa
