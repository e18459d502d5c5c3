// libFuzzer harness for the .pt reader: the zip directory check, libtorch's PyTorchStreamReader,
// the restricted unpickler and the storage/view bounds checks, on arbitrary bytes. A clean
// jepa::Error (or a libtorch c10::Error turned into one) is the expected outcome for bad input;
// anything else (a crash, a sanitizer report, another exception, a huge allocation) is a bug.
// Build and run: scripts/dev/fuzz.sh pt [seconds]
#include <cstddef>
#include <cstdint>

#include "core/errors.h"
#include "pt/pickle_reader.h"
#include "pt/pt_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The whole file path: directory, records, pickle, storages, tensors.
  try {
    auto archive = jepa::pt::Archive::FromBytes(data, size, "fuzz");
    archive->MaterializeAll(std::nullopt);
  } catch (const jepa::Error&) {
  }
  // The unpickler alone, on the raw bytes (reaches opcodes the zip layer would hide).
  try {
    jepa::pt::Document doc;
    jepa::pt::ParsePickle(data, size, doc);
  } catch (const jepa::Error&) {
  }
  return 0;
}
