// TorchScript modules (files written by torch.jit.save): loading, calling methods, parameters,
// device and dtype moves, saving. Plain C++ (no Node-API), so a C++ test can drive it.
//
// Concurrency: a ScriptModule is shared by the JS handle and by every call in flight (each holds
// a std::shared_ptr). Calls take a shared lock, so several forwards run at once on different
// worker threads (TorchScript's interpreter keeps per-call state on the calling thread's stack;
// the graph executor guards its own compilation cache). Operations that change the module
// (train/eval, to, a method that assigns attributes is the caller's business) take the exclusive
// lock; they never wait for calls in flight: with a call running they fail with kModuleBusy.
#pragma once
#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>

#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace jepa {

// The argument list of one method, without `self`: name, type and whether a default exists.
struct MethodArg {
  std::string name;
  c10::TypePtr type;
  bool has_default;
};

// Intra-op threads for module calls. libtorch's OpenMP thread count is per calling thread, and a
// libuv worker that ran a call before at::set_num_threads would keep the old count: Run applies
// the count last set here on its own thread before each call. 0 (the default) leaves libtorch's.
void SetNumThreads(int n);
int GetNumThreads();
// Applies `threads` when positive, else the count set by SetNumThreads, else libtorch's default,
// to the calling thread; every native call that runs ATen work on a worker thread calls this first.
void ApplyNumThreads(int threads = 0);

class ScriptModule : public std::enable_shared_from_this<ScriptModule> {
 public:
  // Loads a TorchScript file onto `device` (CPU when absent) and converts its floating-point
  // parameters and buffers to `dtype` when given. Throws kFileNotFound when the file is absent,
  // kInvalidModule when it is not a TorchScript archive (torch.save files, corrupt zips).
  static std::shared_ptr<ScriptModule> Load(const std::string& path, std::optional<c10::Device> device,
                                            std::optional<at::ScalarType> dtype);

  // Names of the callable methods (forward and every @torch.jit.export method), sorted.
  std::vector<std::string> Methods() const;

  // Arguments of `method` (without self) and its schema as text; kMethodNotFound when absent.
  std::vector<MethodArg> Arguments(const std::string& method) const;
  std::string Schema(const std::string& method) const;

  // Runs `method` with positional `args` (missing trailing arguments take their defaults). In
  // eval mode the call runs under at::NoGradGuard (torch.no_grad) (no autograd graph is recorded); in train
  // mode grad mode is left as it is. Thread-safe with other calls (shared lock).
  // CallOptions::threads > 0 runs this call with that many intra-op threads instead of the count
  // of SetNumThreads (two calls in flight with half the threads each keep the cores busier than
  // one call at a time with all of them: lib/features/extract.ts). CallOptions::optimize false
  // runs the graph without TorchScript's graph executor optimisations (Python's
  // torch.jit.optimized_execution(False)): no profiling runs and recompilation on the first
  // calls, the same ops in the same order.
  struct CallOptions {
    int threads = 0;
    bool optimize = true;
  };
  c10::IValue Run(const std::string& method, std::vector<c10::IValue> args, CallOptions options);
  c10::IValue Run(const std::string& method, std::vector<c10::IValue> args) {
    return Run(method, std::move(args), CallOptions{});
  }

  // Parameters and buffers with their dotted names, as in Python's named_parameters() /
  // named_buffers() (recursive). The tensors share memory with the module.
  std::vector<std::pair<std::string, at::Tensor>> NamedParameters() const;
  std::vector<std::pair<std::string, at::Tensor>> NamedBuffers() const;

  // Python's load_state_dict: copies each entry into the parameter or buffer of its name (under
  // no_grad, converted to its dtype and device). A shape difference always fails, and with
  // `strict` a missing or unexpected name too: kParameterMismatch listing every one, nothing
  // copied. Returns the names that were missing and unexpected. Exclusive lock (kModuleBusy).
  struct LoadResult {
    std::vector<std::string> missing;
    std::vector<std::string> unexpected;
  };
  LoadResult LoadStateDict(const std::vector<std::pair<std::string, at::Tensor>>& entries, bool strict);

  // Mode and placement. These take the exclusive lock without waiting: kModuleBusy while a call
  // is in flight.
  void Train(bool on);
  bool IsTraining() const;
  void To(std::optional<c10::Device> device, std::optional<at::ScalarType> dtype);
  // The device of the first parameter or buffer (CPU for a module without any).
  c10::Device Device() const;
  // The dtype of the first floating-point parameter or buffer, if any.
  std::optional<at::ScalarType> FloatDtype() const;

  // Writes the module with torch.jit.save's format (shared lock: runs beside calls).
  void Save(const std::string& path) const;

  // Python's copy.deepcopy(module): a new module whose parameters and buffers are copies with
  // their own storage (same dtype, device and requires_grad; parameters are leaves without
  // gradients), in the same train/eval mode, sharing the compiled methods. Shared lock.
  std::shared_ptr<ScriptModule> Clone() const;

  // Marks one call as in flight until the returned token is destroyed. The binding takes it on
  // the JS thread when it queues a call, so that train/eval/to fail with kModuleBusy from then
  // on, not only once the call has started on its worker thread.
  std::shared_ptr<void> Reserve();
  // Number of calls in flight (for diagnostics and tests).
  int InFlight() const;

 private:
  explicit ScriptModule(torch::jit::Module module) : module_(std::move(module)) {}
  torch::jit::Method FindMethod(const std::string& method) const;
  std::unique_lock<std::shared_mutex> LockExclusive(const char* what);

  torch::jit::Module module_;
  mutable std::shared_mutex mutex_;
  std::atomic<int> in_flight_{0};
};

}  // namespace jepa
