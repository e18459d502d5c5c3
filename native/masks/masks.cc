// JEPA mask samplers; see masks.h for the contract and docs/masks.md for the reference's quirks
// that are kept on purpose.
#include "masks/masks.h"

#include <ATen/core/DistributionsHelper.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/errors.h"

namespace jepa {
namespace masks {

namespace {

constexpr const char* kUnsatisfiable = code::kMaskUnsatisfiable;

// lo + r * (hi - lo), rounded after each operation as Python does: the volatile product keeps a
// compiler from fusing it into an FMA (which rounds once and can differ in the last bit).
double Lerp(double lo, double hi, double r) {
  volatile double product = r * (hi - lo);
  return lo + product;
}

// Python's int(x) for a finite non-negative double.
int64_t PyInt(double x) { return static_cast<int64_t>(x); }

// Python's round(x) on a float: to nearest, ties to even (round(2.5) == 2), independent of the
// floating-point environment's rounding mode.
int64_t PyRound(double x) {
  double f = std::floor(x);
  double diff = x - f;
  int64_t i = static_cast<int64_t>(f);
  if (diff > 0.5) return i + 1;
  if (diff < 0.5) return i;
  return (i % 2 == 0) ? i : i + 1;
}

// min(round(x), cap) for a non-negative x of any size (+inf included) without converting a
// double above int64 to an integer. The reference samplers compute round(x) as an unbounded
// Python int and then step it down to the cap one at a time (`while h >= height: h -= 1`),
// which is the same result but, for an aspect ratio like 1e200, never ends.
int64_t RoundAtMost(double x, int64_t cap) {
  if (!(x < static_cast<double>(cap))) return cap;
  return std::min(PyRound(x), cap);
}

std::string Str(int64_t v) { return std::to_string(v); }

void Check(bool ok, const std::string& message) {
  if (!ok) throw Error(code::kInvalidArgument, message);
}

// Copies `rows` (each a vector of ascending indices) cut to `keep` into an int64 [B, keep] tensor.
at::Tensor Collate(const std::vector<int64_t>& flat, const std::vector<int64_t>& offsets, int64_t batch,
                   int64_t keep) {
  at::Tensor out = at::empty({batch, keep}, at::kLong);
  int64_t* dst = out.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    std::copy_n(flat.data() + offsets[b], keep, dst + b * keep);
  }
  return out;
}

at::Tensor OnDevice(at::Tensor t, c10::Device device) { return device.is_cpu() ? t : t.to(device); }

// I-JEPA _sample_block_size: one uniform draw sets both the scale and the aspect ratio.
std::vector<int64_t> BlockSize2d(Stream& g, int64_t height, int64_t width, Range scale, Range aspect) {
  double r = g.Rand();
  double mask_scale = Lerp(scale.lo, scale.hi, r);
  int64_t max_keep = PyInt(static_cast<double>(height * width) * mask_scale);
  double ar = Lerp(aspect.lo, aspect.hi, r);
  // The reference's `while h >= height: h -= 1`, in one step.
  const int64_t h = RoundAtMost(std::sqrt(static_cast<double>(max_keep) * ar), height - 1);
  const int64_t w = RoundAtMost(std::sqrt(static_cast<double>(max_keep) / ar), width - 1);
  return {h, w};
}

// V-JEPA _sample_block_size: three uniform draws (temporal scale, spatial scale, aspect ratio).
std::vector<int64_t> BlockSize3d(Stream& g, int64_t duration, int64_t height, int64_t width,
                                 const Multiblock3dConfig& c) {
  double r = g.Rand();
  int64_t t = std::max<int64_t>(
      1, PyInt(static_cast<double>(duration) * Lerp(c.temporal_scale.lo, c.temporal_scale.hi, r)));
  r = g.Rand();
  int64_t keep = PyInt(static_cast<double>(height * width) * Lerp(c.spatial_scale.lo, c.spatial_scale.hi, r));
  r = g.Rand();
  double ar = Lerp(c.aspect.lo, c.aspect.hi, r);
  int64_t h = RoundAtMost(std::sqrt(static_cast<double>(keep) * ar), height);
  int64_t w = RoundAtMost(std::sqrt(static_cast<double>(keep) / ar), width);
  return {t, h, w};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Stream

Stream::Stream(uint64_t seed) : engine_(seed) {}

Stream Stream::Load(const uint32_t* words, size_t count) {
  Check(count == kStateWords,
        "a mask sampler state has " + std::to_string(kStateWords) + " words, got " + std::to_string(count));
  at::mt19937_data_pod pod{};
  std::copy_n(words, at::MERSENNE_STATE_N, pod.state_.begin());
  pod.left_ = static_cast<int>(words[624]);
  pod.next_ = words[625];
  pod.seed_ = static_cast<uint64_t>(words[626]) | (static_cast<uint64_t>(words[627]) << 32);
  pod.seeded_ = true;
  Check(pod.left_ >= 1 && pod.left_ <= at::MERSENNE_STATE_N && pod.next_ <= at::MERSENNE_STATE_N &&
            static_cast<int64_t>(pod.next_) + pod.left_ <= at::MERSENNE_STATE_N + 1,
        "malformed mask sampler state (left " + std::to_string(pod.left_) + ", next " +
            std::to_string(pod.next_) + ")");
  Stream s;
  s.engine_.set_data(pod);
  return s;
}

void Stream::Save(uint32_t* words) const {
  at::mt19937_data_pod pod = engine_.data();
  std::copy(pod.state_.begin(), pod.state_.end(), words);
  words[624] = static_cast<uint32_t>(pod.left_);
  words[625] = pod.next_;
  words[626] = static_cast<uint32_t>(pod.seed_ & 0xffffffffu);
  words[627] = static_cast<uint32_t>(pod.seed_ >> 32);
}

uint32_t Stream::random() { return engine_(); }

uint64_t Stream::random64() {
  uint32_t hi = engine_();
  uint32_t lo = engine_();
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

double Stream::Rand() {
  // at::uniform_real_distribution<float>(0, 1): the low 24 bits of one 32-bit draw, times 2^-24.
  at::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  return static_cast<double>(static_cast<float>(uniform(this)));
}

int64_t Stream::RandInt(int64_t low, int64_t high) {
  // at::uniform_int_from_to_distribution<int64_t>: draw % range + low (random64 for huge ranges).
  uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  return at::uniform_int_from_to_distribution<int64_t>(range, low)(this);
}

uint64_t Stream::NumpyInterval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  uint64_t value;
  if (max <= 0xffffffffULL) {
    while ((value = (random() & mask)) > max) {
    }
  } else {
    // numpy's next_uint64 for MT19937: (first << 32) | second, as random64().
    while ((value = (random64() & mask)) > max) {
    }
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// I-JEPA multi-block

MaskBatch Multiblock(const MultiblockOptions& o, Stream& positions, c10::Device device, bool binary) {
  const int64_t H = o.height, W = o.width, N = H * W, B = o.batch_size;
  Check(H >= 2 && W >= 2, "multiblock needs a patch grid of at least 2x2, got " + Str(H) + "x" + Str(W));
  Check(o.nenc >= 1 && o.npred >= 1 && B >= 1 && o.min_keep >= 0, "multiblock: invalid block counts");

  Stream sizes(o.seed);
  std::vector<int64_t> p = BlockSize2d(sizes, H, W, o.pred_scale, o.aspect);
  std::vector<int64_t> e = BlockSize2d(sizes, H, W, o.enc_scale, {1.0, 1.0});
  const int64_t ph = p[0], pw = p[1], eh = e[0], ew = e[1];
  // The reference redraws a block until it holds more than min_keep patches: with a block this
  // small it would loop forever.
  if (ph * pw <= o.min_keep) {
    throw Error(kUnsatisfiable, "the target blocks drawn for seed " + std::to_string(o.seed) + " are " +
                                    Str(ph) + "x" + Str(pw) +
                                    " patches, not more than minKeep = " + Str(o.min_keep) +
                                    ": the reference sampler would loop forever (raise predMaskScale or "
                                    "lower minKeep)");
  }
  if (eh * ew <= o.min_keep) {
    throw Error(kUnsatisfiable, "the context blocks drawn for seed " + std::to_string(o.seed) + " are " +
                                    Str(eh) + "x" + Str(ew) +
                                    " patches, not more than minKeep = " + Str(o.min_keep) +
                                    ": the reference sampler would loop forever (raise encMaskScale or "
                                    "lower minKeep)");
  }

  MaskBatch out;
  out.sizes = {p, e};
  const int64_t npred = o.npred, nenc = o.nenc;
  // Target blocks are never constrained: every one has ph * pw patches. Keep their corners.
  std::vector<int32_t> corners(static_cast<size_t>(B * npred * 2));
  // Context masks: indices, concatenated, with per-(block, sample) offsets.
  std::vector<std::vector<int64_t>> ctx_flat(static_cast<size_t>(nenc));
  std::vector<std::vector<int64_t>> ctx_offsets(static_cast<size_t>(nenc), std::vector<int64_t>(B + 1, 0));
  for (auto& v : ctx_flat) v.reserve(static_cast<size_t>(B * eh * ew));
  int64_t keep_enc = N;
  // first_cover[c]: the lowest target block index covering cell c (npred if none). The
  // reference's acceptable region k is "not in target block k", so a cell survives the
  // constraint with the first `limit` regions iff first_cover[c] >= limit.
  std::vector<int32_t> first_cover(static_cast<size_t>(N));
  at::Tensor bin;
  uint8_t* bin_ptr = nullptr;
  if (binary) {
    bin = at::zeros({B, N}, at::kByte);
    bin_ptr = bin.data_ptr<uint8_t>();
  }

  for (int64_t b = 0; b < B; ++b) {
    std::fill(first_cover.begin(), first_cover.end(), static_cast<int32_t>(npred));
    for (int64_t k = 0; k < npred; ++k) {
      int64_t top = positions.RandInt(0, H - ph);
      int64_t left = positions.RandInt(0, W - pw);
      corners[static_cast<size_t>((b * npred + k) * 2)] = static_cast<int32_t>(top);
      corners[static_cast<size_t>((b * npred + k) * 2 + 1)] = static_cast<int32_t>(left);
      for (int64_t i = top; i < top + ph; ++i) {
        for (int64_t j = left; j < left + pw; ++j) {
          int32_t& c = first_cover[static_cast<size_t>(i * W + j)];
          if (c > k) c = static_cast<int32_t>(k);
        }
      }
    }
    if (bin_ptr) {
      for (int64_t c = 0; c < N; ++c)
        bin_ptr[b * N + c] = first_cover[static_cast<size_t>(c)] < npred ? 1 : 0;
    }
    for (int64_t k = 0; k < nenc; ++k) {
      int64_t tries = 0, timeout = 20, top = 0, left = 0, limit = 0, count = 0;
      while (true) {
        top = positions.RandInt(0, H - eh);
        left = positions.RandInt(0, W - ew);
        limit = o.allow_overlap ? 0 : std::max<int64_t>(npred - tries, 0);
        count = 0;
        for (int64_t i = top; i < top + eh; ++i) {
          for (int64_t j = left; j < left + ew; ++j) {
            if (first_cover[static_cast<size_t>(i * W + j)] >= limit) ++count;
          }
        }
        if (count > o.min_keep) break;
        if (--timeout == 0) {
          ++tries;
          timeout = 20;
        }
      }
      if (limit < npred) ++out.relaxed;
      auto& flat = ctx_flat[static_cast<size_t>(k)];
      for (int64_t i = top; i < top + eh; ++i) {
        for (int64_t j = left; j < left + ew; ++j) {
          if (first_cover[static_cast<size_t>(i * W + j)] >= limit) flat.push_back(i * W + j);
        }
      }
      ctx_offsets[static_cast<size_t>(k)][static_cast<size_t>(b + 1)] = static_cast<int64_t>(flat.size());
      keep_enc = std::min(keep_enc, count);
    }
  }
  if (o.allow_overlap) out.relaxed = 0;

  // Targets: npred tensors [B, ph * pw] (all targets have the same length, so no cut).
  const int64_t pk = ph * pw;
  for (int64_t k = 0; k < npred; ++k) {
    at::Tensor t = at::empty({B, pk}, at::kLong);
    int64_t* dst = t.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      int64_t top = corners[static_cast<size_t>((b * npred + k) * 2)];
      int64_t left = corners[static_cast<size_t>((b * npred + k) * 2 + 1)];
      for (int64_t i = 0; i < ph; ++i) {
        for (int64_t j = 0; j < pw; ++j) *dst++ = (top + i) * W + left + j;
      }
    }
    out.targets.push_back(OnDevice(t, device));
  }
  for (int64_t k = 0; k < nenc; ++k) {
    out.context.push_back(OnDevice(
        Collate(ctx_flat[static_cast<size_t>(k)], ctx_offsets[static_cast<size_t>(k)], B, keep_enc), device));
  }
  if (binary) out.binary.push_back(OnDevice(bin, device));
  return out;
}

// ---------------------------------------------------------------------------------------------
// V-JEPA multi-block 3D

MaskBatch Multiblock3d(const Multiblock3dOptions& o, Stream& positions, c10::Device device) {
  const int64_t D = o.duration, H = o.height, W = o.width, N = D * H * W, B = o.batch_size;
  Check(D >= 1 && H >= 1 && W >= 1,
        "multiblock3d needs a grid of at least 1x1x1, got " + Str(D) + "x" + Str(H) + "x" + Str(W));
  Check(B >= 1 && !o.configs.empty(), "multiblock3d: invalid batch size or empty config list");
  MaskBatch out;
  for (size_t ci = 0; ci < o.configs.size(); ++ci) {
    const Multiblock3dConfig& c = o.configs[ci];
    Check(c.num_blocks >= 1, "multiblock3d: numBlocks must be at least 1");
    // Each config's generator has its own step counter, so each draws its size from `seed`.
    Stream sizes(o.seed);
    std::vector<int64_t> s = BlockSize3d(sizes, D, H, W, c);
    const int64_t t = s[0], h = s[1], w = s[2];
    out.sizes.push_back(s);
    if (t >= D && h >= H && w >= W) {
      throw Error(kUnsatisfiable, "config " + Str(static_cast<int64_t>(ci)) + ": the blocks drawn for seed " +
                                      std::to_string(o.seed) + " are " + Str(t) + "x" + Str(h) + "x" +
                                      Str(w) + ", the whole " + Str(D) + "x" + Str(H) + "x" + Str(W) +
                                      " grid: the context would always be empty and the reference sampler "
                                      "would loop forever (lower spatialScale or temporalScale)");
    }
    const int64_t max_context = std::max<int64_t>(1, PyInt(static_cast<double>(D) * c.max_temporal_keep));
    const int64_t HW = H * W, nb = c.num_blocks;
    // The reference builds a D x H x W grid per sample. Here each time step gets a spatial
    // pattern (visible and masked cell lists) computed once per distinct set of blocks active at
    // that step; with temporal scale 1 (the V-JEPA configs) that is one pattern per sample.
    // Pattern 0 is the fully masked frame (steps at or beyond max_context).
    std::vector<std::vector<int32_t>> vis_pool(1), msk_pool(1);
    msk_pool[0].resize(static_cast<size_t>(HW));
    for (int64_t x = 0; x < HW; ++x) msk_pool[0][static_cast<size_t>(x)] = static_cast<int32_t>(x);
    std::vector<int32_t> frame_pattern(static_cast<size_t>(B * D));
    std::vector<int64_t> corner(static_cast<size_t>(nb * 3));
    std::vector<uint8_t> active(static_cast<size_t>(nb)), prev_active(static_cast<size_t>(nb));
    std::vector<uint8_t> cells(static_cast<size_t>(HW));
    int64_t keep_enc = N, keep_pred = N;
    for (int64_t b = 0; b < B; ++b) {
      int64_t count = 0;
      int64_t attempts = 0;
      while (true) {
        for (int64_t k = 0; k < nb; ++k) {
          corner[static_cast<size_t>(k * 3)] = positions.RandInt(0, H - h + 1);      // top
          corner[static_cast<size_t>(k * 3 + 1)] = positions.RandInt(0, W - w + 1);  // left
          corner[static_cast<size_t>(k * 3 + 2)] = positions.RandInt(0, D - t + 1);  // start
        }
        const size_t pool_mark = vis_pool.size();
        count = 0;
        int32_t prev = -1;
        for (int64_t f = 0; f < D; ++f) {
          int32_t pat = 0;
          if (f < max_context) {
            for (int64_t k = 0; k < nb; ++k) {
              int64_t start = corner[static_cast<size_t>(k * 3 + 2)];
              active[static_cast<size_t>(k)] = (start <= f && f < start + t) ? 1 : 0;
            }
            if (prev > 0 && active == prev_active) {
              pat = prev;
            } else {
              std::fill(cells.begin(), cells.end(), static_cast<uint8_t>(1));
              for (int64_t k = 0; k < nb; ++k) {
                if (!active[static_cast<size_t>(k)]) continue;
                int64_t top = corner[static_cast<size_t>(k * 3)],
                        left = corner[static_cast<size_t>(k * 3 + 1)];
                for (int64_t i = top; i < top + h; ++i)
                  std::fill_n(cells.data() + i * W + left, w, static_cast<uint8_t>(0));
              }
              std::vector<int32_t> vis, msk;
              vis.reserve(static_cast<size_t>(HW));
              msk.reserve(static_cast<size_t>(HW));
              for (int64_t x = 0; x < HW; ++x)
                (cells[static_cast<size_t>(x)] ? vis : msk).push_back(static_cast<int32_t>(x));
              vis_pool.push_back(std::move(vis));
              msk_pool.push_back(std::move(msk));
              pat = static_cast<int32_t>(vis_pool.size() - 1);
              prev_active = active;
            }
          }
          prev = pat;
          frame_pattern[static_cast<size_t>(b * D + f)] = pat;
          count += static_cast<int64_t>(vis_pool[static_cast<size_t>(pat)].size());
        }
        if (count != 0) break;
        vis_pool.resize(pool_mark);
        msk_pool.resize(pool_mark);
        if (++attempts >= 1000000) {
          throw Error(kUnsatisfiable, "config " + Str(static_cast<int64_t>(ci)) +
                                          ": a million draws in a row left no context patch; the blocks (" +
                                          Str(t) + "x" + Str(h) + "x" + Str(w) + ") nearly cover the grid");
        }
      }
      keep_enc = std::min(keep_enc, count);
      keep_pred = std::min(keep_pred, N - count);
    }
    if (c.max_keep >= 0) keep_enc = std::min(keep_enc, c.max_keep);
    at::Tensor enc = at::empty({B, keep_enc}, at::kLong);
    at::Tensor pred = at::empty({B, keep_pred}, at::kLong);
    // Rows: the frames' lists, offset by f * HW, cut to the batch's shortest.
    auto fill_row = [&](int64_t* dst, int64_t keep, int64_t b,
                        const std::vector<std::vector<int32_t>>& pool) {
      int64_t n = 0;
      for (int64_t f = 0; f < D && n < keep; ++f) {
        const std::vector<int32_t>& list =
            pool[static_cast<size_t>(frame_pattern[static_cast<size_t>(b * D + f)])];
        const int64_t take = std::min<int64_t>(static_cast<int64_t>(list.size()), keep - n);
        const int64_t offset = f * HW;
        for (int64_t x = 0; x < take; ++x) dst[n + x] = list[static_cast<size_t>(x)] + offset;
        n += take;
      }
    };
    for (int64_t b = 0; b < B; ++b) {
      fill_row(enc.data_ptr<int64_t>() + b * keep_enc, keep_enc, b, vis_pool);
      fill_row(pred.data_ptr<int64_t>() + b * keep_pred, keep_pred, b, msk_pool);
    }
    out.context.push_back(OnDevice(enc, device));
    out.targets.push_back(OnDevice(pred, device));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random tube

MaskBatch RandomTube(const RandomTubeOptions& o, Stream& numpy, c10::Device device, bool binary) {
  const int64_t D = o.duration, S = o.height * o.width, B = o.batch_size;
  Check(D >= 1 && S >= 1 && B >= 1, "randomTube needs a non-empty grid and batch");
  const int64_t keep = PyInt(static_cast<double>(S) * (1.0 - o.ratio));
  Check(keep >= 0 && keep <= S, "randomTube: ratio out of range");
  at::Tensor enc = at::empty({B, keep * D}, at::kLong);
  at::Tensor pred = at::empty({B, (S - keep) * D}, at::kLong);
  at::Tensor bin;
  if (binary) bin = at::empty({B, S * D}, at::kByte);
  int64_t* pe = enc.data_ptr<int64_t>();
  int64_t* pp = pred.data_ptr<int64_t>();
  std::vector<uint8_t> spatial(static_cast<size_t>(S));
  for (int64_t b = 0; b < B; ++b) {
    // np.hstack([zeros(S - keep), ones(keep)]) then np.random.shuffle (Fisher-Yates from the end).
    std::fill(spatial.begin(), spatial.begin() + (S - keep), static_cast<uint8_t>(0));
    std::fill(spatial.begin() + (S - keep), spatial.end(), static_cast<uint8_t>(1));
    for (int64_t i = S - 1; i >= 1; --i) {
      uint64_t j = numpy.NumpyInterval(static_cast<uint64_t>(i));
      std::swap(spatial[static_cast<size_t>(i)], spatial[static_cast<size_t>(j)]);
    }
    for (int64_t f = 0; f < D; ++f) {
      for (int64_t x = 0; x < S; ++x) {
        if (spatial[static_cast<size_t>(x)]) {
          *pe++ = f * S + x;
        } else {
          *pp++ = f * S + x;
        }
      }
    }
    if (binary) {
      uint8_t* dst = bin.data_ptr<uint8_t>() + b * S * D;
      for (int64_t f = 0; f < D; ++f) {
        for (int64_t x = 0; x < S; ++x) dst[f * S + x] = spatial[static_cast<size_t>(x)] ? 0 : 1;
      }
    }
  }
  MaskBatch out;
  out.context.push_back(OnDevice(enc, device));
  out.targets.push_back(OnDevice(pred, device));
  if (binary) out.binary.push_back(OnDevice(bin, device));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conversions

at::Tensor ToBinary(const std::vector<at::Tensor>& indices, int64_t num_patches, at::ScalarType dtype) {
  Check(!indices.empty(), "toBinary needs at least one index tensor");
  Check(num_patches >= 0, "toBinary: numPatches must be non-negative");
  const int64_t B = indices[0].dim() == 2 ? indices[0].size(0) : -1;
  for (size_t k = 0; k < indices.size(); ++k) {
    const at::Tensor& t = indices[k];
    Check(t.dim() == 2 && t.scalar_type() == at::kLong,
          "expected index masks to be int64 tensors of shape [B, K], got " +
              std::string(toString(t.scalar_type())) + " of " + std::to_string(t.dim()) +
              " dimensions (mask " + std::to_string(k) + ")");
    Check(t.size(0) == B, "expected every index mask to have " + Str(B) + " rows, mask " + std::to_string(k) +
                              " has " + Str(t.size(0)));
  }
  at::Tensor out = at::zeros({B, num_patches}, at::kByte);
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (size_t k = 0; k < indices.size(); ++k) {
    at::Tensor t = indices[k].to(at::kCPU).contiguous();
    const int64_t K = t.size(1);
    const int64_t* src = t.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < K; ++j) {
        int64_t x = src[b * K + j];
        if (x < 0 || x >= num_patches) {
          throw Error(code::kInvalidArgument, "index " + Str(x) + " (mask " + std::to_string(k) + ", row " +
                                                  Str(b) + ") is out of range for " + Str(num_patches) +
                                                  " patches");
        }
        dst[b * num_patches + x] = 1;
      }
    }
  }
  if (dtype != at::kByte) out = out.to(dtype);
  return OnDevice(out, indices[0].device());
}

at::Tensor ToIndices(const at::Tensor& mask, bool nonzero) {
  Check(mask.dim() == 2,
        "expected a binary mask of shape [B, N], got " + std::to_string(mask.dim()) + " dimensions");
  at::Tensor m = mask.to(at::kCPU).ne(0).to(at::kByte).contiguous();
  const int64_t B = m.size(0), N = m.size(1);
  const uint8_t* src = m.data_ptr<uint8_t>();
  const uint8_t want = nonzero ? 1 : 0;
  int64_t keep = N;
  for (int64_t b = 0; b < B; ++b) {
    int64_t count = 0;
    for (int64_t x = 0; x < N; ++x) count += src[b * N + x] == want;
    keep = std::min(keep, count);
  }
  at::Tensor out = at::empty({B, keep}, at::kLong);
  int64_t* dst = out.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = 0;
    for (int64_t x = 0; x < N && n < keep; ++x) {
      if (src[b * N + x] == want) dst[b * keep + n++] = x;
    }
  }
  return OnDevice(out, mask.device());
}

}  // namespace masks
}  // namespace jepa
