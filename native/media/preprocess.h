// Image preprocessing on libtorch's own kernels: decoded pixels (what sharp or ffmpeg give) to
// the normalised float32 [N, 3, H, W] that the Python pipelines make.
//
// Three steps, each the reference's own:
// 1. ToRgb8: any decoded layout (RGB, RGBA, grey, grey + alpha, CMYK; 8 or 16 bits) to 8-bit
//    RGB with the rules of PIL's `Image.convert('RGB')` (Pillow 12).
// 2. Resize: torchvision's `resize` of a uint8 tensor, on the same ATen kernels F.interpolate
//    calls, in either of torchvision's two ways: transforms.v2 (`resize_image`, which transformers'
//    fast processors call) keeps uint8 where the CPU has a uint8 kernel, the v1 transforms
//    (`_functional_tensor.resize`) always go through float32; float results are rounded (half
//    to even) back to uint8, bicubic ones clamped to [0, 255] first.
// 3. A window of the resized image (the centre crop; parts outside the image are 0, as
//    torchvision and transformers pad), each byte mapped through a 3 x 256 table of normalised
//    values (computed in TypeScript with the float32 operations of the reference).
// No Node-API here: the fuzzers and the binding call these directly.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace jepa {
namespace media {

enum class Interpolation { kNearest, kNearestExact, kBilinear, kBicubic };

// What the channels of the decoded pixels mean.
enum class PixelKind {
  kRgb,   // 3 channels, or 4 with alpha
  kGrey,  // 1 channel, or 2 with alpha
  kCmyk,  // 4 channels, or 5 with alpha (Adobe inversion already undone by the decoder)
};

// Decoded pixels: `frames` images of height x width, channels interleaved (HWC), 8 or 16 bits
// per sample (16-bit samples in the machine's byte order, as sharp gives them).
struct Pixels {
  const void* data = nullptr;
  int64_t frames = 0, height = 0, width = 0, channels = 0;
  int bits = 8;
  PixelKind kind = PixelKind::kRgb;
  // Bytes `data` must hold.
  int64_t ByteLength() const { return frames * height * width * channels * (bits / 8); }
};

// What to do with them. Sizes are computed by the caller (lib/media/preprocess.ts).
struct Spec {
  bool resize = false;
  int64_t resize_height = 0, resize_width = 0;
  Interpolation interpolation = Interpolation::kBilinear;
  bool antialias = true;
  // The v1 transforms' float32 round trip instead of transforms.v2's dtype rule.
  bool float_resize = false;
  // The output window in the resized image: rows [top, top + out_height), columns
  // [left, left + out_width); parts outside the image are byte 0 (zero padding).
  int64_t top = 0, left = 0, out_height = 0, out_width = 0;
  // 768 floats: lut[c * 256 + byte] is the normalised value of `byte` in channel c.
  const float* lut = nullptr;
};

// Validates the layout (a jepa::Error with JEPA_INVALID_ARGUMENT when it does not fit).
void CheckPixels(const Pixels& px);
void CheckSpec(const Pixels& px, const Spec& spec);

// PIL's convert('RGB') of the decoded pixels: [frames, height, width, 3] uint8, contiguous.
// 8-bit RGB(A) and grey(+alpha): alpha dropped, grey copied to the three channels; 16-bit RGB(A)
// and grey + alpha: the high byte (Pillow's "RGB;16B" / "LA;16B" raw modes); 16-bit grey without
// alpha: clipped to 255 (Pillow opens it as mode I;16, whose conversion clips); CMYK: Pillow's
// cmyk2rgb, (255 - k) - c * (255 - k) / 255 with Pillow's rounding.
at::Tensor ToRgb8(const Pixels& px);

// torchvision's resize of a uint8 [N, 3, H, W] tensor (any memory format) to height x width on
// the CPU: the same ATen kernel and dtype path, so the same bytes. `float_resize` takes the v1
// transforms' path (always float32), else transforms.v2's.
at::Tensor Resize(const at::Tensor& images, int64_t height, int64_t width, Interpolation interpolation,
                  bool antialias, bool float_resize);

// Whether torchvision resizes uint8 bilinearly without a float round trip on this CPU
// (transforms.v2.functional._do_native_uint8_resize_on_cpu: AVX2, AVX512 or ARM64).
bool NativeUint8Bilinear();

// The whole pipeline: writes [frames, 3, out_height, out_width] float32 to `out`.
void Preprocess(const Pixels& px, const Spec& spec, float* out);

}  // namespace media
}  // namespace jepa
