// The value tree of pt/value.h <-> libtorch's c10::IValue, for TorchScript module arguments and
// results: the one place where Python values meet TorchScript types. Plain C++, no Node-API.
#pragma once
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include <string>

#include "pt/value.h"

namespace jepa {
namespace pt {

// Names the argument being converted, for error messages: "expected argument `xs` of
// tensors() to be List[Tensor] (xs[1] should be Tensor), got a number (3)".
struct ArgContext {
  std::string method;    // "forward"
  std::string arg;       // "xs"
  std::string expected;  // the argument's declared type, "List[Tensor]"
};

// `v` as an IValue of TorchScript type `type`. Ints are accepted where floats are declared (as
// Python does); an `Any` slot takes the type the value has. Throws a kInvalidArgument TypeError
// saying what was expected and what was given, for a mismatch, a value with no TorchScript form
// (set, bytes, dtype, an int beyond int64) or a container that holds itself.
c10::IValue ToIValue(const Value* v, const c10::TypePtr& type, const ArgContext& ctx);

// An IValue (a method's result) as a value tree owned by `doc`; tensors are shared, not copied.
// Throws kInvalidArgument for a TorchScript type that has no Python value here (objects,
// futures, ...).
Value* FromIValue(const c10::IValue& v, Document& doc);

// "a number (1.5)", "a Tuple", "an array of length 3": a value as the JS user wrote it.
std::string Describe(const Value* v);

}  // namespace pt
}  // namespace jepa
