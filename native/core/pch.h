// Precompiled header: the heavy libtorch and Node-API headers every translation unit uses.
#pragma once
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <napi.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
