// The Node-API side of .pt files: load (alone or in batches) and save, as sync functions and
// Promises (worker threads). Values cross through the one codec (values_binding.h); lazy
// archives are in pt_archive_binding.cc.
#include "bindings/pt_binding.h"

#include <memory>
#include <optional>
#include <vector>

#include "bindings/values_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "pt/pt_file.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

using pt::Document;

std::optional<c10::Device> DeviceArg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return ParseDevice(ToString(v, "options.device"));
}

// ptLoadSync(path, mmap, device)
Napi::Value LoadSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    pt::LoadOptions opts;
    const std::string path = ToString(info[0], "path");
    opts.mmap = info[1].ToBoolean().Value();
    opts.device = DeviceArg(info[2]);
    Document doc = pt::Load(path, opts);
    return ValueToJs(info.Env(), doc.root);
  });
}

// One file of a ptLoadMany batch: what to load, then its tree or its error.
struct LoadJob {
  std::string path;
  pt::LoadOptions opts;
  std::shared_ptr<pt::FileBytes> bytes;  // a small file, read on the worker, parsed on the JS thread
  std::optional<Document> doc;           // any other file, loaded on the worker
  std::string code, message;
  bool type_error = false;
  bool large = false;  // above 1 MiB, left unread (small_only)
};

using Jobs = std::shared_ptr<std::vector<LoadJob>>;

// On the worker: reads each file (small ones whole, for LoadBytes on the JS thread) or loads it;
// with `defer_large`, a file above 1 MiB is left unread and marked. A job that already failed
// (its arguments) or was read inline is skipped.
void ReadJobs(std::vector<LoadJob>& jobs, bool defer_large) {
  for (LoadJob& job : jobs) {
    if (!job.code.empty() || job.bytes) continue;
    try {
      if (!job.opts.mmap && !job.opts.device) job.bytes = pt::ReadSmallFile(job.path);
      if (job.bytes) continue;
      if (defer_large) {
        job.large = true;
      } else {
        job.doc.emplace(pt::Load(job.path, job.opts));
      }
    } catch (...) {
      DescribeCurrentException(&job.code, &job.message, &job.type_error);
    }
  }
}

// On the JS thread: parses the small files, builds every value, and gives [values, errors,
// large] (each file settles on its own: its value or its error).
Napi::Value SettleJobs(Napi::Env env, std::vector<LoadJob>& jobs) {
  Napi::Array values = Napi::Array::New(env, jobs.size());
  Napi::Array errors = Napi::Array::New(env, jobs.size());
  Napi::Array large = Napi::Array::New(env);
  for (uint32_t i = 0; i < jobs.size(); ++i) {
    LoadJob& job = jobs[i];
    if (job.large) large.Set(large.Length(), Napi::Number::New(env, i));
    if (job.bytes) {
      try {
        job.doc.emplace(pt::LoadBytes(std::move(job.bytes), job.path));
      } catch (...) {
        DescribeCurrentException(&job.code, &job.message, &job.type_error);
      }
    }
    if (job.doc) {
      try {
        values.Set(i, ValueToJs(env, job.doc->root));
      } catch (const Napi::Error& e) {
        errors.Set(i, e.Value());  // a JS exception during the conversion
      } catch (...) {
        DescribeCurrentException(&job.code, &job.message, &job.type_error);
      }
      job.doc.reset();
    }
    if (!job.code.empty()) errors.Set(i, MakeError(env, job.code, job.message, job.type_error).Value());
  }
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, values);
  out.Set(1u, errors);
  out.Set(2u, large);
  return out;
}

// ptLoadMany(paths, mmaps, devices, smallOnly, inline) -> Promise<[values, errors, large]>: reads the
// files one after another on one worker thread; files of at most 1 MiB (without mmap or a
// device) are parsed on the JS thread (pt::LoadBytes). values[i] is file i's value, or undefined
// where errors[i] is its Error. With smallOnly, a file above 1 MiB in a batch of several is left
// unread and its index listed in `large`, so that lib/io/pt.ts loads it in a call of its own: a
// batch of small files is never held up behind a large one. lib/io/pt.ts batches the load()
// calls made in one turn of the event loop into a few of these, so that a batch costs one
// threadpool round trip, not one per file. With `inline` (lib/io/pt.ts: a batch of one or two
// loads), small files whose bytes are all in the page cache are read here on the JS thread
// without waiting for any disk (pt::ReadCachedSmallFile), and when that serves the whole batch
// the promise is settled without a round trip to a worker thread: that round trip (two thread
// wake-ups) cost more than loading a small file does.
Napi::Value LoadMany(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray()) {
      throw Error(code::kInternal, "ptLoadMany needs three arrays");
    }
    Napi::Array paths = info[0].As<Napi::Array>(), mmaps = info[1].As<Napi::Array>(),
                devices = info[2].As<Napi::Array>();
    const bool small_only = info[3].ToBoolean().Value();
    const bool try_inline = info[4].ToBoolean().Value();
    auto jobs = std::make_shared<std::vector<LoadJob>>(paths.Length());
    bool all_inline = try_inline;
    for (uint32_t i = 0; i < paths.Length(); ++i) {
      LoadJob& job = (*jobs)[i];
      job.path = ToString(paths.Get(i), "path");
      job.opts.mmap = mmaps.Get(i).ToBoolean().Value();
      try {
        job.opts.device = DeviceArg(devices.Get(i));  // fails without CUDA: that load alone rejects
      } catch (...) {
        DescribeCurrentException(&job.code, &job.message, &job.type_error);
      }
      if (try_inline && job.code.empty() && !job.opts.mmap && !job.opts.device)
        job.bytes = pt::ReadCachedSmallFile(job.path);
      all_inline = all_inline && (job.bytes || !job.code.empty());
    }
    if (all_inline) {
      Napi::Promise::Deferred settled = Napi::Promise::Deferred::New(info.Env());
      settled.Resolve(SettleJobs(info.Env(), *jobs));
      return settled.Promise();
    }
    return RunAsync<Jobs>(
        info.Env(),
        [jobs, small_only]() {
          // A batch of one file (a lone load) has no file to hold up: it loads a large file too.
          ReadJobs(*jobs, small_only && jobs->size() > 1);
          return jobs;
        },
        [](Napi::Env env, Jobs& done) -> Napi::Value { return SettleJobs(env, *done); });
  });
}

std::shared_ptr<Document> ToDocument(Napi::Env env, const Napi::Value& value) {
  auto doc = std::make_shared<Document>();
  doc->root = ValueFromJs(env, value, *doc, JsReadContext{"cannot save", "value", "", false});
  return doc;
}

// ptSaveSync(path, value)
Napi::Value SaveSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    auto doc = ToDocument(info.Env(), info[1]);
    pt::Save(path, *doc);
    return info.Env().Undefined();
  });
}

// ptSave(path, value) -> Promise
Napi::Value SaveAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    auto doc = ToDocument(info.Env(), info[1]);
    return RunAsync<bool>(
        info.Env(),
        [path, doc]() {
          pt::Save(path, *doc);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

}  // namespace

void PtBindingInit(Napi::Env env, Napi::Object exports) {
  exports.Set("ptLoadSync", Napi::Function::New(env, LoadSync));
  exports.Set("ptLoadMany", Napi::Function::New(env, LoadMany));
  exports.Set("ptSaveSync", Napi::Function::New(env, SaveSync));
  exports.Set("ptSave", Napi::Function::New(env, SaveAsync));
  PtArchiveBindingInit(env, exports);
}

}  // namespace jepa
