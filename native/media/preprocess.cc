#include "media/preprocess.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <functional>
#include <string>
#include <vector>

#include "core/errors.h"

namespace jepa {
namespace media {
namespace {

void Require(bool ok, const std::string& message) {
  if (!ok) throw Error(code::kInvalidArgument, message, true);
}

constexpr int64_t kMaxSide = 1 << 16;

// Pillow's MULDIV255(a, b): a * b / 255 rounded, in integers.
inline int MulDiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

inline uint8_t Clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

template <typename T>
void ConvertRows(const T* src, uint8_t* dst, int64_t pixels, int64_t channels, PixelKind kind) {
  for (int64_t i = 0; i < pixels; ++i, src += channels, dst += 3) {
    switch (kind) {
      case PixelKind::kRgb:
        if constexpr (sizeof(T) == 1) {
          dst[0] = src[0];
          dst[1] = src[1];
          dst[2] = src[2];
        } else {
          dst[0] = static_cast<uint8_t>(src[0] >> 8);
          dst[1] = static_cast<uint8_t>(src[1] >> 8);
          dst[2] = static_cast<uint8_t>(src[2] >> 8);
        }
        break;
      case PixelKind::kGrey: {
        uint8_t v;
        if constexpr (sizeof(T) == 1) {
          v = src[0];
        } else {
          // Mode I;16 (no alpha) converts by clipping; LA;16B keeps the high byte.
          v = channels == 1 ? static_cast<uint8_t>(src[0] > 255 ? 255 : src[0])
                            : static_cast<uint8_t>(src[0] >> 8);
        }
        dst[0] = dst[1] = dst[2] = v;
        break;
      }
      case PixelKind::kCmyk: {
        const int nk = 255 - static_cast<int>(src[3]);
        dst[0] = Clip8(nk - MulDiv255(src[0], nk));
        dst[1] = Clip8(nk - MulDiv255(src[1], nk));
        dst[2] = Clip8(nk - MulDiv255(src[2], nk));
        break;
      }
    }
  }
}

// The float32 round trip of torchvision's need_cast branches: float32 in, then (bicubic) clamp
// to [0, 255], round_() (half to even) and .to(uint8).
at::Tensor ThroughFloat(const at::Tensor& images, bool clamp,
                        const std::function<at::Tensor(const at::Tensor&)>& op) {
  at::Tensor y = op(images.to(at::kFloat));
  if (clamp) y = y.clamp(0, 255);
  return y.round_().to(at::kByte);
}

}  // namespace

void CheckPixels(const Pixels& px) {
  Require(px.data != nullptr || px.ByteLength() == 0, "media: no pixel data");
  Require(px.frames >= 1 && px.height >= 1 && px.width >= 1 && px.height <= kMaxSide && px.width <= kMaxSide,
          "media: expected 1 or more frames of 1 to 65536 pixels a side, got " + std::to_string(px.frames) +
              " x " + std::to_string(px.height) + " x " + std::to_string(px.width));
  Require(px.bits == 8 || px.bits == 16,
          "media: expected 8 or 16 bits per sample, got " + std::to_string(px.bits));
  const int64_t c = px.channels;
  const bool ok = (px.kind == PixelKind::kRgb && (c == 3 || c == 4)) ||
                  (px.kind == PixelKind::kGrey && (c == 1 || c == 2)) ||
                  (px.kind == PixelKind::kCmyk && (c == 4 || c == 5) && px.bits == 8);
  Require(ok, "media: unsupported pixel layout (" + std::to_string(c) + " channels of " +
                  std::to_string(px.bits) + " bits)");
}

void CheckSpec(const Pixels& px, const Spec& spec) {
  Require(spec.lut != nullptr, "media: no normalisation table");
  Require(spec.out_height >= 1 && spec.out_width >= 1 && spec.out_height <= kMaxSide &&
              spec.out_width <= kMaxSide,
          "media: output size out of range");
  const int64_t h = spec.resize ? spec.resize_height : px.height;
  const int64_t w = spec.resize ? spec.resize_width : px.width;
  Require(h >= 1 && w >= 1 && h <= kMaxSide && w <= kMaxSide, "media: resize size out of range");
  // The window must overlap or touch the image as a centre crop does (at most the output size away).
  Require(spec.top > -spec.out_height && spec.top < h && spec.left > -spec.out_width && spec.left < w,
          "media: crop window outside the image");
}

bool NativeUint8Bilinear() {
#if defined(__aarch64__) || defined(_M_ARM64)
  return true;
#else
  static const bool avx = [] {
    const std::string cap = at::get_cpu_capability();
    return cap == "AVX2" || cap == "AVX512";
  }();
  return avx;
#endif
}

at::Tensor ToRgb8(const Pixels& px) {
  CheckPixels(px);
  at::Tensor out = at::empty({px.frames, px.height, px.width, 3}, at::kByte);
  const int64_t rows = px.frames * px.height;
  const int64_t row_pixels = px.width;
  uint8_t* dst = out.data_ptr<uint8_t>();
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      if (px.bits == 8) {
        const auto* src = static_cast<const uint8_t*>(px.data) + r * row_pixels * px.channels;
        ConvertRows(src, dst + r * row_pixels * 3, row_pixels, px.channels, px.kind);
      } else {
        const auto* src = static_cast<const uint16_t*>(px.data) + r * row_pixels * px.channels;
        ConvertRows(src, dst + r * row_pixels * 3, row_pixels, px.channels, px.kind);
      }
    }
  });
  return out;
}

at::Tensor Resize(const at::Tensor& images, int64_t height, int64_t width, Interpolation interpolation,
                  bool antialias, bool float_resize) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == at::kByte, "Resize takes uint8 [N, C, H, W]");
  if (images.size(2) == height && images.size(3) == width) return images;  // torchvision returns it as is
  // The `.vec` overloads (output size, no scale factors) are the ones F.interpolate calls.
  const std::vector<int64_t> hw{height, width};
  const at::OptionalIntArrayRef size(hw);
  const std::optional<at::ArrayRef<double>> scales = std::nullopt;
  std::function<at::Tensor(const at::Tensor&)> op;
  bool native_uint8 = true;  // transforms.v2: nearest and bicubic keep uint8 on every CPU
  switch (interpolation) {
    case Interpolation::kNearest:  // antialias does not apply to nearest
      op = [&](const at::Tensor& x) { return at::upsample_nearest2d(x, size, scales); };
      break;
    case Interpolation::kNearestExact:
      op = [&](const at::Tensor& x) { return at::_upsample_nearest_exact2d(x, size, scales); };
      break;
    case Interpolation::kBilinear:
      op = [&](const at::Tensor& x) {
        return antialias ? at::_upsample_bilinear2d_aa(x, size, false, scales)
                         : at::upsample_bilinear2d(x, size, false, scales);
      };
      native_uint8 = NativeUint8Bilinear();
      break;
    case Interpolation::kBicubic:
      op = [&](const at::Tensor& x) {
        return antialias ? at::_upsample_bicubic2d_aa(x, size, false, scales)
                         : at::upsample_bicubic2d(x, size, false, scales);
      };
      break;
  }
  TORCH_CHECK(op, "unknown interpolation");
  if (native_uint8 && !float_resize) return op(images);
  return ThroughFloat(images, interpolation == Interpolation::kBicubic, op);
}

void Preprocess(const Pixels& px, const Spec& spec, float* out) {
  CheckPixels(px);
  CheckSpec(px, spec);
  at::Tensor rgb = ToRgb8(px);                    // [N, H, W, 3]
  at::Tensor images = rgb.permute({0, 3, 1, 2});  // [N, 3, H, W], channels-last memory
  if (spec.resize)
    images = Resize(images, spec.resize_height, spec.resize_width, spec.interpolation, spec.antialias,
                    spec.float_resize);
  // Back to HWC bytes (a no-op for channels-last results) for the window copy.
  at::Tensor hwc = images.permute({0, 2, 3, 1}).contiguous();
  const int64_t n = hwc.size(0), h = hwc.size(1), w = hwc.size(2);
  const int64_t oh = spec.out_height, ow = spec.out_width, plane = oh * ow;
  const uint8_t* src = hwc.data_ptr<uint8_t>();
  const float* lut = spec.lut;
  at::parallel_for(0, n * oh, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t f = row / oh, y = row % oh, sy = y + spec.top;
      float* r = out + f * 3 * plane + y * ow;
      float* g = r + plane;
      float* b = g + plane;
      const bool inside_row = sy >= 0 && sy < h;
      const uint8_t* line = inside_row ? src + ((f * h + sy) * w) * 3 : nullptr;
      for (int64_t x = 0; x < ow; ++x) {
        const int64_t sx = x + spec.left;
        if (inside_row && sx >= 0 && sx < w) {
          const uint8_t* p = line + sx * 3;
          r[x] = lut[p[0]];
          g[x] = lut[256 + p[1]];
          b[x] = lut[512 + p[2]];
        } else {
          r[x] = lut[0];
          g[x] = lut[256];
          b[x] = lut[512];
        }
      }
    }
  });
}

}  // namespace media
}  // namespace jepa
