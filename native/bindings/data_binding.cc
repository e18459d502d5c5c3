// Node-API side of jepa.data (lib/data/): the shuffled orders of the DataLoader, drawn by
// libtorch's own CPU generator and randperm so that they equal PyTorch's for the same seed; and
// the default generator's state, which a resumable fit (lib/train/fit.ts) saves and restores.
#include <ATen/CPUGeneratorImpl.h>
#include <napi.h>

#include <cstring>

#include "bindings/tensor_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "core/file_io.h"

namespace jepa {
namespace {

uint64_t SeedArg(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless = false;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(ToDouble(v, "seed"));
}

// dataGenerator(seed) -> External: a CPU generator after torch.Generator().manual_seed(seed).
Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    auto* gen = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(SeedArg(info[0])));
    return Napi::External<at::Generator>::New(info.Env(), gen, [](Napi::Env, at::Generator* g) { delete g; });
  });
}

// dataRandperm(generator, n, loaderEpoch) -> Int32Array: torch.randperm(n, generator=g). With
// loaderEpoch, the draws of one epoch of DataLoader(shuffle=True, generator=g) iterated to its
// end, in their order: the iterator's base seed (an int64 random_()), the RandomSampler's
// permutation (returned), and the empty tail permutation it draws when exhausted.
Napi::Value Randperm(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsExternal()) throw Error(code::kInternal, "dataRandperm needs a generator");
    at::Generator& gen = *info[0].As<Napi::External<at::Generator>>().Data();
    const double n = ToDouble(info[1], "n");
    if (!(n >= 0 && n <= 2147483647.0) || n != static_cast<double>(static_cast<int64_t>(n))) {
      throw Error(code::kInvalidArgument, "expected `n` to be an integer in [0, 2^31)", true);
    }
    const bool loader_epoch = info[2].ToBoolean().Value();
    // The generator is used on the JS thread only (randperm and random_ lock it themselves).
    if (loader_epoch) at::empty({}, at::kLong).random_(gen);
    at::Tensor perm = at::randperm(static_cast<int64_t>(n), gen, at::kLong);
    if (loader_epoch) at::randperm(static_cast<int64_t>(n), gen, at::kLong);
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), static_cast<size_t>(n));
    const int64_t* p = perm.data_ptr<int64_t>();
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) out[i] = static_cast<int32_t>(p[i]);
    return out;
  });
}

// Stacks CPU copies of `tensors` (one dtype, equal shapes but for `dim`) into a new tensor
// [B, ...] on files::NewStorage; with dim >= 0 each is cut or zero-padded to `target` along dim.
at::Tensor StackSamples(const std::vector<at::Tensor>& tensors, int64_t dim, int64_t target) {
  if (tensors.empty()) throw Error(code::kInvalidArgument, "no tensors to stack", true);
  std::vector<at::Tensor> ts;
  ts.reserve(tensors.size());
  for (const at::Tensor& t : tensors) {
    at::Tensor c = t.is_cpu() ? t.contiguous() : t.to(at::kCPU).contiguous();
    if (c.is_conj()) c = c.resolve_conj();
    if (c.is_neg()) c = c.resolve_neg();
    ts.push_back(std::move(c));
  }
  const at::ScalarType dtype = ts[0].scalar_type();
  std::vector<int64_t> shape = ts[0].sizes().vec();
  if (dim >= static_cast<int64_t>(shape.size()))
    throw Error(code::kInvalidArgument, "the dimension to pad or crop is out of range", true);
  if (dim >= 0) shape[dim] = target;
  for (const at::Tensor& t : ts) {
    bool same = t.scalar_type() == dtype && t.dim() == static_cast<int64_t>(shape.size());
    for (int64_t d = 0; same && d < t.dim(); ++d) same = d == dim || t.size(d) == shape[d];
    if (!same) throw Error(code::kShapeMismatch, "the samples to stack differ in dtype or shape");
  }
  const int64_t elem = static_cast<int64_t>(c10::elementSize(dtype));
  int64_t per = 1;
  for (int64_t d : shape) per *= d;
  std::vector<int64_t> out_shape{static_cast<int64_t>(ts.size())};
  out_shape.insert(out_shape.end(), shape.begin(), shape.end());
  at::Storage storage = files::NewStorage(static_cast<int64_t>(ts.size()) * per * elem);
  at::Tensor out = at::empty({0}, at::TensorOptions().dtype(dtype));
  out.set_(storage, 0, out_shape);
  auto* dst = static_cast<uint8_t*>(storage.mutable_data());
  for (size_t i = 0; i < ts.size(); ++i) {
    const auto* src = static_cast<const uint8_t*>(ts[i].data_ptr());
    uint8_t* base = dst + static_cast<int64_t>(i) * per * elem;
    if (dim < 0) {
      if (per > 0) std::memcpy(base, src, static_cast<size_t>(per * elem));
      continue;
    }
    int64_t outer = 1, inner = elem;
    for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
    for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) inner *= shape[d];
    const int64_t len = ts[i].size(dim);
    const int64_t keep = std::min(len, target) * inner;
    for (int64_t o = 0; o < outer; ++o) {
      uint8_t* row = base + o * target * inner;
      if (keep > 0) std::memcpy(row, src + o * len * inner, static_cast<size_t>(keep));
      if (keep < target * inner) std::memset(row + keep, 0, static_cast<size_t>(target * inner - keep));
    }
  }
  return out;
}

std::vector<at::Tensor> TensorArgs(const Napi::Value& v) {
  if (!v.IsArray()) throw Error(code::kInvalidArgument, "expected an array of tensors", true);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(TensorHandle::Get(a.Get(i), "tensor"));
  return out;
}

// dataStackSync(tensors, dim, target) -> NativeTensor (StackSamples), dim -1: a plain stack.
Napi::Value StackSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return TensorHandle::New(info.Env(),
                             StackSamples(TensorArgs(info[0]), static_cast<int64_t>(ToDouble(info[1], "dim")),
                                          static_cast<int64_t>(ToDouble(info[2], "target"))));
  });
}

// dataStack(tensors, dim, target) -> Promise<NativeTensor>: the copy on a worker thread.
Napi::Value StackAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    auto tensors = TensorArgs(info[0]);
    const int64_t dim = static_cast<int64_t>(ToDouble(info[1], "dim"));
    const int64_t target = static_cast<int64_t>(ToDouble(info[2], "target"));
    return RunAsync<at::Tensor>(
        info.Env(), [tensors, dim, target]() { return StackSamples(tensors, dim, target); },
        [](Napi::Env env, at::Tensor& t) -> Napi::Value { return TensorHandle::New(env, t); });
  });
}

// rngState() -> NativeTensor: the state of libtorch's default CPU generator (what
// torch.get_rng_state() returns: dropout and drop-path draw from it), for a resumable fit.
Napi::Value RngState(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return TensorHandle::New(info.Env(), at::Tensor(gen.get_state()));
  });
}

// setRngState(tensor): torch.set_rng_state(state).
Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor state = TensorHandle::Get(info[0], "state");
    if (state.scalar_type() != at::kByte || state.dim() != 1 || !state.is_cpu()) {
      throw Error(code::kInvalidArgument, "expected the generator state to be a 1-D uint8 CPU tensor", true);
    }
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.contiguous());
    return info.Env().Undefined();
  });
}

}  // namespace

void InitData(Napi::Env env, Napi::Object exports) {
  exports.Set("dataGenerator", Napi::Function::New(env, NewGenerator));
  exports.Set("dataRandperm", Napi::Function::New(env, Randperm));
  exports.Set("dataStackSync", Napi::Function::New(env, StackSync));
  exports.Set("dataStack", Napi::Function::New(env, StackAsync));
  exports.Set("rngState", Napi::Function::New(env, RngState));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState));
}

}  // namespace jepa
