// JEPA mask samplers: I-JEPA multi-block (2D), V-JEPA multi-block 3D, random tubes, H-JEPA binary
// masks and index <-> binary conversions. Plain C++ (no Node-API), so a C++ test can call them.
//
// The samplers draw exactly the numbers the reference Python samplers draw, in the same order:
//   - block sizes from `torch.Generator().manual_seed(seed)` (the collator's step counter),
//   - block positions from torch's global generator (`torch.randint` without a generator), which
//     after `torch.manual_seed(position_seed)` is a fresh generator seeded with position_seed,
//   - the random tube's permutation from numpy's legacy global RandomState (`np.random.seed`).
// All three are the same Mersenne Twister (at::mt19937); Stream reproduces the libtorch
// transformations (uniform_real_distribution<float>, uniform_int_from_to_distribution<int64_t>)
// and numpy's random_interval on top of it, so no dispatcher call is made per draw.
#pragma once
#include <ATen/ATen.h>
#include <ATen/core/MT19937RNGEngine.h>

#include <array>
#include <cstdint>
#include <vector>

namespace jepa {
namespace masks {

// A Mersenne Twister stream that draws as libtorch's CPUGeneratorImpl and numpy's legacy
// RandomState draw. `random()` / `random64()` are the names libtorch's distributions call.
class Stream {
 public:
  // Words of a saved state: 624 state words, left, next, seed (low, high).
  static constexpr size_t kStateWords = 628;

  // The stream of a generator just seeded with `seed` (torch.manual_seed / np.random.seed).
  explicit Stream(uint64_t seed);
  // Restores a state written by Save(); throws kInvalidArgument on a malformed state.
  static Stream Load(const uint32_t* words, size_t count);
  void Save(uint32_t* words) const;

  uint32_t random();    // CPUGeneratorImpl::random()
  uint64_t random64();  // CPUGeneratorImpl::random64()

  // torch.rand(1, generator=g).item(): a float32 in [0, 1), widened to double.
  double Rand();
  // torch.randint(low, high, (1,), generator=g).item() for int64; needs low < high.
  int64_t RandInt(int64_t low, int64_t high);
  // numpy's random_interval(max): uniform in [0, max] by masked rejection (legacy shuffle).
  uint64_t NumpyInterval(uint64_t max);

 private:
  Stream() = default;
  at::mt19937 engine_;
};

struct Range {
  double lo;
  double hi;
};

// I-JEPA MaskCollator (facebookresearch/ijepa src/masks/multiblock.py) on a height x width grid.
struct MultiblockOptions {
  int64_t height = 14;
  int64_t width = 14;
  Range enc_scale{0.2, 0.8};
  Range pred_scale{0.2, 0.8};
  Range aspect{0.3, 3.0};
  int64_t nenc = 1;
  int64_t npred = 2;
  int64_t min_keep = 4;
  bool allow_overlap = false;
  int64_t batch_size = 1;
  uint64_t seed = 0;  // the collator's step counter for this batch
};

// One config of the V-JEPA MaskCollator (facebookresearch/jepa src/masks/multiblock3d.py).
struct Multiblock3dConfig {
  Range spatial_scale{0.2, 0.8};
  Range temporal_scale{1.0, 1.0};
  Range aspect{0.3, 3.0};
  int64_t num_blocks = 1;
  double max_temporal_keep = 1.0;
  int64_t max_keep = -1;  // -1: none
};

struct Multiblock3dOptions {
  int64_t duration = 8;  // num_frames // tubelet_size
  int64_t height = 14;
  int64_t width = 14;
  std::vector<Multiblock3dConfig> configs;
  int64_t batch_size = 1;
  uint64_t seed = 0;
};

// Random tube masking (facebookresearch/jepa src/masks/random_tube.py).
struct RandomTubeOptions {
  int64_t duration = 8;
  int64_t height = 14;
  int64_t width = 14;
  double ratio = 0.9;
  int64_t batch_size = 1;
};

struct MaskBatch {
  std::vector<at::Tensor> context;  // int64 [B, K] each
  std::vector<at::Tensor> targets;  // int64 [B, K] each
  // Block sizes drawn from the seed: 2D {pred h, w}, {enc h, w}; 3D one {t, h, w} per config.
  std::vector<std::vector<int64_t>> sizes;
  // Context masks that were drawn after the sampler relaxed its acceptable regions (2D only).
  int64_t relaxed = 0;
  // H-JEPA binary mask [B, N] (uint8), 1 = masked, if asked: 2D the union of the target blocks,
  // random tube the complement of the context (never cut).
  std::vector<at::Tensor> binary;
};

// The I-JEPA collator for one batch; `positions` advances as the global generator would.
// With `binary`, also fills MaskBatch::binary. Results are moved to `device` at the end.
MaskBatch Multiblock(const MultiblockOptions& o, Stream& positions, c10::Device device, bool binary = false);

// The V-JEPA collator: one (context, targets) pair per config, configs drawn in order.
MaskBatch Multiblock3d(const Multiblock3dOptions& o, Stream& positions, c10::Device device);

// The random tube generator; `numpy` is numpy's global RandomState stream.
MaskBatch RandomTube(const RandomTubeOptions& o, Stream& numpy, c10::Device device, bool binary = false);

// Index masks [B, K] (several: their union) -> [B, num_patches] with 1 at the indices, in `dtype`,
// on the device of the first index tensor. Throws kInvalidArgument on an index out of range.
at::Tensor ToBinary(const std::vector<at::Tensor>& indices, int64_t num_patches, at::ScalarType dtype);

// A [B, N] mask -> int64 [B, K] indices of the entries that are nonzero (`nonzero` true) or zero,
// ascending; rows are cut to the shortest row's count, as the collators do.
at::Tensor ToIndices(const at::Tensor& mask, bool nonzero);

}  // namespace masks
}  // namespace jepa
