// The native side of lib/train/ema.ts and lib/train/trainer.ts: EMA updates, schedules, trainers.
#include <napi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/async.h"
#include "bindings/distributed_binding.h"
#include "bindings/module_binding.h"
#include "bindings/tensor_binding.h"
#include "core/common.h"
#include "train/ema.h"
#include "model/module.h"
#include "train/trainer.h"

namespace jepa {

namespace {

// One side of an EMA update, decoded on the JS thread: named tensors (from a module or a
// name -> tensor collection) or a positional list, plus the modules to keep reserved.
struct EmaSide {
  bool named = true;
  NamedTensors tensors;
  std::vector<std::shared_ptr<void>> tokens;
};

bool StartsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Raw forms (lib/train/ema.ts): {kind: 'module', module, prefix}, {kind: 'named', entries: [[name, t]]},
// {kind: 'list', tensors: [t]}.
EmaSide DecodeSide(const Napi::Value& raw, const char* what, bool buffers) {
  if (!raw.IsObject()) throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an object", true);
  Napi::Object o = raw.As<Napi::Object>();
  const std::string kind = ToString(o.Get("kind"), "kind");
  EmaSide side;
  if (kind == "module") {
    std::shared_ptr<ScriptModule> module = ModuleHandle::Get(o.Get("module"), what);
    const std::string prefix = o.Get("prefix").IsString() ? o.Get("prefix").As<Napi::String>().Utf8Value() : "";
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
  const std::string formula = opts.Get("formula").IsString() ? opts.Get("formula").As<Napi::String>().Utf8Value() : "foreach";
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

// Raw schedule (lib/train/ema.ts): {kind, start, end, peak, steps, warmupSteps}, already validated.
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
  } else if (kind == "hjepaWarmupCosine") {
    s.kind = ScheduleKind::kHJepaWarmupCosine;
  } else if (kind == "hjepaWarmupLinear") {
    s.kind = ScheduleKind::kHJepaWarmupLinear;
  } else if (kind == "hjepaEma") {
    s.kind = ScheduleKind::kHJepaEma;
  } else if (kind == "seed001-literal") {
    s.kind = ScheduleKind::kSeed001Literal;
  } else if (kind == "linearDecay") {
    s.kind = ScheduleKind::kLinearDecay;
  } else {
    throw Error(code::kInvalidArgument, "unknown schedule kind " + kind, true);
  }
  auto num = [&](const char* key, double fallback) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
  };
  s.start = num("start", 0);
  s.end = num("end", s.start);
  s.peak = num("peak", s.start);
  s.steps = num("steps", 1);
  s.warmup_steps = num("warmupSteps", 0);
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

// ---------------------------------------------------------------------------------------------
// Trainers

namespace {

double NumberOr(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

std::vector<at::Tensor> TensorList(const Napi::Value& v, const char* what) {
  std::vector<at::Tensor> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an array of tensors", true);
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(TensorHandle::Get(arr.Get(i), what));
  return out;
}

at::Tensor OptTensor(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return at::Tensor();
  return TensorHandle::Get(v, key);
}

class TrainerHandle : public Napi::ObjectWrap<TrainerHandle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeTrainer",
                                      {
                                          InstanceMethod("step", &TrainerHandle::StepAsync),
                                          InstanceMethod("stepSync", &TrainerHandle::StepSync),
                                          InstanceMethod("getStep", &TrainerHandle::GetStep),
                                          InstanceMethod("setStep", &TrainerHandle::SetStep),
                                          InstanceMethod("getEpoch", &TrainerHandle::GetEpoch),
                                          InstanceMethod("setEpoch", &TrainerHandle::SetEpoch),
                                          InstanceMethod("paramGroups", &TrainerHandle::ParamGroups),
                                          InstanceMethod("optimizerState", &TrainerHandle::OptimizerState),
                                          InstanceMethod("setOptimizerState", &TrainerHandle::SetOptimizerState),
                                      });
    GetAddonData(env).trainer_ctor = Napi::Persistent(ctor);
    exports.Set("createTrainer", Napi::Function::New(env, Create));
  }

  explicit TrainerHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerHandle>(info) {}

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      if (!info[0].IsObject()) throw Error(code::kInvalidArgument, "expected a trainer config", true);
      Napi::Object o = info[0].As<Napi::Object>();
      TrainerConfig c;
      const std::string kind = ToString(o.Get("kind"), "kind");
      if (kind == "ijepa") {
        c.kind = TrainerKind::kIJepa;
      } else if (kind == "vjepa") {
        c.kind = TrainerKind::kVJepa;
      } else if (kind == "hjepa") {
        c.kind = TrainerKind::kHJepa;
      } else if (kind == "motion") {
        c.kind = TrainerKind::kMotion;
      } else if (kind == "vl") {
        c.kind = TrainerKind::kVl;
      } else {
        throw Error(code::kInvalidArgument, "unknown trainer kind " + kind, true);
      }
      auto module = [&](const char* key) -> std::shared_ptr<ScriptModule> {
        Napi::Value v = o.Get(key);
        return v.IsUndefined() || v.IsNull() ? nullptr : ModuleHandle::Get(v, key);
      };
      c.context = module("context");
      c.target = module("target");
      c.predictor = module("predictor");
      c.model = module("model");
      c.lr = ScheduleFromJs(o.Get("lr"));
      c.weight_decay = ScheduleFromJs(o.Get("weightDecay"));
      c.momentum = ScheduleFromJs(o.Get("momentum"));
      c.beta1 = NumberOr(o, "beta1", 0.9);
      c.beta2 = NumberOr(o, "beta2", 0.999);
      c.eps = NumberOr(o, "eps", 1e-8);
      c.exclude_bias_and_norm = o.Get("excludeBiasAndNorm").ToBoolean().Value();
      if (o.Get("clipGrad").IsNumber()) c.clip_grad = o.Get("clipGrad").As<Napi::Number>().DoubleValue();
      c.clip_grad_from = static_cast<int64_t>(NumberOr(o, "clipGradFrom", 0));
      c.normalize_targets = !o.Get("normalizeTargets").IsBoolean() || o.Get("normalizeTargets").As<Napi::Boolean>().Value();
      if (o.Get("maskIndex").IsNumber()) c.mask_index = static_cast<int64_t>(o.Get("maskIndex").As<Napi::Number>().DoubleValue());
      c.reg_coeff = NumberOr(o, "regCoeff", 0.0);
      c.ema_formula = o.Get("emaFormula").IsString() && o.Get("emaFormula").As<Napi::String>().Utf8Value() == "loop"
                          ? EmaFormula::kLoop
                          : EmaFormula::kForeach;
      c.loss_exp = NumberOr(o, "lossExp", 1.0);
      if (o.Get("levelWeights").IsArray()) {
        Napi::Array a = o.Get("levelWeights").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) c.level_weights.push_back(a.Get(i).As<Napi::Number>().DoubleValue());
      }
      if (o.Get("lossType").IsString()) {
        const std::string t = o.Get("lossType").As<Napi::String>().Utf8Value();
        c.hjepa_loss = t == "smoothl1" ? HJepaLossType::kSmoothL1 : t == "huber" ? HJepaLossType::kHuber : HJepaLossType::kMse;
      }
      c.huber_delta = NumberOr(o, "huberDelta", 1.0);
      c.normalize_embeddings = o.Get("normalizeEmbeddings").ToBoolean().Value();
      c.masked_loss = o.Get("maskedLoss").ToBoolean().Value();
      c.ema_before_step = o.Get("targetUpdate").IsString() &&
                          o.Get("targetUpdate").As<Napi::String>().Utf8Value() == "beforeStep";
      c.recon_weight = NumberOr(o, "reconWeight", 1.0);
      c.motion_weight = NumberOr(o, "motionWeight", 1.0);
      c.smooth_weight = NumberOr(o, "smoothWeight", 0.05);
      c.bf16 = o.Get("bf16").ToBoolean().Value();
      if (!o.Get("dist").IsUndefined() && !o.Get("dist").IsNull()) c.dist = DistGroupFromJs(o.Get("dist"), "dist");
      auto trainer = std::make_shared<Trainer>(std::move(c));
      Napi::Object obj = GetAddonData(env).trainer_ctor.New({});
      Unwrap(obj)->trainer_ = std::move(trainer);
      return obj;
    });
  }

  struct StepCall {
    std::shared_ptr<Trainer> trainer;
    Batch batch;
    std::vector<std::shared_ptr<void>> tokens;
  };

  StepCall Prepare(const Napi::CallbackInfo& info) {
    if (!info[0].IsObject()) throw Error(code::kInvalidArgument, "expected a batch object", true);
    Napi::Object o = info[0].As<Napi::Object>();
    StepCall call;
    call.trainer = trainer_;
    call.batch.images = OptTensor(o, "images");
    call.batch.context_masks = TensorList(o.Get("contextMasks"), "contextMasks");
    call.batch.target_masks = TensorList(o.Get("targetMasks"), "targetMasks");
    call.batch.mask = OptTensor(o, "mask");
    call.batch.features = OptTensor(o, "features");
    call.batch.inputs = OptTensor(o, "inputs");
    call.batch.targets = OptTensor(o, "targets");
    const TrainerConfig& c = trainer_->config();
    for (const auto& m : {c.context, c.target, c.predictor, c.model}) {
      if (m) call.tokens.push_back(m->Reserve());
    }
    return call;
  }

  static Napi::Value StatsToJs(Napi::Env env, const StepStats& s) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", s.loss);
    o.Set("lossMean", s.loss_mean);
    Napi::Array parts = Napi::Array::New(env, s.parts.size());
    for (size_t i = 0; i < s.parts.size(); ++i) parts.Set(static_cast<uint32_t>(i), s.parts[i]);
    o.Set("parts", parts);
    o.Set("lr", s.lr);
    o.Set("weightDecay", s.weight_decay);
    o.Set("momentum", std::isnan(s.momentum) ? env.Null() : Napi::Number::New(env, s.momentum));
    o.Set("gradNorm", s.grad_norm);
    o.Set("gradNormPredictor", s.grad_norm_predictor);
    o.Set("clipped", s.clipped);
    o.Set("step", Napi::Number::New(env, static_cast<double>(s.step)));
    o.Set("ms", s.ms);
    return o;
  }

  Napi::Value StepAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      auto call = std::make_shared<StepCall>(Prepare(info));
      return RunAsync<StepStats>(
          env, [call]() { return call->trainer->Step(call->batch); },
          [](Napi::Env env, StepStats& s) { return StatsToJs(env, s); });
    });
  }

  Napi::Value StepSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      StepCall call = Prepare(info);
      return StatsToJs(env, call.trainer->Step(call.batch));
    });
  }

  Napi::Value GetStep(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(trainer_->step()));
  }
  Napi::Value SetStep(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(trainer_->mutex());
      trainer_->set_step(static_cast<int64_t>(ToDouble(info[0], "step")));
      return info.Env().Undefined();
    });
  }
  Napi::Value GetEpoch(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(trainer_->epoch()));
  }
  Napi::Value SetEpoch(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(trainer_->mutex());
      trainer_->set_epoch(static_cast<int64_t>(ToDouble(info[0], "epoch")));
      return info.Env().Undefined();
    });
  }

  // [{lr, weightDecay, wdExclude, names: [...]}], in the optimizer's order.
  Napi::Value ParamGroups(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(trainer_->mutex());
      const AdamW& opt = trainer_->optimizer();
      Napi::Array out = Napi::Array::New(env, opt.groups.size());
      for (size_t i = 0; i < opt.groups.size(); ++i) {
        const auto& g = opt.groups[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("lr", g.lr);
        o.Set("weightDecay", g.weight_decay);
        o.Set("wdExclude", g.wd_exclude);
        Napi::Array names = Napi::Array::New(env, g.names.size());
        for (size_t j = 0; j < g.names.size(); ++j) names.Set(static_cast<uint32_t>(j), g.names[j]);
        o.Set("names", names);
        out.Set(static_cast<uint32_t>(i), o);
      }
      Napi::Object r = Napi::Object::New(env);
      r.Set("groups", out);
      r.Set("beta1", opt.beta1);
      r.Set("beta2", opt.beta2);
      r.Set("eps", opt.eps);
      return r;
    });
  }

  // [ {step, expAvg, expAvgSq} | null ] by flat parameter index (tensors are copies).
  Napi::Value OptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(trainer_->mutex());
      const AdamW& opt = trainer_->optimizer();
      const int64_t n = opt.NumParams();
      Napi::Array out = Napi::Array::New(env, static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        if (static_cast<size_t>(i) >= opt.state.size() || !opt.state[i].step.defined()) {
          out.Set(static_cast<uint32_t>(i), env.Null());
          continue;
        }
        const auto& st = opt.state[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("step", TensorHandle::New(env, st.step.clone()));
        o.Set("expAvg", TensorHandle::New(env, st.exp_avg.clone()));
        o.Set("expAvgSq", TensorHandle::New(env, st.exp_avg_sq.clone()));
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    });
  }

  // setOptimizerState(states, groups?): states as OptimizerState returns; tensors are copied
  // into fresh state tensors on the parameters' devices. groups: [{lr, weightDecay}] (optional).
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(trainer_->mutex());
      AdamW& opt = trainer_->optimizer();
      Napi::Array arr = info[0].As<Napi::Array>();
      const int64_t n = opt.NumParams();
      if (static_cast<int64_t>(arr.Length()) != n) {
        throw Error(code::kParameterMismatch, "the optimizer state holds " + std::to_string(arr.Length()) +
                                                  " parameters, the trainer's optimizer " + std::to_string(n));
      }
      std::vector<AdamW::State> states(static_cast<size_t>(n));
      std::vector<at::Tensor> params;
      for (const auto& g : opt.groups) params.insert(params.end(), g.params.begin(), g.params.end());
      std::vector<std::string> names;
      for (const auto& g : opt.groups) names.insert(names.end(), g.names.begin(), g.names.end());
      for (int64_t i = 0; i < n; ++i) {
        Napi::Value v = arr.Get(static_cast<uint32_t>(i));
        if (v.IsNull() || v.IsUndefined()) continue;
        Napi::Object o = v.As<Napi::Object>();
        const at::Tensor& p = params[i];
        at::Tensor step = TensorHandle::Get(o.Get("step"), "step");
        at::Tensor m = TensorHandle::Get(o.Get("expAvg"), "exp_avg");
        at::Tensor v2 = TensorHandle::Get(o.Get("expAvgSq"), "exp_avg_sq");
        if (m.sizes() != p.sizes() || v2.sizes() != p.sizes() || step.numel() != 1) {
          throw Error(code::kParameterMismatch, "the optimizer state of parameter " + std::to_string(i) + " (" +
                                                    names[i] + ") does not have its shape");
        }
        states[i].step = step.to(at::kFloat).reshape({}).cpu().clone();
        states[i].exp_avg = m.to(p.options()).clone();
        states[i].exp_avg_sq = v2.to(p.options()).clone();
      }
      opt.state = std::move(states);
      if (info[1].IsArray()) {
        Napi::Array groups = info[1].As<Napi::Array>();
        for (uint32_t i = 0; i < groups.Length() && i < opt.groups.size(); ++i) {
          Napi::Object g = groups.Get(i).As<Napi::Object>();
          opt.groups[i].lr = NumberOr(g, "lr", opt.groups[i].lr);
          opt.groups[i].weight_decay = NumberOr(g, "weightDecay", opt.groups[i].weight_decay);
        }
      }
      return env.Undefined();
    });
  }

  std::shared_ptr<Trainer> trainer_;
};

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    bool lossless = false;
    const uint64_t seed = info[0].IsBigInt() ? info[0].As<Napi::BigInt>().Uint64Value(&lossless)
                                             : static_cast<uint64_t>(ToDouble(info[0], "seed"));
    at::manual_seed(seed);
    return info.Env().Undefined();
  });
}

}  // namespace

void InitTrain(Napi::Env env, Napi::Object exports) {
  TrainerHandle::Init(env, exports);
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("emaUpdate", Napi::Function::New(env, EmaUpdateJs));
  exports.Set("emaUpdateSync", Napi::Function::New(env, EmaUpdateSyncJs));
  exports.Set("emaFusedAvailable", Napi::Function::New(env, EmaFusedAvailable));
  exports.Set("scheduleValues", Napi::Function::New(env, ScheduleValues));
}

}  // namespace jepa
