// Promise-returning work on a libuv worker thread. The work function runs off the JS thread and
// must not touch Napi; it returns a plain C++ result that `done` turns into a JS value on the JS
// thread. Exceptions thrown by `work` (jepa::Error, c10::Error, std::exception) reject the
// Promise with a JS Error carrying the same code as the synchronous forms.
#pragma once
#include <napi.h>

#include <functional>
#include <string>
#include <utility>

#include "core/common.h"
#include "core/errors.h"

namespace jepa {

template <typename R>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<R()>;
  using Done = std::function<Napi::Value(Napi::Env, R&)>;

  PromiseWorker(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env, "jepa-native"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = work_();
      return;
    } catch (...) {
      DescribeCurrentException(&code_, &message_, &type_error_);
    }
    SetError(message_);
  }

  // OnOK and OnError may run while the environment is being torn down (a worker thread
  // terminated during the work): then JS cannot run and every Napi call throws. Such errors are
  // swallowed (there is no one left to receive the result); an escaping exception would abort.
  void OnOK() override {
    Napi::Env env = Env();
    try {
      Napi::HandleScope scope(env);
      try {
        Napi::Value value = Guard(env, [&]() { return done_(env, result_); });
        deferred_.Resolve(value);
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    } catch (const Napi::Error&) {
    }
    work_ = nullptr;
    result_ = R();
  }

  void OnError(const Napi::Error&) override {
    Napi::Env env = Env();
    try {
      Napi::HandleScope scope(env);
      deferred_.Reject(MakeError(env, code_, message_, type_error_).Value());
    } catch (const Napi::Error&) {
    }
    work_ = nullptr;
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  R result_{};
  std::string code_;
  std::string message_;
  bool type_error_ = false;
};

// Queues `work` and returns its Promise. Convert and validate all JS arguments into plain C++
// values (captured by `work`) before calling this.
template <typename R>
Napi::Promise RunAsync(Napi::Env env, std::function<R()> work, std::function<Napi::Value(Napi::Env, R&)> done) {
  auto* worker = new PromiseWorker<R>(env, std::move(work), std::move(done));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace jepa
