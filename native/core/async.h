// Promise-returning work on a worker thread. The work function runs off the JS thread and must
// not touch Napi; it returns a plain C++ result that `done` turns into a JS value on the JS
// thread. Exceptions thrown by `work` (jepa::Error, c10::Error, std::exception) reject the
// Promise with a JS Error carrying the same code as the synchronous forms.
//
// The work runs on the addon's own pool of threads (native/core/async.cc), not libuv's: an idle pool
// thread waits a short while (spinning) for the next job before it sleeps, and results come
// back to the JS thread through one thread-safe function per environment. A round trip through
// libuv's pool cost 45-70 µs on the 2-core development VM, almost all of it waking a sleeping
// thread twice (the worker, then the event loop); see BENCHMARKS.md, "Per-call cost of the
// async forms".
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/common.h"
#include "core/errors.h"

namespace jepa {

class AsyncLane;

// One unit of async work: Execute() on a pool thread, then Complete() on the JS thread of the
// environment that queued it (inside a handle scope and a callback scope, so that promise
// reactions run right after). A job whose environment was torn down before it finished is
// deleted without Complete(), on whichever thread sees that (its destructor must not touch JS).
class AsyncJob {
 public:
  virtual ~AsyncJob() = default;
  virtual void Execute() = 0;
  virtual void Complete(Napi::Env env) = 0;

 private:
  friend class AsyncLane;
  friend class WorkPool;
  std::shared_ptr<AsyncLane> lane_;
};

// Queues `job` on the pool (JS thread only). The job's environment stays alive (its event loop
// running) until the job has completed.
void QueueJob(Napi::Env env, std::unique_ptr<AsyncJob> job);

// Sets up the per-environment completion path and exports `asyncSpinMicros`; called once from
// the addon's Init.
void AsyncInit(Napi::Env env, Napi::Object exports);

// How long (ns) a thread waiting for async work or its result should spin before it sleeps:
// JEPA_ASYNC_SPIN_US while no more threads are runnable than there are cores, else 0. Any thread.
int64_t AsyncSpinNs();

// A promise settled by `work` (pool thread) and `done` (JS thread).
template <typename R>
class PromiseWorker : public AsyncJob {
 public:
  using Work = std::function<R()>;
  using Done = std::function<Napi::Value(Napi::Env, R&)>;

  PromiseWorker(Napi::Env env, Work work, Done done)
      : deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = work_();
      ok_ = true;
    } catch (...) {
      DescribeCurrentException(&code_, &message_, &type_error_);
    }
  }

  // Napi calls that fail while the environment is being torn down throw; such errors are
  // swallowed (there is no one left to receive the result); an escaping exception would abort.
  void Complete(Napi::Env env) override {
    try {
      Napi::HandleScope scope(env);
      if (ok_) {
        try {
          Napi::Value value = Guard(env, [&]() { return done_(env, result_); });
          deferred_.Resolve(value);
        } catch (const Napi::Error& e) {
          deferred_.Reject(e.Value());
        }
      } else {
        deferred_.Reject(MakeError(env, code_, message_, type_error_).Value());
      }
    } catch (const Napi::Error&) {
    }
    // What the work captured (a module's busy token, input tensors) is released here, on the JS
    // thread, after the promise is settled: the same order as before the pool existed.
    work_ = nullptr;
    result_ = R();
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  R result_{};
  bool ok_ = false;
  std::string code_;
  std::string message_;
  bool type_error_ = false;
};

// Queues `work` and returns its Promise. Convert and validate all JS arguments into plain C++
// values (captured by `work`) before calling this.
template <typename R>
Napi::Promise RunAsync(Napi::Env env, std::function<R()> work,
                       std::function<Napi::Value(Napi::Env, R&)> done) {
  auto worker = std::make_unique<PromiseWorker<R>>(env, std::move(work), std::move(done));
  Napi::Promise promise = worker->Promise();
  QueueJob(env, std::move(worker));
  return promise;
}

}  // namespace jepa
