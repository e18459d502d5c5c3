// Plain C++ side of tensor handles: dtype and device names, shape checks, and the registry of
// live tensors behind jepa.memory(). No Node-API here, so a C++ test or a fuzzer can use it.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"  // ParseDtype, DtypeName: the dtype names of the JS API

namespace jepa {

// Parses "cpu", "cuda", "cuda:N"; throws kCudaUnavailable when CUDA is absent or N is out of range.
c10::Device ParseDevice(const std::string& name);
std::string DeviceName(const c10::Device& device);

// Whether libtorch's CUDA support (libtorch_cuda) is loaded, GPU or not (torch.backends.cuda.is_built()).
bool CudaBuilt();
// Whether CUDA is built and at least one GPU is usable (torch.cuda.is_available()).
bool CudaAvailable();
int64_t CudaDeviceCount();

// Product of a shape; throws kInvalidArgument on a negative size or on overflow.
int64_t Numel(const std::vector<int64_t>& shape);

// "[2, 3]" for error messages.
std::string ShapeString(at::IntArrayRef shape);

// Short description and (for small tensors) the values, for toString().
std::string Describe(const at::Tensor& t);

// Process-wide count of live tensor handles and of the bytes of the distinct storages they hold.
struct MemoryStats {
  int64_t tensors = 0;
  int64_t storages = 0;
  int64_t bytes = 0;
  int64_t reported = 0;  // of which reported to the JS engine of the owner asked about
};

// What a live handle registered: the storage it counts and who owns the handle. Unregister with
// this record, not with the tensor: an in-place op (`set_`, `resize_`) may have changed the
// tensor's storage since.
struct Registration {
  const void* owner = nullptr;    // the JS environment of the handle (an opaque key)
  const void* storage = nullptr;  // the StorageImpl counted, or null for a tensor without storage
};

// Counts a new handle of `t` owned by `owner`. Views and other handles of the same storage in the
// same owner share one entry, so a storage is counted once however many handles hold it.
// Returns the bytes that became held in `owner` (the storage's size when this is the owner's
// first handle on it, else 0); `external` says whether those bytes are memory the JS engine does
// not already know about (false for storages that borrow a JS ArrayBuffer) and so should be
// reported to it. Thread-safe.
int64_t RegisterTensor(const void* owner, const at::Tensor& t, bool external, Registration* out);
// Uncounts a handle; returns the bytes to un-report to the owner's JS engine (those reported when
// the storage was registered, once its last handle in that owner goes), else 0. Thread-safe.
int64_t UnregisterTensor(const Registration& reg);
// The process-wide counts, and the bytes reported for `owner`.
MemoryStats Memory(const void* owner);

}  // namespace jepa
