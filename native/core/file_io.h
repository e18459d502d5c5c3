// File plumbing shared by the .pt, safetensors and .npy readers and writers: file descriptors,
// whole-file mappings, memory for large storages, atomic writes, and tensors read from (or
// written to) byte ranges of a file. Plain C++, no Node-API.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace jepa {
namespace files {

// Closes a file descriptor when it goes.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Freed memory blocks kept for the next allocation of a similar size: memory already faulted in
// (and still in the CPU cache) is several times cheaper to read a file into than fresh memory;
// glibc keeps freed memory the same way for Python's loads. At most `max_blocks` blocks and
// `max_bytes` bytes are kept. Thread-safe (deleters run on any thread). A block is an opaque
// pointer with its capacity in bytes; freeing it stays the owner's business.
class KeptBlocks {
 public:
  KeptBlocks(size_t max_blocks, size_t max_bytes) : max_blocks_(max_blocks), max_bytes_(max_bytes) {}
  // A kept block of at least `size` bytes and at most a quarter (plus a page) more, with its
  // capacity in *capacity; null if none fits.
  void* Take(size_t size, size_t* capacity);
  // Keeps `block`; false when there is no room (the caller frees it).
  bool Keep(void* block, size_t capacity);

 private:
  struct Block {
    void* block;
    size_t capacity;
  };
  const size_t max_blocks_, max_bytes_;
  std::mutex mutex_;
  std::vector<Block> blocks_;
  size_t bytes_ = 0;
};

// An mmap (of a file, or anonymous memory) unmapped when the last owner goes.
struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping();
};

// Opens `path` for reading; throws kFileNotFound / kIo with the path in the message.
// Sets *size to the file's size; refuses folders and files above pt::kMaxFileBytes (kPtLimit).
std::shared_ptr<Fd> OpenForRead(const std::string& path, int64_t* size);

// Maps a whole file privately (writes stay in memory, like torch.load(mmap=True)).
std::shared_ptr<Mapping> MapFile(const std::string& path, int fd, size_t size);

// Reads exactly n bytes at pos (false if the file is shorter).
bool ReadAt(int fd, void* buf, size_t n, uint64_t pos);

// A storage of `nbytes` that aliases `data`, keeping `owner` alive while the storage lives.
at::Storage AliasStorage(void* data, int64_t nbytes, std::shared_ptr<void> owner);

// A fresh CPU storage of `nbytes` (not zeroed); from 64 KiB up, recently freed blocks of a
// similar size are reused (their pages already faulted in), and large ones use transparent huge
// pages (fewer page faults).
at::Storage NewStorage(int64_t nbytes);

// Writes a new file at `path` atomically: `write(fd)` fills a temporary file in the same folder,
// which is then flushed (fsync) and renamed over `path`; on any failure the temporary file is
// removed and `path` is untouched. Throws kIo.
void WriteAtomically(const std::string& path, const std::function<void(int fd)>& write);

// Writes all of `n` bytes; throws kIo naming `path`.
void WriteAll(int fd, const void* data, size_t n, const std::string& path);

// A tensor stored in a byte range of a file.
struct TensorSlot {
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // empty: contiguous
  int64_t offset = 0;            // byte offset in the file
  int64_t nbytes = 0;            // bytes of the range
};

// Reads each slot as its own tensor: with `mmap` the tensors alias one private mapping of the
// file (copied instead when a range is not aligned to its element size), else each is read into
// its own memory. `byteswap` reverses the bytes of each element (big-endian files). Every range
// is checked to lie inside the file and to hold the view (kPtCorrupt).
std::vector<at::Tensor> ReadTensors(const std::string& path, const std::vector<TensorSlot>& slots, bool mmap,
                                    bool byteswap, const std::optional<c10::Device>& device);

// ReadTensors over bytes in memory (a contiguous CPU uint8 tensor, such as a zip member inflated
// into JS memory): offsets are into `bytes`; tensors alias it when aligned and not byteswapped
// (keeping it alive), else copy. `name` is used in messages.
std::vector<at::Tensor> TensorsFromBytes(const at::Tensor& bytes, const std::string& name,
                                         const std::vector<TensorSlot>& slots, bool byteswap,
                                         const std::optional<c10::Device>& device);

// Writes `header` and then the bytes of each tensor (in row-major order, from any device)
// atomically to `path`.
void WriteTensors(const std::string& path, const std::string& header, const std::vector<at::Tensor>& tensors);
// The same with a piece of bytes before each tensor (pieces[i] before tensors[i]) and, when
// there is one more piece than tensors, the last piece after them (a zip's directory).
void WriteTensors(const std::string& path, const std::vector<std::string>& pieces,
                  const std::vector<at::Tensor>& tensors);

// CRC-32 as zip and zlib compute it, continuing from `crc` (0 to start).
uint32_t Crc32(const void* data, size_t n, uint32_t crc);
// A tensor's elements in row-major order as a 1-D uint8 CPU tensor (a view of the tensor's memory
// when it is contiguous on the CPU, else of a copy).
at::Tensor RowMajorBytes(const at::Tensor& t);
// The CRC-32 of a tensor's elements in row-major order (what WriteTensors writes), from `crc`.
uint32_t TensorCrc32(const at::Tensor& t, uint32_t crc);

// Reverses the bytes of each `elem`-byte element.
void Byteswap(uint8_t* p, int64_t nbytes, int64_t elem);

// A name part unique within this machine (pid, time, counter), for temporary files.
std::string UniqueSuffix();

// The folder and file name of a file to write; throws kInvalidArgument when `path` names no file
// and kIo when it names a folder.
void SplitTarget(const std::string& path, std::string* dir, std::string* base);

// The temporary path a writer of `dir`/`base` uses beside it:
// `<dir>/.<base>.jepa-tmp-<pid>-<time>-<n>` (base cut to kTempBaseBytes bytes).
std::string TempPathFor(const std::string& dir, const std::string& base);

// How long a dead writer's temporary file must have been left untouched before a later save
// removes it (RemoveStaleTemporaries), and the most of the target's name that a temporary name holds.
inline constexpr int kStaleTempSeconds = 60;
inline constexpr size_t kTempBaseBytes = 160;

// Best effort, never throws: removes from `dir` the temporary files (and the .pt writer's
// temporary folders, with the one file inside) that writers killed mid-save left behind: an
// entry named `.<name>.jepa-tmp-<pid>-<time>-<n>` whose writer process `pid` no longer exists
// on this machine (kill(pid, 0) gives ESRCH) and that nobody has modified for
// kStaleTempSeconds. A folder is scanned at most once per kStaleTempSeconds by a process
// (reading a folder of many files on every save would be quadratic).
void RemoveStaleTemporaries(const std::string& dir);

}  // namespace files
}  // namespace jepa
