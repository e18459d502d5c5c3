// When Node runs the addon's finalizers: inside the garbage collector (so that a synchronous loop
// that drops tensors gets their memory back at the next collection) or on a later turn of the
// event loop (Node's default). No Node-API here beyond its version numbers.
#pragma once
#include <cstdint>

namespace jepa {

// The Node-API version the addon declares to Node (node_api_module_get_api_version_v1).
//
// Node runs the finalizers of a module that declares NAPI_VERSION_EXPERIMENTAL directly from the
// garbage collector ("basic" finalizers, which must not call into JS); for any other version it
// queues them and runs them after the current JS code returns to the event loop. The addon asks
// for the first where the running Node has that behaviour, which came with
// `node_api_post_finalizer` (Node 18.19 and 20.10; the symbol is looked up at run time, so the
// same binary loads on Node 20.9 too and keeps the queued behaviour there). Setting
// JEPA_GC_FINALIZERS=0 in the environment also keeps the queued behaviour.
//
// The addon calls only Node-API 8 functions either way, and no experimental one (it is compiled
// with NAPI_VERSION=10 for node-addon-api's handling of torn-down environments: CMakeLists.txt);
// the declared version only changes when Node runs finalizers (and makes an exception thrown by
// a finalizer an uncaught exception; none of the addon's finalizers throws). What may run in a
// finalizer is listed in CONTRIBUTING.md ("a finalizer runs inside the garbage collector").
int32_t ModuleApiVersion();

// Whether finalizers run inside the garbage collector (the decision ModuleApiVersion reports).
bool FinalizersRunInGc();

}  // namespace jepa
