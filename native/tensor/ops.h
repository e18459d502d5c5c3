// libtorch's operators called by name through the c10 dispatcher with a boxed stack of IValues:
// one entry point for every op (the TypeScript side, generated from the operator schema, picks
// the overload and orders the arguments), Python's indexing rules (at::indexing) and seeded
// generators. No Node-API here, so a C++ test or a fuzzer can drive it.
#pragma once
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jepa::ops {

// What a schema argument holds, from its real type (`ScalarType? dtype` is a ScalarType here,
// not the int of the JIT type system). The binding converts JS values by these kinds.
enum class ArgKind : uint8_t {
  kTensor,
  kScalar,
  kInt,
  kFloat,
  kBool,
  kString,
  kIntList,
  kFloatList,
  kBoolList,
  kTensorList,
  kOptionalTensorList,  // Tensor?[] (aten::index, index_put_)
  kScalarType,
  kLayout,
  kDevice,
  kMemoryFormat,
  kGenerator,
  kUnsupported,  // Dimname, Storage, Stream, ...: never passed by the generated bindings
};

struct ArgSpec {
  std::string name;
  ArgKind kind;
  bool optional;  // `T?`: None is accepted
  std::optional<c10::IValue> default_value;
};

enum class ReturnKind : uint8_t { kTensor, kTensorList, kInt, kFloat, kBool, kScalar, kOther };

struct ReturnSpec {
  ReturnKind kind;
  // The return is an argument written in place (`Tensor(a!)`: in-place and out= forms): the
  // caller already holds it, so the binding gives back no new handle for it.
  bool written_argument;
};

// One resolved operator overload.
struct Op {
  c10::OperatorHandle handle;
  std::string name;  // "aten::add.Tensor", for messages
  std::vector<ArgSpec> args;
  std::vector<ReturnSpec> returns;
};

// The id of operator `name` (e.g. "aten::add") with overload `overload` ("Tensor", or "" for the
// default overload), resolving it on first use. Thread-safe; ids are process-wide and stable.
// Throws jepa::Error(kInvalidArgument) when this libtorch has no such operator.
int Resolve(const std::string& name, const std::string& overload);

// The operator of an id returned by Resolve. Throws kInvalidArgument for an unknown id.
const Op& Get(int id);

// Calls `op` with `stack` (its arguments in schema order; the returns replace them). libtorch's
// errors propagate as c10::Error.
void Call(const Op& op, std::vector<c10::IValue>* stack);

// A Python number as a Tensor argument (`torch.add(t, 2)`): a 0-dim tensor marked as a wrapped
// number, so that type promotion treats it as Python does.
at::Tensor WrappedNumber(const at::Scalar& value);

// A Python-style index item: `t[0, 1:, None, ..., True, mask]`.
struct IndexItem {
  enum class Kind : uint8_t { kInt, kSlice, kNone, kEllipsis, kBool, kTensor } kind;
  int64_t integer = 0;
  std::optional<int64_t> start, stop, step;  // kSlice; nullopt is Python's None
  bool boolean = false;
  at::Tensor tensor;
};

// `self[items]` with Python's rules (basic indexing gives views; tensor indices advanced indexing).
at::Tensor Index(const at::Tensor& self, const std::vector<IndexItem>& items);
// `self[items] = value` in place.
void IndexPut(const at::Tensor& self, const std::vector<IndexItem>& items, const at::Tensor& value);
void IndexPut(const at::Tensor& self, const std::vector<IndexItem>& items, const at::Scalar& value);

// A CPU generator seeded as Python's `torch.Generator().manual_seed(seed)`.
at::Generator MakeGenerator(uint64_t seed);

}  // namespace jepa::ops
