// Node-API side of native/media/preprocess.h: reads the decoded pixels, the plan and the
// normalisation table that lib/media/preprocess.ts computed, and writes the float32 result into a
// JS Float32Array on a worker thread (images are decoded asynchronously by sharp and ffmpeg, so
// there is no synchronous form). Arguments are validated in TypeScript; these only
// assert (a mismatch is a JEPA_INVALID_ARGUMENT TypeError, never a crash).
#include "bindings/media_binding.h"

#include <napi.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/async.h"
#include "core/common.h"
#include "masks/masks.h"
#include "masks/numpy_random.h"
#include "media/preprocess.h"

namespace jepa {
namespace {

using media::Interpolation;
using media::PixelKind;

void Require(bool ok, const std::string& message) {
  if (!ok) throw Error(code::kInvalidArgument, message, true);
}

int64_t Int(const Napi::Object& o, const char* key) {
  const double v = ToDouble(o.Get(key), key);
  Require(v == static_cast<double>(static_cast<int64_t>(v)),
          std::string("media: `") + key + "` must be an integer");
  return static_cast<int64_t>(v);
}

PixelKind KindOf(const std::string& s) {
  if (s == "rgb") return PixelKind::kRgb;
  if (s == "grey") return PixelKind::kGrey;
  if (s == "cmyk") return PixelKind::kCmyk;
  throw Error(code::kInvalidArgument, "media: unknown pixel kind '" + s + "'", true);
}

Interpolation InterpolationOf(const std::string& s) {
  if (s == "nearest") return Interpolation::kNearest;
  if (s == "nearest-exact") return Interpolation::kNearestExact;
  if (s == "bilinear") return Interpolation::kBilinear;
  if (s == "bicubic") return Interpolation::kBicubic;
  throw Error(code::kInvalidArgument, "media: unknown interpolation '" + s + "'", true);
}

// One call's inputs, converted on the JS thread. The JS typed arrays are kept referenced until
// the call is over (the references are released on the JS thread, when the work is destroyed).
struct Call {
  media::Pixels pixels;
  media::Spec spec;
  std::vector<float> lut;
  std::vector<uint16_t> aligned;  // a copy of 16-bit samples that were not 2-byte aligned
  float* out = nullptr;
  std::vector<Napi::ObjectReference> keep;

  void Run() { media::Preprocess(pixels, spec, out); }
};

// preprocess(pixels: Uint8Array, layout, plan, lut: Float32Array, out: Float32Array, offset)
std::shared_ptr<Call> ReadCall(const Napi::CallbackInfo& info) {
  auto call = std::make_shared<Call>();
  Require(info.Length() >= 6, "media: preprocess takes 6 arguments");
  Require(info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array,
          "media: `pixels` must be a Uint8Array");
  Require(info[1].IsObject() && info[2].IsObject(), "media: `layout` and `plan` must be objects");
  Require(info[3].IsTypedArray() && info[3].As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
          "media: `lut` must be a Float32Array");
  Require(info[4].IsTypedArray() && info[4].As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
          "media: `out` must be a Float32Array");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  Napi::Object layout = info[1].As<Napi::Object>();
  Napi::Object plan = info[2].As<Napi::Object>();
  Napi::Float32Array lut = info[3].As<Napi::Float32Array>();
  Napi::Float32Array out = info[4].As<Napi::Float32Array>();
  const int64_t offset = static_cast<int64_t>(ToDouble(info[5], "offset"));

  media::Pixels& px = call->pixels;
  px.frames = Int(layout, "frames");
  px.height = Int(layout, "height");
  px.width = Int(layout, "width");
  px.channels = Int(layout, "channels");
  px.bits = static_cast<int>(Int(layout, "bits"));
  px.kind = KindOf(ToString(layout.Get("kind"), "kind"));
  px.data = bytes.Data();
  media::CheckPixels(px);
  Require(static_cast<int64_t>(bytes.ByteLength()) == px.ByteLength(),
          "media: `pixels` holds " + std::to_string(bytes.ByteLength()) + " bytes, the layout needs " +
              std::to_string(px.ByteLength()));
  if (px.bits == 16 && reinterpret_cast<uintptr_t>(px.data) % alignof(uint16_t) != 0) {
    call->aligned.resize(bytes.ByteLength() / 2);
    std::memcpy(call->aligned.data(), bytes.Data(), bytes.ByteLength());
    px.data = call->aligned.data();
  }

  media::Spec& spec = call->spec;
  Napi::Value resize = plan.Get("resize");
  spec.resize = resize.IsArray();
  if (spec.resize) {
    Napi::Array hw = resize.As<Napi::Array>();
    Require(hw.Length() == 2, "media: `plan.resize` must be [height, width]");
    spec.resize_height = static_cast<int64_t>(ToDouble(hw.Get(0u), "resize"));
    spec.resize_width = static_cast<int64_t>(ToDouble(hw.Get(1u), "resize"));
    spec.interpolation = InterpolationOf(ToString(plan.Get("interpolation"), "interpolation"));
    spec.antialias = plan.Get("antialias").ToBoolean().Value();
    spec.float_resize = plan.Get("floatResize").ToBoolean().Value();
  }
  spec.top = Int(plan, "top");
  spec.left = Int(plan, "left");
  spec.out_height = Int(plan, "height");
  spec.out_width = Int(plan, "width");
  Require(lut.ElementLength() == 768, "media: `lut` must hold 768 values");
  call->lut.assign(lut.Data(), lut.Data() + 768);
  spec.lut = call->lut.data();
  media::CheckSpec(px, spec);

  const int64_t need = px.frames * 3 * spec.out_height * spec.out_width;
  Require(offset >= 0 && offset + need <= static_cast<int64_t>(out.ElementLength()),
          "media: `out` is too small for " + std::to_string(need) + " values at offset " +
              std::to_string(offset));
  call->out = out.Data() + offset;
  call->keep.push_back(Napi::Persistent(info[0].As<Napi::Object>()));
  call->keep.push_back(Napi::Persistent(info[4].As<Napi::Object>()));
  return call;
}

Napi::Value PreprocessAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    std::shared_ptr<Call> call = ReadCall(info);
    return RunAsync<bool>(
        info.Env(),
        [call]() {
          call->Run();
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

// mediaInfo(): what decides the resize path (docs/media.md).
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cpuCapability", Napi::String::New(info.Env(), at::get_cpu_capability()));
  o.Set("nativeUint8Bilinear", Napi::Boolean::New(info.Env(), media::NativeUint8Bilinear()));
  return o;
}

// numpyRandint(seed, low, high, count): `np.random.seed(seed)` then `count` draws of
// `np.random.randint(low, high)` (native/masks/numpy_random.h: NumPy's legacy generator, the
// one the notebook mask samplers use).
Napi::Value NumpyRandint(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const double seed = ToDouble(info[0], "seed");
    const double low = ToDouble(info[1], "low");
    const double high = ToDouble(info[2], "high");
    const double count = ToDouble(info[3], "count");
    Require(seed >= 0 && seed <= 4294967295.0 && low < high && count >= 0 && count <= 1e6,
            "media: numpyRandint needs 0 <= seed < 2^32, low < high and a count");
    masks::Stream stream(static_cast<uint64_t>(seed));
    Napi::Array out = Napi::Array::New(info.Env(), static_cast<size_t>(count));
    for (uint32_t i = 0; i < static_cast<uint32_t>(count); ++i) {
      const int64_t v = masks::NumpyRandint(stream, static_cast<int64_t>(low), static_cast<int64_t>(high));
      out.Set(i, Napi::Number::New(info.Env(), static_cast<double>(v)));
    }
    return out;
  });
}

}  // namespace

void InitMedia(Napi::Env env, Napi::Object exports) {
  exports.Set("mediaPreprocess", Napi::Function::New(env, PreprocessAsync));
  exports.Set("mediaInfo", Napi::Function::New(env, Info));
  exports.Set("numpyRandint", Napi::Function::New(env, NumpyRandint));
}

}  // namespace jepa
