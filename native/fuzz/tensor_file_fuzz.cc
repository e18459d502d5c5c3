// libFuzzer harness for the native half of the safetensors and .npy readers: files::ReadTensors,
// which reads tensors from byte ranges of a file that lib/io/formats.ts describes after parsing the
// header. The input is decoded into (flags, slots, file bytes); the slots cover what the
// TypeScript side can send (any dtype it knows, up to 64 dimensions of any size, strides or
// none, any offset and byte count) and more (negative values). A clean jepa::Error is the
// expected outcome for a bad slot; anything else (a crash, a sanitizer report, another
// exception, a read past the file) is a bug. Each tensor read is copied element by element so
// that a view reaching past its storage is caught by AddressSanitizer.
// Build and run: scripts/dev/fuzz.sh tensor_file [seconds]
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/file_io.h"

namespace {

// The dtypes lib/io/formats.ts can name (safetensors and .npy).
constexpr at::ScalarType kDtypes[] = {
    at::kBool,
    at::kByte,
    at::kChar,
    at::kShort,
    at::kUInt16,
    at::kInt,
    at::kUInt32,
    at::kLong,
    at::kUInt64,
    at::kHalf,
    at::kBFloat16,
    at::kFloat,
    at::kDouble,
    at::kComplexFloat,
    at::kComplexDouble,
    at::kFloat8_e4m3fn,
    at::kFloat8_e5m2,
    at::kFloat8_e4m3fnuz,
    at::kFloat8_e5m2fnuz,
};

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint8_t Byte() { return p_ < end_ ? *p_++ : 0; }
  // A small value (one byte) most of the time, else a full int64: sizes near the limits and
  // negative ones without making every input long.
  int64_t Int() {
    const uint8_t tag = Byte();
    if (tag < 0xF0) return tag;
    int64_t v = 0;
    for (int i = 0; i < 8; ++i) v = static_cast<int64_t>((static_cast<uint64_t>(v) << 8) | Byte());
    return v;
  }
  const uint8_t* rest() const { return p_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t flags = in.Byte();
  const bool mmap = flags & 1, byteswap = flags & 2;
  const int nslots = in.Byte() % 4 + 1;
  std::vector<jepa::files::TensorSlot> slots(nslots);
  for (auto& s : slots) {
    s.dtype = kDtypes[in.Byte() % (sizeof(kDtypes) / sizeof(kDtypes[0]))];
    const uint8_t rank = in.Byte();
    const size_t ndim = rank < 0xF0 ? rank % 6 : rank % 70;  // up to 69: past the rank limit
    for (size_t d = 0; d < ndim; ++d) s.shape.push_back(in.Int());
    if (in.Byte() & 1) {
      for (size_t d = 0; d < ndim; ++d) s.strides.push_back(in.Int());
    }
    s.offset = in.Int();
    s.nbytes = in.Int();
  }
  // The rest is the file, in memory (no disk): /proc/self/fd/N opens it like any file.
  const int fd = memfd_create("tensor_file_fuzz", 0);
  if (fd < 0) return 0;
  if (in.left() > 0 && write(fd, in.rest(), in.left()) != static_cast<ssize_t>(in.left())) {
    close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto tensors = jepa::files::ReadTensors(path, slots, mmap, byteswap, std::nullopt);
    for (const at::Tensor& t : tensors) {
      // Touch every element of the view (clone copies through the strides).
      if (t.numel() <= (1 << 16)) (void)t.clone();
    }
  } catch (const jepa::Error&) {
  }
  close(fd);
  return 0;
}
