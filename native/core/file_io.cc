#include "core/file_io.h"

#include <c10/core/CPUAllocator.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "core/errors.h"
#include "pt/pickle_reader.h"
#include "pt/value.h"

namespace jepa {
namespace files {

namespace {

constexpr size_t kHugePage = 2 << 20;

std::string ErrnoText(int err) { return std::strerror(err); }

[[noreturn]] void IoFail(const std::string& path, const std::string& what, int err) {
  throw Error(code::kIo, path + ": " + what + ": " + ErrnoText(err));
}

// Recently freed large blocks (Mapping*), for the next large storage.
KeptBlocks& LargeBlocks() {
  static auto* kept = new KeptBlocks(8, 64 << 20);  // never destroyed: deleters may run at exit
  return *kept;
}

void ReleaseBlock(void* ctx) {
  auto* m = static_cast<Mapping*>(ctx);
  if (!LargeBlocks().Keep(m, m->size)) delete m;
}

void DeleteOwner(void* ctx) { delete static_cast<std::shared_ptr<void>*>(ctx); }

// Recently freed mid-size blocks (64 KiB to 2 MiB, posix_memalign'd), for the next storage of a
// similar size: on the development VM a fresh 1.4 MB block costs about 1.2 ms of page faults
// when first written (3-4 µs a 4 KiB page), a reused one nothing. A batch of a DataLoader (a new
// tensor per batch, freed after the step) is the case it is for.
constexpr size_t kMidBlock = 64 << 10;
KeptBlocks& MidBlocks() {
  static auto* kept = new KeptBlocks(16, 32 << 20);  // never destroyed: deleters may run at exit
  return *kept;
}

struct MidBlock {
  void* data;
  size_t capacity;
};

void ReleaseMidBlock(void* ctx) {
  auto* b = static_cast<MidBlock*>(ctx);
  if (!MidBlocks().Keep(b->data, b->capacity)) free(b->data);
  delete b;
}

}  // namespace

void* KeptBlocks::Take(size_t size, size_t* capacity) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = blocks_.size(); i-- > 0;) {
    const Block b = blocks_[i];
    if (b.capacity >= size && b.capacity - size <= size / 4 + 4096) {
      blocks_[i] = blocks_.back();
      blocks_.pop_back();
      bytes_ -= b.capacity;
      *capacity = b.capacity;
      return b.block;
    }
  }
  return nullptr;
}

bool KeptBlocks::Keep(void* block, size_t capacity) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (blocks_.size() >= max_blocks_ || bytes_ + capacity > max_bytes_) return false;
  blocks_.push_back(Block{block, capacity});
  bytes_ += capacity;
  return true;
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  const uint64_t n = counter.fetch_add(1);
  const uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%d-%llx-%llx", static_cast<int>(getpid()),
                static_cast<unsigned long long>(t & 0xffffffffffull), static_cast<unsigned long long>(n));
  return buf;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

Mapping::~Mapping() {
  if (addr != nullptr && addr != MAP_FAILED) munmap(addr, size);
}

std::shared_ptr<Fd> OpenForRead(const std::string& path, int64_t* size) {
  const int raw = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    const int err = errno;
    throw Error(err == ENOENT ? code::kFileNotFound : code::kIo,
                path + ": cannot open the file: " + ErrnoText(err));
  }
  auto fd = std::make_shared<Fd>(raw);
  struct stat st;
  if (fstat(raw, &st) != 0) IoFail(path, "cannot stat the file", errno);
  if (S_ISDIR(st.st_mode)) throw Error(code::kIo, path + ": is a folder, not a file");
  if (st.st_size > pt::kMaxFileBytes) {
    throw Error(code::kPtLimit, path + ": the file has " + std::to_string(st.st_size) +
                                    " bytes, above the limit of " + std::to_string(pt::kMaxFileBytes) +
                                    " bytes (jepa.limits.maxFileBytes)");
  }
  *size = st.st_size;
  return fd;
}

std::shared_ptr<Mapping> MapFile(const std::string& path, int fd, size_t size) {
  auto m = std::make_shared<Mapping>();
  m->size = size;
  m->addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (m->addr == MAP_FAILED) {
    m->addr = nullptr;
    IoFail(path, "cannot map the file", errno);
  }
  return m;
}

bool ReadAt(int fd, void* buf, size_t n, uint64_t pos) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = pread(fd, static_cast<char*>(buf) + done, n - done, static_cast<off_t>(pos + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

at::Storage AliasStorage(void* data, int64_t nbytes, std::shared_ptr<void> owner) {
  at::DataPtr ptr(data, new std::shared_ptr<void>(std::move(owner)), &DeleteOwner, at::Device(at::kCPU));
  return at::Storage(at::Storage::use_byte_size_t(), nbytes, std::move(ptr), c10::GetCPUAllocator(), true);
}

at::Storage NewStorage(int64_t nbytes) {
  const size_t n = static_cast<size_t>(nbytes);
  if (n < kMidBlock) return at::empty({nbytes}, at::TensorOptions().dtype(at::kByte)).storage();
  if (n < kHugePage) {
    size_t capacity = 0;
    void* data = MidBlocks().Take(n, &capacity);
    if (data == nullptr) {
      capacity = (n + 4095) / 4096 * 4096;
      if (posix_memalign(&data, 64, capacity) != 0) throw std::bad_alloc();
    }
    auto* block = new MidBlock{data, capacity};
    at::DataPtr ptr(data, block, &ReleaseMidBlock, at::Device(at::kCPU));
    return at::Storage(at::Storage::use_byte_size_t(), nbytes, std::move(ptr), c10::GetCPUAllocator(), true);
  }
  // An anonymous mapping on a 2 MiB boundary whose whole huge pages are advised as such, so that
  // reading into fresh memory faults (and zeroes) a few 2 MiB pages instead of thousands of
  // 4 KiB ones: for a 13 MB feature tensor that is most of the time a load takes.
  const size_t page = 4096;
  const size_t size = (n + page - 1) / page * page;
  size_t capacity = 0;
  if (auto* cached = static_cast<Mapping*>(LargeBlocks().Take(size, &capacity))) {
    at::DataPtr ptr(cached->addr, cached, &ReleaseBlock, at::Device(at::kCPU));
    return at::Storage(at::Storage::use_byte_size_t(), nbytes, std::move(ptr), c10::GetCPUAllocator(), true);
  }
  auto m = std::make_unique<Mapping>();
  void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (base + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > base) munmap(raw, aligned - base);
  const uintptr_t end = base + size + kHugePage;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  m->addr = reinterpret_cast<void*>(aligned);
  m->size = size;
#ifdef MADV_HUGEPAGE
  const size_t huge = n / kHugePage * kHugePage;
  if (huge > 0) madvise(m->addr, huge, MADV_HUGEPAGE);
#endif
  void* p = m->addr;
  at::DataPtr ptr(p, m.release(), &ReleaseBlock, at::Device(at::kCPU));
  return at::Storage(at::Storage::use_byte_size_t(), nbytes, std::move(ptr), c10::GetCPUAllocator(), true);
}

void WriteAll(int fd, const void* data, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = write(fd, static_cast<const char*>(data) + done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) IoFail(path, "writing failed", r < 0 ? errno : ENOSPC);
    done += static_cast<size_t>(r);
  }
}

void SplitTarget(const std::string& path, std::string* dir, std::string* base) {
  const size_t slash = path.rfind('/');
  *dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  *base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base->empty() || *base == "." || *base == "..") {
    throw Error(code::kInvalidArgument, "expected `path` to name a file, got '" + path + "'", true);
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error(code::kIo, path + ": is a folder, not a file");
}

namespace {

constexpr const char* kTempMark = ".jepa-tmp-";

std::string InDir(const std::string& dir, const std::string& name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}

// The writer's pid of a temporary name `.<base>.jepa-tmp-<pid>-<hex>-<hex>`, or -1.
pid_t TempWriter(const std::string& name) {
  if (name.size() < 2 || name[0] != '.') return -1;
  const size_t at = name.rfind(kTempMark);
  if (at == std::string::npos || at == 0) return -1;
  const char* p = name.c_str() + at + std::strlen(kTempMark);
  int64_t pid = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    if (++digits > 10) return -1;
    pid = pid * 10 + (*p - '0');
  }
  if (digits == 0 || pid <= 0 || pid > INT32_MAX) return -1;
  for (int part = 0; part < 2; ++part) {
    if (*p++ != '-') return -1;
    int hex = 0;
    for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); ++p) ++hex;
    if (hex == 0 || hex > 16) return -1;
  }
  return *p == '\0' ? static_cast<pid_t>(pid) : -1;
}

// Whether `dir` is due for a scan (at most once per kStaleTempSeconds per folder and process).
bool ScanDue(const std::string& dir) {
  static std::mutex mutex;
  static auto* last = new std::unordered_map<std::string, std::chrono::steady_clock::time_point>();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex);
  if (last->size() > 4096) last->clear();
  auto it = last->find(dir);
  if (it != last->end() && now - it->second < std::chrono::seconds(kStaleTempSeconds)) return false;
  (*last)[dir] = now;
  return true;
}

// For the .pt writer's temporary folder: true if it holds nothing but (at most) one regular file,
// whose path goes to *file (empty if none) and whose mtime raises *newest.
bool SoleFile(const std::string& folder, std::string* file, time_t* newest) {
  DIR* d = opendir(folder.c_str());
  if (d == nullptr) return false;
  bool ok = true;
  file->clear();
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    const std::string full = InDir(folder, name);
    if (!file->empty() || lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      ok = false;
      break;
    }
    *file = full;
    *newest = std::max(*newest, st.st_mtime);
  }
  closedir(d);
  return ok;
}

}  // namespace

std::string TempPathFor(const std::string& dir, const std::string& base) {
  return InDir(dir, "." + base.substr(0, kTempBaseBytes) + kTempMark + UniqueSuffix());
}

void RemoveStaleTemporaries(const std::string& dir) {
  if (!ScanDue(dir)) return;
  std::vector<std::string> stale;
  {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return;
    const time_t now = time(nullptr);
    const pid_t self = getpid();
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      const pid_t pid = TempWriter(name);
      if (pid < 0 || pid == self) continue;
      if (kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or someone else's: EPERM)
      const std::string full = InDir(dir, name);
      struct stat st;
      if (lstat(full.c_str(), &st) != 0) continue;
      time_t newest = st.st_mtime;
      if (S_ISDIR(st.st_mode)) {
        std::string inner;
        if (!SoleFile(full, &inner, &newest) || now - newest < kStaleTempSeconds) continue;
        if (!inner.empty()) stale.push_back(inner);
        stale.push_back(full + "/");
      } else if (S_ISREG(st.st_mode)) {
        if (now - newest < kStaleTempSeconds) continue;
        stale.push_back(full);
      }
    }
    closedir(d);
  }
  for (const std::string& p : stale) {
    if (!p.empty() && p.back() == '/') {
      rmdir(p.substr(0, p.size() - 1).c_str());
    } else {
      unlink(p.c_str());
    }
  }
}

void WriteAtomically(const std::string& path, const std::function<void(int fd)>& write_fn) {
  std::string dir, base;
  SplitTarget(path, &dir, &base);
  const std::string tmp = TempPathFor(dir, base);
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) IoFail(path, "cannot create a temporary file beside it", errno);
  try {
    {
      Fd guard(fd);
      write_fn(fd);
      if (fsync(fd) != 0) IoFail(path, "flushing to disk failed", errno);
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) IoFail(path, "cannot move the new file into place", errno);
  } catch (...) {
    unlink(tmp.c_str());
    throw;
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  RemoveStaleTemporaries(dir);
}

void Byteswap(uint8_t* p, int64_t nbytes, int64_t elem) {
  if (elem <= 1) return;
  for (int64_t i = 0; i + elem <= nbytes; i += elem) {
    for (int64_t a = 0, b = elem - 1; a < b; ++a, --b) std::swap(p[i + a], p[i + b]);
  }
}

namespace {

// Where ReadTensors-like functions take bytes from: `alias` gives a storage over bytes in place
// (empty when it cannot), `copy` copies them out (false when they cannot be read).
struct ByteSource {
  int64_t size = 0;
  std::function<at::Storage(int64_t offset, int64_t nbytes, int64_t itemsize)> alias;
  std::function<bool(void* dst, int64_t nbytes, int64_t offset)> copy;
};

std::vector<at::Tensor> SlotsToTensors(const std::string& name, const ByteSource& src,
                                       const std::vector<TensorSlot>& slots, bool byteswap,
                                       const std::optional<c10::Device>& device) {
  std::vector<at::Tensor> out;
  out.reserve(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const TensorSlot& s = slots[i];
    const std::string what = name + ": tensor " + std::to_string(i);
    if (s.offset < 0 || s.nbytes < 0 || s.offset > src.size || s.nbytes > src.size - s.offset) {
      throw Error(code::kPtCorrupt, what + " lies past the end of the file (truncated?)");
    }
    pt::TensorSpec spec;
    spec.dtype = s.dtype;
    spec.sizes = s.shape;
    if (s.strides.empty()) {
      // Row-major strides; a product past int64 saturates, and CheckView then refuses the view
      // (it cannot fit in any file) instead of the multiplication overflowing.
      spec.strides.assign(s.shape.size(), 1);
      for (int64_t d = static_cast<int64_t>(s.shape.size()) - 2; d >= 0; --d) {
        int64_t stride = 0;
        if (__builtin_mul_overflow(spec.strides[d + 1], std::max<int64_t>(s.shape[d + 1], 1), &stride)) {
          stride = std::numeric_limits<int64_t>::max();
        }
        spec.strides[d] = stride;
      }
    } else {
      spec.strides = s.strides;
    }
    pt::CheckView(spec, s.nbytes, what);
    const int64_t itemsize = ElementSize(s.dtype);
    at::Storage storage;
    if (!byteswap && src.alias) storage = src.alias(s.offset, s.nbytes, itemsize);
    if (!storage) {
      storage = NewStorage(s.nbytes);
      if (s.nbytes > 0 && !src.copy(storage.mutable_data(), s.nbytes, s.offset)) {
        throw Error(code::kPtCorrupt, what + ": reading failed (the file is shorter than it says)");
      }
      if (byteswap) {
        int64_t elem = itemsize;
        if (at::isComplexType(s.dtype)) elem /= 2;
        Byteswap(static_cast<uint8_t*>(storage.mutable_data()), s.nbytes, elem);
      }
    }
    if (device && storage.device() != *device) {
      at::Tensor bytes = at::empty({0}, at::TensorOptions().dtype(at::kByte));
      bytes.set_(storage, 0, {s.nbytes}, {1});
      storage = bytes.to(*device).storage();
    }
    const c10::DispatchKeySet keys(c10::computeDispatchKey(s.dtype, at::kStrided, storage.device()));
    auto impl = c10::make_intrusive<c10::TensorImpl>(c10::Storage(storage), keys,
                                                     caffe2::TypeMeta::fromScalarType(s.dtype));
    impl->set_sizes_and_strides(spec.sizes, spec.strides, 0);
    out.emplace_back(std::move(impl));
  }
  return out;
}

}  // namespace

std::vector<at::Tensor> ReadTensors(const std::string& path, const std::vector<TensorSlot>& slots, bool mmap,
                                    bool byteswap, const std::optional<c10::Device>& device) {
  int64_t size = 0;
  std::shared_ptr<Fd> fd = OpenForRead(path, &size);
  std::shared_ptr<Mapping> mapping;
  if (mmap && size > 0) mapping = MapFile(path, fd->get(), static_cast<size_t>(size));
  ByteSource src;
  src.size = size;
  if (mapping) {
    auto* base = static_cast<uint8_t*>(mapping->addr);
    src.alias = [base, mapping](int64_t offset, int64_t nbytes, int64_t itemsize) {
      if (offset % std::max<int64_t>(itemsize, 8) != 0) return at::Storage();
      return AliasStorage(base + offset, nbytes, mapping);
    };
    src.copy = [base](void* dst, int64_t nbytes, int64_t offset) {
      std::memcpy(dst, base + offset, static_cast<size_t>(nbytes));
      return true;
    };
  } else {
    src.copy = [&fd](void* dst, int64_t nbytes, int64_t offset) {
      return ReadAt(fd->get(), dst, static_cast<size_t>(nbytes), static_cast<uint64_t>(offset));
    };
  }
  return SlotsToTensors(path, src, slots, byteswap, device);
}

std::vector<at::Tensor> TensorsFromBytes(const at::Tensor& bytes, const std::string& name,
                                         const std::vector<TensorSlot>& slots, bool byteswap,
                                         const std::optional<c10::Device>& device) {
  if (!bytes.is_cpu() || !bytes.is_contiguous() || bytes.element_size() != 1) {
    throw Error(code::kInvalidArgument, name + ": expected the bytes as a contiguous CPU uint8 tensor", true);
  }
  auto owner = std::make_shared<at::Tensor>(bytes);
  auto* base = static_cast<uint8_t*>(bytes.data_ptr());
  ByteSource src;
  src.size = bytes.numel();
  src.alias = [base, owner](int64_t offset, int64_t nbytes, int64_t itemsize) {
    if ((reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offset)) %
            static_cast<uintptr_t>(std::max<int64_t>(itemsize, 8)) !=
        0) {
      return at::Storage();
    }
    return AliasStorage(base + offset, nbytes, owner);
  };
  src.copy = [base](void* dst, int64_t nbytes, int64_t offset) {
    std::memcpy(dst, base + offset, static_cast<size_t>(nbytes));
    return true;
  };
  return SlotsToTensors(name, src, slots, byteswap, device);
}

namespace {
// A tensor's elements in row-major order in CPU memory (the tensor itself when it already is).
at::Tensor RowMajorCpu(const at::Tensor& t) {
  at::Tensor c = t.is_cpu() ? t.contiguous() : t.to(at::kCPU).contiguous();
  if (c.is_conj()) c = c.resolve_conj();
  if (c.is_neg()) c = c.resolve_neg();
  return c;
}
}  // namespace

void WriteTensors(const std::string& path, const std::string& header,
                  const std::vector<at::Tensor>& tensors) {
  WriteTensors(path, std::vector<std::string>{header}, tensors);
}

void WriteTensors(const std::string& path, const std::vector<std::string>& pieces,
                  const std::vector<at::Tensor>& tensors) {
  WriteAtomically(path, [&](int fd) {
    for (size_t i = 0; i <= tensors.size(); ++i) {
      if (i < pieces.size()) WriteAll(fd, pieces[i].data(), pieces[i].size(), path);
      if (i == tensors.size()) break;
      at::Tensor c = RowMajorCpu(tensors[i]);
      const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
      if (n > 0) WriteAll(fd, c.data_ptr(), n, path);
    }
  });
}

namespace {
// CRC-32 (the zip / zlib polynomial 0xedb88320), eight bytes per step ("slice by 8").
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};
}  // namespace

uint32_t Crc32(const void* data, size_t n, uint32_t crc) {
  static const CrcTables* tables = new CrcTables();
  const auto& t = tables->t;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;  // little-endian host
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

at::Tensor RowMajorBytes(const at::Tensor& t) { return RowMajorCpu(t).reshape({-1}).view(at::kByte); }

uint32_t TensorCrc32(const at::Tensor& t, uint32_t crc) {
  at::Tensor c = RowMajorCpu(t);
  return Crc32(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size(), crc);
}

}  // namespace files
}  // namespace jepa
