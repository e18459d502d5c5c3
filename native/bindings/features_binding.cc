// Small tensor reductions behind lib/features/features.ts (V-JEPA 2 feature aggregation): the same ATen
// calls as Python's `features.mean(dim=...)` and `grid[t]`, so the results are bit-identical.
// Arguments are validated in TypeScript; these only assert.
#include <ATen/ATen.h>
#include <napi.h>

#include "bindings/tensor_binding.h"
#include "core/common.h"

namespace jepa {
namespace {

// featureMean(tensor, dims[], keepdim): at::mean over `dims`.
Napi::Value FeatureMean(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = TensorHandle::Get(info[0], "features");
    std::vector<int64_t> dims = ToShape(info[1], "dims");
    return TensorHandle::New(info.Env(), at::mean(t, dims, info[2].ToBoolean().Value()));
  });
}

// featureSelect(tensor, dim, index): at::select, a view.
Napi::Value FeatureSelect(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = TensorHandle::Get(info[0], "features");
    const int64_t dim = static_cast<int64_t>(ToDouble(info[1], "dim"));
    const int64_t index = static_cast<int64_t>(ToDouble(info[2], "index"));
    return TensorHandle::New(info.Env(), t.select(dim, index));
  });
}

}  // namespace

void InitFeatures(Napi::Env env, Napi::Object exports) {
  exports.Set("featureMean", Napi::Function::New(env, FeatureMean));
  exports.Set("featureSelect", Napi::Function::New(env, FeatureSelect));
}

}  // namespace jepa
