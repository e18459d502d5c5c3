// The pool that runs async work (AsyncJob) and the path its results take back to the JS thread.
//
// Why not libuv's pool: a round trip through it (uv_queue_work, then the completion callback)
// wakes a sleeping thread twice, a worker and then the event loop, and on the development VM
// each wake-up costs 20-30 µs (a halted vCPU must be woken by an interrupt), so an `await` of a
// 10 µs job took 45-70 µs. Here an idle pool thread first waits for the next job by spinning
// for a short window (JEPA_ASYNC_SPIN_US, 100 µs by default; 0 on a one-core machine, and while
// the machine has more runnable threads than cores: AsyncSpinNs) and only then sleeps on a condition
// variable: a job queued while a thread spins starts within a microsecond. The JS side does the same for the
// event loop (lib/core/poll.ts keeps it polling while a result is due). Results go back through one
// thread-safe function per environment (which also keeps the event loop alive while jobs are in flight, and
// reports torn-down environments). At most one thread spins at a time, and never longer than the window after
// its last job.
//
// Guarantees kept from the libuv version: JS is touched only on the JS thread (Complete); a job
// queued by an environment that is torn down before it starts is not run, and one that is
// running when that happens is waited for by the teardown (as Node waits for libuv's work), then
// deleted without touching JS; the pool has as many threads as libuv's (UV_THREADPOOL_SIZE,
// default 4), made on demand.
#include "core/async.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace jepa {

namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t EnvInt(const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return fallback;
  return v;
}

// The spin window asked for (JEPA_ASYNC_SPIN_US, default 100 µs; 0 on a one-core machine).
int64_t SpinWindowNs() {
  static const int64_t ns = [] {
    const int64_t fallback = std::thread::hardware_concurrency() >= 2 ? 100 : 0;
    return EnvInt("JEPA_ASYNC_SPIN_US", fallback, 0, 100000) * 1000;
  }();
  return ns;
}

}  // namespace

// Spinning pays only when a core is free: on a machine with more runnable threads than cores a
// spinning thread takes the core from the very thread it waits for (measured: an await round
// trip went from 25 to 50-140 µs with 10-16 runnable threads on 2 cores). The 1-minute load
// average cannot tell (our own JS thread and spinner make it reach the core count of a small
// machine), so the number of runnable threads right now (/proc/loadavg's fourth field, ours
// included) is sampled at most once a second and smoothed over a few samples; the window applies
// while it stays within the core count, and is 0 otherwise.
namespace {
// Runnable threads now, or -1 when /proc/loadavg cannot be read.
int RunnableThreads() {
  const int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // "0.12 0.34 0.56 3/412 12345": the numerator after the third field.
  const char* p = buf;
  for (int field = 0; field < 3 && p != nullptr; ++field) {
    p = std::strchr(p, ' ');
    if (p != nullptr) ++p;
  }
  if (p == nullptr) return -1;
  return std::atoi(p);
}
}  // namespace

int64_t AsyncSpinNs() {
  const int64_t window = SpinWindowNs();
  if (window == 0) return 0;
  static std::atomic<int64_t> checked{0};
  static std::atomic<int> busy{0};  // runnable threads beyond the cores, smoothed (x4)
  static std::atomic<bool> spin{true};
  const int64_t now = NowNs();
  int64_t last = checked.load(std::memory_order_relaxed);
  if (now - last > 1000000000 && checked.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    const int runnable = RunnableThreads();
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    const int excess = runnable < 0 ? 0 : std::max(0, runnable - cores);
    // An average over about four samples: one busy moment does not stop the spinning.
    const int smoothed = (busy.load(std::memory_order_relaxed) * 3 + excess * 4) / 4;
    busy.store(smoothed, std::memory_order_relaxed);
    spin.store(smoothed < 4, std::memory_order_relaxed);
  }
  return spin.load(std::memory_order_relaxed) ? window : 0;
}

// Per environment: the thread-safe function through which finished jobs come back, and the
// count of jobs in flight (the function is referenced, keeping the loop alive, while it is > 0).
class AsyncLane : public std::enable_shared_from_this<AsyncLane> {
 public:
  explicit AsyncLane(napi_env env) : env_(env) {}

  void Start() {
    napi_value name;
    NAPI_THROW_IF_FAILED_VOID(env_, napi_create_string_utf8(env_, "jepa-native", NAPI_AUTO_LENGTH, &name));
    NAPI_THROW_IF_FAILED_VOID(
        env_, napi_create_threadsafe_function(env_, nullptr, nullptr, name, 0, 1, nullptr, nullptr, this,
                                              &AsyncLane::CallJs, &tsfn_));
    NAPI_THROW_IF_FAILED_VOID(env_, napi_unref_threadsafe_function(env_, tsfn_));
    napi_value resource;
    NAPI_THROW_IF_FAILED_VOID(env_, napi_create_object(env_, &resource));
    NAPI_THROW_IF_FAILED_VOID(env_, napi_async_init(env_, resource, name, &context_));
  }

  // JS thread.
  void Submit(std::unique_ptr<AsyncJob> job);

  // Pool thread: hands a finished job back to the JS thread, or deletes it when the environment
  // is gone.
  void Finished(AsyncJob* job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (alive_ && napi_call_threadsafe_function(tsfn_, job, napi_tsfn_nonblocking) == napi_ok) return;
    }
    delete job;
  }

  // Pool thread: whether a job may run (its environment is alive); if so it counts as running
  // until EndRun.
  bool BeginRun() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!alive_) return false;
    ++running_;
    return true;
  }

  void EndRun() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --running_;
    }
    idle_.notify_all();
  }

  // JS thread, from the environment's cleanup hook: jobs not started yet will not run, later
  // results are dropped, and the jobs running now are waited for, as Node waits for libuv's
  // work at an environment's teardown: a worker thread's exit, or the process's, would otherwise
  // free what they use under them (libtorch's globals at exit).
  void Shutdown() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!alive_) return;
    alive_ = false;
    alive_flag_.store(false, std::memory_order_relaxed);
    idle_.wait(lock, [this] { return running_ == 0; });
    napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
    napi_async_destroy(env_, context_);
    context_ = nullptr;
  }

 private:
  // JS thread (env null: the function is being torn down and `data` must only be freed).
  static void CallJs(napi_env env, napi_value, void* context, void* data) {
    auto* job = static_cast<AsyncJob*>(data);
    auto* self = static_cast<AsyncLane*>(context);
    if (env == nullptr || job == nullptr) {
      delete job;
      return;
    }
    if (--self->in_flight_ == 0) napi_unref_threadsafe_function(env, self->tsfn_);
    {
      // As napi_async_work's completion: the promise reactions this settles (the caller's next
      // call, often) run when the scope closes, before the next finished job is handed over.
      napi_callback_scope scope = nullptr;
      const bool scoped = self->context_ != nullptr && [&] {
        napi_value resource;
        return napi_create_object(env, &resource) == napi_ok &&
               napi_open_callback_scope(env, resource, self->context_, &scope) == napi_ok;
      }();
      job->Complete(Napi::Env(env));
      if (scoped) napi_close_callback_scope(env, scope);
    }
    delete job;
  }

  napi_env env_;
  napi_threadsafe_function tsfn_ = nullptr;
  napi_async_context context_ = nullptr;  // JS thread only
  std::mutex mutex_;
  std::condition_variable idle_;  // running_ fell to 0
  int running_ = 0;               // jobs executing now (mutex_)
  bool alive_ = true;
  std::atomic<bool> alive_flag_{true};
  int64_t in_flight_ = 0;  // JS thread only
};

// The process-wide pool (never destroyed: jobs may still run while the process exits).
class WorkPool {
 public:
  WorkPool() : max_threads_(static_cast<int>(EnvInt("UV_THREADPOOL_SIZE", 4, 1, 1024))) {}

  void Submit(AsyncJob* job) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
    queued_.store(queue_.size(), std::memory_order_release);
    // A spinning thread takes the job by itself; wake a sleeping one for the rest, and make a
    // thread when none is free.
    if (queue_.size() > static_cast<size_t>(spinning_)) {
      if (sleeping_ > 0) {
        cv_.notify_one();
      } else if (threads_ < max_threads_ && queue_.size() > static_cast<size_t>(spinning_)) {
        ++threads_;
        std::thread([this] { Run(); }).detach();
      }
    }
  }

 private:
  void Run() {
    for (;;) {
      AsyncJob* job = Take();
      std::shared_ptr<AsyncLane> lane = job->lane_;
      // A job whose environment is gone is not run (its promise has no one to settle for).
      if (lane->BeginRun()) {
        job->Execute();
        lane->EndRun();
      }
      lane->Finished(job);
    }
  }

  AsyncJob* Take() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!queue_.empty()) return Pop();
      const int64_t spin = spinning_ == 0 ? AsyncSpinNs() : 0;
      if (spin > 0) {
        ++spinning_;
        lock.unlock();
        const int64_t deadline = NowNs() + spin;
        bool seen = false;
        while (!(seen = queued_.load(std::memory_order_acquire) > 0)) {
          for (int i = 0; i < 32; ++i) CpuRelax();
          if (NowNs() > deadline) break;
        }
        lock.lock();
        --spinning_;
        if (!queue_.empty()) return Pop();
        (void)seen;
      }
      ++sleeping_;
      cv_.wait(lock);
      --sleeping_;
    }
  }

  AsyncJob* Pop() {
    AsyncJob* job = queue_.front();
    queue_.pop_front();
    queued_.store(queue_.size(), std::memory_order_release);
    return job;
  }

  const int max_threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<AsyncJob*> queue_;
  std::atomic<size_t> queued_{0};
  int threads_ = 0;
  int spinning_ = 0;
  int sleeping_ = 0;
};

namespace {
WorkPool& Pool() {
  static auto* pool = new WorkPool();
  return *pool;
}
}  // namespace

void AsyncLane::Submit(std::unique_ptr<AsyncJob> job) {
  if (!alive_flag_.load(std::memory_order_relaxed)) {
    throw Error(code::kInternal, "the environment is shutting down: no async work can start");
  }
  job->lane_ = shared_from_this();
  if (in_flight_++ == 0) napi_ref_threadsafe_function(env_, tsfn_);
  Pool().Submit(job.release());
}

void QueueJob(Napi::Env env, std::unique_ptr<AsyncJob> job) {
  GetAddonData(env).async_lane->Submit(std::move(job));
}

void AsyncInit(Napi::Env env, Napi::Object exports) {
  auto lane = std::make_shared<AsyncLane>(env);
  lane->Start();
  GetAddonData(env).async_lane = lane;
  env.AddCleanupHook([lane]() { lane->Shutdown(); });
  // asyncSpinMicros() -> number: AsyncSpinNs in µs, for the JS side's wait (lib/core/poll.ts).
  exports.Set("asyncSpinMicros", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                return Napi::Number::New(info.Env(), static_cast<double>(AsyncSpinNs()) / 1000);
              }));
}

}  // namespace jepa
