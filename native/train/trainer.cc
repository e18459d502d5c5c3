#include "train/trainer.h"

#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace jepa {
namespace {

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

c10::List<at::Tensor> ToList(const std::vector<at::Tensor>& v) {
  c10::List<at::Tensor> out;
  out.reserve(v.size());
  for (const auto& t : v) out.push_back(t);
  return out;
}

at::Tensor AsTensor(const c10::IValue& v, const char* what) {
  if (!v.isTensor()) throw Error(code::kTorch, std::string(what) + " did not return a tensor");
  return v.toTensor();
}

// bf16 autocast for the scope on `device` (CPU or CUDA), as Python's
// torch.autocast(device_type, dtype=torch.bfloat16): enable, set the dtype, increment the
// nesting; on exit clear the cast cache when the outermost scope ends and restore.
class AutocastScope {
 public:
  AutocastScope(bool on, c10::DeviceType device) : on_(on), device_(device) {
    if (!on_) return;
    prev_enabled_ = at::autocast::is_autocast_enabled(device_);
    prev_dtype_ = at::autocast::get_autocast_dtype(device_);
    prev_cache_ = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::set_autocast_dtype(device_, at::kBFloat16);
    at::autocast::set_autocast_cache_enabled(true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, prev_enabled_);
    at::autocast::set_autocast_dtype(device_, prev_dtype_);
    at::autocast::set_autocast_cache_enabled(prev_cache_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
  c10::DeviceType device_;
  bool prev_enabled_ = false;
  bool prev_cache_ = true;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

// The device type of a batch (its first tensor).
c10::DeviceType BatchDevice(const Batch& b) {
  for (const at::Tensor* t : {&b.images, &b.features, &b.inputs}) {
    if (t->defined()) return t->device().type();
  }
  return c10::kCPU;
}

// I-JEPA's param groups: [a weights, b weights, a biases/1-D (no decay), b biases/1-D].
void AddGroups(AdamW& opt, const std::vector<std::pair<std::string, NamedTensors>>& modules, bool exclude) {
  if (!exclude) {
    AdamW::Group g;
    for (const auto& [prefix, params] : modules) {
      for (const auto& [name, p] : params) {
        g.params.push_back(p);
        g.names.push_back(prefix + name);
      }
    }
    opt.groups.push_back(std::move(g));
    return;
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [prefix, params] : modules) {
      AdamW::Group g;
      g.wd_exclude = pass == 1;
      for (const auto& [name, p] : params) {
        const bool no_decay = Contains(name, "bias") || p.dim() == 1;
        if (no_decay == (pass == 1)) {
          g.params.push_back(p);
          g.names.push_back(prefix + name);
        }
      }
      opt.groups.push_back(std::move(g));
    }
  }
}

NamedTensors Filter(const NamedTensors& all, const std::string& prefix, bool keep) {
  NamedTensors out;
  for (const auto& [name, t] : all) {
    if (StartsWith(name, prefix) == keep) out.emplace_back(name, t);
  }
  return out;
}

std::vector<at::Tensor> Values(const NamedTensors& named) {
  std::vector<at::Tensor> out;
  for (const auto& [n, t] : named) out.push_back(t);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

at::Tensor ApplyMasks(const at::Tensor& x, const std::vector<at::Tensor>& masks) {
  std::vector<at::Tensor> all;
  all.reserve(masks.size());
  for (at::Tensor m : masks) {
    if (m.dim() == 1) m = m.unsqueeze(0).expand({x.size(0), -1});
    at::Tensor keep = m.unsqueeze(-1).expand({-1, -1, x.size(-1)});
    all.push_back(at::gather(x, 1, keep));
  }
  return at::cat(all, 0);
}

at::Tensor RepeatInterleaveBatch(const at::Tensor& x, int64_t batch, int64_t repeat) {
  const int64_t n = x.size(0) / batch;
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < repeat; ++r) parts.push_back(x.slice(0, i * batch, (i + 1) * batch));
  }
  return at::cat(parts, 0);
}

double ClipGradNorm(const std::vector<at::Tensor>& params, std::optional<double> max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0.0;
  std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2);
  const c10::Device first = grads[0].device();
  for (auto& n : norms) n = n.to(first);
  at::Tensor total = at::linalg_vector_norm(at::stack(norms), 2);
  if (max_norm) {
    // clip_coef = max_norm / (total_norm + 1e-6): Python's float / Tensor is reciprocal() * float.
    at::Tensor coef = (total + 1e-6).reciprocal() * *max_norm;
    at::Tensor clamped = at::clamp(coef, c10::nullopt, 1.0);
    at::_foreach_mul_(grads, clamped);
  }
  return total.item<double>();
}

// ---------------------------------------------------------------------------------------------
// AdamW: torch/optim/adam.py _single_tensor_adam with decoupled_weight_decay=True, in its order.

int64_t AdamW::NumParams() const {
  int64_t n = 0;
  for (const auto& g : groups) n += static_cast<int64_t>(g.params.size());
  return n;
}

void AdamW::Step() {
  at::NoGradGuard no_grad;
  if (state.size() != static_cast<size_t>(NumParams())) state.resize(NumParams());
  size_t index = 0;
  for (auto& group : groups) {
    const double lr = group.lr;
    const double wd = group.weight_decay;
    for (auto& param : group.params) {
      State& st = state[index++];
      const at::Tensor& grad = param.grad();
      if (!grad.defined()) continue;
      if (!st.step.defined()) {
        st.step = at::zeros({}, at::TensorOptions().dtype(at::kFloat));
        st.exp_avg = at::zeros_like(param, at::MemoryFormat::Preserve);
        st.exp_avg_sq = at::zeros_like(param, at::MemoryFormat::Preserve);
      }
      st.step.add_(1);
      if (wd != 0) param.mul_(1 - lr * wd);
      st.exp_avg.lerp_(grad, 1 - beta1);
      st.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      const double step = static_cast<double>(st.step.item<float>());
      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
      const double step_size = lr / bias_correction1;
      const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
      at::Tensor denom = (st.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps);
      param.addcdiv_(st.exp_avg, denom, -step_size);
    }
  }
}

void AdamW::ZeroGrad() {
  for (auto& group : groups) {
    for (auto& param : group.params) {
      if (param.grad().defined()) param.mutable_grad() = at::Tensor();
    }
  }
}

// ---------------------------------------------------------------------------------------------

Trainer::Trainer(TrainerConfig config) : config_(std::move(config)) {
  config_.lr.Validate();
  config_.weight_decay.Validate();
  config_.momentum.Validate();
  optimizer_.beta1 = config_.beta1;
  optimizer_.beta2 = config_.beta2;
  optimizer_.eps = config_.eps;
  switch (config_.kind) {
    case TrainerKind::kIJepa:
    case TrainerKind::kVJepa: {
      if (!config_.context || !config_.target || !config_.predictor) {
        throw Error(code::kInvalidArgument,
                    "an I-JEPA / V-JEPA trainer needs context, target and predictor modules", true);
      }
      if (config_.context == config_.target || config_.context == config_.predictor ||
          config_.target == config_.predictor) {
        throw Error(code::kInvalidArgument,
                    "the context encoder, target encoder and predictor must be three modules", true);
      }
      NamedTensors ctx = config_.context->NamedParameters();
      NamedTensors pred = config_.predictor->NamedParameters();
      AddGroups(optimizer_, {{"context.", ctx}, {"predictor.", pred}}, config_.exclude_bias_and_norm);
      clip_a_ = Values(ctx);
      clip_b_ = Values(pred);
      {
        const std::vector<MethodArg> args = config_.predictor->Arguments("forward");
        predictor_mask_index_ = args.size() >= 4 && args[3].name == "mask_index";
      }
      ema_pairs_ = MatchByName(config_.target->NamedParameters(), ctx);
      config_.context->Train(true);
      config_.predictor->Train(true);
      config_.target->Train(true);
      break;
    }
    case TrainerKind::kHJepa: {
      if (!config_.model) throw Error(code::kInvalidArgument, "an H-JEPA trainer needs its model", true);
      NamedTensors all = config_.model->NamedParameters();
      NamedTensors trained = Filter(all, "target_encoder.", false);
      AddGroups(optimizer_, {{"", trained}}, config_.exclude_bias_and_norm);
      clip_a_ = Values(trained);
      NamedTensors tgt;
      NamedTensors src;
      for (const auto& [n, t] : Filter(all, "target_encoder.", true)) tgt.emplace_back(n.substr(15), t);
      for (const auto& [n, t] : Filter(all, "context_encoder.", true)) src.emplace_back(n.substr(16), t);
      if (tgt.empty()) {
        throw Error(code::kInvalidArgument,
                    "the H-JEPA model has no target_encoder.* parameters (expected the seed 001 layout: "
                    "context_encoder, target_encoder, predictor, hierarchy_projections)",
                    true);
      }
      ema_pairs_ = MatchByName(tgt, src);
      config_.model->Train(true);
      break;
    }
    case TrainerKind::kMotion:
    case TrainerKind::kVl: {
      if (!config_.model) throw Error(code::kInvalidArgument, "this trainer needs its model", true);
      NamedTensors all = config_.model->NamedParameters();
      AddGroups(optimizer_, {{"", all}}, config_.exclude_bias_and_norm);
      clip_a_ = Values(all);
      config_.model->Train(true);
      break;
    }
  }
  for (auto& g : optimizer_.groups) g.weight_decay = g.wd_exclude ? 0.0 : config_.weight_decay.At(0);
  if (config_.dist) {
    for (const auto& m : {config_.context, config_.target, config_.predictor, config_.model}) {
      if (!m) continue;
      for (const auto& [n, t] : m->NamedParameters()) sync_tensors_.push_back(t);
      for (const auto& [n, t] : m->NamedBuffers()) sync_tensors_.push_back(t);
    }
  }
}

at::Tensor Trainer::JepaLoss(const Batch& batch, StepStats& stats) {
  const at::Tensor& images = batch.images;
  const int64_t B = images.size(0);
  at::Tensor h;
  {
    at::NoGradGuard no_grad;
    h = AsTensor(config_.target->Run("forward", {images, c10::IValue()}), "the target encoder");
    if (config_.normalize_targets) h = at::layer_norm(h, {h.size(-1)});
  }
  if (config_.kind == TrainerKind::kIJepa) {
    at::Tensor target;
    {
      at::NoGradGuard no_grad;
      target = RepeatInterleaveBatch(ApplyMasks(h, batch.target_masks), B,
                                     static_cast<int64_t>(batch.context_masks.size()));
    }
    at::Tensor z = AsTensor(config_.context->Run("forward", {images, ToList(batch.context_masks)}),
                            "the context encoder");
    z = AsTensor(
        config_.predictor->Run("forward", {z, ToList(batch.context_masks), ToList(batch.target_masks)}),
        "the predictor");
    return at::smooth_l1_loss(z, target, at::Reduction::Mean, 1.0);
  }
  // V-JEPA: one (context, target) mask pair per config; the context encoder runs on every
  // config first, then the predictor (MultiMaskWrapper, PredictorMultiMaskWrapper), so that
  // dropout and drop-path draw in the official order.
  const size_t n = batch.context_masks.size();
  std::vector<c10::List<at::Tensor>> mcs;
  std::vector<c10::List<at::Tensor>> mts;
  std::vector<at::Tensor> zs;
  for (size_t i = 0; i < n; ++i) {
    mcs.push_back(ToList({batch.context_masks[i]}));
    mts.push_back(ToList({batch.target_masks[i]}));
    zs.push_back(AsTensor(config_.context->Run("forward", {images, mcs[i]}), "the context encoder"));
  }
  at::Tensor loss;
  const double p = config_.loss_exp;
  for (size_t i = 0; i < n; ++i) {
    std::vector<c10::IValue> args{zs[i], mcs[i], mts[i]};
    if (predictor_mask_index_)
      args.emplace_back(config_.mask_index ? *config_.mask_index : static_cast<int64_t>(i));
    zs[i] = AsTensor(config_.predictor->Run("forward", std::move(args)), "the predictor");
  }
  for (size_t i = 0; i < n; ++i) {
    at::Tensor hi;
    {
      at::NoGradGuard no_grad;
      hi = ApplyMasks(h, {batch.target_masks[i]});
    }
    at::Tensor li = at::mean(at::pow(at::abs(zs[i] - hi), p)) / p;
    stats.parts.push_back(li.item<double>());
    loss = loss.defined() ? loss + li : li + 0.0;
  }
  loss = loss / static_cast<int64_t>(batch.context_masks.size());
  if (config_.reg_coeff != 0) {
    // V-JEPA's reg_fn: sum_i sqrt(var(z_i, dim=1) + 1e-4) / n; loss += reg_coeff * mean(relu(1 - std)).
    // (With reg_coeff 0 the term adds exact zeros to the loss and the gradients: it is skipped.)
    at::Tensor pstd;
    for (const auto& z : zs) {
      at::Tensor sd = at::sqrt(z.var(1) + 0.0001);
      pstd = pstd.defined() ? pstd + sd : sd;
    }
    pstd = pstd / static_cast<int64_t>(zs.size());
    at::Tensor reg = at::mean(at::relu(at::rsub(pstd, 1.0)));
    loss = loss + reg * config_.reg_coeff;
  }
  return loss;
}

at::Tensor Trainer::HJepaLoss(const Batch& batch, StepStats& stats) {
  c10::IValue out = config_.model->Run("forward", {batch.images, batch.mask});
  if (!out.isGenericDict()) throw Error(code::kTorch, "the H-JEPA model's forward did not return a dict");
  auto dict = out.toGenericDict();
  auto list = [&](const char* key) {
    if (!dict.contains(key))
      throw Error(code::kTorch, std::string("the H-JEPA model's forward returned no '") + key + "'");
    return dict.at(key).toTensorVector();
  };
  std::vector<at::Tensor> preds = list("predictions");
  std::vector<at::Tensor> targets = list("targets");
  std::vector<at::Tensor> valid;
  if (config_.masked_loss) valid = list("masks_valid");
  if (targets.size() != preds.size() || (config_.masked_loss && valid.size() != preds.size())) {
    throw Error(code::kTorch, "the H-JEPA model's forward returned lists of different lengths");
  }
  if (!config_.level_weights.empty() && config_.level_weights.size() != preds.size()) {
    throw Error(code::kInvalidArgument,
                "levelWeights has " + std::to_string(config_.level_weights.size()) +
                    " entries, but the H-JEPA model returns " + std::to_string(preds.size()) + " levels",
                true);
  }
  constexpr double kEps = 1e-8;  // HJEPALoss's eps (normalisation and masked mean)
  std::vector<at::Tensor> levels;
  for (size_t l = 0; l < preds.size(); ++l) {
    at::Tensor p = preds[l];
    at::Tensor t = targets[l];
    if (config_.normalize_embeddings) {
      // F.normalize(x, p=2, dim=-1, eps): x / norm.clamp_min(eps).expand_as(x)
      p = p / at::norm(p, 2, {-1}, true).clamp_min(kEps).expand_as(p);
      t = t / at::norm(t, 2, {-1}, true).clamp_min(kEps).expand_as(t);
    }
    t = t.detach();
    const at::Reduction::Reduction reduction =
        config_.masked_loss ? at::Reduction::None : at::Reduction::Mean;
    at::Tensor base;
    switch (config_.hjepa_loss) {
      case HJepaLossType::kMse:
        base = at::mse_loss(p, t, reduction);
        break;
      case HJepaLossType::kSmoothL1:
        base = at::smooth_l1_loss(p, t, reduction, 1.0);
        break;
      case HJepaLossType::kHuber:
        base = at::huber_loss(p, t, reduction, config_.huber_delta);
        break;
    }
    if (config_.masked_loss) {
      at::Tensor m = valid[l];
      if (m.dim() == 2) m = m.unsqueeze(-1);
      base = (base * m.to(at::kFloat)).sum() / (m.sum() + kEps);
    }
    stats.parts.push_back(base.item<double>());
    levels.push_back(base);
  }
  std::vector<double> w = config_.level_weights;
  if (w.empty()) w.assign(preds.size(), 1.0);
  at::Tensor weights = at::tensor(std::vector<float>(w.begin(), w.end()), at::kFloat).to(levels[0].device());
  return (at::stack(levels) * weights).sum();
}

at::Tensor Trainer::MotionLoss(const Batch& batch, StepStats& stats) {
  const at::Tensor& x = batch.features;
  c10::IValue out = config_.model->Run("forward", {x});
  auto tup = out.toTuple();
  at::Tensor recon = tup->elements()[0].toTensor();
  at::Tensor z = tup->elements()[1].toTensor();
  at::Tensor rec = at::mse_loss(recon, x);
  at::Tensor temporal;
  at::Tensor smooth;
  if (x.size(1) > 1) {
    const int64_t T = x.size(1);
    at::Tensor dr = recon.slice(1, 1, T) - recon.slice(1, 0, T - 1);
    at::Tensor dx = x.slice(1, 1, T) - x.slice(1, 0, T - 1);
    temporal = at::mse_loss(dr, dx);
    at::Tensor dz = z.slice(1, 1, T) - z.slice(1, 0, T - 1);
    smooth = dz.pow(2).mean();
  } else {
    temporal = at::zeros({}, rec.options());
    smooth = at::zeros({}, rec.options());
  }
  stats.parts = {rec.item<double>(), temporal.item<double>(), smooth.item<double>()};
  return rec * config_.recon_weight + temporal * config_.motion_weight + smooth * config_.smooth_weight;
}

at::Tensor Trainer::VlLoss(const Batch& batch, StepStats&) {
  at::Tensor pred = AsTensor(config_.model->Run("forward", {batch.inputs}), "the predictor");
  return at::rsub(at::cosine_similarity(pred, batch.targets, -1).mean(), 1);
}

StepStats Trainer::Step(const Batch& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  ApplyNumThreads();
  const auto t0 = std::chrono::steady_clock::now();
  StepStats stats;
  stats.step = step_;
  stats.lr = config_.lr.At(step_);
  stats.weight_decay = config_.weight_decay.At(step_);
  for (auto& g : optimizer_.groups) {
    g.lr = stats.lr;
    if (!g.wd_exclude) g.weight_decay = stats.weight_decay;
  }
  if (config_.dist && !dist_synced_) {
    config_.dist->BroadcastTensors(sync_tensors_, 0);
    dist_synced_ = true;
  }
  at::Tensor loss;
  try {
    {
      at::AutoGradMode grad(true);
      AutocastScope autocast(config_.bf16, BatchDevice(batch));
      switch (config_.kind) {
        case TrainerKind::kIJepa:
        case TrainerKind::kVJepa:
          loss = JepaLoss(batch, stats);
          break;
        case TrainerKind::kHJepa:
          loss = HJepaLoss(batch, stats);
          break;
        case TrainerKind::kMotion:
          loss = MotionLoss(batch, stats);
          break;
        case TrainerKind::kVl:
          loss = VlLoss(batch, stats);
          break;
      }
    }
    {
      at::AutoGradMode grad(true);
      loss.backward();
    }
    stats.loss = loss.item<double>();
    stats.loss_mean = stats.loss;
    if (config_.dist) {
      std::vector<at::Tensor> params;
      for (const auto& g : optimizer_.groups) params.insert(params.end(), g.params.begin(), g.params.end());
      std::vector<double> extra{stats.loss};
      config_.dist->AverageGradients(params, extra);
      stats.loss_mean = extra[0];
    }
    stats.clipped = config_.clip_grad.has_value() && step_ >= config_.clip_grad_from;
    const std::optional<double> max_norm = stats.clipped ? config_.clip_grad : std::nullopt;
    stats.grad_norm = ClipGradNorm(clip_a_, max_norm);
    if (!clip_b_.empty()) stats.grad_norm_predictor = ClipGradNorm(clip_b_, max_norm);
  } catch (...) {
    optimizer_.ZeroGrad();  // a failed step leaves no gradients behind
    throw;
  }
  stats.momentum = ema_pairs_.empty() ? std::numeric_limits<double>::quiet_NaN() : config_.momentum.At(step_);
  // jonwiggins/H-JEPA updates the target encoder from the context encoder as it was before the
  // optimizer step; I-JEPA and V-JEPA after it.
  if (!ema_pairs_.empty() && config_.ema_before_step)
    EmaUpdate(ema_pairs_, stats.momentum, config_.ema_formula);
  optimizer_.Step();
  optimizer_.ZeroGrad();
  if (!ema_pairs_.empty() && !config_.ema_before_step)
    EmaUpdate(ema_pairs_, stats.momentum, config_.ema_formula);
  ++step_;
  stats.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

void Trainer::LoadOptimizerState(const std::vector<AdamW::State>& states,
                                 const std::vector<GroupValues>& groups) {
  std::lock_guard<std::mutex> lock(mutex_);
  AdamW& opt = optimizer_;
  const int64_t n = opt.NumParams();
  if (static_cast<int64_t>(states.size()) != n) {
    throw Error(code::kParameterMismatch, "the optimizer state holds " + std::to_string(states.size()) +
                                              " parameters, the trainer's optimizer " + std::to_string(n));
  }
  std::vector<at::Tensor> params;
  std::vector<std::string> names;
  for (const auto& g : opt.groups) {
    params.insert(params.end(), g.params.begin(), g.params.end());
    names.insert(names.end(), g.names.begin(), g.names.end());
  }
  std::vector<AdamW::State> loaded(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const AdamW::State& s = states[i];
    if (!s.step.defined()) continue;
    const at::Tensor& p = params[i];
    if (s.exp_avg.sizes() != p.sizes() || s.exp_avg_sq.sizes() != p.sizes() || s.step.numel() != 1) {
      throw Error(code::kParameterMismatch, "the optimizer state of parameter " + std::to_string(i) + " (" +
                                                names[i] + ") does not have its shape");
    }
    loaded[i].step = s.step.to(at::kFloat).reshape({}).cpu().clone();
    loaded[i].exp_avg = s.exp_avg.to(p.options()).clone();
    loaded[i].exp_avg_sq = s.exp_avg_sq.to(p.options()).clone();
  }
  opt.state = std::move(loaded);
  for (size_t i = 0; i < groups.size() && i < opt.groups.size(); ++i) {
    if (groups[i].lr) opt.groups[i].lr = *groups[i].lr;
    if (groups[i].weight_decay) opt.groups[i].weight_decay = *groups[i].weight_decay;
  }
}

}  // namespace jepa
