// Stand-in for gloo/transport/device.h: see native/distributed/gloo_decl/gloo/README.md. Only named, never
// created or used here: libtorch makes the devices.
#pragma once

namespace gloo {
namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport
}  // namespace gloo
