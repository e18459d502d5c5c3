// Node-API side of jepa.data (lib/data/): the shuffled orders of the DataLoader, drawn by
// libtorch's own CPU generator and randperm so that they equal PyTorch's for the same seed; and
// the default generator's state, which a resumable fit (lib/train/fit.ts) saves and restores.
#include <ATen/CPUGeneratorImpl.h>
#include <napi.h>

#include "bindings/tensor_binding.h"
#include "common.h"

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
  exports.Set("rngState", Napi::Function::New(env, RngState));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState));
}

}  // namespace jepa
