// The native side of lib/train/ema.ts: EMA updates and schedule values (ScheduleFromJs is shared
// with the trainers, trainer_binding.cc).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings/module_binding.h"
#include "bindings/tensor_binding.h"
#include "bindings/train_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "model/module.h"
#include "train/ema.h"
#include "train/schedule.h"

namespace jepa {

namespace {

// One side of an EMA update, decoded on the JS thread: named tensors (from a module or a
// name -> tensor collection) or a positional list, plus the modules to keep reserved.
struct EmaSide {
  bool named = true;
  NamedTensors tensors;
  std::vector<std::shared_ptr<void>> tokens;
};

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Raw forms (lib/train/ema.ts): {kind: 'module', module, prefix}, {kind: 'named', entries: [[name, t]]},
// {kind: 'list', tensors: [t]}.
EmaSide DecodeSide(const Napi::Value& raw, const char* what, bool buffers) {
  if (!raw.IsObject())
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an object", true);
  Napi::Object o = raw.As<Napi::Object>();
  const std::string kind = ToString(o.Get("kind"), "kind");
  EmaSide side;
  if (kind == "module") {
    std::shared_ptr<ScriptModule> module = ModuleHandle::Get(o.Get("module"), what);
    const std::string prefix =
        o.Get("prefix").IsString() ? o.Get("prefix").As<Napi::String>().Utf8Value() : "";
    auto add = [&](const NamedTensors& list) {
      for (const auto& [name, t] : list) {
        if (StartsWith(name, prefix)) side.tensors.emplace_back(name.substr(prefix.size()), t);
      }
    };
    add(module->NamedParameters());
    if (buffers) add(module->NamedBuffers());
    side.tokens.push_back(module->Reserve());
    return side;
  }
  if (kind == "named" || kind == "list") {
    side.named = kind == "named";
    Napi::Array arr = o.Get(side.named ? "entries" : "tensors").As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      if (side.named) {
        Napi::Array pair = arr.Get(i).As<Napi::Array>();
        const std::string name = ToString(pair.Get(0u), "name");
        side.tensors.emplace_back(name, TensorHandle::Get(pair.Get(1u), what));
      } else {
        side.tensors.emplace_back(std::to_string(i), TensorHandle::Get(arr.Get(i), what));
      }
    }
    return side;
  }
  throw Error(code::kInvalidArgument, std::string("unknown kind of `") + what + "`: " + kind, true);
}

struct EmaCall {
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  double momentum;
  EmaFormula formula;
  bool fused;
  std::vector<std::shared_ptr<void>> tokens;
};

EmaCall PrepareEma(const Napi::CallbackInfo& info) {
  Napi::Object opts = info[3].IsObject() ? info[3].As<Napi::Object>() : Napi::Object::New(info.Env());
  const bool buffers = opts.Get("buffers").ToBoolean().Value();
  EmaSide target = DecodeSide(info[0], "target", buffers);
  EmaSide source = DecodeSide(info[1], "source", buffers);
  EmaCall call;
  call.momentum = ToDouble(info[2], "momentum");
  const std::string formula =
      opts.Get("formula").IsString() ? opts.Get("formula").As<Napi::String>().Utf8Value() : "foreach";
  call.formula = formula == "loop" ? EmaFormula::kLoop : EmaFormula::kForeach;
  call.fused = !opts.Get("fused").IsBoolean() || opts.Get("fused").As<Napi::Boolean>().Value();
  if (target.named && source.named) {
    call.pairs = MatchByName(target.tensors, source.tensors);
  } else {
    std::vector<at::Tensor> t;
    std::vector<at::Tensor> s;
    for (auto& [n, x] : target.tensors) t.push_back(x);
    for (auto& [n, x] : source.tensors) s.push_back(x);
    call.pairs = MatchByPosition(t, s);
  }
  for (const auto& [t, s] : call.pairs) {
    if (t.is_same(s)) throw Error(code::kInvalidArgument, "the target and the source share a tensor", true);
  }
  call.tokens = std::move(target.tokens);
  for (auto& tok : source.tokens) call.tokens.push_back(std::move(tok));
  return call;
}

Napi::Value StatsToJs(Napi::Env env, const EmaStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tensors", Napi::Number::New(env, static_cast<double>(s.tensors)));
  o.Set("copied", Napi::Number::New(env, static_cast<double>(s.copied)));
  o.Set("elements", Napi::Number::New(env, static_cast<double>(s.elements)));
  o.Set("fused", Napi::Boolean::New(env, s.fused));
  return o;
}

// emaUpdate(target, source, momentum, {buffers, formula, fused}) -> Promise<stats>
Napi::Value EmaUpdateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    auto call = std::make_shared<EmaCall>(PrepareEma(info));
    return RunAsync<EmaStats>(
        env, [call]() { return EmaUpdate(call->pairs, call->momentum, call->formula, call->fused); },
        [](Napi::Env env, EmaStats& s) { return StatsToJs(env, s); });
  });
}

Napi::Value EmaUpdateSyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    EmaCall call = PrepareEma(info);
    return StatsToJs(env, EmaUpdate(call.pairs, call.momentum, call.formula, call.fused));
  });
}

Napi::Value EmaFusedAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), FusedEmaAvailable());
}

}  // namespace

// Raw schedule (lib/train/ema.ts toScheduleOptions): {kind, start, end, peak, steps, warmupSteps},
// validated there.
Schedule ScheduleFromJs(const Napi::Value& raw) {
  if (!raw.IsObject()) throw Error(code::kInvalidArgument, "expected a schedule object", true);
  Napi::Object o = raw.As<Napi::Object>();
  Schedule s;
  const std::string kind = ToString(o.Get("kind"), "kind");
  if (kind == "constant") {
    s.kind = ScheduleKind::kConstant;
  } else if (kind == "linear") {
    s.kind = ScheduleKind::kLinear;
  } else if (kind == "cosine") {
    s.kind = ScheduleKind::kCosine;
  } else if (kind == "warmupCosine") {
    s.kind = ScheduleKind::kWarmupCosine;
  } else if (kind == "cosineWd") {
    s.kind = ScheduleKind::kCosineWd;
  } else if (kind == "linearDecay") {
    s.kind = ScheduleKind::kLinearDecay;
  } else if (kind == "hjepaWarmupCosine") {
    s.kind = ScheduleKind::kHJepaWarmupCosine;
  } else if (kind == "hjepaWarmupLinear") {
    s.kind = ScheduleKind::kHJepaWarmupLinear;
  } else if (kind == "hjepaEma") {
    s.kind = ScheduleKind::kHJepaEma;
  } else if (kind == "seed001-literal") {
    s.kind = ScheduleKind::kSeed001Literal;
  } else {
    throw Error(code::kInvalidArgument, "unknown schedule kind " + kind, true);
  }
  // Every field is given (lib/train/ema.ts fills the defaults: no second copy of them here).
  s.start = ToDouble(o.Get("start"), "schedule.start");
  s.end = ToDouble(o.Get("end"), "schedule.end");
  s.peak = ToDouble(o.Get("peak"), "schedule.peak");
  s.steps = ToDouble(o.Get("steps"), "schedule.steps");
  s.warmup_steps = ToDouble(o.Get("warmupSteps"), "schedule.warmupSteps");
  s.Validate();
  return s;
}

namespace {

// scheduleValues(spec, from, count) -> Float64Array of At(from), ..., At(from + count - 1)
Napi::Value ScheduleValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Schedule s = ScheduleFromJs(info[0]);
    const int64_t from = static_cast<int64_t>(ToDouble(info[1], "from"));
    const int64_t count = static_cast<int64_t>(ToDouble(info[2], "count"));
    Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = s.At(from + i);
    return out;
  });
}

}  // namespace

void InitEma(Napi::Env env, Napi::Object exports) {
  exports.Set("emaUpdate", Napi::Function::New(env, EmaUpdateJs));
  exports.Set("emaUpdateSync", Napi::Function::New(env, EmaUpdateSyncJs));
  exports.Set("emaFusedAvailable", Napi::Function::New(env, EmaFusedAvailable));
  exports.Set("scheduleValues", Napi::Function::New(env, ScheduleValues));
}

}  // namespace jepa
