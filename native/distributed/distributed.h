// Collective communication across processes on libtorch's own distributed engine (c10d):
// a TCPStore for the rendezvous and ProcessGroupGloo (CPU tensors) or ProcessGroupNCCL (CUDA
// tensors, only in builds against a CUDA libtorch with NCCL headers). Plain C++ (no Node-API);
// the c10d headers stay inside distributed.cc.
//
// Ordering: every rank must issue the same collectives in the same order. Issue* calls are
// cheap (they queue the work on the backend's threads) and are serialised by a mutex, so the
// order in which one thread issues them is the order on the wire; Wait blocks until the work is
// done, fails or times out.
#pragma once
#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace jepa {

struct DistOptions {
  std::string backend = "gloo";  // "gloo" | "nccl"
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int rank = 0;
  int world_size = 1;
  // Rendezvous and every collective fail with kDistributed after this long (a dead or stuck peer).
  std::chrono::milliseconds timeout{60000};
  // gloo: the address other ranks reach this one at; empty = 127.0.0.1 when master_addr is a
  // loopback address, else the interface of GLOO_SOCKET_IFNAME or the host name (as torch does).
  std::string hostname;
};

enum class ReduceOp { kSum, kAvg, kProduct, kMin, kMax };

// Whether `backend` can be used in this build; when not, `why` says why.
bool DistBackendAvailable(const std::string& backend, std::string* why);

// One queued collective.
class DistWork;

class DistGroup {
 public:
  // Rendezvous through a TCPStore at master_addr:master_port (rank 0 serves it) and connects
  // the backend: blocks until all world_size ranks have joined or the timeout passes.
  static std::shared_ptr<DistGroup> Create(const DistOptions& options);
  ~DistGroup();

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const std::string& backend() const { return backend_name_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // In place on `tensor` (kAvg: sum, then divided by the world size in Wait).
  std::shared_ptr<DistWork> IssueAllReduce(const at::Tensor& tensor, ReduceOp op);
  // In place: every rank's `tensor` takes the root's values.
  std::shared_ptr<DistWork> IssueBroadcast(const at::Tensor& tensor, int root);
  // Every rank's `tensor` (same shape and dtype everywhere), gathered in rank order.
  std::shared_ptr<DistWork> IssueAllGather(const at::Tensor& tensor);
  std::shared_ptr<DistWork> IssueBarrier();
  // Blocks until done; returns the gathered tensors (allGather) or the tensor. Throws
  // Error(kDistributed) on failure or timeout; the group is broken after that.
  std::vector<at::Tensor> Wait(DistWork& work);

  // Blocking helpers for the Trainer (coalesced per dtype and device: one collective each).
  // Averages the gradients of `params` over the ranks; a parameter with a gradient on any rank
  // gets one everywhere (zeros where a rank had none). `extra` (a double per entry, e.g. the
  // loss) is averaged alongside.
  void AverageGradients(const std::vector<at::Tensor>& params, std::vector<double>& extra);
  // Copies rank `root`'s values into `tensors` on every rank (parameters, buffers).
  void BroadcastTensors(const std::vector<at::Tensor>& tensors, int root);

  // Leaves the group: the backend and the store are released. Later calls throw.
  void Destroy();
  bool destroyed() const;

 private:
  DistGroup() = default;
  struct Impl;
  void CheckUsable() const;
  [[noreturn]] void Fail(const std::string& what, const std::string& message);

  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int world_size_ = 1;
  std::string backend_name_;
  std::chrono::milliseconds timeout_{60000};
  std::string broken_;  // the first failure; non-empty = unusable
  mutable std::mutex mutex_;
};

}  // namespace jepa
