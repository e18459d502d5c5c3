// Whole JEPA training steps in libtorch: masks in, loss and updated weights out, no copy
// through JS. Plain C++ (no Node-API).
//
// One step of each kind mirrors its Python reference operation for operation, so that the
// same inputs give the same loss and weights (the tests compare within 1e-5):
//   I-JEPA  (facebookresearch/ijepa src/train.py): target encoder under no_grad on the full
//           input, layer_norm without affine (normalize_targets), the target-mask tokens
//           (repeated for each context mask); context encoder on the context masks; predictor;
//           smooth L1; backward; AdamW; EMA of the target encoder.
//   V-JEPA  (facebookresearch/jepa app/vjepa/train.py, and V-JEPA 2's facebookresearch/vjepa2
//           app/vjepa/train.py): the same per mask config i (context masks[i], target
//           masks[i]), the predictor called with mask_index i (V-JEPA) or a fixed index (V-JEPA
//           2 passes its clip-length group's index) when its forward takes one; loss =
//           mean_i mean(|z_i - h_i|^p) / p, plus V-JEPA's reg_coeff * mean(relu(1 - std)) term;
//           gradients clipped from clip_grad_from on (V-JEPA: after the warm-up epochs).
//   H-JEPA  (jonwiggins/H-JEPA src/trainers/trainer.py, src/losses/hjepa_loss.py): one module
//           whose forward(images, mask) returns per-level predictions, targets and masks_valid;
//           per level the mse / smooth L1 / huber loss of (optionally L2-normalised) predictions
//           and detached targets, a plain mean or, with masked_loss, the sum over valid entries
//           divided by their count; total = sum(stack(levels) * float32 weights); EMA
//           context_encoder.* -> target_encoder.* inside the module, before the optimizer step.
//   Motion  (seed 003): reconstruction MSE + temporal-difference MSE + latent smoothness.
//   VL      (seed 004): 1 - cosine(predicted, text embedding), averaged over the batch.
// AdamW is torch.optim.AdamW's single-tensor path (the one Python takes on CPU), written out so
// that its state has Python's layout (state_dict) and its arithmetic Python's order.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "distributed/distributed.h"
#include "model/module.h"
#include "train/ema.h"
#include "train/schedule.h"

namespace jepa {

enum class TrainerKind { kIJepa, kVJepa, kHJepa, kMotion, kVl };

// H-JEPA's base loss (HJEPALoss loss_type).
enum class HJepaLossType { kMse, kSmoothL1, kHuber };

// torch.optim.AdamW (decoupled weight decay, amsgrad off, maximize off).
class AdamW {
 public:
  struct Group {
    std::vector<at::Tensor> params;
    std::vector<std::string> names;  // "context.blocks.0.attn.qkv.weight", for messages and checkpoints
    double lr = 1e-3;
    double weight_decay = 0.01;
    bool wd_exclude = false;  // I-JEPA's WD_exclude: the weight-decay schedule leaves it at 0
  };
  // Per-parameter state, as Python's optimizer.state[p]: step is a float32 scalar tensor.
  struct State {
    at::Tensor step;
    at::Tensor exp_avg;
    at::Tensor exp_avg_sq;
  };

  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  std::vector<Group> groups;
  std::vector<State> state;  // by flat index over groups' params (Python's state_dict numbering)

  void Step();
  void ZeroGrad();
  int64_t NumParams() const;
};

// Every field is set by the binding from lib/train/options.ts, which resolves every default
// (per kind: lib/train/defaults.ts); the zeros here are placeholders, not defaults.
struct TrainerConfig {
  TrainerKind kind = TrainerKind::kIJepa;
  // I-JEPA / V-JEPA: three modules; H-JEPA, motion, VL: `model`.
  std::shared_ptr<ScriptModule> context;
  std::shared_ptr<ScriptModule> target;
  std::shared_ptr<ScriptModule> predictor;
  std::shared_ptr<ScriptModule> model;

  Schedule lr;
  Schedule weight_decay;
  Schedule momentum;
  double beta1 = 0;
  double beta2 = 0;
  double eps = 0;
  // Exclude biases and 1-D parameters from weight decay (I-JEPA's four groups).
  bool exclude_bias_and_norm = false;
  // Clip the gradient norm of each module (context encoder and predictor separately, as V-JEPA),
  // at steps >= clip_grad_from only (V-JEPA clips once `epoch > warmup`).
  std::optional<double> clip_grad;
  int64_t clip_grad_from = 0;
  EmaFormula ema_formula = EmaFormula::kForeach;
  double loss_exp = 0;             // V-JEPA's p
  bool normalize_targets = false;  // I-JEPA / V-JEPA: layer_norm the target encoder's output
  // V-JEPA: the predictor's mask_index (when its forward takes one): the mask config's index
  // when absent (V-JEPA's PredictorMultiMaskWrapper), else this value (V-JEPA 2's wrapper passes
  // the index of the clip-length group, 0 for a batch of one clip length).
  std::optional<int64_t> mask_index;
  double reg_coeff = 0;               // V-JEPA: weight of the predictor-variance term
  std::vector<double> level_weights;  // H-JEPA; empty = 1 for every level
  HJepaLossType hjepa_loss = HJepaLossType::kMse;
  double huber_delta = 0;
  bool normalize_embeddings = false;  // H-JEPA: F.normalize(p=2, dim=-1, eps=1e-8) both sides
  bool masked_loss = false;           // H-JEPA: loss over masks_valid entries only
  // Update the target encoder before the optimizer step (jonwiggins/H-JEPA, with the momentum of
  // the step) instead of after it (I-JEPA, V-JEPA).
  bool ema_before_step = false;
  double recon_weight = 0;  // motion
  double motion_weight = 0;
  double smooth_weight = 0;
  bool bf16 = false;  // autocast to bfloat16 (CPU or CUDA) for forward + loss
  // Data-parallel training: the first step broadcasts rank 0's parameters and buffers (all
  // modules, the target encoder too); every step averages the gradients over the ranks before
  // clipping and AdamW, so every rank applies the same update and the same EMA.
  std::shared_ptr<DistGroup> dist;
};

struct Batch {
  at::Tensor images;                      // I-JEPA, V-JEPA, H-JEPA
  std::vector<at::Tensor> context_masks;  // I-JEPA, V-JEPA (V-JEPA: one per config)
  std::vector<at::Tensor> target_masks;
  at::Tensor mask;      // H-JEPA [B, N], 1 = masked
  at::Tensor features;  // motion [B, T, N, C] / [B, T, H, W, C]
  at::Tensor inputs;    // VL image embeddings
  at::Tensor targets;   // VL text embeddings
};

struct StepStats {
  double loss = 0;
  double loss_mean = 0;       // the loss averaged over the ranks (= loss without `dist`)
  std::vector<double> parts;  // V-JEPA per config, H-JEPA per level, motion (recon, temporal, smooth)
  double lr = 0;
  double weight_decay = 0;
  double momentum = 0;   // NaN for kinds without EMA
  double grad_norm = 0;  // context encoder (or model), before clipping
  double grad_norm_predictor = 0;
  bool clipped = false;  // whether clip_grad applied at this step
  int64_t step = 0;      // the step just done (0-based)
  double ms = 0;
};

class Trainer {
 public:
  // Builds the optimizer's parameter groups and puts the trained modules in train mode
  // (kModuleBusy when calls on them are in flight).
  explicit Trainer(TrainerConfig config);

  // One training step; serialised (a second call waits). Thread-safe.
  StepStats Step(const Batch& batch);

  int64_t step() const { return step_; }
  int64_t epoch() const { return epoch_; }
  void set_step(int64_t s) { step_ = s; }
  void set_epoch(int64_t e) { epoch_ = e; }
  const TrainerConfig& config() const { return config_; }
  AdamW& optimizer() { return optimizer_; }
  std::mutex& mutex() { return mutex_; }
  // Learning rate and weight decay of one parameter group, where a checkpoint gives them.
  struct GroupValues {
    std::optional<double> lr;
    std::optional<double> weight_decay;
  };
  // Replaces the optimizer state with a checkpoint's (by flat parameter index, Python's
  // state_dict numbering; a state without `step` means none yet), each tensor copied to its
  // parameter's device and dtype (`step` to a float32 CPU scalar), and sets the groups' values
  // that `groups` gives. Throws kParameterMismatch when the count or a shape differs.
  // Thread-safe.
  void LoadOptimizerState(const std::vector<AdamW::State>& states, const std::vector<GroupValues>& groups);
  // Pairs (target, source) of the EMA; empty for kinds without one.
  const std::vector<std::pair<at::Tensor, at::Tensor>>& ema_pairs() const { return ema_pairs_; }

 private:
  at::Tensor JepaLoss(const Batch& batch, StepStats& stats);
  at::Tensor HJepaLoss(const Batch& batch, StepStats& stats);
  at::Tensor MotionLoss(const Batch& batch, StepStats& stats);
  at::Tensor VlLoss(const Batch& batch, StepStats& stats);

  TrainerConfig config_;
  AdamW optimizer_;
  std::vector<at::Tensor> clip_a_;     // parameters clipped together (context encoder / model)
  std::vector<at::Tensor> clip_b_;     // predictor
  bool predictor_mask_index_ = false;  // the predictor's forward takes a 4th argument, mask_index
  std::vector<std::pair<at::Tensor, at::Tensor>> ema_pairs_;
  std::vector<at::Tensor> sync_tensors_;  // parameters and buffers of every module (dist)
  bool dist_synced_ = false;
  int64_t step_ = 0;
  int64_t epoch_ = 0;
  std::mutex mutex_;
};

// I-JEPA's apply_masks (masks: [B, K] or [K] keep indices; concatenated along the batch) and
// repeat_interleave_batch.
at::Tensor ApplyMasks(const at::Tensor& x, const std::vector<at::Tensor>& masks);
at::Tensor RepeatInterleaveBatch(const at::Tensor& x, int64_t batch, int64_t repeat);

// torch.nn.utils.clip_grad_norm_ (norm 2, foreach form): returns the total norm before
// clipping; with max_norm absent only measures.
double ClipGradNorm(const std::vector<at::Tensor>& params, std::optional<double> max_norm);

}  // namespace jepa
