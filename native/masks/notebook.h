// The mask samplers of seed 002's I-JEPA / V-JEPA notebook, drawn exactly as its functions draw:
//   2D (its `forward`, `get_mask`, `get_target`, `get_context`): np.random.uniform for the
//     target aspect ratio, the target scale and the context scale (NumPy's global generator), then
//     torch.randint from torch's global generator for each block's top and left corner, inclusive
//     of the last position (randint(0, H - h + 1)). Sizes: h = round(sqrt(s*H*W / r)),
//     w = round(sqrt(s*H*W * r)) with the aspect ratio r = w / h, capped at the grid, possibly 0.
//     One draw per batch: the masks are shared by every sample (1-D index tensors).
//   3D (`get_masks`): per block, torch.rand for its own aspect ratio, then torch.randint for its
//     corner; h = round(sqrt(n * r)), w = round(sqrt(n / r)) with n = int(H*W*scale); the union of
//     the blocks in every time step is the target, its complement the context.
// Plain C++.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

#include "masks/masks.h"

namespace jepa {
namespace masks {

struct Notebook2dOptions {
  int64_t height = 14;  // patch_shape
  int64_t width = 14;
  Range target_aspect{0.75, 1.5};  // width / height
  Range target_scale{0.15, 0.2};
  Range context_scale{0.85, 1.0};
  double context_aspect = 1.0;
  int64_t num_targets = 4;  // M
};

// `targets`: M int64 [h * w] tensors (each block's patches, row by row); `context`: one int64 [K]
// tensor (the context block's patches not in any target, ascending). `sizes`:
// [[target h, target w], [context h, context w]]. `numpy` and `torch` advance as the globals do.
// Throws kInvalidArgument where Python's int(round(...)) would raise (a size that is not finite).
MaskBatch Notebook2d(const Notebook2dOptions& o, Stream& numpy, Stream& torch, c10::Device device);

struct Notebook3dOptions {
  int64_t duration = 8;  // patch_t
  int64_t height = 14;
  int64_t width = 14;
  bool long_range = false;  // mask_type 'long' (2 blocks at scale 0.70), else 'short' (8 at 0.15)
  Range aspect{0.75, 1.5};  // height / width here (h = sqrt(n * r))
};

// `targets`: one int64 [K] tensor (the masked patches of every time step, ascending),
// `context`: one int64 [N - K] tensor (the rest). `sizes`: per block [top, left, h, w].
MaskBatch Notebook3d(const Notebook3dOptions& o, Stream& torch, c10::Device device);

}  // namespace masks
}  // namespace jepa
