// Writes a value tree as the data.pkl of a torch.save file: pickle protocol 2, with the same
// opcodes, memo numbering and batching as Python's pickler, so that torch.load (weights_only
// =True, and mmap=True) reads it, and a tree read from a Python file is written back with the
// same bytes in the common cases. Plain C++, no Node-API.
#pragma once
#include <string>
#include <vector>

#include "pt/value.h"

namespace jepa {
namespace pt {

struct PickleOutput {
  std::string data;                   // the data.pkl record
  std::vector<at::Storage> storages;  // record data/<i> holds storages[i], in this order
};

// Serializes doc.root. Tensors are the `tensor` of each kTensor value's spec (with its
// `parameter` and `requires_grad` flags); a storage that several tensors view is written once.
// Throws jepa::Error (kInvalidArgument: a value that cannot be written, e.g. two dtypes on one
// storage; kPtLimit: nesting deeper than kMaxDepth, or an int needing more than 255 bytes).
PickleOutput WritePickle(const Document& doc);

}  // namespace pt
}  // namespace jepa
