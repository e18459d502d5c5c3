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

struct PickleOptions {
  // Persistent ids as the legacy (pre-1.6) torch.save format writes them:
  // ('storage', type, key, location, numel, view) where view is None or (key, offset, size).
  bool legacy = false;
  // Whether BINPERSID may appear (not in the legacy format's header pickles).
  bool persistent_ids = true;
};

// Parses the pickle at the start of `data` (bytes after its STOP opcode are left alone: a legacy
// torch.save file holds several pickles in a row) and returns the bytes it took. When the
// pickle runs past `size`, *truncated is set before the kPtCorrupt error is thrown, so that a
// caller reading a file piecewise can try again with more bytes. Throws what ParsePickle throws.
size_t ParsePickleAt(const uint8_t* data, size_t size, Document& doc, const PickleOptions& options,
                     bool* truncated);

// Checks that a tensor's view (offset, sizes, strides of `dtype`) lies inside `storage_nbytes`
// bytes; throws kPtCorrupt (or kPtLimit for the rank) naming `what`.
void CheckView(const TensorSpec& spec, int64_t storage_nbytes, const std::string& what);

}  // namespace pt
}  // namespace jepa
