// Stand-in for gloo/rendezvous/store.h: see native/distributed/gloo_decl/gloo/README.md. ProcessGroupGloo.hpp
// derives its inline GlooStore from this class (jepa-native never creates one), so the virtual
// functions that GlooStore overrides must be declared.
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace gloo {
namespace rendezvous {
class Store {
 public:
  virtual ~Store();
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};
}  // namespace rendezvous
}  // namespace gloo
