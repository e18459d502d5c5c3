// The Python value tree that the .pt reader produces and the writer consumes: a small variant
// type owned by a Document (an arena, so that shared and cyclic references cost nothing and
// never leak). Plain C++, no Node-API: the pickle VM, the fuzzer and the bindings share it.
// The JS side of each kind is documented in docs/values.md and docs/pt.md.
#pragma once
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace jepa {
namespace pt {

// Limits enforced by the reader and the writer (docs/pt.md). Each has a test.
inline constexpr int kMaxDepth = 1000;                                 // container nesting, MARK depth
inline constexpr int64_t kMaxStringBytes = int64_t{256} << 20;         // one str / bytes value
inline constexpr int kMaxRank = 64;                                    // tensor dimensions
inline constexpr int64_t kMaxFileBytes = int64_t{1} << 40;             // a .pt file (1 TiB)
inline constexpr int64_t kMaxPickleBytes = int64_t{1} << 30;           // its data.pkl record (1 GiB)
inline constexpr int64_t kMaxZipDirectoryBytes = int64_t{256} << 20;   // a zip's central directory
inline constexpr int64_t kMaxDeflatedRecordBytes = int64_t{16} << 20;  // a compressed record, inflated
inline constexpr int kMaxIntBytes = 255;                               // an int written (LONG1)

enum class Kind : uint8_t {
  kNone,
  kBool,
  kInt,          // fits in int64: `i`
  kBigInt,       // any other int: `s` holds its minimal little-endian two's complement bytes
  kFloat,        // `f`
  kStr,          // `s`: UTF-8 (lone surrogates encoded as Python's "surrogatepass" does)
  kBytes,        // `s`: raw bytes
  kList,         // `items`
  kTuple,        // `items`
  kSize,         // torch.Size: `items` (ints)
  kSet,          // `items`
  kDict,         // `items`: key0, value0, key1, value1, ...
  kOrderedDict,  // as kDict; `attrs` holds the Python attributes set by BUILD (a kDict) or null
  kTensor,       // `tensor`
  kDevice,       // torch.device: `s` type ("cpu", "cuda"), `i` index or -1
  kDtype,        // torch.dtype: `s` its Python name without "torch." ("float16")
  // Only inside the pickle VM, never in a finished tree:
  kGlobal,   // an allowlisted global: `i` its GlobalId, `s` its full name
  kStorage,  // a persistent-id storage reference: `i` the index in Document::storages
};

// A storage of the file (record data/<key>), shared by every tensor that views it.
struct StorageSpec {
  std::string key;       // the record name is "data/" + key
  at::ScalarType dtype;  // element type the pickle declared (kByte for UntypedStorage)
  int64_t nbytes = 0;    // size the pickle declared
  std::string location;  // "cpu", "cuda:0", ...
  at::Storage storage;   // the data, once read (or, when writing, the data to write)
};

// A tensor: a view (dtype, offset, sizes, strides) into one storage.
struct TensorSpec {
  int64_t storage = -1;  // index into Document::storages
  at::ScalarType dtype = at::kFloat;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  bool requires_grad = false;
  bool parameter = false;  // a torch.nn.Parameter
  bool conj = false;       // metadata bits of complex views
  bool neg = false;
  at::Tensor tensor;  // the tensor, once built from its storage (or, when writing, the source)
};

struct Value {
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<Value*> items;
  Value* attrs = nullptr;
  std::unique_ptr<TensorSpec> tensor;
  // The walk that last visited this value (Document::NextWalk): a walk over a tree with shared
  // or cyclic references marks values instead of keeping a set of them.
  mutable uint32_t walk = 0;
};

// Owns every Value of one tree.
class Document {
 public:
  Document() = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;

  // A new value, owned by the document. Values live in chunks that never move (each chunk is
  // reserved once and filled): a few allocations for a whole tree instead of one per value.
  Value* New(Kind kind) {
    if (chunks_.empty() || chunks_.back().size() == chunks_.back().capacity()) {
      std::vector<Value> chunk;
      chunk.reserve(chunks_.empty() ? 8 : std::min<size_t>(chunks_.back().capacity() * 2, 4096));
      chunks_.push_back(std::move(chunk));  // moving a vector keeps its elements in place
    }
    chunks_.back().emplace_back(kind);
    ++size_;
    return &chunks_.back().back();
  }
  size_t size() const { return size_; }
  // A number for a new walk over the tree (see Value::walk).
  uint32_t NextWalk() const { return ++walks_; }

  Value* root = nullptr;
  std::vector<StorageSpec> storages;

 private:
  std::vector<std::vector<Value>> chunks_;
  size_t size_ = 0;
  mutable uint32_t walks_ = 0;
};

}  // namespace pt
}  // namespace jepa
