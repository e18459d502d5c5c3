#include "tensor/finalizers.h"

#include <dlfcn.h>
#include <node_api.h>

#include <cstdlib>
#include <cstring>

namespace jepa {

bool FinalizersRunInGc() {
  static const bool in_gc = [] {
    const char* opt = std::getenv("JEPA_GC_FINALIZERS");
    if (opt != nullptr && std::strcmp(opt, "0") == 0) return false;
    // Node exports its Node-API functions from the executable; the addon does not link to this one.
    return dlsym(RTLD_DEFAULT, "node_api_post_finalizer") != nullptr;
  }();
  return in_gc;
}

// The version declared where finalizers are queued: 8, what the addon calls (NAPI_VERSION, 10,
// only selects how node-addon-api recognises a torn-down environment: CMakeLists.txt).
int32_t ModuleApiVersion() { return FinalizersRunInGc() ? NAPI_VERSION_EXPERIMENTAL : 8; }

}  // namespace jepa
