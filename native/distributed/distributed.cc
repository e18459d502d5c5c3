#include "distributed/distributed.h"

#include <c10/util/Exception.h>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

// ProcessGroupGloo.hpp includes gloo's headers, which the libtorch wheel does not ship: the
// build puts native/distributed/gloo_decl first on the include path (see
// native/distributed/gloo_decl/gloo/README.md for what it declares and why that is enough).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#ifdef JEPA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <map>
#include <utility>

#include "core/errors.h"

namespace jepa {

class DistWork {
 public:
  c10::intrusive_ptr<c10d::Work> work;
  std::string what;   // "allReduce", for messages
  at::Tensor tensor;  // allReduce / broadcast: the tensor; allGather: the input
  std::vector<std::vector<at::Tensor>> gathered;
  bool average = false;
};

struct DistGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

namespace {

bool IsLoopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.rfind("127.", 0) == 0;
}

c10d::ReduceOp ToC10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      return c10d::ReduceOp::SUM;  // gloo has no AVG: sum, then divide
    case ReduceOp::kProduct:
      return c10d::ReduceOp::PRODUCT;
    case ReduceOp::kMin:
      return c10d::ReduceOp::MIN;
    case ReduceOp::kMax:
      return c10d::ReduceOp::MAX;
  }
  return c10d::ReduceOp::SUM;
}

// The message of whatever a c10d call threw.
std::string Describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    return err.what();
  } catch (const c10::Error& err) {
    return err.what_without_backtrace();
  } catch (const std::exception& err) {
    return err.what();
  } catch (...) {
    return "unknown error";
  }
}

std::string Ms(std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; }

}  // namespace

bool DistBackendAvailable(const std::string& backend, std::string* why) {
  if (backend == "gloo") return true;
  if (backend == "nccl") {
#ifdef JEPA_WITH_NCCL
    return true;
#else
    if (why) {
      *why =
          "this build of jepa-native has no NCCL backend (it needs a CUDA libtorch and NCCL's headers at "
          "build "
          "time); use backend 'gloo'";
    }
    return false;
#endif
  }
  if (why) *why = "unknown backend '" + backend + "' (expected 'gloo' or 'nccl')";
  return false;
}

std::shared_ptr<DistGroup> DistGroup::Create(const DistOptions& o) {
  std::string why;
  if (!DistBackendAvailable(o.backend, &why)) throw Error(code::kDistributedUnavailable, why);
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    throw Error(
        code::kInvalidArgument,
        "rank " + std::to_string(o.rank) + " is outside a world of size " + std::to_string(o.world_size),
        true);
  }
  if (o.master_port < 1 || o.master_port > 65535) {
    throw Error(code::kInvalidArgument,
                "master port " + std::to_string(o.master_port) + " is outside 1..65535", true);
  }
  std::shared_ptr<DistGroup> group(new DistGroup());
  group->impl_ = std::make_unique<Impl>();
  group->rank_ = o.rank;
  group->world_size_ = o.world_size;
  group->backend_name_ = o.backend;
  group->timeout_ = o.timeout;
  const std::string where = o.master_addr + ":" + std::to_string(o.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<size_t>(o.world_size);
    so.waitWorkers = true;
    so.timeout = o.timeout;
    group->impl_->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  } catch (...) {
    throw Error(code::kDistributed, "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
                                        ": the rendezvous at " + where + " failed within " + Ms(o.timeout) +
                                        ": " + Describe(std::current_exception()));
  }
  try {
    if (o.backend == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (!o.hostname.empty()) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.hostname));
      } else if (ifname != nullptr && *ifname != '\0') {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (IsLoopback(o.master_addr)) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      auto pg =
          c10::make_intrusive<c10d::ProcessGroupGloo>(group->impl_->store, o.rank, o.world_size, options);
      // The object was laid out by this file's view of ProcessGroupGloo.hpp (gloo_decl): check
      // that an inline accessor finds what libtorch's constructor stored.
      if (pg->getOptions().get() != options.get() || pg->getNumThreads() != options->threads) {
        throw Error(code::kInternal,
                    "c10d::ProcessGroupGloo's layout differs from the one this addon was compiled for");
      }
      group->impl_->backend = pg;
    } else {
#ifdef JEPA_WITH_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = o.timeout;
      group->impl_->backend =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(group->impl_->store, o.rank, o.world_size, options);
#endif
    }
  } catch (...) {
    throw Error(code::kDistributed, "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
                                        ": connecting the " + o.backend + " backend (rendezvous at " + where +
                                        ") failed within " + Ms(o.timeout) + ": " +
                                        Describe(std::current_exception()));
  }
  return group;
}

DistGroup::~DistGroup() = default;

bool DistGroup::destroyed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !impl_ || !impl_->backend;
}

void DistGroup::CheckUsable() const {
  if (!impl_ || !impl_->backend) {
    throw Error(code::kDistributed, "the process group was destroyed (call jepa.distributed.init() again)");
  }
  if (!broken_.empty()) {
    throw Error(code::kDistributed, "the process group is unusable after an earlier failure: " + broken_);
  }
}

void DistGroup::Fail(const std::string& what, const std::string& message) {
  const std::string full = "rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ": " +
                           what + " failed (a peer died, hung or left; timeout " + Ms(timeout_) +
                           "): " + message;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (broken_.empty()) broken_ = full;
  }
  throw Error(code::kDistributed, full);
}

std::shared_ptr<DistWork> DistGroup::IssueAllReduce(const at::Tensor& tensor, ReduceOp op) {
  auto w = std::make_shared<DistWork>();
  w->what = "allReduce";
  w->tensor = tensor;
  w->average = op == ReduceOp::kAvg;
  std::lock_guard<std::mutex> lock(mutex_);
  CheckUsable();
  std::vector<at::Tensor> v{tensor};
  c10d::AllreduceOptions opts;
  opts.reduceOp = ToC10d(op);
  opts.timeout = timeout_;
  try {
    w->work = impl_->backend->allreduce(v, opts);
  } catch (const c10::Error& e) {
    throw Error(code::kDistributed, std::string("allReduce could not start: ") + e.what_without_backtrace());
  }
  return w;
}

std::shared_ptr<DistWork> DistGroup::IssueBroadcast(const at::Tensor& tensor, int root) {
  auto w = std::make_shared<DistWork>();
  w->what = "broadcast";
  w->tensor = tensor;
  std::lock_guard<std::mutex> lock(mutex_);
  CheckUsable();
  std::vector<at::Tensor> v{tensor};
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  opts.timeout = timeout_;
  try {
    w->work = impl_->backend->broadcast(v, opts);
  } catch (const c10::Error& e) {
    throw Error(code::kDistributed, std::string("broadcast could not start: ") + e.what_without_backtrace());
  }
  return w;
}

std::shared_ptr<DistWork> DistGroup::IssueAllGather(const at::Tensor& tensor) {
  auto w = std::make_shared<DistWork>();
  w->what = "allGather";
  w->tensor = tensor;
  w->gathered.resize(1);
  for (int i = 0; i < world_size_; ++i)
    w->gathered[0].push_back(at::empty_like(tensor, at::MemoryFormat::Contiguous));
  std::lock_guard<std::mutex> lock(mutex_);
  CheckUsable();
  std::vector<at::Tensor> in{tensor};
  c10d::AllgatherOptions opts;
  opts.timeout = timeout_;
  try {
    w->work = impl_->backend->allgather(w->gathered, in, opts);
  } catch (const c10::Error& e) {
    throw Error(code::kDistributed, std::string("allGather could not start: ") + e.what_without_backtrace());
  }
  return w;
}

std::shared_ptr<DistWork> DistGroup::IssueBarrier() {
  auto w = std::make_shared<DistWork>();
  w->what = "barrier";
  std::lock_guard<std::mutex> lock(mutex_);
  CheckUsable();
  c10d::BarrierOptions opts;
  opts.timeout = timeout_;
  try {
    w->work = impl_->backend->barrier(opts);
  } catch (const c10::Error& e) {
    throw Error(code::kDistributed, std::string("barrier could not start: ") + e.what_without_backtrace());
  }
  return w;
}

std::vector<at::Tensor> DistGroup::Wait(DistWork& w) {
  try {
    // The backend enforces `timeout_` itself; the wait's own limit (a little longer) only
    // guarantees that nothing waits forever should it not.
    w.work->wait(timeout_ + std::chrono::milliseconds(5000));
  } catch (...) {
    Fail(w.what, Describe(std::current_exception()));
  }
  if (w.average) w.tensor.div_(world_size_);
  if (!w.gathered.empty()) return std::move(w.gathered[0]);
  if (w.tensor.defined()) return {w.tensor};
  return {};
}

void DistGroup::AverageGradients(const std::vector<at::Tensor>& params, std::vector<double>& extra) {
  at::NoGradGuard no_grad;
  // One flat buffer per (dtype, device); the first also carries a presence flag per parameter
  // and the extras (in float64 on the CPU one, so they are exact).
  std::map<std::pair<int, std::string>, std::vector<size_t>> buckets;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& p = params[i];
    buckets[{static_cast<int>(p.scalar_type()), p.device().str()}].push_back(i);
  }
  at::Tensor meta = at::zeros({static_cast<int64_t>(params.size() + extra.size())}, at::kDouble);
  auto* m = meta.data_ptr<double>();
  for (size_t i = 0; i < params.size(); ++i) m[i] = params[i].grad().defined() ? 1.0 : 0.0;
  for (size_t j = 0; j < extra.size(); ++j) m[params.size() + j] = extra[j];
  std::vector<std::pair<at::Tensor, const std::vector<size_t>*>> flats;
  for (const auto& [key, idx] : buckets) {
    std::vector<at::Tensor> parts;
    for (size_t i : idx) {
      const at::Tensor& p = params[i];
      parts.push_back(p.grad().defined() ? p.grad().reshape({-1}) : at::zeros({p.numel()}, p.options()));
    }
    flats.emplace_back(at::cat(parts), &idx);
  }
  std::vector<std::shared_ptr<DistWork>> works;
  if (backend_name_ == "nccl" && !flats.empty()) {
    meta = meta.to(flats[0].first.device());
  }
  works.push_back(IssueAllReduce(meta, ReduceOp::kSum));
  for (auto& [flat, idx] : flats) works.push_back(IssueAllReduce(flat, ReduceOp::kAvg));
  for (auto& w : works) Wait(*w);
  meta = meta.cpu();
  m = meta.data_ptr<double>();
  for (size_t j = 0; j < extra.size(); ++j) extra[j] = m[params.size() + j] / world_size_;
  for (auto& [flat, idx] : flats) {
    int64_t offset = 0;
    for (size_t i : *idx) {
      const at::Tensor& p = params[i];
      const int64_t n = p.numel();
      if (m[i] > 0) {
        at::Tensor g = flat.slice(0, offset, offset + n).view(p.sizes());
        if (p.grad().defined()) {
          p.mutable_grad().copy_(g);
        } else {
          p.mutable_grad() = g.clone();
        }
      }
      offset += n;
    }
  }
}

void DistGroup::BroadcastTensors(const std::vector<at::Tensor>& tensors, int root) {
  at::NoGradGuard no_grad;
  std::map<std::pair<int, std::string>, std::vector<size_t>> buckets;
  for (size_t i = 0; i < tensors.size(); ++i) {
    buckets[{static_cast<int>(tensors[i].scalar_type()), tensors[i].device().str()}].push_back(i);
  }
  std::vector<std::pair<at::Tensor, const std::vector<size_t>*>> flats;
  for (const auto& [key, idx] : buckets) {
    std::vector<at::Tensor> parts;
    for (size_t i : idx) parts.push_back(tensors[i].reshape({-1}));
    flats.emplace_back(at::cat(parts), &idx);
  }
  std::vector<std::shared_ptr<DistWork>> works;
  for (auto& [flat, idx] : flats) works.push_back(IssueBroadcast(flat, root));
  for (auto& w : works) Wait(*w);
  for (auto& [flat, idx] : flats) {
    int64_t offset = 0;
    for (size_t i : *idx) {
      at::Tensor t = tensors[i];
      const int64_t n = t.numel();
      t.copy_(flat.slice(0, offset, offset + n).view(t.sizes()));
      offset += n;
    }
  }
}

void DistGroup::Destroy() {
  c10::intrusive_ptr<c10d::Backend> backend;
  c10::intrusive_ptr<c10d::Store> store;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!impl_) return;
    backend = std::move(impl_->backend);
    store = std::move(impl_->store);
  }
  // Released outside the lock: the gloo worker threads are joined here (bounded by the timeout
  // of any collective still running).
  backend.reset();
  store.reset();
}

}  // namespace jepa
