// torch.save files on disk: the zip container (libtorch's caffe2::serialize::PyTorchStreamReader
// and PyTorchStreamWriter, the classes Python's torch.save/torch.load use), the records around
// the pickle, storages read into memory or mapped (mmap), and atomic writes.
// Plain C++, no Node-API.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/file_io.h"
#include "pt/value.h"

namespace caffe2 {
namespace serialize {
class PyTorchStreamReader;
class ReadAdapterInterface;
}  // namespace serialize
}  // namespace caffe2

namespace jepa {
namespace pt {

struct LoadOptions {
  bool mmap = false;                  // map the file; tensors alias the mapping (zero-copy)
  std::optional<c10::Device> device;  // move every storage to this device (CPU if unset)
};

struct FileBytes;  // a whole small file read into memory, shared by the storages that alias it

// An opened torch.save file: its parsed pickle, and its storages read on demand.
// Thread-safe: every method locks.
class Archive {
 public:
  // What our own pass over the zip directory found for each record (by its full name).
  struct RecordInfo {
    uint16_t method = 0;
    uint64_t comp = 0;
    uint64_t uncomp = 0;
    uint64_t local = 0;
  };

  // Opens `path`, checks the zip directory and parses data.pkl (no tensor data is read); a file
  // in the legacy format (torch < 1.6, or _use_new_zipfile_serialization=False) is read as
  // torch.load(weights_only=True) reads it. Throws jepa::Error: kFileNotFound, kIo, kPtCorrupt,
  // kPtLegacyFormat (the .tar format of torch < 0.4), kPtTorchScript,
  // kPtUnsafeGlobal, kPtUnsupported, kPtLimit. Messages start with the path.
  static std::unique_ptr<Archive> Open(const std::string& path, bool mmap);
  // The same from bytes in memory (copied); `name` is used in messages. For the fuzzer and tests.
  static std::unique_ptr<Archive> FromBytes(const uint8_t* data, size_t size, const std::string& name);
  // The same from a file read whole (ReadSmallFile), without copying it.
  static std::unique_ptr<Archive> FromFileBytes(std::shared_ptr<FileBytes> bytes, const std::string& name);
  ~Archive();

  // The parsed tree. Tensor specs have no data until Materialize/MaterializeAll.
  Document& doc() { return doc_; }
  std::mutex& mutex() { return mutex_; }

  // Reads (or maps) every storage and builds every tensor, on `device` if given.
  void MaterializeAll(const std::optional<c10::Device>& device);
  // Reads the storage of one tensor value and builds it.
  void Materialize(Value* tensor, const std::optional<c10::Device>& device);

  const std::string& name() const { return name_; }

 private:
  Archive() = default;
  void Init(std::shared_ptr<caffe2::serialize::ReadAdapterInterface> adapter, int64_t size);
  // The legacy (pre-1.6, not zip) format: its pickles and where each storage's bytes lie.
  void InitLegacy(std::shared_ptr<caffe2::serialize::ReadAdapterInterface> adapter, int64_t size);
  // The whole file in memory (a mapping or a small file read whole), or null when it is read in parts.
  const uint8_t* WholeData() const;
  // Parses the five pickles of a legacy file from data[0..size) into doc_ and *keys (the
  // storage list); returns where the storages' bytes start. *truncated: ran past `size`.
  uint64_t ParseLegacyPickles(const uint8_t* data, uint64_t size, std::vector<std::string>* keys,
                              bool* truncated);
  void ReadStorage(size_t index, const std::optional<c10::Device>& device);
  // Where the bytes of a record start in the file (stored records) after the checks miniz makes
  // (local header signature, data inside the file), and its size; false when it is absent.
  // A compressed record sets *compressed (and no offset). Throws kPtCorrupt for a bad header.
  // The record `prefix_ + record`, or null.
  const RecordInfo* FindRecord(std::string_view record);
  bool RecordSpan(const std::string& record, uint64_t* offset, uint64_t* size, bool* compressed);
  // Copies a record's bytes (stored: straight from the file; compressed: through libtorch's
  // reader); throws kPtCorrupt if it is absent or cannot be read whole.
  void ReadRecord(const std::string& record, void* dst, uint64_t size);
  caffe2::serialize::PyTorchStreamReader& Reader();
  void BuildTensor(Value* v);
  [[noreturn]] void Fail(const char* code, const std::string& message) const;

  std::string name_;
  Document doc_;
  std::mutex mutex_;
  std::shared_ptr<files::Mapping> mapping_;  // the whole file, with mmap
  std::shared_ptr<FileBytes> bytes_;         // whole small files read at once
  std::shared_ptr<caffe2::serialize::ReadAdapterInterface> adapter_;
  uint64_t size_ = 0;
  // libtorch's zip reader, made only for compressed records (torch.save never writes them):
  // stored records are read at the offsets our own directory pass (CheckDirectory) found,
  // which spares miniz parsing the directory a second time on every load.
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader_;
  std::unordered_map<std::string, RecordInfo> records_;
  std::string key_;     // FindRecord's buffer
  std::string prefix_;  // the archive folder plus '/', from the first record as libtorch does
  bool big_endian_ = false;
  std::vector<bool> swapped_;             // per storage: byte order fixed
  bool legacy_ = false;                   // the legacy format (InitLegacy)
  std::vector<uint64_t> legacy_offsets_;  // legacy: per storage, where its bytes start
};

// Reads a whole file: Open + MaterializeAll, returning the tree.
Document Load(const std::string& path, const LoadOptions& options);

// Load in two steps, for the async path: ReadSmallFile does the I/O (a worker thread), and
// LoadBytes the parsing (the JS thread, where the tree is turned into JS values: the parse costs
// about what building those values costs, and a tree parsed on another core is a cache miss at
// every value). ReadSmallFile returns null for a file above 1 MiB (use Load); it throws what
// Load throws for a missing or unreadable file. LoadBytes = Load without mmap or device.
std::shared_ptr<FileBytes> ReadSmallFile(const std::string& path);
// ReadSmallFile without ever waiting for a disk, so that it may run on the JS thread: the file
// is opened only if every component of its path is in the kernel's lookup cache (openat2 with
// RESOLVE_CACHED) and read only if all its bytes are in the page cache (preadv2 with
// RWF_NOWAIT). Null when that is not the case, on any error (the worker path then reports it),
// for files above 1 MiB, and on kernels without those flags (Linux < 5.12) or other systems.
std::shared_ptr<FileBytes> ReadCachedSmallFile(const std::string& path);
Document LoadBytes(std::shared_ptr<FileBytes> bytes, const std::string& path);

// Writes `doc` to `path` as torch.save does (records data.pkl, .format_version,
// .storage_alignment, byteorder, data/N, version, .data/serialization_id, 64-byte aligned,
// the archive folder named after the file's stem). Atomic: written to a temporary file in the
// same folder, flushed (fsync), then renamed over `path`; the temporary is removed on failure.
void Save(const std::string& path, const Document& doc);

}  // namespace pt
}  // namespace jepa
