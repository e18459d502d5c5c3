// Stand-in for gloo/context.h: see native/distributed/gloo_decl/gloo/README.md. ProcessGroupGloo.hpp's
// inline setTimeout() names Context::setTimeout; jepa-native never calls it.
#pragma once
#include <chrono>

namespace gloo {
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo
