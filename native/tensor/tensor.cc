#include "tensor/tensor.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/StorageImpl.h>
#include <torch/cuda.h>

#include <limits>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "core/errors.h"

namespace jepa {
namespace {

struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};

constexpr DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf},
    {"bfloat16", at::kBFloat16}, {"int8", at::kChar},     {"int16", at::kShort},
    {"int32", at::kInt},        {"int64", at::kLong},     {"uint8", at::kByte},
    {"bool", at::kBool},
};

struct Registry {
  std::mutex mutex;
  struct Entry {
    int64_t handles;
    int64_t bytes;
  };
  std::unordered_map<const void*, Entry> storages;
  int64_t tensors = 0;
  int64_t bytes = 0;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: finalizers may run at exit
  return *registry;
}

}  // namespace

at::ScalarType ParseDtype(const std::string& name) {
  for (const auto& e : kDtypes) {
    if (name == e.name) return e.type;
  }
  throw Error(code::kUnknownDtype,
              "unknown dtype '" + name +
                  "': expected one of float32, float64, float16, bfloat16, int8, int16, int32, "
                  "int64, uint8, bool",
              true);
}

// Python's names of the dtypes that tensors read from files may have but that the factories
// do not create (no typed array holds them).
constexpr DtypeEntry kOtherDtypes[] = {
    {"complex32", at::kComplexHalf},      {"complex64", at::kComplexFloat},
    {"complex128", at::kComplexDouble},   {"uint16", at::kUInt16},
    {"uint32", at::kUInt32},              {"uint64", at::kUInt64},
    {"float8_e5m2", at::kFloat8_e5m2},    {"float8_e4m3fn", at::kFloat8_e4m3fn},
    {"float8_e5m2fnuz", at::kFloat8_e5m2fnuz}, {"float8_e4m3fnuz", at::kFloat8_e4m3fnuz},
    {"float8_e8m0fnu", at::kFloat8_e8m0fnu},   {"float4_e2m1fn_x2", at::kFloat4_e2m1fn_x2},
    {"bits8", at::ScalarType::Bits8},     {"bits16", at::ScalarType::Bits16},
    {"bits1x8", at::ScalarType::Bits1x8}, {"bits2x4", at::ScalarType::Bits2x4},
    {"bits4x2", at::ScalarType::Bits4x2},
};

std::string DtypeName(at::ScalarType type) {
  for (const auto& e : kDtypes) {
    if (type == e.type) return e.name;
  }
  for (const auto& e : kOtherDtypes) {
    if (type == e.type) return e.name;
  }
  return c10::toString(type);
}

bool CudaBuilt() { return at::detail::getCUDAHooks().isBuilt(); }

bool CudaAvailable() { return torch::cuda::is_available(); }

int64_t CudaDeviceCount() { return static_cast<int64_t>(torch::cuda::device_count()); }

c10::Device ParseDevice(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int64_t index = -1;
    if (name.size() > 5) {
      const std::string digits = name.substr(5);
      if (digits.empty() || digits.size() > 4 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        throw Error(code::kInvalidArgument,
                    "invalid device '" + name + "': expected 'cpu', 'cuda' or 'cuda:N'", true);
      }
      index = std::stoll(digits);
    }
    if (!CudaBuilt()) {
      throw Error(code::kCudaUnavailable,
                  "device '" + name +
                      "' requested but this libtorch is a CPU build (no libtorch_cuda): build "
                      "jepa-native against a CUDA libtorch, named by LIBTORCH");
    }
    if (!CudaAvailable()) {
      throw Error(code::kCudaUnavailable,
                  "device '" + name +
                      "' requested but no CUDA device is usable: this libtorch has CUDA support, "
                      "but no GPU is visible (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)");
    }
    const int64_t count = CudaDeviceCount();
    if (index >= count) {
      throw Error(code::kCudaUnavailable, "device '" + name + "' does not exist: " +
                                              std::to_string(count) + " CUDA device(s) visible");
    }
    return index < 0 ? c10::Device(c10::kCUDA) : c10::Device(c10::kCUDA, static_cast<int8_t>(index));
  }
  throw Error(code::kInvalidArgument,
              "invalid device '" + name + "': expected 'cpu', 'cuda' or 'cuda:N'", true);
}

std::string DeviceName(const c10::Device& device) { return device.str(); }

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      throw Error(code::kInvalidArgument, "shape " + ShapeString(shape) + " has a negative size", true);
    }
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      throw Error(code::kInvalidArgument, "shape " + ShapeString(shape) + " is too large");
    }
    n *= d;
  }
  return n;
}

std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::string Describe(const at::Tensor& t) {
  std::ostringstream out;
  out << "Tensor(shape=" << ShapeString(t.sizes()) << ", dtype=" << DtypeName(t.scalar_type())
      << ", device=" << DeviceName(t.device()) << ")";
  if (t.numel() > 0 && t.numel() <= 1000) out << "\n" << t;
  return out.str();
}

void RegisterTensor(const at::Tensor& t) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.tensors++;
  if (!t.defined() || !t.has_storage()) return;
  const void* key = t.storage().unsafeGetStorageImpl();
  auto it = r.storages.find(key);
  if (it == r.storages.end()) {
    const int64_t bytes = static_cast<int64_t>(t.storage().nbytes());
    r.storages.emplace(key, Registry::Entry{1, bytes});
    r.bytes += bytes;
  } else {
    it->second.handles++;
  }
}

void UnregisterTensor(const at::Tensor& t) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.tensors--;
  if (!t.defined() || !t.has_storage()) return;
  auto it = r.storages.find(t.storage().unsafeGetStorageImpl());
  if (it == r.storages.end()) return;
  if (--it->second.handles == 0) {
    r.bytes -= it->second.bytes;
    r.storages.erase(it);
  }
}

MemoryStats Memory() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return MemoryStats{r.tensors, static_cast<int64_t>(r.storages.size()), r.bytes};
}

}  // namespace jepa
