// libFuzzer harness for the mask samplers (native/masks/): I-JEPA multi-block, V-JEPA
// multi-block 3D, random tubes, H-JEPA's hierarchical generator, seed 002's notebook samplers
// and NumPy's legacy draws, with the binary masks and the index <-> binary conversions,
// driven by option structs decoded from the input. The options cover the domain that
// lib/masks/options.ts lets through (scales in (0, 1], aspect ratios in (0, any finite], any
// block counts, minKeep, seeds and state) on small grids and batches, so that each input runs
// in milliseconds; the samplers' own checks (an unsatisfiable draw is a kInvalidArgument
// jepa::Error) must hold for every such input. A clean jepa::Error is the expected outcome;
// anything else (a crash, a sanitizer report, another exception, a hang caught by -timeout, a
// mask with an index out of the grid) is a bug.
// Build and run: scripts/dev/fuzz.sh masks [seconds]
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "core/errors.h"
#include "masks/hjepa.h"
#include "masks/masks.h"
#include "masks/notebook.h"
#include "masks/numpy_random.h"

namespace {

using jepa::masks::Range;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint8_t Byte() { return p_ < end_ ? *p_++ : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | Byte();
    return v;
  }
  // An integer in [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(Byte()) % (hi - lo + 1); }
  // A double: mostly a step of 1/255, sometimes any bit pattern (the caller filters the domain).
  double Num() {
    const uint8_t tag = Byte();
    if (tag < 0xF0) return Byte() / 255.0;
    const uint64_t bits = U64();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  // A scale range as lib/masks/options.ts accepts it: 0 < lo <= hi <= 1.
  Range Scale() {
    double a = Num(), b = Num();
    if (!(a > 0 && a <= 1)) a = 0.5;
    if (!(b > 0 && b <= 1)) b = 0.5;
    return {std::min(a, b), std::max(a, b)};
  }
  // An aspect-ratio range: 0 < lo <= hi, finite (the options check isFinite).
  Range Aspect() {
    double a = Num(), b = Num();
    if (Byte() & 1) a *= 10, b *= 10;
    if (!(a > 0 && std::isfinite(a))) a = 1;
    if (!(b > 0 && std::isfinite(b))) b = 1;
    return {std::min(a, b), std::max(a, b)};
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The position stream: fresh from a seed, or restored from saved words (the `state` a user
// passes back as a Uint32Array), of any count and content.
jepa::masks::Stream Positions(Input& in) {
  if (!(in.Byte() & 1)) return jepa::masks::Stream(in.U64());
  const size_t count = (in.Byte() & 1) ? jepa::masks::Stream::kStateWords : in.Int(0, 255) * 3;
  std::vector<uint32_t> words(count);
  for (auto& w : words) w = static_cast<uint32_t>(in.U64());
  return jepa::masks::Stream::Load(words.data(), words.size());
}

// Every index of every mask lies in [0, n); a binary mask holds only 0 and 1.
void CheckBatch(const jepa::masks::MaskBatch& b, int64_t n) {
  for (const auto* list : {&b.context, &b.targets}) {
    for (const at::Tensor& t : *list) {
      if (t.numel() == 0) continue;
      if (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= n) std::abort();
      // The conversions round-trip on what the samplers produce.
      at::Tensor bin = jepa::masks::ToBinary({t}, n, at::kByte);
      (void)jepa::masks::ToIndices(bin, true);
    }
  }
  for (const at::Tensor& t : b.binary) {
    if (t.numel() > 0 && t.max().item<int64_t>() > 1) std::abort();
  }
}

// H-JEPA: bool masks of the grid's size, context disjoint from the level's targets, the level-0
// prediction mask their union, every block inside the grid.
void CheckHJepa(const jepa::masks::MaskBatch& b, const jepa::masks::HJepaMaskOptions& o) {
  const int64_t N = o.height * o.width, B = o.batch_size, M = o.num_target_masks;
  if (b.context.size() != static_cast<size_t>(o.num_hierarchies) || b.binary.size() != 1) std::abort();
  for (size_t l = 0; l < b.context.size(); ++l) {
    const at::Tensor& c = b.context[l];
    const at::Tensor& t = b.targets[l];
    if (c.sizes() != at::IntArrayRef({B, N}) || t.sizes() != at::IntArrayRef({B, M, N})) std::abort();
    if ((c & t.any(1)).any().item<bool>()) std::abort();
    if (l == 0 && !at::equal(b.binary[0], t.any(1))) std::abort();
  }
  for (const auto& blocks : b.sizes) {
    for (size_t i = 0; i + 3 < blocks.size(); i += 4) {
      const int64_t top = blocks[i], left = blocks[i + 1], h = blocks[i + 2], w = blocks[i + 3];
      if (h < 1 || w < 1 || top < 0 || left < 0 || top + h > o.height || left + w > o.width) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t which = in.Byte() % 7;
  const bool binary = in.Byte() & 1;
  try {
    if (which == 0) {
      jepa::masks::MultiblockOptions o;
      o.height = in.Int(2, 24);
      o.width = in.Int(2, 24);
      o.enc_scale = in.Scale();
      o.pred_scale = in.Scale();
      o.aspect = in.Aspect();
      o.nenc = in.Int(1, 4);
      o.npred = in.Int(1, 6);
      o.min_keep = in.Int(0, 40);
      o.allow_overlap = in.Byte() & 1;
      o.batch_size = in.Int(1, 4);
      o.seed = in.U64();
      jepa::masks::Stream positions = Positions(in);
      CheckBatch(jepa::masks::Multiblock(o, positions, c10::kCPU, binary), o.height * o.width);
    } else if (which == 1) {
      jepa::masks::Multiblock3dOptions o;
      o.duration = in.Int(1, 8);
      o.height = in.Int(1, 16);
      o.width = in.Int(1, 16);
      const int nconfigs = in.Int(1, 3);
      for (int i = 0; i < nconfigs; ++i) {
        jepa::masks::Multiblock3dConfig c;
        c.spatial_scale = in.Scale();
        c.temporal_scale = in.Scale();
        c.aspect = in.Aspect();
        c.num_blocks = in.Int(1, 4);
        double keep = in.Num();
        c.max_temporal_keep = keep > 0 && keep <= 1 ? keep : 1.0;
        c.max_keep = (in.Byte() & 1) ? -1 : in.Int(1, 255);
        o.configs.push_back(c);
      }
      o.batch_size = in.Int(1, 4);
      o.seed = in.U64();
      jepa::masks::Stream positions = Positions(in);
      CheckBatch(jepa::masks::Multiblock3d(o, positions, c10::kCPU), o.duration * o.height * o.width);
    } else if (which == 3) {
      jepa::masks::HJepaMaskOptions o;
      o.height = in.Int(1, 20);
      o.width = in.Int(1, 20);
      o.num_hierarchies = in.Int(1, 5);
      o.num_target_masks = in.Int(1, 8);
      o.geometric = in.Byte() & 1;
      o.base_scale = in.Scale();
      o.aspect = in.Aspect();
      o.max_attempts = in.Int(0, 12);
      o.batch_size = in.Int(1, 4);
      jepa::masks::Stream numpy = Positions(in);
      CheckHJepa(jepa::masks::HJepaMasks(o, numpy, c10::kCPU), o);
    } else if (which == 4) {
      jepa::masks::Notebook2dOptions o;
      o.height = in.Int(1, 20);
      o.width = in.Int(1, 20);
      o.target_aspect = in.Aspect();
      o.target_scale = in.Scale();
      o.context_scale = in.Scale();
      const double r = in.Num();
      o.context_aspect = r > 0 && std::isfinite(r) ? r : 1.0;
      o.num_targets = in.Int(1, 8);
      jepa::masks::Stream numpy = Positions(in);
      jepa::masks::Stream torch = Positions(in);
      CheckBatch(jepa::masks::Notebook2d(o, numpy, torch, c10::kCPU), o.height * o.width);
    } else if (which == 5) {
      jepa::masks::Notebook3dOptions o;
      o.duration = in.Int(1, 8);
      o.height = in.Int(1, 16);
      o.width = in.Int(1, 16);
      o.long_range = in.Byte() & 1;
      o.aspect = in.Aspect();
      jepa::masks::Stream torch = Positions(in);
      jepa::masks::MaskBatch b = jepa::masks::Notebook3d(o, torch, c10::kCPU);
      if (b.targets[0].numel() + b.context[0].numel() != o.duration * o.height * o.width) std::abort();
      CheckBatch(b, o.duration * o.height * o.width);
    } else if (which == 6) {
      // NumPy's legacy draws: uniform stays in its range, randint in [low, high).
      jepa::masks::Stream numpy = Positions(in);
      for (int i = in.Int(1, 32); i > 0; --i) {
        const double u = jepa::masks::NumpyRandomSample(numpy);
        if (!(u >= 0 && u < 1)) std::abort();
        const auto low = static_cast<int64_t>((in.U64() >> (in.Byte() % 64)) - (uint64_t{1} << 40));
        const uint64_t span = (in.U64() >> (in.Byte() % 64)) | 1;
        const uint64_t room = static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(low);
        const auto high = static_cast<int64_t>(static_cast<uint64_t>(low) + std::min(span, room));
        if (low >= high) continue;
        const int64_t v = jepa::masks::NumpyRandint(numpy, low, high);
        if (v < low || v >= high) std::abort();
      }
    } else {
      jepa::masks::RandomTubeOptions o;
      o.duration = in.Int(1, 8);
      o.height = in.Int(1, 16);
      o.width = in.Int(1, 16);
      const double r = in.Num();
      o.ratio = r >= 0 && r <= 1 ? r : 0.9;
      o.batch_size = in.Int(1, 4);
      jepa::masks::Stream numpy(in.U64() & 0xFFFFFFFFu);  // np.random.seed's range
      CheckBatch(jepa::masks::RandomTube(o, numpy, c10::kCPU, binary), o.duration * o.height * o.width);
    }
  } catch (const jepa::Error&) {
  }
  return 0;
}
