// Node-API side of the mask samplers (native/masks/masks.h): converts the validated option objects of
// lib/masks/samplers.ts into plain structs on the JS thread, runs the sampler (here or on a worker
// thread), and returns tensor handles plus the position stream's new state.
#include "masks_binding.h"

#include <ATen/CPUGeneratorImpl.h>
#include <napi.h>

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/async.h"
#include "core/common.h"
#include "masks/hjepa.h"
#include "masks/masks.h"
#include "masks/notebook.h"
#include "masks/numpy_random.h"
#include "tensor/tensor.h"
#include "tensor_binding.h"

namespace jepa {
namespace {

using masks::MaskBatch;
using masks::Stream;

Napi::Value Field(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    throw Error(code::kInvalidArgument, std::string("mask options: missing `") + key + "`", true);
  }
  return v;
}

int64_t Int(const Napi::Object& o, const char* key) {
  return static_cast<int64_t>(ToDouble(Field(o, key), key));
}

double Num(const Napi::Object& o, const char* key) { return ToDouble(Field(o, key), key); }

bool Bool(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

masks::Range Pair(const Napi::Object& o, const char* key) {
  Napi::Value v = Field(o, key);
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 2) {
    throw Error(code::kInvalidArgument, std::string("mask options: `") + key + "` must be a pair", true);
  }
  Napi::Array a = v.As<Napi::Array>();
  return {ToDouble(a.Get(0u), key), ToDouble(a.Get(1u), key)};
}

uint64_t U64(const Napi::Object& o, const char* key) {
  Napi::Value v = Field(o, key);
  if (v.IsBigInt()) {
    bool lossless = false;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(ToDouble(v, key));
}

// The position stream: a saved state (Uint32Array) when given, else a fresh one from positionSeed.
Stream PositionStream(const Napi::Object& o, const Napi::Value& state) {
  if (state.IsTypedArray() && state.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array words = state.As<Napi::Uint32Array>();
    return Stream::Load(words.Data(), words.ElementLength());
  }
  if (!state.IsUndefined() && !state.IsNull()) {
    throw Error(code::kInvalidArgument, "mask sampler state must be a Uint32Array", true);
  }
  return Stream(U64(o, "positionSeed"));
}

c10::Device Dev(const Napi::Object& o) {
  Napi::Value v = o.Get("device");
  return v.IsString() ? ParseDevice(v.As<Napi::String>().Utf8Value()) : c10::Device(c10::kCPU);
}

// What a sampler run returns to the JS thread.
struct Outcome {
  MaskBatch batch;
  std::vector<uint32_t> state;
};

Napi::Value ToJs(Napi::Env env, Outcome& r) {
  Napi::Object out = Napi::Object::New(env);
  auto list = [&](std::vector<at::Tensor>& ts) {
    Napi::Array a = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); ++i)
      a.Set(static_cast<uint32_t>(i), TensorHandle::New(env, std::move(ts[i])));
    return a;
  };
  out.Set("context", list(r.batch.context));
  out.Set("targets", list(r.batch.targets));
  out.Set("binary", list(r.batch.binary));
  Napi::Array sizes = Napi::Array::New(env, r.batch.sizes.size());
  for (size_t i = 0; i < r.batch.sizes.size(); ++i)
    sizes.Set(static_cast<uint32_t>(i), FromShape(env, r.batch.sizes[i]));
  out.Set("sizes", sizes);
  out.Set("relaxed", Napi::Number::New(env, static_cast<double>(r.batch.relaxed)));
  Napi::Uint32Array state = Napi::Uint32Array::New(env, r.state.size());
  std::memcpy(state.Data(), r.state.data(), r.state.size() * sizeof(uint32_t));
  out.Set("state", state);
  return out;
}

// Builds the work of one sampler call from its JS arguments (on the JS thread).
using Work = std::function<Outcome()>;

template <typename Run>
Work MakeWork(Stream stream, Run run) {
  return [stream, run]() mutable {
    Outcome r;
    r.batch = run(stream);
    r.state.resize(Stream::kStateWords);
    stream.Save(r.state.data());
    return r;
  };
}

Work MultiblockWork(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  masks::MultiblockOptions m;
  m.height = Int(o, "height");
  m.width = Int(o, "width");
  m.enc_scale = Pair(o, "encScale");
  m.pred_scale = Pair(o, "predScale");
  m.aspect = Pair(o, "aspectRatio");
  m.nenc = Int(o, "nenc");
  m.npred = Int(o, "npred");
  m.min_keep = Int(o, "minKeep");
  m.allow_overlap = Bool(o, "allowOverlap");
  m.batch_size = Int(o, "batchSize");
  m.seed = U64(o, "seed");
  c10::Device device = Dev(o);
  bool binary = Bool(o, "binary");
  return MakeWork(PositionStream(o, info[1]),
                  [m, device, binary](Stream& s) { return masks::Multiblock(m, s, device, binary); });
}

Work Multiblock3dWork(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  masks::Multiblock3dOptions m;
  m.duration = Int(o, "duration");
  m.height = Int(o, "height");
  m.width = Int(o, "width");
  m.batch_size = Int(o, "batchSize");
  m.seed = U64(o, "seed");
  Napi::Value cfgs = Field(o, "configs");
  if (!cfgs.IsArray()) throw Error(code::kInvalidArgument, "mask options: `configs` must be an array", true);
  Napi::Array a = cfgs.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Object c = a.Get(i).As<Napi::Object>();
    masks::Multiblock3dConfig cfg;
    cfg.spatial_scale = Pair(c, "spatialScale");
    cfg.temporal_scale = Pair(c, "temporalScale");
    cfg.aspect = Pair(c, "aspectRatio");
    cfg.num_blocks = Int(c, "numBlocks");
    cfg.max_temporal_keep = Num(c, "maxTemporalKeep");
    cfg.max_keep = Int(c, "maxKeep");
    m.configs.push_back(cfg);
  }
  c10::Device device = Dev(o);
  return MakeWork(PositionStream(o, info[1]),
                  [m, device](Stream& s) { return masks::Multiblock3d(m, s, device); });
}

Work RandomTubeWork(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  masks::RandomTubeOptions m;
  m.duration = Int(o, "duration");
  m.height = Int(o, "height");
  m.width = Int(o, "width");
  m.ratio = Num(o, "ratio");
  m.batch_size = Int(o, "batchSize");
  c10::Device device = Dev(o);
  bool binary = Bool(o, "binary");
  return MakeWork(PositionStream(o, info[1]),
                  [m, device, binary](Stream& s) { return masks::RandomTube(m, s, device, binary); });
}

// A stream from `seedKey` or from the words of a saved state at `part` of `count` streams.
Stream StreamFrom(const Napi::Object& o, const char* seed_key, const Napi::Value& state, size_t part,
                  size_t count) {
  if (state.IsTypedArray() && state.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array words = state.As<Napi::Uint32Array>();
    if (words.ElementLength() != count * Stream::kStateWords) {
      throw Error(code::kInvalidArgument,
                  "a mask sampler state of this kind has " + std::to_string(count * Stream::kStateWords) +
                      " words, got " + std::to_string(words.ElementLength()),
                  true);
    }
    return Stream::Load(words.Data() + part * Stream::kStateWords, Stream::kStateWords);
  }
  if (!state.IsUndefined() && !state.IsNull()) {
    throw Error(code::kInvalidArgument, "mask sampler state must be a Uint32Array", true);
  }
  return Stream(U64(o, seed_key));
}

// H-JEPA's HierarchicalMaskGenerator on NumPy's global stream (`seed`: np.random.seed).
Work HJepaWork(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  masks::HJepaMaskOptions m;
  m.height = Int(o, "height");
  m.width = Int(o, "width");
  m.num_hierarchies = Int(o, "numHierarchies");
  m.num_target_masks = Int(o, "numTargetMasks");
  m.geometric = Bool(o, "geometric");
  m.base_scale = Pair(o, "baseScale");
  m.aspect = Pair(o, "aspectRatio");
  m.max_attempts = Int(o, "maxAttempts");
  m.batch_size = Int(o, "batchSize");
  c10::Device device = Dev(o);
  return MakeWork(StreamFrom(o, "seed", info[1], 0, 1),
                  [m, device](Stream& s) { return masks::HJepaMasks(m, s, device); });
}

// Seed 002's 2D sampler: NumPy's stream (`seed`) for scales and aspect ratio, torch's
// (`positionSeed`) for the corners; the state holds both, NumPy's first.
Work Notebook2dWork(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  masks::Notebook2dOptions m;
  m.height = Int(o, "height");
  m.width = Int(o, "width");
  m.target_aspect = Pair(o, "targetAspectRatio");
  m.target_scale = Pair(o, "targetScale");
  m.context_scale = Pair(o, "contextScale");
  m.context_aspect = Num(o, "contextAspectRatio");
  m.num_targets = Int(o, "numTargets");
  c10::Device device = Dev(o);
  Stream numpy = StreamFrom(o, "seed", info[1], 0, 2);
  Stream torch = StreamFrom(o, "positionSeed", info[1], 1, 2);
  return [m, device, numpy, torch]() mutable {
    Outcome r;
    r.batch = masks::Notebook2d(m, numpy, torch, device);
    r.state.resize(2 * Stream::kStateWords);
    numpy.Save(r.state.data());
    torch.Save(r.state.data() + Stream::kStateWords);
    return r;
  };
}

// Seed 002's 3D sampler on torch's global stream (`positionSeed`).
Work Notebook3dWork(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  masks::Notebook3dOptions m;
  m.duration = Int(o, "duration");
  m.height = Int(o, "height");
  m.width = Int(o, "width");
  m.long_range = Bool(o, "longRange");
  m.aspect = Pair(o, "aspectRatio");
  c10::Device device = Dev(o);
  return MakeWork(StreamFrom(o, "positionSeed", info[1], 0, 1),
                  [m, device](Stream& s) { return masks::Notebook3d(m, s, device); });
}

template <Work (*Make)(const Napi::CallbackInfo&)>
Napi::Value Sync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsObject()) throw Error(code::kInvalidArgument, "mask options must be an object", true);
    Outcome r = Make(info)();
    return ToJs(info.Env(), r);
  });
}

template <Work (*Make)(const Napi::CallbackInfo&)>
Napi::Value Async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Work work;
  try {
    Guard(env, [&]() {
      if (!info[0].IsObject()) throw Error(code::kInvalidArgument, "mask options must be an object", true);
      work = Make(info);
      return 0;
    });
  } catch (const Napi::Error& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  return RunAsync<Outcome>(env, std::move(work), [](Napi::Env e, Outcome& r) { return ToJs(e, r); });
}

// masksToBinary(tensors[], numPatches, dtype)
Napi::Value ToBinaryJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsArray()) throw Error(code::kInvalidArgument, "expected an array of index tensors", true);
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<at::Tensor> ts;
    for (uint32_t i = 0; i < a.Length(); ++i) ts.push_back(TensorHandle::Get(a.Get(i), "masks"));
    int64_t n = static_cast<int64_t>(ToDouble(info[1], "numPatches"));
    at::ScalarType dtype = ParseDtype(ToString(info[2], "dtype"));
    return TensorHandle::New(info.Env(), masks::ToBinary(ts, n, dtype));
  });
}

// masksToIndices(mask, nonzero)
Napi::Value ToIndicesJs(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& m = TensorHandle::Get(info[0], "mask");
    return TensorHandle::New(info.Env(), masks::ToIndices(m, info[1].ToBoolean().Value()));
  });
}

// masksRngCheck(seed, ranges): for each range r, a draw of this module's stream and of libtorch's own
// at::rand / at::randint on a CPU generator with the same seed (r == 0: rand, else randint(0, r)).
// Lets the tests prove, without Python, that the fast stream draws exactly what libtorch draws.
Napi::Value RngCheck(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    uint64_t seed = static_cast<uint64_t>(ToDouble(info[0], "seed"));
    std::vector<int64_t> ranges = ToShape(info[1], "ranges");
    Stream ours(seed);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    Napi::Array a = Napi::Array::New(env, ranges.size());
    Napi::Array b = Napi::Array::New(env, ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
      double x, y;
      if (ranges[i] == 0) {
        x = ours.Rand();
        y = at::rand({1}, gen, at::kFloat).item<double>();
      } else {
        x = static_cast<double>(ours.RandInt(0, ranges[i]));
        y = static_cast<double>(at::randint(0, ranges[i], {1}, gen, at::kLong).item<int64_t>());
      }
      a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, x));
      b.Set(static_cast<uint32_t>(i), Napi::Number::New(env, y));
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ours", a);
    out.Set("torch", b);
    return out;
  });
}

// numpyCheck(seed, ops): after np.random.seed(seed), the value of each op in turn; ops is a flat
// list of triples (0, 0, 0) random_sample(), (1, low, high) uniform(low, high),
// (2, low, high) randint(low, high). Lets the tests compare this stream with NumPy's itself.
Napi::Value NumpyCheck(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Stream s(static_cast<uint64_t>(ToDouble(info[0], "seed")));
    if (!info[1].IsArray()) throw Error(code::kInvalidArgument, "expected an array of ops", true);
    Napi::Array ops = info[1].As<Napi::Array>();
    const uint32_t n = ops.Length() / 3;
    Napi::Array out = Napi::Array::New(env, n);
    for (uint32_t i = 0; i < n; ++i) {
      const int op = static_cast<int>(ToDouble(ops.Get(3 * i), "op"));
      const double a = ToDouble(ops.Get(3 * i + 1), "low");
      const double b = ToDouble(ops.Get(3 * i + 2), "high");
      double v = 0;
      if (op == 0) {
        v = masks::NumpyRandomSample(s);
      } else if (op == 1) {
        v = masks::NumpyUniform(s, a, b);
      } else {
        if (!(a < b)) throw Error(code::kInvalidArgument, "randint needs low < high", true);
        v = static_cast<double>(masks::NumpyRandint(s, static_cast<int64_t>(a), static_cast<int64_t>(b)));
      }
      out.Set(i, Napi::Number::New(env, v));
    }
    return out;
  });
}

}  // namespace

void InitMasks(Napi::Env env, Napi::Object exports) {
  exports.Set("masksMultiblock", Napi::Function::New(env, Sync<MultiblockWork>));
  exports.Set("masksMultiblockAsync", Napi::Function::New(env, Async<MultiblockWork>));
  exports.Set("masksMultiblock3d", Napi::Function::New(env, Sync<Multiblock3dWork>));
  exports.Set("masksMultiblock3dAsync", Napi::Function::New(env, Async<Multiblock3dWork>));
  exports.Set("masksRandomTube", Napi::Function::New(env, Sync<RandomTubeWork>));
  exports.Set("masksRandomTubeAsync", Napi::Function::New(env, Async<RandomTubeWork>));
  exports.Set("masksHjepa", Napi::Function::New(env, Sync<HJepaWork>));
  exports.Set("masksHjepaAsync", Napi::Function::New(env, Async<HJepaWork>));
  exports.Set("masksNotebook2d", Napi::Function::New(env, Sync<Notebook2dWork>));
  exports.Set("masksNotebook2dAsync", Napi::Function::New(env, Async<Notebook2dWork>));
  exports.Set("masksNotebook3d", Napi::Function::New(env, Sync<Notebook3dWork>));
  exports.Set("masksNotebook3dAsync", Napi::Function::New(env, Async<Notebook3dWork>));
  exports.Set("masksToBinary", Napi::Function::New(env, ToBinaryJs));
  exports.Set("masksToIndices", Napi::Function::New(env, ToIndicesJs));
  exports.Set("masksRngCheck", Napi::Function::New(env, RngCheck));
  exports.Set("masksNumpyCheck", Napi::Function::New(env, NumpyCheck));
}

}  // namespace jepa
