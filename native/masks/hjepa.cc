// See hjepa.h. The Python class's arithmetic is kept operation for operation (NumPy float64
// scalars: sqrt, round half to even), so that the block sizes, and with them every later draw,
// are the same.
#include "masks/hjepa.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"
#include "masks/numpy_random.h"

namespace jepa {
namespace masks {

namespace {

struct Block {
  int64_t top, left, height, width;
};

// int(np.round(v)) clamped to [1, cap] (max(1, min(int, cap))); throws where int() of an
// infinite or NaN value would raise in Python.
int64_t ClampedInt(double rounded, int64_t cap, const char* what) {
  if (!std::isfinite(rounded)) {
    throw Error(code::kInvalidArgument, std::string("hjepa masks: the ") + what +
                                            " of a block is not finite (the aspect ratio is too extreme); "
                                            "the Python generator raises OverflowError here");
  }
  if (rounded >= static_cast<double>(cap)) return cap;
  return std::max<int64_t>(1, static_cast<int64_t>(rounded));
}

class Generator {
 public:
  Generator(const HJepaMaskOptions& o, Stream& numpy) : o_(o), np_(numpy), occupied_(o.height * o.width) {}

  // _sample_block(scale_range, occupied, level); `avoid` says whether `occupied_` applies.
  Block Sample(Range scale_range, bool avoid, int64_t level) {
    const int64_t H = o_.height, W = o_.width;
    for (int64_t attempt = 0; attempt < o_.max_attempts; ++attempt) {
      const double scale = NumpyUniform(np_, scale_range.lo, scale_range.hi);
      double aspect_min = o_.aspect.lo, aspect_max = o_.aspect.hi;
      if (level == 0) {  // the finest level prefers square blocks
        aspect_min = std::max(aspect_min, 0.85);
        aspect_max = std::min(aspect_max, 1.15);
      }
      const double aspect = NumpyUniform(np_, aspect_min, aspect_max);
      const double area = scale * static_cast<double>(H * W);
      const double h_rounded = RoundHalfEven(std::sqrt(area / aspect));
      // width = int(np.round(height * aspect_ratio)) with the height before clamping.
      const double w_rounded = RoundHalfEven(h_rounded * aspect);
      const int64_t height = ClampedInt(h_rounded, H, "height");
      const int64_t width = ClampedInt(w_rounded, W, "width");
      const int64_t top = NumpyRandint(np_, 0, H - height + 1);
      const int64_t left = NumpyRandint(np_, 0, W - width + 1);
      if (!avoid || !Overlaps({top, left, height, width})) return {top, left, height, width};
    }
    // Fallback after max_attempts overlapping draws: a fixed size, wherever it lands.
    const int64_t height = std::max<int64_t>(1, H / (level + 2));
    const int64_t width = std::max<int64_t>(1, W / (level + 2));
    const int64_t top = NumpyRandint(np_, 0, H - height + 1);
    const int64_t left = NumpyRandint(np_, 0, W - width + 1);
    return {top, left, height, width};
  }

  void ClearOccupied() { std::fill(occupied_.begin(), occupied_.end(), static_cast<uint8_t>(0)); }
  void Occupy(const Block& b) { Fill(occupied_.data(), b); }

  // Sets the block's cells to 1 in a [H * W] row.
  void Fill(uint8_t* row, const Block& b) const {
    for (int64_t i = b.top; i < b.top + b.height; ++i) {
      std::fill_n(row + i * o_.width + b.left, b.width, static_cast<uint8_t>(1));
    }
  }

 private:
  bool Overlaps(const Block& b) const {
    for (int64_t i = b.top; i < b.top + b.height; ++i) {
      for (int64_t j = b.left; j < b.left + b.width; ++j) {
        if (occupied_[static_cast<size_t>(i * o_.width + j)]) return true;
      }
    }
    return false;
  }

  const HJepaMaskOptions& o_;
  Stream& np_;
  std::vector<uint8_t> occupied_;
};

}  // namespace

std::vector<HJepaLevelConfig> HJepaLevelConfigs(const HJepaMaskOptions& o) {
  std::vector<HJepaLevelConfig> out;
  for (int64_t level = 0; level < o.num_hierarchies; ++level) {
    const double factor = o.geometric ? static_cast<double>(int64_t{1} << std::min<int64_t>(level, 62))
                                      : static_cast<double>(1 + level);
    const double target_min = std::min(0.95, o.base_scale.lo * factor);
    const double target_max = std::min(0.95, o.base_scale.hi * factor);
    const double ratio = 0.6 + 0.3 * (static_cast<double>(level) /
                                      static_cast<double>(std::max<int64_t>(1, o.num_hierarchies - 1)));
    out.push_back({{target_min, target_max}, {std::min(0.95, ratio), std::min(1.0, ratio + 0.15)}});
  }
  return out;
}

MaskBatch HJepaMasks(const HJepaMaskOptions& o, Stream& numpy, c10::Device device) {
  const int64_t H = o.height, W = o.width, N = H * W, B = o.batch_size, M = o.num_target_masks;
  if (H < 1 || W < 1 || B < 1 || M < 1 || o.num_hierarchies < 1 || o.max_attempts < 0) {
    throw Error(code::kInvalidArgument, "hjepa masks: invalid grid, batch, level or block counts");
  }
  const std::vector<HJepaLevelConfig> configs = HJepaLevelConfigs(o);
  Generator gen(o, numpy);
  MaskBatch out;
  std::vector<Block> blocks(static_cast<size_t>(M + 1));
  for (int64_t level = 0; level < o.num_hierarchies; ++level) {
    const HJepaLevelConfig& c = configs[static_cast<size_t>(level)];
    at::Tensor context = at::zeros({B, N}, at::kBool);
    at::Tensor targets = at::zeros({B, M, N}, at::kBool);
    auto* ctx = reinterpret_cast<uint8_t*>(context.data_ptr<bool>());
    auto* tgt = reinterpret_cast<uint8_t*>(targets.data_ptr<bool>());
    std::vector<uint8_t> uni(static_cast<size_t>(N));
    for (int64_t b = 0; b < B; ++b) {
      gen.ClearOccupied();
      for (int64_t k = 0; k < M; ++k) {
        blocks[static_cast<size_t>(k)] = gen.Sample(c.target_scale, true, level);
        gen.Occupy(blocks[static_cast<size_t>(k)]);
      }
      blocks[static_cast<size_t>(M)] = gen.Sample(c.context_scale, false, level);
      std::fill(uni.begin(), uni.end(), static_cast<uint8_t>(0));
      for (int64_t k = 0; k < M; ++k) {
        gen.Fill(tgt + (b * M + k) * N, blocks[static_cast<size_t>(k)]);
        gen.Fill(uni.data(), blocks[static_cast<size_t>(k)]);
      }
      uint8_t* row = ctx + b * N;
      gen.Fill(row, blocks[static_cast<size_t>(M)]);
      for (int64_t x = 0; x < N; ++x) row[x] = row[x] && !uni[static_cast<size_t>(x)];
      std::vector<int64_t> drawn;
      drawn.reserve(static_cast<size_t>(4 * (M + 1)));
      for (const Block& blk : blocks) drawn.insert(drawn.end(), {blk.top, blk.left, blk.height, blk.width});
      out.sizes.push_back(std::move(drawn));
    }
    if (level == 0) out.binary.push_back(targets.any(1));
    out.context.push_back(context);
    out.targets.push_back(targets);
  }
  if (!device.is_cpu()) {
    for (auto* list : {&out.context, &out.targets, &out.binary}) {
      for (auto& t : *list) t = t.to(device);
    }
  }
  return out;
}

}  // namespace masks
}  // namespace jepa
