#include "train/ema.h"

#include <ATen/TensorIterator.h>
#include <ATen/Version.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <map>
#include <sstream>

#include "core/errors.h"
#include "model/module.h"
#include "train/ema_kernels.h"

namespace jepa {
namespace {

std::string ShapeText(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

std::string Describe(const at::Tensor& t) {
  std::ostringstream os;
  os << ShapeText(t) << " " << c10::toString(t.scalar_type()) << " on " << t.device();
  return os.str();
}

// Collects the differences between two tensors paired under `name`; returns true when they
// differ in shape or dtype, sets `device` when only the devices differ.
bool Differs(const std::string& name, const at::Tensor& t, const at::Tensor& s, std::vector<std::string>& out,
             bool& device_only) {
  if (!t.defined() || !s.defined()) {
    out.push_back(name + ": undefined tensor");
    return true;
  }
  if (t.sizes() != s.sizes() || t.scalar_type() != s.scalar_type()) {
    out.push_back(name + ": target " + Describe(t) + ", source " + Describe(s));
    return true;
  }
  if (t.device() != s.device()) {
    out.push_back(name + ": target " + Describe(t) + ", source " + Describe(s));
    device_only = true;
    return true;
  }
  return false;
}

[[noreturn]] void ThrowMismatch(const std::vector<std::string>& problems, bool device_only, size_t pairs) {
  std::string msg = "the target and source parameters do not match (" + std::to_string(problems.size()) +
                    " problem" + (problems.size() == 1 ? "" : "s") + " among " + std::to_string(pairs) +
                    " tensors):";
  const size_t shown = std::min<size_t>(problems.size(), 40);
  for (size_t i = 0; i < shown; ++i) msg += "\n  " + problems[i];
  if (shown < problems.size()) msg += "\n  ... and " + std::to_string(problems.size() - shown) + " more";
  throw Error(device_only ? code::kDeviceMismatch : code::kParameterMismatch, msg);
}

// The foreach kernel reproduces ATen's FMA rounding, which ATen uses at capability AVX2 and
// AVX512 only (ATEN_CPU_CAPABILITY=default runs its scalar code: plain mul and add).
bool ComputeFusedAvailable() {
  const std::string cap = at::get_cpu_capability();
  if (cap != "AVX2" && cap != "AVX512") return false;
  return ema_kernels::CpuHasAvx2Fma();
}

bool FusedEligible(const std::pair<at::Tensor, at::Tensor>& p) {
  const at::Tensor& t = p.first;
  const at::Tensor& s = p.second;
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && s.scalar_type() == at::kFloat &&
         t.is_contiguous() && s.is_contiguous() && !t.is_inference() && t.numel() == s.numel() &&
         !t.is_same(s);
}

void BumpVersion(const at::Tensor& t) {
  if (!t.is_inference()) t.unsafeGetTensorImpl()->bump_version();
}

struct Chunk {
  float* t;
  const float* s;
  int64_t n;
};

using Kernel = void (*)(float*, const float*, int64_t, float, float);

// Runs `kernel` over every pair in chunks of 32 Ki floats, in parallel on libtorch's threads.
void RunFused(const std::vector<const std::pair<at::Tensor, at::Tensor>*>& pairs, double momentum,
              Kernel kernel) {
  constexpr int64_t kChunk = 1 << 15;
  std::vector<Chunk> chunks;
  for (const auto* p : pairs) {
    float* t = p->first.data_ptr<float>();
    const float* s = p->second.data_ptr<float>();
    const int64_t n = p->first.numel();
    for (int64_t off = 0; off < n; off += kChunk)
      chunks.push_back({t + off, s + off, std::min(kChunk, n - off)});
  }
  const float m = static_cast<float>(momentum);
  const float a = static_cast<float>(1.0 - momentum);
  // at::parallel_for is inline: in a file built without -fopenmp it runs serially. A
  // TensorIterator over the chunk indices parallelises inside libtorch (its own OpenMP).
  at::Tensor index = at::arange(static_cast<int64_t>(chunks.size()), at::kLong);
  at::Tensor unused = at::empty_like(index);
  at::TensorIterator iter = at::TensorIteratorConfig()
                                .add_output(unused)
                                .add_const_input(index)
                                .check_all_same_dtype(false)
                                .build();
  iter.for_each(
      [&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
        for (int64_t j = 0; j < n1; ++j) {
          const char* base = data[1] + j * strides[3];
          for (int64_t i = 0; i < n0; ++i) {
            const Chunk& c = chunks[*reinterpret_cast<const int64_t*>(base + i * strides[1])];
            kernel(c.t, c.s, c.n, m, a);
          }
        }
      },
      1);
  for (const auto* p : pairs) BumpVersion(p->first);
}

}  // namespace

bool FusedEmaAvailable() {
  static const bool available = ComputeFusedAvailable();
  return available;
}

std::vector<std::pair<at::Tensor, at::Tensor>> MatchByName(const NamedTensors& target,
                                                           const NamedTensors& source) {
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, t] : source) by_name.emplace(name, &t);
  std::vector<std::string> problems;
  std::vector<std::string> only_target;
  bool device_only = false;
  bool other = false;
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  std::map<std::string, bool> seen;
  for (const auto& [name, t] : target) {
    seen[name] = true;
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      only_target.push_back(name);
      continue;
    }
    bool dev = false;
    if (Differs(name, t, *it->second, problems, dev)) {
      (dev ? device_only : other) = true;
      continue;
    }
    pairs.emplace_back(t, *it->second);
  }
  std::vector<std::string> only_source;
  for (const auto& [name, t] : source) {
    if (!seen.count(name)) only_source.push_back(name);
  }
  if (!only_target.empty() || !only_source.empty() || !problems.empty()) {
    std::vector<std::string> all;
    for (const auto& n : only_target) all.push_back(n + ": only in the target");
    for (const auto& n : only_source) all.push_back(n + ": only in the source");
    all.insert(all.end(), problems.begin(), problems.end());
    ThrowMismatch(all, device_only && !other && only_target.empty() && only_source.empty(),
                  std::max(target.size(), source.size()));
  }
  return pairs;
}

std::vector<std::pair<at::Tensor, at::Tensor>> MatchByPosition(const std::vector<at::Tensor>& target,
                                                               const std::vector<at::Tensor>& source) {
  std::vector<std::string> problems;
  bool device_only = false;
  bool other = false;
  if (target.size() != source.size()) {
    problems.push_back("the target has " + std::to_string(target.size()) + " tensors, the source " +
                       std::to_string(source.size()));
    other = true;
  }
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  for (size_t i = 0; i < std::min(target.size(), source.size()); ++i) {
    bool dev = false;
    if (Differs("[" + std::to_string(i) + "]", target[i], source[i], problems, dev)) {
      (dev ? device_only : other) = true;
      continue;
    }
    pairs.emplace_back(target[i], source[i]);
  }
  if (!problems.empty())
    ThrowMismatch(problems, device_only && !other, std::max(target.size(), source.size()));
  return pairs;
}

EmaStats EmaUpdate(const std::vector<std::pair<at::Tensor, at::Tensor>>& pairs, double momentum,
                   EmaFormula formula, bool allow_fused) {
  if (!std::isfinite(momentum))
    throw Error(code::kInvalidArgument, "expected the momentum to be a finite number", true);
  ApplyNumThreads();
  at::NoGradGuard no_grad;
  EmaStats stats;
  std::vector<const std::pair<at::Tensor, at::Tensor>*> fused;
  std::vector<at::Tensor> targets;
  std::vector<at::Tensor> sources;
  for (const auto& p : pairs) {
    if (!p.first.is_floating_point()) {
      p.first.copy_(p.second);
      ++stats.copied;
      continue;
    }
    ++stats.tensors;
    stats.elements += p.first.numel();
    // The loop formula's kernel runs on any CPU; the foreach one needs ATen's FMA rounding.
    if (allow_fused && FusedEligible(p) && (formula == EmaFormula::kLoop || FusedEmaAvailable())) {
      fused.push_back(&p);
    } else {
      targets.push_back(p.first);
      sources.push_back(p.second);
    }
  }
  if (!fused.empty()) {
    RunFused(fused, momentum,
             formula == EmaFormula::kLoop ? ema_kernels::LoopRange : ema_kernels::ForeachRange);
    stats.fused = true;
  }
  if (!targets.empty()) {
    if (formula == EmaFormula::kForeach) {
      at::_foreach_mul_(targets, momentum);
      at::_foreach_add_(targets, sources, 1.0 - momentum);
    } else {
      const double rest = 1.0 - momentum;
      for (size_t i = 0; i < targets.size(); ++i) targets[i].mul_(momentum).add_(sources[i] * rest);
    }
  }
  return stats;
}

}  // namespace jepa
