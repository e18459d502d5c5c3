#include "pt/pt_file.h"

#include <c10/core/CPUAllocator.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/file_io.h"
#ifdef __linux__
#include <linux/openat2.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "pt/pickle_reader.h"
#include "pt/pickle_writer.h"

namespace jepa {
namespace pt {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .pt reader assumes a little-endian host");

// ---------------------------------------------------------------------------------------------
// Read adapters: a file descriptor (pread), a mapping, or bytes in memory.

// Buffers of small files, kept after use for the next load of a similar size: a fresh 45 KB
// allocation costs glibc a consolidation of its fast bins, and its pages are cold, on every
// file; a reused one is still in the CPU cache.
namespace {
files::KeptBlocks& SmallBuffers() {
  static auto* kept = new files::KeptBlocks(64, 16 << 20);  // never destroyed: deleters may run at exit
  return *kept;
}
}  // namespace

// A small file read whole (64-byte aligned, so that its storages can be aliased in place).
struct FileBytes {
  explicit FileBytes(size_t n) : size(n) {
    data = static_cast<uint8_t*>(SmallBuffers().Take(n, &capacity));
    if (data != nullptr) return;
    capacity = (std::max<size_t>(n, 64) + 4095) / 4096 * 4096;
    void* p = nullptr;
    if (posix_memalign(&p, 64, capacity) != 0) throw std::bad_alloc();
    data = static_cast<uint8_t*>(p);
  }
  ~FileBytes() {
    if (!SmallBuffers().Keep(data, capacity)) free(data);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  uint8_t* data = nullptr;
  size_t size = 0;
  size_t capacity = 0;
};

namespace {

using caffe2::serialize::ReadAdapterInterface;

using files::Fd;
using files::Mapping;

class FdAdapter : public ReadAdapterInterface {
 public:
  FdAdapter(std::shared_ptr<Fd> fd, size_t size) : fd_(std::move(fd)), size_(size) {}
  size_t size() const override { return size_; }
  size_t read(uint64_t pos, void* buf, size_t n, const char* = "") const override {
    size_t done = 0;
    while (done < n) {
      const ssize_t r =
          pread(fd_->get(), static_cast<char*>(buf) + done, n - done, static_cast<off_t>(pos + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

 private:
  std::shared_ptr<Fd> fd_;
  size_t size_;
};

class MemoryAdapter : public ReadAdapterInterface {
 public:
  MemoryAdapter(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t size() const override { return size_; }
  size_t read(uint64_t pos, void* buf, size_t n, const char* = "") const override {
    if (pos >= size_) return 0;
    const size_t k = std::min<uint64_t>(n, size_ - pos);
    std::memcpy(buf, data_ + pos, k);
    return k;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t U32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t U64(const uint8_t* p) { return U32(p) | (static_cast<uint64_t>(U32(p + 4)) << 32); }

std::string ErrnoText(int err) { return std::strerror(err); }

constexpr uint64_t kSmallFile = 1 << 20;  // read whole files up to this size at once
constexpr uint64_t kMaxDirectoryBytes = static_cast<uint64_t>(kMaxZipDirectoryBytes);
// torch.save stores records uncompressed: a deflated record is small or hostile.
constexpr uint64_t kMaxCompressedRecord = static_cast<uint64_t>(kMaxDeflatedRecordBytes);

}  // namespace

namespace {

using Records = std::unordered_map<std::string, Archive::RecordInfo>;

// Checks the zip's directory before libtorch's reader sees it, so that no declared size can
// make anything allocate more than the file justifies: every record lies inside the file,
// stored records have equal sizes, deflated ones are small.
// `whole`: the file's bytes when they are all in memory (then nothing is copied), else null.
Records CheckDirectory(const ReadAdapterInterface& in, const uint8_t* whole, uint64_t size,
                       std::string* first, const std::function<void(const std::string&)>& fail,
                       const std::function<void(const std::string&)>& fail_limit) {
  if (size < 22) fail("the file is too short to be a zip archive (" + std::to_string(size) + " bytes)");
  const uint64_t tail = std::min<uint64_t>(size, 22 + 65535);
  std::vector<uint8_t> buf;
  const uint8_t* t;
  if (whole != nullptr) {
    t = whole + (size - tail);
  } else {
    // The end-of-directory record is nearly always in the last 4 KiB: read that first.
    const uint64_t first_try = std::min<uint64_t>(tail, 4096);
    buf.resize(first_try);
    if (in.read(size - first_try, buf.data(), first_try) != first_try)
      fail("reading the end of the file failed");
    bool found = false;
    for (int64_t i = static_cast<int64_t>(first_try) - 22; i >= 0 && !found; --i) {
      found = buf[i] == 'P' && buf[i + 1] == 'K' && buf[i + 2] == 5 && buf[i + 3] == 6;
    }
    if (!found && first_try < tail) {
      buf.resize(tail);
      if (in.read(size - tail, buf.data(), tail) != tail) fail("reading the end of the file failed");
    }
    t = buf.data() + (buf.size() - std::min<uint64_t>(buf.size(), tail));
  }
  const uint64_t tail_len = whole != nullptr ? tail : buf.size();
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i) {
    if (t[i] == 'P' && t[i + 1] == 'K' && t[i + 2] == 5 && t[i + 3] == 6) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("no zip end-of-directory record (the file is truncated or not a zip archive)");
  const uint8_t* e = t + eocd;
  uint64_t entries = U16(e + 10);
  uint64_t cd_size = U32(e + 12);
  uint64_t cd_ofs = U32(e + 16);
  const uint64_t eocd_pos = size - tail_len + static_cast<uint64_t>(eocd);
  if (entries == 0xffff || cd_size == 0xffffffffu || cd_ofs == 0xffffffffu) {
    if (eocd_pos < 20) fail("a zip64 archive without its zip64 locator");
    uint8_t loc[20];
    if (in.read(eocd_pos - 20, loc, 20) != 20 || U32(loc) != 0x07064b50)
      fail("a zip64 archive without its zip64 locator");
    const uint64_t z64 = U64(loc + 8);
    uint8_t rec[56];
    if (z64 > size - 56 || in.read(z64, rec, 56) != 56 || U32(rec) != 0x06064b50) {
      fail("a broken zip64 end-of-directory record");
    }
    entries = U64(rec + 32);
    cd_size = U64(rec + 40);
    cd_ofs = U64(rec + 48);
  }
  if (cd_ofs > size || cd_size > size - cd_ofs) fail("the zip directory lies outside the file (truncated?)");
  if (cd_size > kMaxDirectoryBytes) {
    fail_limit("the zip directory has " + std::to_string(cd_size) + " bytes, above the limit of " +
               std::to_string(kMaxDirectoryBytes) + " bytes (jepa.limits.maxZipDirectoryBytes)");
  }
  if (entries == 0) fail("the zip archive is empty");
  if (entries > cd_size / 46) fail("the zip directory is shorter than its entry count");
  std::vector<uint8_t> cd_copy;
  const uint8_t* cd;
  if (whole != nullptr) {
    cd = whole + cd_ofs;
  } else {
    cd_copy.resize(cd_size);
    if (in.read(cd_ofs, cd_copy.data(), cd_size) != cd_size) fail("reading the zip directory failed");
    cd = cd_copy.data();
  }
  Records records;
  uint64_t p = 0;
  for (uint64_t k = 0; k < entries; ++k) {
    if (cd_size - p < 46 || U32(&cd[p]) != 0x02014b50) fail("a damaged zip directory entry");
    const uint8_t* h = &cd[p];
    Archive::RecordInfo r;
    r.method = U16(h + 10);
    r.comp = U32(h + 20);
    r.uncomp = U32(h + 24);
    const uint64_t name_len = U16(h + 28), extra_len = U16(h + 30), comment_len = U16(h + 32);
    r.local = U32(h + 42);
    if (cd_size - p - 46 < name_len + extra_len + comment_len) fail("a damaged zip directory entry");
    std::string name(reinterpret_cast<const char*>(h + 46), name_len);
    // The zip64 extra field holds the sizes and offset that do not fit in 32 bits.
    const uint8_t* x = h + 46 + name_len;
    for (uint64_t q = 0; q + 4 <= extra_len;) {
      const uint16_t id = U16(x + q), len = U16(x + q + 2);
      if (q + 4 + len > extra_len) fail("a damaged zip extra field in record " + name);
      if (id == 1) {
        const uint8_t* f = x + q + 4;
        uint64_t left = len;
        auto next = [&](uint64_t& field) {
          if (left < 8) fail("a damaged zip64 extra field in record " + name);
          field = U64(f);
          f += 8;
          left -= 8;
        };
        if (r.uncomp == 0xffffffffu) next(r.uncomp);
        if (r.comp == 0xffffffffu) next(r.comp);
        if (r.local == 0xffffffffu) next(r.local);
      }
      q += 4 + len;
    }
    if (r.method != 0 && r.method != 8)
      fail("record " + name + " uses zip compression method " + std::to_string(r.method));
    if (r.local > size - 30 || r.comp > size - r.local - 30) {
      fail("record " + name + " lies past the end of the file (truncated?)");
    }
    if (r.method == 0 && r.comp != r.uncomp) fail("record " + name + " has inconsistent sizes");
    if (r.method == 8 && r.uncomp > kMaxCompressedRecord) {
      fail_limit("record " + name + " is compressed and inflates to " + std::to_string(r.uncomp) +
                 " bytes, above the limit of " + std::to_string(kMaxCompressedRecord) +
                 " bytes for compressed records (jepa.limits.maxDeflatedRecordBytes)");
    }
    if (k == 0) *first = name;
    if (!records.emplace(name, r).second) fail("the zip archive holds record " + name + " twice");
    p += 46 + name_len + extra_len + comment_len;
  }
  return records;
}

// Where a stored record's bytes start, after the checks miniz makes when it extracts one (the
// local header's signature, the data inside the file): null and *data set, or what is wrong.
const char* StoredDataOffset(const ReadAdapterInterface& in, uint64_t size, const Archive::RecordInfo& r,
                             uint64_t* data) {
  uint8_t h[30];
  if (in.read(r.local, h, 30) != 30 || U32(h) != 0x04034b50) return "has a damaged zip header";
  const uint64_t at = r.local + 30 + U16(h + 26) + U16(h + 28);
  if (at > size || r.comp > size - at) return "lies past the end of the file (truncated?)";
  *data = at;
  return nullptr;
}

// The bytes of a small stored record; "" with *ok false when it is compressed, large or damaged.
std::string SmallStoredRecord(const ReadAdapterInterface& in, uint64_t size, const Archive::RecordInfo& r,
                              bool* ok) {
  *ok = false;
  uint64_t data = 0;
  if (r.method != 0 || r.comp > 64 || StoredDataOffset(in, size, r, &data) != nullptr) return "";
  std::string out(r.comp, '\0');
  if (r.comp > 0 && in.read(data, &out[0], r.comp) != r.comp) return "";
  *ok = true;
  return out;
}

// A whole file of `size` bytes read in one call.
std::shared_ptr<FileBytes> ReadWhole(const std::shared_ptr<files::Fd>& fd, size_t size,
                                     const std::string& path) {
  auto bytes = std::make_shared<FileBytes>(size);
  FdAdapter file(fd, size);
  if (file.read(0, bytes->data, bytes->size) != bytes->size) {
    throw Error(code::kIo, path + ": reading the file failed (it changed while being read?)");
  }
  return bytes;
}

void DeleteMappingRef(void* ctx) { delete static_cast<std::shared_ptr<Mapping>*>(ctx); }
void DeleteFileBytesRef(void* ctx) { delete static_cast<std::shared_ptr<FileBytes>*>(ctx); }

}  // namespace

Archive::~Archive() = default;

void Archive::Fail(const char* code, const std::string& message) const {
  throw Error(code, name_ + ": " + message);
}

std::unique_ptr<Archive> Archive::Open(const std::string& path, bool mmap) {
  int64_t size = 0;
  std::shared_ptr<Fd> fd = files::OpenForRead(path, &size);
  if (!mmap && static_cast<uint64_t>(size) <= kSmallFile)
    return FromFileBytes(ReadWhole(fd, static_cast<size_t>(size), path), path);
  std::unique_ptr<Archive> a(new Archive());
  a->name_ = path;
  if (size == 0) a->Fail(code::kPtCorrupt, "the file is empty");
  std::shared_ptr<ReadAdapterInterface> adapter;
  if (mmap) {
    auto m = files::MapFile(path, fd->get(), static_cast<size_t>(size));
    a->mapping_ = m;
    adapter = std::make_shared<MemoryAdapter>(static_cast<const uint8_t*>(m->addr), m->size);
  } else {
    adapter = std::make_shared<FdAdapter>(fd, static_cast<size_t>(size));
  }
  a->Init(std::move(adapter), size);
  return a;
}

std::unique_ptr<Archive> Archive::FromFileBytes(std::shared_ptr<FileBytes> bytes, const std::string& name) {
  std::unique_ptr<Archive> a(new Archive());
  a->name_ = name;
  if (bytes->size == 0) a->Fail(code::kPtCorrupt, "the file is empty");
  a->bytes_ = std::move(bytes);
  a->Init(std::make_shared<MemoryAdapter>(a->bytes_->data, a->bytes_->size),
          static_cast<int64_t>(a->bytes_->size));
  return a;
}

std::unique_ptr<Archive> Archive::FromBytes(const uint8_t* data, size_t size, const std::string& name) {
  auto bytes = std::make_shared<FileBytes>(size);
  std::memcpy(bytes->data, data, size);
  return FromFileBytes(std::move(bytes), name);
}

void Archive::Init(std::shared_ptr<ReadAdapterInterface> adapter, int64_t size) {
  uint8_t magic[4] = {0, 0, 0, 0};
  adapter->read(0, magic, size < 4 ? static_cast<size_t>(size) : 4);
  if (!(magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4)) {
    if (magic[0] == 0x80 && size >= 2 && magic[1] <= 5) {
      InitLegacy(std::move(adapter), size);
      return;
    }
    // The .tar format of torch < 0.4, which torch.load(weights_only=True) refuses too.
    uint8_t ustar[5] = {0, 0, 0, 0, 0};
    if (size >= 262 && adapter->read(257, ustar, 5) == 5 && std::memcmp(ustar, "ustar", 5) == 0) {
      Fail(code::kPtLegacyFormat,
           "the file uses the .tar format of torch < 0.4, which torch.load(weights_only=True) refuses "
           "as well (it cannot be read without running its pickles): load it once in Python with "
           "weights_only=False, if you trust it, and save it again with torch.save");
    }
    Fail(code::kPtCorrupt, "not a PyTorch file (no zip signature at its start)");
  }
  auto fail = [this](const std::string& m) { Fail(code::kPtCorrupt, m); };
  auto fail_limit = [this](const std::string& m) { Fail(code::kPtLimit, m); };
  std::string first;
  const uint8_t* whole = mapping_ ? static_cast<const uint8_t*>(mapping_->addr)
                         : bytes_ ? bytes_->data
                                  : nullptr;
  records_ = CheckDirectory(*adapter, whole, static_cast<uint64_t>(size), &first, fail, fail_limit);
  const size_t slash = first.find('/');
  if (slash == std::string::npos) Fail(code::kPtCorrupt, "the archive's first record is not inside a folder");
  prefix_ = first.substr(0, slash + 1);
  // libtorch's reader throws from its constructor, after miniz has allocated (and so leaking
  // it), when the version or serialization-id record is missing, unreadable or out of range:
  // check those here first.
  {
    const RecordInfo* version = FindRecord(".data/version");
    if (version == nullptr) version = FindRecord("version");
    if (version == nullptr) Fail(code::kPtCorrupt, "the archive has no version record");
    bool ok;
    const std::string text = SmallStoredRecord(*adapter, static_cast<uint64_t>(size), *version, &ok);
    const size_t digits = text.find_first_not_of("0123456789");
    const std::string number = text.substr(0, digits);
    const bool rest_blank =
        digits == std::string::npos || text.find_first_not_of(" \n\r\t", digits) == std::string::npos;
    if (!ok || number.empty() || number.size() > 6 || !rest_blank) {
      Fail(code::kPtCorrupt, "the archive's version record is unreadable");
    }
    const uint64_t v = std::stoull(number);
    if (v < caffe2::serialize::kMinSupportedFileFormatVersion ||
        v > caffe2::serialize::kMaxSupportedFileFormatVersion) {
      Fail(code::kPtUnsupported,
           "the archive has format version " + number + ", outside the versions this libtorch reads (" +
               std::to_string(caffe2::serialize::kMinSupportedFileFormatVersion) + " to " +
               std::to_string(caffe2::serialize::kMaxSupportedFileFormatVersion) + ")");
    }
    const RecordInfo* id = FindRecord(".data/serialization_id");
    if (id != nullptr) {
      SmallStoredRecord(*adapter, static_cast<uint64_t>(size), *id, &ok);
      if (!ok) Fail(code::kPtCorrupt, "the archive's serialization id record is unreadable");
    }
  }
  adapter_ = std::move(adapter);
  size_ = static_cast<uint64_t>(size);
  if (FindRecord("constants.pkl") != nullptr) {
    Fail(code::kPtTorchScript,
         "this is a TorchScript archive (torch.jit.save), not a torch.save file: load it with "
         "jepa.loadModule()");
  }
  uint64_t pkl_offset = 0, pkl_size = 0;
  bool pkl_compressed = false;
  if (!RecordSpan("data.pkl", &pkl_offset, &pkl_size, &pkl_compressed)) {
    Fail(code::kPtCorrupt, "the archive has no data.pkl record");
  }
  if (pkl_size > static_cast<uint64_t>(kMaxPickleBytes)) {
    Fail(code::kPtLimit, "data.pkl has " + std::to_string(pkl_size) + " bytes, above the limit of " +
                             std::to_string(kMaxPickleBytes) + " bytes (jepa.limits.maxPickleBytes)");
  }
  uint64_t order_offset = 0, order_size = 0;
  bool order_compressed = false;
  if (RecordSpan("byteorder", &order_offset, &order_size, &order_compressed)) {
    if (order_size > 16) Fail(code::kPtCorrupt, "a malformed byteorder record");
    char buf[16];
    ReadRecord("byteorder", buf, order_size);
    const std::string order(buf, order_size);
    if (order == "big") {
      big_endian_ = true;
    } else if (order != "little") {
      Fail(code::kPtCorrupt, "unknown byteorder '" + order + "' (expected little or big)");
    }
  }
  // The pickle is parsed in place when the whole file is in memory.
  const uint8_t* whole_bytes = mapping_ ? static_cast<const uint8_t*>(mapping_->addr)
                               : bytes_ ? bytes_->data
                                        : nullptr;
  std::vector<uint8_t> pkl;
  const uint8_t* pkl_data;
  if (whole_bytes != nullptr && !pkl_compressed) {
    pkl_data = whole_bytes + pkl_offset;
  } else {
    pkl.resize(pkl_size);
    ReadRecord("data.pkl", pkl.data(), pkl_size);
    pkl_data = pkl.data();
  }
  try {
    ParsePickle(pkl_data, pkl_size, doc_);
  } catch (const Error& e) {
    throw Error(e.code(), name_ + ": " + e.what(), e.type_error());
  }
  swapped_.assign(doc_.storages.size(), false);
}

const uint8_t* Archive::WholeData() const {
  return mapping_ ? static_cast<const uint8_t*>(mapping_->addr) : bytes_ ? bytes_->data : nullptr;
}

caffe2::serialize::PyTorchStreamReader& Archive::Reader() {
  if (!reader_) {
    try {
      reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(adapter_);
    } catch (const c10::Error& e) {
      Fail(code::kPtCorrupt, std::string("not a readable PyTorch archive: ") + e.what_without_backtrace());
    }
  }
  return *reader_;
}

const Archive::RecordInfo* Archive::FindRecord(std::string_view record) {
  // The full name is built in a reused buffer: no allocation per lookup.
  key_.assign(prefix_);
  key_.append(record);
  auto it = records_.find(key_);
  return it == records_.end() ? nullptr : &it->second;
}

bool Archive::RecordSpan(const std::string& record, uint64_t* offset, uint64_t* size, bool* compressed) {
  const RecordInfo* found = FindRecord(record);
  if (found == nullptr) return false;
  const RecordInfo& r = *found;
  *size = r.uncomp;
  *compressed = r.method != 0;
  if (*compressed) return true;
  if (const char* what = StoredDataOffset(*adapter_, size_, r, offset))
    Fail(code::kPtCorrupt, "record " + record + " " + what);
  return true;
}

void Archive::ReadRecord(const std::string& record, void* dst, uint64_t size) {
  uint64_t offset = 0, n = 0;
  bool compressed = false;
  if (!RecordSpan(record, &offset, &n, &compressed))
    Fail(code::kPtCorrupt, "the record " + record + " is missing");
  if (n != size) Fail(code::kPtCorrupt, "the record " + record + " changed size");
  if (size == 0) return;
  if (!compressed) {
    if (adapter_->read(offset, dst, size) != size)
      Fail(code::kPtCorrupt, "the record " + record + " could not be read whole");
    return;
  }
  try {
    if (Reader().getRecord(record, dst, size) != size) {
      Fail(code::kPtCorrupt, "the record " + record + " could not be read whole");
    }
  } catch (const c10::Error& e) {
    Fail(code::kPtCorrupt, e.what_without_backtrace());
  }
}

void Archive::ReadStorage(size_t index, const std::optional<c10::Device>& device) {
  StorageSpec& s = doc_.storages[index];
  if (!s.storage && legacy_) {
    const uint64_t offset = legacy_offsets_[index];
    const uint8_t* whole = mapping_ ? static_cast<const uint8_t*>(mapping_->addr)
                           : bytes_ ? bytes_->data
                                    : nullptr;
    if (whole != nullptr && s.nbytes > 0 && offset % 64 == 0) {
      // In place (rare: the format does not align its storages).
      if (bytes_) {
        at::DataPtr ptr(bytes_->data + offset, new std::shared_ptr<FileBytes>(bytes_), &DeleteFileBytesRef,
                        at::Device(at::kCPU));
        s.storage = at::Storage(at::Storage::use_byte_size_t(), s.nbytes, std::move(ptr),
                                c10::GetCPUAllocator(), true);
      } else {
        at::DataPtr ptr(const_cast<uint8_t*>(whole) + offset, new std::shared_ptr<Mapping>(mapping_),
                        &DeleteMappingRef, at::Device(at::kCPU));
        s.storage = at::Storage(at::Storage::use_byte_size_t(), s.nbytes, std::move(ptr), nullptr, false);
      }
    } else {
      s.storage = files::NewStorage(s.nbytes);
      if (s.nbytes > 0 && adapter_->read(offset, s.storage.mutable_data(), static_cast<size_t>(s.nbytes)) !=
                              static_cast<size_t>(s.nbytes)) {
        Fail(code::kPtCorrupt, "the data of storage '" + s.key + "' could not be read whole");
      }
    }
  }
  if (!s.storage) {
    const std::string record = "data/" + s.key;
    uint64_t offset = 0, size = 0;
    bool compressed = false;
    if (!RecordSpan(record, &offset, &size, &compressed)) {
      Fail(code::kPtCorrupt, "the storage record " + record + " is missing");
    }
    if (static_cast<int64_t>(size) != s.nbytes) {
      Fail(code::kPtCorrupt, "the storage record " + record + " has " + std::to_string(size) +
                                 " bytes, but the pickle declares " + std::to_string(s.nbytes));
    }
    // A small file read whole, or a mapped one: storages alias its bytes (no second copy) when
    // they are stored at a 64-byte boundary, as torch.save writes them.
    if (!compressed && size > 0 && offset % 64 == 0) {
      if (bytes_) {
        at::DataPtr ptr(bytes_->data + offset, new std::shared_ptr<FileBytes>(bytes_), &DeleteFileBytesRef,
                        at::Device(at::kCPU));
        s.storage = at::Storage(at::Storage::use_byte_size_t(), s.nbytes, std::move(ptr),
                                c10::GetCPUAllocator(), true);
      } else if (mapping_) {
        uint8_t* p = static_cast<uint8_t*>(mapping_->addr) + offset;
        at::DataPtr ptr(p, new std::shared_ptr<Mapping>(mapping_), &DeleteMappingRef, at::Device(at::kCPU));
        s.storage = at::Storage(at::Storage::use_byte_size_t(), s.nbytes, std::move(ptr), nullptr, false);
      }
    }
    if (!s.storage) {
      s.storage = files::NewStorage(s.nbytes);
      ReadRecord(record, s.storage.mutable_data(), size);
    }
  }
  if (big_endian_ && !swapped_[index]) {
    int64_t elem = ElementSize(s.dtype);
    if (at::isComplexType(s.dtype)) elem /= 2;
    files::Byteswap(static_cast<uint8_t*>(s.storage.mutable_data()), s.nbytes, elem);
    swapped_[index] = true;
  }
  if (device && s.storage.device() != *device) {
    at::Tensor bytes = at::empty({0}, at::TensorOptions().dtype(at::kByte));
    bytes.set_(s.storage, 0, {s.nbytes}, {1});
    s.storage = bytes.to(*device).storage();
  }
}

void Archive::BuildTensor(Value* v) {
  TensorSpec& spec = *v->tensor;
  const StorageSpec& s = doc_.storages[static_cast<size_t>(spec.storage)];
  const c10::Device device = s.storage.device();
  const c10::DispatchKeySet keys(c10::computeDispatchKey(spec.dtype, at::kStrided, device));
  auto impl = c10::make_intrusive<c10::TensorImpl>(c10::Storage(s.storage), keys,
                                                   caffe2::TypeMeta::fromScalarType(spec.dtype));
  impl->set_sizes_and_strides(spec.sizes, spec.strides, spec.offset);
  at::Tensor t(std::move(impl));
  if (spec.conj) t._set_conj(true);
  if (spec.neg) t._set_neg(true);
  spec.tensor = std::move(t);
}

void Archive::Materialize(Value* v, const std::optional<c10::Device>& device) {
  ReadStorage(static_cast<size_t>(v->tensor->storage), device);
  BuildTensor(v);
}

void Archive::MaterializeAll(const std::optional<c10::Device>& device) {
  for (size_t i = 0; i < doc_.storages.size(); ++i) ReadStorage(i, device);
  // Every tensor value of the tree (a walk that visits shared values once).
  if (doc_.storages.empty()) return;  // no tensors
  std::vector<Value*> todo{doc_.root};
  const uint32_t walk = doc_.NextWalk();
  while (!todo.empty()) {
    Value* v = todo.back();
    todo.pop_back();
    if (v->walk == walk) continue;
    v->walk = walk;
    if (v->kind == Kind::kTensor) BuildTensor(v);
    for (Value* item : v->items) todo.push_back(item);
    if (v->attrs != nullptr) todo.push_back(v->attrs);
  }
}

std::shared_ptr<FileBytes> ReadSmallFile(const std::string& path) {
  int64_t size = 0;
  std::shared_ptr<files::Fd> fd = files::OpenForRead(path, &size);
  if (static_cast<uint64_t>(size) > kSmallFile) return nullptr;
  return ReadWhole(fd, static_cast<size_t>(size), path);
}

std::shared_ptr<FileBytes> ReadCachedSmallFile(const std::string& path) {
#if defined(__linux__) && defined(SYS_openat2) && defined(RWF_NOWAIT)
  // Off for good once the kernel says it lacks openat2 or RWF_NOWAIT (Linux < 5.12 / < 5.9).
  static std::atomic<bool> supported{true};
  if (!supported.load(std::memory_order_relaxed)) return nullptr;
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_CACHED;  // fail with EAGAIN rather than look a name up on disk
  const long opened = syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how);
  if (opened < 0) {
    if (errno == ENOSYS || errno == E2BIG || errno == EINVAL)
      supported.store(false, std::memory_order_relaxed);
    return nullptr;
  }
  files::Fd fd(static_cast<int>(opened));
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_size) > kSmallFile) {
    return nullptr;
  }
  auto bytes = std::make_shared<FileBytes>(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes->size) {
    struct iovec iov = {bytes->data + done, bytes->size - done};
    const ssize_t r = preadv2(fd.get(), &iov, 1, static_cast<off_t>(done), RWF_NOWAIT);  // EAGAIN: not cached
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r < 0 && errno == EOPNOTSUPP) supported.store(false, std::memory_order_relaxed);
      return nullptr;
    }
    done += static_cast<size_t>(r);
  }
  return bytes;
#else
  (void)path;
  return nullptr;
#endif
}

Document LoadBytes(std::shared_ptr<FileBytes> bytes, const std::string& path) {
  std::unique_ptr<Archive> a = Archive::FromFileBytes(std::move(bytes), path);
  a->MaterializeAll(std::nullopt);
  return std::move(a->doc());
}

Document Load(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<Archive> a = Archive::Open(path, options.mmap);
  a->MaterializeAll(options.device);
  return std::move(a->doc());
}

}  // namespace pt
}  // namespace jepa
