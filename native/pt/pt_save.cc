// Writing .pt files (torch.save's zip format): the pickle of native/pt/pickle_writer.h and the
// storages, through libtorch's PyTorchStreamWriter.
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/errors.h"
#include "core/file_io.h"
#include "pt/pickle_writer.h"
#include "pt/pt_file.h"

namespace jepa {
namespace pt {

namespace {

using files::Fd;

[[noreturn]] void IoFail(const std::string& path, const std::string& what, int err) {
  throw Error(code::kIo, path + ": " + what + ": " + std::strerror(err));
}

// Python names the archive folder after the file's stem (PyTorchStreamWriter(path)); for a
// name that is not ASCII it writes through a stream, and the folder is "archive".
bool AsciiStem(const std::string& base) {
  for (char c : base) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  const size_t dot = base.rfind('.');
  return dot != 0;  // ".pt" has an empty stem, which the writer refuses
}

void WriteRecords(caffe2::serialize::PyTorchStreamWriter& w, const PickleOutput& out) {
  w.writeRecord("data.pkl", out.data.data(), out.data.size());
  w.writeRecord(".format_version", "1", 1);
  w.writeRecord(".storage_alignment", "64", 2);
  w.writeRecord("byteorder", "little", 6);
  for (size_t i = 0; i < out.storages.size(); ++i) {
    const at::Storage& s = out.storages[i];
    const std::string name = "data/" + std::to_string(i);
    if (s.device().is_cpu()) {
      w.writeRecord(name, s.data(), s.nbytes());
    } else {
      at::Tensor bytes = at::empty({0}, at::TensorOptions().dtype(at::kByte).device(s.device()));
      bytes.set_(s, 0, {static_cast<int64_t>(s.nbytes())}, {1});
      at::Tensor cpu = bytes.to(at::kCPU);
      w.writeRecord(name, cpu.data_ptr(), s.nbytes());
    }
  }
  w.writeEndOfFile();
}

}  // namespace

void Save(const std::string& path, const Document& doc) {
  PickleOutput out = WritePickle(doc);
  std::string dir, base;
  files::SplitTarget(path, &dir, &base);
  // A private folder beside the target holds the temporary file, so that the file inside can
  // carry the target's own name (the archive folder inside the zip is named after it).
  const std::string tmp_dir = files::TempPathFor(dir, base);
  if (mkdir(tmp_dir.c_str(), 0700) != 0) IoFail(path, "cannot create a temporary file beside it", errno);
  const std::string tmp = tmp_dir + "/" + base;
  auto cleanup = [&] {
    unlink(tmp.c_str());
    rmdir(tmp_dir.c_str());
  };
  try {
    if (AsciiStem(base)) {
      caffe2::serialize::PyTorchStreamWriter w(tmp);
      WriteRecords(w, out);
    } else {
      const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0) IoFail(path, "cannot create the temporary file", errno);
      Fd guard(fd);
      int write_errno = 0;
      caffe2::serialize::PyTorchStreamWriter w([&](const void* buf, size_t n) -> size_t {
        size_t done = 0;
        while (done < n) {
          const ssize_t r = write(fd, static_cast<const char*>(buf) + done, n - done);
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) {
            write_errno = errno;
            break;
          }
          done += static_cast<size_t>(r);
        }
        return done;
      });
      WriteRecords(w, out);
      if (write_errno != 0) IoFail(path, "writing failed", write_errno);
    }
    {
      const int fd = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) IoFail(path, "cannot reopen the temporary file", errno);
      Fd guard(fd);
      if (fsync(fd) != 0) IoFail(path, "flushing to disk failed", errno);
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) IoFail(path, "cannot move the new file into place", errno);
    rmdir(tmp_dir.c_str());
    const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    files::RemoveStaleTemporaries(dir);
  } catch (const c10::Error& e) {
    cleanup();
    throw Error(code::kIo, path + ": writing failed: " + e.what_without_backtrace());
  } catch (...) {
    cleanup();
    throw;
  }
}

}  // namespace pt
}  // namespace jepa
