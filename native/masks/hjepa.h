// H-JEPA's hierarchical mask generator (jonwiggins/H-JEPA src/masks/hierarchical.py,
// HierarchicalMaskGenerator), drawing from NumPy's legacy global generator exactly as the Python
// class does: for each level, for each sample, the target blocks (each redrawn up to
// max_attempts times while it overlaps an earlier one, then a fixed-size fallback block), then
// the context block; context = context block minus the union of the targets. Plain C++.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "masks/masks.h"

namespace jepa {
namespace masks {

struct HJepaMaskOptions {
  int64_t height = 14;  // input_size[0] // patch_size
  int64_t width = 14;
  int64_t num_hierarchies = 3;
  int64_t num_target_masks = 4;
  bool geometric = true;  // scale_progression 'geometric' (scale x 2^level), else 'linear' (x (1 + level))
  Range base_scale{0.05, 0.15};
  Range aspect{0.75, 1.5};
  int64_t max_attempts = 10;
  int64_t batch_size = 1;
};

// One level's draw settings (_compute_level_configs).
struct HJepaLevelConfig {
  Range target_scale;
  Range context_scale;
};

std::vector<HJepaLevelConfig> HJepaLevelConfigs(const HJepaMaskOptions& o);

// MaskBatch of the generator: `context[l]` bool [B, N] and `targets[l]` bool [B, M, N] for each
// level l, `binary[0]` the level-0 prediction mask bool [B, N] (the union of the level-0 targets:
// `targets.any(dim=1)`, what the H-JEPA trainer feeds its model). `sizes` holds, per level and
// sample, the blocks drawn (top, left, height, width; the M targets then the context).
// Throws kInvalidArgument where the Python class would raise (a block size that is not finite).
MaskBatch HJepaMasks(const HJepaMaskOptions& o, Stream& numpy, c10::Device device);

}  // namespace masks
}  // namespace jepa
