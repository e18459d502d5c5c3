// A restricted unpickler for the data.pkl record of torch.save files. It understands the
// opcodes that torch.save (pickle protocol 2) emits and that torch.load(weights_only=True)
// accepts, and only the globals that loader allows (and jepa-native can represent). It never
// runs anything: globals are looked up in a fixed table, and everything else is refused with
// an error that names the global. Every size, index and depth is bounds-checked.
// Plain C++, no Node-API (the fuzzer calls it directly).
#pragma once
#include <cstddef>
#include <cstdint>

#include "pt/value.h"

namespace jepa {
namespace pt {

// Parses a pickle into `doc`: doc.root is the top value, doc.storages the storages the tensors
// refer to (declared sizes only; nothing is read), each tensor's spec checked against its
// storage's declared size. Throws jepa::Error: kPtCorrupt (malformed, out of bounds),
// kPtUnsafeGlobal (a global outside the allowlist), kPtUnsupported (allowed by Python but not
// representable here), kPtLimit (a documented limit exceeded).
void ParsePickle(const uint8_t* data, size_t size, Document& doc);

// Checks that a tensor's view (offset, sizes, strides of `dtype`) lies inside `storage_nbytes`
// bytes; throws kPtCorrupt (or kPtLimit for the rank) naming `what`.
void CheckView(const TensorSpec& spec, int64_t storage_nbytes, const std::string& what);

// Size in bytes of one element of a dtype a tensor can have in a file; throws kPtUnsupported
// for dtypes without a byte-sized element (quantized, sub-byte).
int64_t ElementSize(at::ScalarType type);

}  // namespace pt
}  // namespace jepa
