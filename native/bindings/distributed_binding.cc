// The native side of lib/distributed/distributed.ts. Collectives are issued on the JS thread (so that the
// order of the calls is the order on the wire, the same on every rank) and waited for on a libuv
// worker (the Promise forms) or on the calling thread (the *Sync forms).
#include "bindings/distributed_binding.h"

#include <napi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings/tensor_binding.h"
#include "core/async.h"
#include "core/common.h"

namespace jepa {

namespace {

using Tensors = std::vector<at::Tensor>;

Napi::Value TensorsToJs(Napi::Env env, Tensors& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorHandle::New(env, ts[i]));
  return out;
}

ReduceOp ToOp(const std::string& name) {
  if (name == "sum") return ReduceOp::kSum;
  if (name == "avg") return ReduceOp::kAvg;
  if (name == "product") return ReduceOp::kProduct;
  if (name == "min") return ReduceOp::kMin;
  if (name == "max") return ReduceOp::kMax;
  throw Error(code::kInvalidArgument, "unknown reduce op " + name, true);
}

class DistGroupHandle : public Napi::ObjectWrap<DistGroupHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeProcessGroup",
                                      {
                                          InstanceMethod("rank", &DistGroupHandle::Rank),
                                          InstanceMethod("worldSize", &DistGroupHandle::WorldSize),
                                          InstanceMethod("backend", &DistGroupHandle::Backend),
                                          InstanceMethod("allReduce", &DistGroupHandle::AllReduce),
                                          InstanceMethod("allReduceSync", &DistGroupHandle::AllReduceSync),
                                          InstanceMethod("broadcast", &DistGroupHandle::Broadcast),
                                          InstanceMethod("broadcastSync", &DistGroupHandle::BroadcastSync),
                                          InstanceMethod("allGather", &DistGroupHandle::AllGather),
                                          InstanceMethod("allGatherSync", &DistGroupHandle::AllGatherSync),
                                          InstanceMethod("barrier", &DistGroupHandle::Barrier),
                                          InstanceMethod("barrierSync", &DistGroupHandle::BarrierSync),
                                          InstanceMethod("destroy", &DistGroupHandle::Destroy),
                                          InstanceMethod("destroySync", &DistGroupHandle::DestroySync),
                                      });
    GetAddonData(env).dist_group_ctor = Napi::Persistent(ctor);
  }

  static Napi::Object New(Napi::Env env, std::shared_ptr<DistGroup> group) {
    Napi::Object obj = GetAddonData(env).dist_group_ctor.New({});
    Unwrap(obj)->group_ = std::move(group);
    return obj;
  }

  static std::shared_ptr<DistGroup> Get(const Napi::Value& v, const char* what) {
    Napi::Env env = v.Env();
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(GetAddonData(env).dist_group_ctor.Value())) {
      throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be a process group", true);
    }
    return Unwrap(v.As<Napi::Object>())->group_;
  }

  explicit DistGroupHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DistGroupHandle>(info) {}

 private:
  // The tensor argument of a collective: dense and contiguous, on the backend's device kind.
  at::Tensor Arg(const Napi::Value& v) {
    const at::Tensor& t = TensorHandle::Get(v, "tensor");
    if (!t.is_contiguous())
      throw Error(code::kNotContiguous, "collectives need a contiguous tensor: call .contiguous() first");
    const bool cuda = t.is_cuda();
    if (group_->backend() == "gloo" && !t.is_cpu()) {
      throw Error(code::kDeviceMismatch,
                  "the gloo backend works on CPU tensors, got one on " + t.device().str());
    }
    if (group_->backend() == "nccl" && !cuda) {
      throw Error(code::kDeviceMismatch,
                  "the nccl backend works on CUDA tensors, got one on " + t.device().str());
    }
    return t;
  }

  Napi::Value Waited(Napi::Env env, std::shared_ptr<DistWork> work, bool sync) {
    auto group = group_;
    if (sync) {
      Tensors out = group->Wait(*work);
      return TensorsToJs(env, out);
    }
    return RunAsync<Tensors>(
        env, [group, work]() { return group->Wait(*work); },
        [](Napi::Env env, Tensors& out) { return TensorsToJs(env, out); });
  }

  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), group_->rank()); }
  Napi::Value WorldSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), group_->world_size());
  }
  Napi::Value Backend(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), group_->backend());
  }

  Napi::Value DoAllReduce(const Napi::CallbackInfo& info, bool sync) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      at::Tensor t = Arg(info[0]);
      return Waited(env, group_->IssueAllReduce(t, ToOp(ToString(info[1], "op"))), sync);
    });
  }
  Napi::Value AllReduce(const Napi::CallbackInfo& info) { return DoAllReduce(info, false); }
  Napi::Value AllReduceSync(const Napi::CallbackInfo& info) { return DoAllReduce(info, true); }

  Napi::Value DoBroadcast(const Napi::CallbackInfo& info, bool sync) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      at::Tensor t = Arg(info[0]);
      const int root = static_cast<int>(ToDouble(info[1], "root"));
      return Waited(env, group_->IssueBroadcast(t, root), sync);
    });
  }
  Napi::Value Broadcast(const Napi::CallbackInfo& info) { return DoBroadcast(info, false); }
  Napi::Value BroadcastSync(const Napi::CallbackInfo& info) { return DoBroadcast(info, true); }

  Napi::Value DoAllGather(const Napi::CallbackInfo& info, bool sync) {
    Napi::Env env = info.Env();
    return Guard(env,
                 [&]() -> Napi::Value { return Waited(env, group_->IssueAllGather(Arg(info[0])), sync); });
  }
  Napi::Value AllGather(const Napi::CallbackInfo& info) { return DoAllGather(info, false); }
  Napi::Value AllGatherSync(const Napi::CallbackInfo& info) { return DoAllGather(info, true); }

  Napi::Value DoBarrier(const Napi::CallbackInfo& info, bool sync) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value { return Waited(env, group_->IssueBarrier(), sync); });
  }
  Napi::Value Barrier(const Napi::CallbackInfo& info) { return DoBarrier(info, false); }
  Napi::Value BarrierSync(const Napi::CallbackInfo& info) { return DoBarrier(info, true); }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto group = group_;
    return Guard(env, [&]() -> Napi::Value {
      return RunAsync<bool>(
          env,
          [group]() {
            group->Destroy();
            return true;
          },
          [](Napi::Env env, bool&) { return env.Undefined(); });
    });
  }
  Napi::Value DestroySync(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      group_->Destroy();
      return info.Env().Undefined();
    });
  }

  std::shared_ptr<DistGroup> group_;
};

DistOptions OptionsFromJs(const Napi::Value& raw) {
  if (!raw.IsObject()) throw Error(code::kInvalidArgument, "expected distributed options", true);
  Napi::Object o = raw.As<Napi::Object>();
  DistOptions d;
  d.backend = ToString(o.Get("backend"), "backend");
  d.master_addr = ToString(o.Get("masterAddr"), "masterAddr");
  d.master_port = static_cast<int>(ToDouble(o.Get("masterPort"), "masterPort"));
  d.rank = static_cast<int>(ToDouble(o.Get("rank"), "rank"));
  d.world_size = static_cast<int>(ToDouble(o.Get("worldSize"), "worldSize"));
  d.timeout = std::chrono::milliseconds(static_cast<int64_t>(ToDouble(o.Get("timeoutMs"), "timeoutMs")));
  if (o.Get("hostname").IsString()) d.hostname = o.Get("hostname").As<Napi::String>().Utf8Value();
  return d;
}

Napi::Value InitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    DistOptions o = OptionsFromJs(info[0]);
    return RunAsync<std::shared_ptr<DistGroup>>(
        env, [o]() { return DistGroup::Create(o); },
        [](Napi::Env env, std::shared_ptr<DistGroup>& g) { return DistGroupHandle::New(env, g); });
  });
}

Napi::Value InitSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    return DistGroupHandle::New(env, DistGroup::Create(OptionsFromJs(info[0])));
  });
}

// distBackendAvailable(name) -> null | 'why not'
Napi::Value BackendAvailable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string why;
    if (DistBackendAvailable(ToString(info[0], "backend"), &why)) return env.Null();
    return Napi::String::New(env, why);
  });
}

}  // namespace

std::shared_ptr<DistGroup> DistGroupFromJs(const Napi::Value& value, const char* what) {
  return DistGroupHandle::Get(value, what);
}

void DistributedBindingInit(Napi::Env env, Napi::Object exports) {
  DistGroupHandle::Init(env, exports);
  exports.Set("distInit", Napi::Function::New(env, InitAsync));
  exports.Set("distInitSync", Napi::Function::New(env, InitSync));
  exports.Set("distBackendAvailable", Napi::Function::New(env, BackendAvailable));
}

}  // namespace jepa
