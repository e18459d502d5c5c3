// Error type of the plain C++ layer: a message plus a stable code that the binding layer turns
// into a JS Error (or TypeError) with `err.code` set. No Node-API here.
#pragma once
#include <stdexcept>
#include <string>

namespace jepa {

// Stable error codes: the same set as lib/core/errors.ts (test/errors.test.mjs checks it). The
// last group is raised in TypeScript only, but is listed here too so that both sets stay equal.
namespace code {
inline constexpr const char* kInvalidArgument = "JEPA_INVALID_ARGUMENT";
inline constexpr const char* kShapeMismatch = "JEPA_SHAPE_MISMATCH";
inline constexpr const char* kUnknownDtype = "JEPA_UNKNOWN_DTYPE";
inline constexpr const char* kCudaUnavailable = "JEPA_CUDA_UNAVAILABLE";
inline constexpr const char* kDisposed = "JEPA_DISPOSED";
inline constexpr const char* kNotCpu = "JEPA_NOT_CPU";
inline constexpr const char* kNotContiguous = "JEPA_NOT_CONTIGUOUS";
inline constexpr const char* kTorch = "JEPA_TORCH_ERROR";
inline constexpr const char* kOutOfMemory = "JEPA_OUT_OF_MEMORY";
inline constexpr const char* kInternal = "JEPA_INTERNAL";
inline constexpr const char* kMaskUnsatisfiable = "JEPA_MASK_UNSATISFIABLE";
inline constexpr const char* kFileNotFound = "JEPA_FILE_NOT_FOUND";
inline constexpr const char* kInvalidModule = "JEPA_INVALID_MODULE";
inline constexpr const char* kMethodNotFound = "JEPA_METHOD_NOT_FOUND";
inline constexpr const char* kModuleBusy = "JEPA_MODULE_BUSY";
inline constexpr const char* kDeviceMismatch = "JEPA_DEVICE_MISMATCH";
inline constexpr const char* kParameterMismatch = "JEPA_PARAMETER_MISMATCH";
inline constexpr const char* kIo = "JEPA_IO_ERROR";
inline constexpr const char* kPtCorrupt = "JEPA_PT_CORRUPT";
inline constexpr const char* kPtUnsafeGlobal = "JEPA_PT_UNSAFE_GLOBAL";
inline constexpr const char* kPtUnsupported = "JEPA_PT_UNSUPPORTED";
inline constexpr const char* kPtLimit = "JEPA_PT_LIMIT";
inline constexpr const char* kPtTorchScript = "JEPA_PT_TORCHSCRIPT";
inline constexpr const char* kPtLegacyFormat = "JEPA_PT_LEGACY_FORMAT";
inline constexpr const char* kDistributed = "JEPA_DISTRIBUTED_ERROR";
inline constexpr const char* kDistributedUnavailable = "JEPA_DISTRIBUTED_UNAVAILABLE";
// Raised in TypeScript: the loader (lib/core/binding.ts), media decoding, checkpoints, model
// folders, datasets.
inline constexpr const char* kLibtorchMismatch = "JEPA_LIBTORCH_MISMATCH";
inline constexpr const char* kLibtorchNotFound = "JEPA_LIBTORCH_NOT_FOUND";
inline constexpr const char* kAddonNotFound = "JEPA_ADDON_NOT_FOUND";
inline constexpr const char* kMediaDecode = "JEPA_MEDIA_DECODE";
inline constexpr const char* kFfmpegNotFound = "JEPA_FFMPEG_NOT_FOUND";
inline constexpr const char* kCheckpointInvalid = "JEPA_CHECKPOINT_INVALID";
inline constexpr const char* kModelFolderInvalid = "JEPA_MODEL_FOLDER_INVALID";
inline constexpr const char* kDataInvalid = "JEPA_DATA_INVALID";
}  // namespace code

// An error raised by jepa's own C++ code; `type_error` asks for a JS TypeError.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message, bool type_error = false)
      : std::runtime_error(message), code_(std::move(code)), type_error_(type_error) {}
  const std::string& code() const { return code_; }
  bool type_error() const { return type_error_; }

 private:
  std::string code_;
  bool type_error_;
};

}  // namespace jepa
