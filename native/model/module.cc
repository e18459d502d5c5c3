#include "model/module.h"

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <sys/stat.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Converts the floating-point tensors of `list` to `dtype`, as Python's nn.Module.to(dtype):
// integer and bool tensors keep their dtype (libtorch's Module::to(dtype) would convert them).
template <typename List>
void FloatTensorsTo(const List& list, at::ScalarType dtype) {
  for (const auto& item : list) {
    at::Tensor t = item.value;
    if (t.is_floating_point() && t.scalar_type() != dtype) {
      t.set_data(t.to(dtype));
    }
  }
}

std::atomic<int> g_num_threads{0};

// TorchScript's interpreter reports a failure as "The following operation failed in the
// TorchScript interpreter. Traceback ... <Python exception line>". The exception line (the
// part users act on) goes first, the traceback after it.
std::string Summarize(const std::string& msg) {
  static const std::string kPrefix = "The following operation failed in the TorchScript interpreter.";
  if (msg.compare(0, kPrefix.size(), kPrefix) != 0) return msg;
  size_t end = msg.find_last_not_of("\n ");
  if (end == std::string::npos) return msg;
  size_t start = msg.rfind('\n', end);
  std::string last = msg.substr(start == std::string::npos ? 0 : start + 1,
                                end - (start == std::string::npos ? 0 : start + 1) + 1);
  if (last.compare(0, 9, "builtins.") == 0) last = last.substr(9);
  return last + "\n\n" + msg.substr(0, end + 1);
}

// libtorch's own count (OMP_NUM_THREADS, else the cores): read once, before any call here has
// set the count of the thread that reads it (every setter below reads it first).
int DefaultNumThreads() {
  static const int n = at::get_num_threads();
  return n;
}

}  // namespace

void SetNumThreads(int n) {
  DefaultNumThreads();
  if (n < 1) throw Error(code::kInvalidArgument, "expected the thread count to be a positive integer", true);
  g_num_threads.store(n);
  at::set_num_threads(n);
}

int GetNumThreads() {
  const int n = g_num_threads.load();
  return n > 0 ? n : DefaultNumThreads();
}

std::shared_ptr<ScriptModule> ScriptModule::Load(const std::string& path, std::optional<c10::Device> device,
                                                 std::optional<at::ScalarType> dtype) {
  if (!Exists(path)) {
    throw Error(code::kFileNotFound,
                "no such file: " + path + " (expected a TorchScript module written by torch.jit.save)");
  }
  if (!IsRegularFile(path)) {
    throw Error(code::kInvalidModule,
                path + " is not a regular file (expected a TorchScript module written by torch.jit.save)");
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device.value_or(c10::Device(c10::kCPU)));
  } catch (const c10::Error& e) {
    throw Error(code::kInvalidModule,
                "could not load " + path +
                    " as a TorchScript module (expected a file written by torch.jit.save; "
                    "torch.save files of state dicts or tensors are not modules): " +
                    e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error(code::kInvalidModule,
                "could not load " + path +
                    " as a TorchScript module (expected a file written by torch.jit.save): " + e.what());
  }
  auto result = std::shared_ptr<ScriptModule>(new ScriptModule(std::move(module)));
  if (dtype) {
    FloatTensorsTo(result->module_.named_parameters(true), *dtype);
    FloatTensorsTo(result->module_.named_buffers(true), *dtype);
  }
  return result;
}

std::vector<std::string> ScriptModule::Methods() const {
  std::vector<std::string> names;
  for (const auto& m : module_.get_methods()) {
    const std::string& name = m.name();
    if (name.size() >= 2 && name.compare(0, 2, "__") == 0) continue;  // __getstate__ and friends
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

torch::jit::Method ScriptModule::FindMethod(const std::string& method) const {
  auto found = module_.find_method(method);
  if (!found) {
    std::string list;
    for (const auto& name : Methods()) list += (list.empty() ? "" : ", ") + name;
    throw Error(code::kMethodNotFound, "the module has no method `" + method +
                                           "`; its methods are: " + (list.empty() ? "(none)" : list));
  }
  return *found;
}

std::vector<MethodArg> ScriptModule::Arguments(const std::string& method) const {
  torch::jit::Method m = FindMethod(method);
  const auto& args = m.function().getSchema().arguments();
  std::vector<MethodArg> out;
  for (size_t i = 1; i < args.size(); ++i) {  // 0 is self
    out.push_back({args[i].name(), args[i].type(), args[i].default_value().has_value()});
  }
  return out;
}

std::string ScriptModule::Schema(const std::string& method) const {
  torch::jit::Method m = FindMethod(method);
  const auto& schema = m.function().getSchema();
  std::ostringstream os;
  os << method << "(";
  const auto& args = schema.arguments();
  for (size_t i = 1; i < args.size(); ++i) {
    if (i > 1) os << ", ";
    os << args[i].type()->annotation_str() << " " << args[i].name();
    if (args[i].default_value()) os << "=" << *args[i].default_value();
  }
  os << ") -> ";
  const auto& returns = schema.returns();
  if (returns.size() == 1) {
    os << returns[0].type()->annotation_str();
  } else {
    os << "(";
    for (size_t i = 0; i < returns.size(); ++i) os << (i ? ", " : "") << returns[i].type()->annotation_str();
    os << ")";
  }
  return os.str();
}

void ApplyNumThreads(int threads) {
  // A worker thread keeps the count of its last call: a call with its own count (`threads`) is
  // followed by calls that put the process's count back (SetNumThreads's, else libtorch's).
  const int fallback = DefaultNumThreads();
  if (threads <= 0) threads = g_num_threads.load();
  if (threads <= 0) threads = fallback;
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
}

c10::IValue ScriptModule::Run(const std::string& method, std::vector<c10::IValue> args, CallOptions options) {
  ApplyNumThreads(options.threads);
  std::shared_lock<std::shared_mutex> lock(mutex_);
  torch::jit::Method m = FindMethod(method);
  std::optional<at::NoGradGuard> no_grad;
  if (!module_.is_training()) no_grad.emplace();
  // Thread-local in libtorch: this call only.
  torch::jit::GraphOptimizerEnabledGuard optimize(options.optimize);
  try {
    return m(std::move(args));
  } catch (const c10::OutOfMemoryError&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(code::kTorch, Summarize(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // torch::jit::JITException and the interpreter's errors
    throw Error(code::kTorch, Summarize(e.what()));
  }
}

std::vector<std::pair<std::string, at::Tensor>> ScriptModule::NamedParameters() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module_.named_parameters(true)) out.emplace_back(p.name, p.value);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> ScriptModule::NamedBuffers() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& b : module_.named_buffers(true)) out.emplace_back(b.name, b.value);
  return out;
}

ScriptModule::LoadResult ScriptModule::LoadStateDict(
    const std::vector<std::pair<std::string, at::Tensor>>& entries, bool strict) {
  auto lock = LockExclusive("load a state dict into the module");
  std::vector<std::pair<std::string, at::Tensor>> own;
  for (const auto& p : module_.named_parameters(true)) own.emplace_back(p.name, p.value);
  for (const auto& b : module_.named_buffers(true)) own.emplace_back(b.name, b.value);
  std::unordered_map<std::string, at::Tensor> given;
  for (const auto& [name, t] : entries) given.emplace(name, t);
  std::unordered_set<std::string> known;
  LoadResult result;
  std::vector<std::string> shapes;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;
  for (const auto& [name, dst] : own) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      result.missing.push_back(name);
      continue;
    }
    if (it->second.sizes() != dst.sizes()) {
      shapes.push_back(name + ": state dict " + ShapeString(it->second.sizes()) + ", module " +
                       ShapeString(dst.sizes()));
      continue;
    }
    copies.emplace_back(dst, it->second);
  }
  for (const auto& [name, t] : entries) {
    if (!known.count(name)) result.unexpected.push_back(name);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string problems;
  if (strict && !result.missing.empty()) problems += "missing keys: " + join(result.missing) + "; ";
  if (strict && !result.unexpected.empty()) problems += "unexpected keys: " + join(result.unexpected) + "; ";
  if (!shapes.empty()) problems += "shape mismatch: " + join(shapes) + "; ";
  if (!problems.empty()) {
    problems.resize(problems.size() - 2);
    throw Error(code::kParameterMismatch, "the state dict does not match the module (" + problems + ")");
  }
  at::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return result;
}

std::unique_lock<std::shared_mutex> ScriptModule::LockExclusive(const char* what) {
  const int pending = in_flight_.load();
  std::unique_lock<std::shared_mutex> lock(mutex_, std::try_to_lock);
  if (pending > 0 || !lock.owns_lock()) {
    throw Error(code::kModuleBusy, std::string("cannot ") + what + " while " +
                                       std::to_string(std::max(pending, 1)) +
                                       " call(s) on this module are in flight: await them first");
  }
  return lock;
}

void ScriptModule::Train(bool on) {
  auto lock = LockExclusive(on ? "switch the module to train mode" : "switch the module to eval mode");
  module_.train(on);
}

bool ScriptModule::IsTraining() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return module_.is_training();
}

void ScriptModule::To(std::optional<c10::Device> device, std::optional<at::ScalarType> dtype) {
  auto lock = LockExclusive("move the module");
  if (device) module_.to(*device);
  if (dtype) {
    FloatTensorsTo(module_.named_parameters(true), *dtype);
    FloatTensorsTo(module_.named_buffers(true), *dtype);
  }
}

c10::Device ScriptModule::Device() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  for (const auto& p : module_.parameters(true)) return p.device();
  for (const auto& b : module_.buffers(true)) return b.device();
  return c10::Device(c10::kCPU);
}

std::optional<at::ScalarType> ScriptModule::FloatDtype() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  for (const auto& p : module_.parameters(true)) {
    if (p.is_floating_point()) return p.scalar_type();
  }
  for (const auto& b : module_.buffers(true)) {
    if (b.is_floating_point()) return b.scalar_type();
  }
  return std::nullopt;
}

void ScriptModule::Save(const std::string& path) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  try {
    module_.save(path);
  } catch (const c10::Error& e) {
    throw Error(code::kTorch, "could not save the module to " + path + ": " + e.what_without_backtrace());
  }
}

std::shared_ptr<ScriptModule> ScriptModule::Clone() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  torch::jit::Module copy;
  {
    // Copies made without autograd are leaves; requires_grad is set back below, as
    // nn.Parameter.__deepcopy__ does (data clone + the same requires_grad, no .grad).
    at::NoGradGuard no_grad;
    copy = module_.deepcopy();
  }
  auto src = module_.named_parameters(true);
  auto dst = copy.named_parameters(true);
  auto s = src.begin();
  for (auto d = dst.begin(); d != dst.end() && s != src.end(); ++d, ++s) {
    if ((*s).value.requires_grad()) (*d).value.requires_grad_(true);
  }
  return std::shared_ptr<ScriptModule>(new ScriptModule(std::move(copy)));
}

std::shared_ptr<void> ScriptModule::Reserve() {
  in_flight_.fetch_add(1);
  return std::shared_ptr<void>(nullptr,
                               [self = shared_from_this()](void*) { self->in_flight_.fetch_sub(1); });
}

int ScriptModule::InFlight() const { return in_flight_.load(); }

}  // namespace jepa
