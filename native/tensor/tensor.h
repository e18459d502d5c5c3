// Plain C++ side of tensor handles: dtype and device names, shape checks, and the registry of
// live tensors behind jepa.memory(). No Node-API here, so a C++ test or a fuzzer can use it.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace jepa {

// The dtype names of the JS API ("float32", "bfloat16", ...) <-> at::ScalarType.
// Throws jepa::Error(kUnknownDtype) for a name outside the supported set.
at::ScalarType ParseDtype(const std::string& name);
std::string DtypeName(at::ScalarType type);

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
};
void RegisterTensor(const at::Tensor& t);
void UnregisterTensor(const at::Tensor& t);
MemoryStats Memory();

}  // namespace jepa
