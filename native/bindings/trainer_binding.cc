// The native side of lib/train/trainer.ts: trainers (whole training steps) and the optimizer
// state of checkpoints. The config arrives complete: lib/train/options.ts resolves every option
// and default.
#include <napi.h>

#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings/distributed_binding.h"
#include "bindings/module_binding.h"
#include "bindings/tensor_binding.h"
#include "bindings/train_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "model/module.h"
#include "train/trainer.h"

namespace jepa {

namespace {

// The config's fields are required: lib/train/options.ts resolves every one (no fallbacks here).
bool ToBool(const Napi::Value& v, const char* what) {
  if (!v.IsBoolean())
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be a boolean", true);
  return v.As<Napi::Boolean>().Value();
}

// A string that must be one of `allowed`; returns its index there.
size_t ToChoice(const Napi::Value& v, const char* what, std::initializer_list<const char*> allowed) {
  const std::string s = ToString(v, what);
  size_t i = 0;
  for (const char* a : allowed) {
    if (s == a) return i;
    ++i;
  }
  throw Error(code::kInvalidArgument, std::string("unknown `") + what + "`: " + s, true);
}

std::vector<at::Tensor> TensorList(const Napi::Value& v, const char* what) {
  std::vector<at::Tensor> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray())
    throw Error(code::kInvalidArgument, std::string("expected `") + what + "` to be an array of tensors",
                true);
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
    Napi::Function ctor =
        DefineClass(env, "NativeTrainer",
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
      c.beta1 = ToDouble(o.Get("beta1"), "beta1");
      c.beta2 = ToDouble(o.Get("beta2"), "beta2");
      c.eps = ToDouble(o.Get("eps"), "eps");
      c.exclude_bias_and_norm = ToBool(o.Get("excludeBiasAndNorm"), "excludeBiasAndNorm");
      if (o.Get("clipGrad").IsNumber()) c.clip_grad = o.Get("clipGrad").As<Napi::Number>().DoubleValue();
      c.clip_grad_from = static_cast<int64_t>(ToDouble(o.Get("clipGradFrom"), "clipGradFrom"));
      c.normalize_targets = ToBool(o.Get("normalizeTargets"), "normalizeTargets");
      // 'config': the mask config's index (V-JEPA); a number: that index for every config.
      if (o.Get("maskIndex").IsString()) {
        ToChoice(o.Get("maskIndex"), "maskIndex", {"config"});
      } else {
        c.mask_index = static_cast<int64_t>(ToDouble(o.Get("maskIndex"), "maskIndex"));
      }
      c.reg_coeff = ToDouble(o.Get("regCoeff"), "regCoeff");
      c.ema_formula = ToChoice(o.Get("emaFormula"), "emaFormula", {"foreach", "loop"}) == 1
                          ? EmaFormula::kLoop
                          : EmaFormula::kForeach;
      c.loss_exp = ToDouble(o.Get("lossExp"), "lossExp");
      if (o.Get("levelWeights").IsArray()) {
        Napi::Array a = o.Get("levelWeights").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i)
          c.level_weights.push_back(a.Get(i).As<Napi::Number>().DoubleValue());
      }
      c.hjepa_loss = std::array<HJepaLossType, 3>{
          HJepaLossType::kMse, HJepaLossType::kSmoothL1,
          HJepaLossType::kHuber}[ToChoice(o.Get("lossType"), "lossType", {"mse", "smoothl1", "huber"})];
      c.huber_delta = ToDouble(o.Get("huberDelta"), "huberDelta");
      c.normalize_embeddings = ToBool(o.Get("normalizeEmbeddings"), "normalizeEmbeddings");
      c.masked_loss = ToBool(o.Get("maskedLoss"), "maskedLoss");
      c.ema_before_step = ToChoice(o.Get("targetUpdate"), "targetUpdate", {"afterStep", "beforeStep"}) == 1;
      c.recon_weight = ToDouble(o.Get("reconWeight"), "reconWeight");
      c.motion_weight = ToDouble(o.Get("motionWeight"), "motionWeight");
      c.smooth_weight = ToDouble(o.Get("smoothWeight"), "smoothWeight");
      c.bf16 = ToBool(o.Get("bf16"), "bf16");
      if (!o.Get("dist").IsUndefined() && !o.Get("dist").IsNull())
        c.dist = DistGroupFromJs(o.Get("dist"), "dist");
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

  // setOptimizerState(states, groups?): states as optimizerState returns them (null: none yet);
  // groups: [{lr, weightDecay}] (optional). Trainer::LoadOptimizerState checks and copies them.
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      if (!info[0].IsArray()) throw Error(code::kInvalidArgument, "expected `states` to be an array", true);
      Napi::Array arr = info[0].As<Napi::Array>();
      std::vector<AdamW::State> states(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value v = arr.Get(i);
        if (v.IsNull() || v.IsUndefined()) continue;
        Napi::Object o = v.As<Napi::Object>();
        states[i].step = TensorHandle::Get(o.Get("step"), "step");
        states[i].exp_avg = TensorHandle::Get(o.Get("expAvg"), "exp_avg");
        states[i].exp_avg_sq = TensorHandle::Get(o.Get("expAvgSq"), "exp_avg_sq");
      }
      std::vector<Trainer::GroupValues> groups;
      if (info[1].IsArray()) {
        Napi::Array a = info[1].As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) {
          Napi::Object g = a.Get(i).As<Napi::Object>();
          Trainer::GroupValues values;
          if (g.Get("lr").IsNumber()) values.lr = g.Get("lr").As<Napi::Number>().DoubleValue();
          if (g.Get("weightDecay").IsNumber())
            values.weight_decay = g.Get("weightDecay").As<Napi::Number>().DoubleValue();
          groups.push_back(values);
        }
      }
      trainer_->LoadOptimizerState(states, groups);
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

void InitTrainer(Napi::Env env, Napi::Object exports) {
  TrainerHandle::Init(env, exports);
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
}

}  // namespace jepa
