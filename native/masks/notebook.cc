// See notebook.h. The notebook's float arithmetic is kept in its order (Python floats / NumPy
// float64 scalars, math.sqrt, round half to even).
#include "masks/notebook.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "masks/numpy_random.h"

namespace jepa {
namespace masks {

namespace {

// min(int(round(x)), cap) for x >= 0; throws where Python's int() of an infinite value raises.
int64_t RoundCapped(double x, int64_t cap, const char* what) {
  const double r = RoundHalfEven(x);
  if (!std::isfinite(r)) {
    throw Error(code::kInvalidArgument, std::string("notebook masks: the ") + what +
                                            " of a block is not finite (the aspect ratio is too extreme); "
                                            "the notebook's int(round(...)) raises OverflowError here");
  }
  return r >= static_cast<double>(cap) ? cap : static_cast<int64_t>(r);
}

at::Tensor FromVector(const std::vector<int64_t>& v, c10::Device device) {
  at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kLong);
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return device.is_cpu() ? t : t.to(device);
}

// get_mask(patch_h, patch_w, scale, aspect_ratio) with aspect_ratio = width / height.
std::vector<int64_t> GetMask(int64_t H, int64_t W, double scale, double aspect) {
  const double area = scale * static_cast<double>(H) * static_cast<double>(W);
  return {RoundCapped(std::sqrt(area / aspect), H, "height"),
          RoundCapped(std::sqrt(area * aspect), W, "width")};
}

}  // namespace

MaskBatch Notebook2d(const Notebook2dOptions& o, Stream& numpy, Stream& torch, c10::Device device) {
  const int64_t H = o.height, W = o.width, N = H * W;
  if (H < 1 || W < 1 || o.num_targets < 1) {
    throw Error(code::kInvalidArgument, "notebook2d masks: invalid grid or target count");
  }
  // forward(): three NumPy draws, in this order.
  const double target_aspect = NumpyUniform(numpy, o.target_aspect.lo, o.target_aspect.hi);
  const double target_scale = NumpyUniform(numpy, o.target_scale.lo, o.target_scale.hi);
  const double context_scale = NumpyUniform(numpy, o.context_scale.lo, o.context_scale.hi);

  MaskBatch out;
  // get_target: M blocks of one size; all_patches is their union.
  const std::vector<int64_t> t = GetMask(H, W, target_scale, target_aspect);
  const int64_t th = t[0], tw = t[1];
  std::vector<uint8_t> in_target(static_cast<size_t>(N), 0);
  for (int64_t z = 0; z < o.num_targets; ++z) {
    const int64_t top = torch.RandInt(0, H - th + 1);
    const int64_t left = torch.RandInt(0, W - tw + 1);
    const int64_t start = top * W + left;
    std::vector<int64_t> patches;
    patches.reserve(static_cast<size_t>(th * tw));
    for (int64_t i = 0; i < th; ++i) {
      for (int64_t j = 0; j < tw; ++j) {
        const int64_t p = start + i * W + j;
        patches.push_back(p);
        in_target[static_cast<size_t>(p)] = 1;
      }
    }
    out.targets.push_back(FromVector(patches, device));
  }
  // get_context: one block, minus the target patches.
  const std::vector<int64_t> c = GetMask(H, W, context_scale, o.context_aspect);
  const int64_t ch = c[0], cw = c[1];
  const int64_t top = torch.RandInt(0, H - ch + 1);
  const int64_t left = torch.RandInt(0, W - cw + 1);
  const int64_t start = top * W + left;
  std::vector<int64_t> context;
  for (int64_t i = 0; i < ch; ++i) {
    for (int64_t j = 0; j < cw; ++j) {
      const int64_t p = start + i * W + j;
      if (!in_target[static_cast<size_t>(p)]) context.push_back(p);
    }
  }
  out.context.push_back(FromVector(context, device));
  out.sizes = {{th, tw}, {ch, cw}};
  return out;
}

MaskBatch Notebook3d(const Notebook3dOptions& o, Stream& torch, c10::Device device) {
  const int64_t T = o.duration, H = o.height, W = o.width, HW = H * W, N = T * HW;
  if (T < 1 || H < 1 || W < 1) throw Error(code::kInvalidArgument, "notebook3d masks: invalid grid");
  const int64_t num_blocks = o.long_range ? 2 : 8;
  const double scale = o.long_range ? 0.70 : 0.15;
  std::vector<uint8_t> masked(static_cast<size_t>(HW), 0);  // the same in every time step
  MaskBatch out;
  for (int64_t k = 0; k < num_blocks; ++k) {
    const double aspect = Lerp(o.aspect.lo, o.aspect.hi, torch.Rand());
    const auto n = static_cast<double>(static_cast<int64_t>(static_cast<double>(HW) * scale));
    const int64_t bh = RoundCapped(std::sqrt(n * aspect), H, "height");
    const int64_t bw = RoundCapped(std::sqrt(n / aspect), W, "width");
    const int64_t top = torch.RandInt(0, std::max<int64_t>(1, H - bh + 1));
    const int64_t left = torch.RandInt(0, std::max<int64_t>(1, W - bw + 1));
    for (int64_t i = 0; i < bh; ++i) {
      for (int64_t j = 0; j < bw; ++j) masked[static_cast<size_t>((top + i) * W + left + j)] = 1;
    }
    out.sizes.push_back({top, left, bh, bw});
  }
  std::vector<int64_t> targets, context;
  for (int64_t p = 0; p < N; ++p) (masked[static_cast<size_t>(p % HW)] ? targets : context).push_back(p);
  out.targets.push_back(FromVector(targets, device));
  out.context.push_back(FromVector(context, device));
  return out;
}

}  // namespace masks
}  // namespace jepa
