// The one table of dtypes: each dtype's name (Python's, without "torch."; the JS API uses the
// same names), its at::ScalarType, its element size, and which APIs and formats accept it. The
// tensor API, the .pt reader and writer, safetensors, .npy and lib/core/dtype.ts (through the
// addon's `dtypes` export) all read it here. Plain C++, no Node-API.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace jepa {

struct DtypeInfo {
  const char* name;  // "float16"
  at::ScalarType type;
  int64_t element_size;        // bytes; 0 for dtypes without a byte-sized element (quantized, sub-byte)
  const char* typed_array;     // the JS typed array that holds it ("Uint16Array"), or nullptr: the
                               // tensor API (factories, data(), to()) accepts exactly these dtypes
  const char* legacy_storage;  // the pre-2.0 typed storage class ("HalfStorage"), or nullptr
  const char* safetensors;     // the safetensors dtype code ("F16"), or nullptr
  const char* npy;             // numpy's type code without the byte order ("f2"), or nullptr
};

// Every dtype a tensor may have in a file, the tensor API's first, in a stable order.
const std::vector<DtypeInfo>& Dtypes();

// The entry of a name or a type, or nullptr.
const DtypeInfo* FindDtype(const std::string& name);
const DtypeInfo* FindDtype(at::ScalarType type);

// The name of a type (c10's name for a type outside the table).
std::string DtypeName(at::ScalarType type);

// A dtype name of the tensor API -> at::ScalarType; throws kUnknownDtype (a TypeError) for a name
// the tensor API does not accept.
at::ScalarType ParseDtype(const std::string& name);

// Size in bytes of one element of a dtype a tensor can have in a file; throws kPtUnsupported
// for dtypes without a byte-sized element (quantized, sub-byte).
int64_t ElementSize(at::ScalarType type);

}  // namespace jepa
