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

// Live handles per (owner, storage), keyed by both so that each JS environment (main thread,
// worker threads) reports and un-reports its own external memory. An open-addressing table with
// linear probing and backward-shift deletion: no allocation per storage (a node-based map's
// malloc and free were a tenth of a small op's cost).
class StorageTable {
 public:
  struct Entry {
    const void* owner;
    const void* storage;  // null: an empty slot
    int64_t handles;
    int64_t bytes;     // the storage's size when its first handle was registered
    int64_t reported;  // of which reported to the owner's JS engine
  };

  StorageTable() : slots_(64) {}

  // The entry of (owner, storage), created with zero counts if absent; `inserted` says which.
  Entry& Get(const void* owner, const void* storage, bool* inserted) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t i = Home(owner, storage);
    while (slots_[i].storage != nullptr) {
      if (slots_[i].storage == storage && slots_[i].owner == owner) {
        *inserted = false;
        return slots_[i];
      }
      i = (i + 1) & Mask();
    }
    slots_[i] = Entry{owner, storage, 0, 0, 0};
    size_++;
    *inserted = true;
    return slots_[i];
  }

  Entry* Find(const void* owner, const void* storage) {
    for (size_t i = Home(owner, storage); slots_[i].storage != nullptr; i = (i + 1) & Mask()) {
      if (slots_[i].storage == storage && slots_[i].owner == owner) return &slots_[i];
    }
    return nullptr;
  }

  void Erase(Entry* e) {
    size_t hole = static_cast<size_t>(e - slots_.data());
    // Backward shift: move later entries of the probe run into the hole when their home allows.
    for (size_t i = (hole + 1) & Mask(); slots_[i].storage != nullptr; i = (i + 1) & Mask()) {
      const size_t home = Home(slots_[i].owner, slots_[i].storage);
      if (((i - home) & Mask()) >= ((i - hole) & Mask())) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole].storage = nullptr;
    size_--;
  }

  size_t size() const { return size_; }

 private:
  size_t Mask() const { return slots_.size() - 1; }
  size_t Home(const void* owner, const void* storage) const {
    uint64_t h =
        reinterpret_cast<uintptr_t>(storage) ^ (reinterpret_cast<uintptr_t>(owner) * 0x9E3779B97F4A7C15ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return static_cast<size_t>(h) & Mask();
  }
  void Grow() {
    std::vector<Entry> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (const Entry& e : old) {
      if (e.storage == nullptr) continue;
      bool inserted;
      Get(e.owner, e.storage, &inserted) = e;
    }
  }

  std::vector<Entry> slots_;
  size_t size_ = 0;
};

struct Registry {
  std::mutex mutex;
  StorageTable storages;
  std::unordered_map<const void*, int64_t> reported;  // per owner
  int64_t tensors = 0;
  int64_t bytes = 0;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: finalizers may run at exit
  return *registry;
}

}  // namespace

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
      throw Error(code::kCudaUnavailable, "device '" + name + "' does not exist: " + std::to_string(count) +
                                              " CUDA device(s) visible");
    }
    return index < 0 ? c10::Device(c10::kCUDA) : c10::Device(c10::kCUDA, static_cast<int8_t>(index));
  }
  throw Error(code::kInvalidArgument, "invalid device '" + name + "': expected 'cpu', 'cuda' or 'cuda:N'",
              true);
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

int64_t RegisterTensor(const void* owner, const at::Tensor& t, bool external, Registration* out) {
  Registry& r = GetRegistry();
  out->owner = owner;
  out->storage = t.defined() && t.has_storage() ? t.storage().unsafeGetStorageImpl() : nullptr;
  std::lock_guard<std::mutex> lock(r.mutex);
  r.tensors++;
  if (out->storage == nullptr) return 0;
  bool inserted;
  StorageTable::Entry& e = r.storages.Get(owner, out->storage, &inserted);
  e.handles++;
  if (!inserted) return 0;
  const int64_t bytes = static_cast<int64_t>(t.storage().nbytes());
  e.bytes = bytes;
  e.reported = external ? bytes : 0;
  r.bytes += bytes;
  if (external && bytes > 0) r.reported[owner] += bytes;
  return e.reported;
}

int64_t UnregisterTensor(const Registration& reg) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.tensors--;
  if (reg.storage == nullptr) return 0;
  StorageTable::Entry* e = r.storages.Find(reg.owner, reg.storage);
  if (e == nullptr || --e->handles > 0) return 0;
  const int64_t reported = e->reported;
  r.bytes -= e->bytes;
  r.storages.Erase(e);
  if (reported > 0) {
    auto owner = r.reported.find(reg.owner);
    if ((owner->second -= reported) == 0) r.reported.erase(owner);
  }
  return reported;
}

MemoryStats Memory(const void* owner) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.reported.find(owner);
  return MemoryStats{r.tensors, static_cast<int64_t>(r.storages.size()), r.bytes,
                     it == r.reported.end() ? 0 : it->second};
}

}  // namespace jepa
