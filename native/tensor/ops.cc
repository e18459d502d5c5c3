#include "tensor/ops.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorIndexing.h>
#include <ATen/core/jit_type.h>
#include <torch/csrc/api/include/torch/version.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/errors.h"

namespace jepa::ops {
namespace {

// Ids index a fixed table, so that Get() needs no lock while another thread resolves.
constexpr size_t kMaxOps = 8192;

struct Table {
  std::mutex mutex;  // guards `ids` and appending
  std::unordered_map<std::string, int> ids;
  std::array<std::atomic<const Op*>, kMaxOps> ops{};
  std::atomic<int> size{0};
};

Table& GetTable() {
  static Table* table = new Table();  // never destroyed: finalizers and workers may outlive exit
  return *table;
}

ArgKind KindOf(const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      return ArgKind::kTensor;
    case c10::TypeKind::NumberType:
      return ArgKind::kScalar;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return ArgKind::kInt;
    case c10::TypeKind::FloatType:
    case c10::TypeKind::SymFloatType:
      return ArgKind::kFloat;
    case c10::TypeKind::BoolType:
    case c10::TypeKind::SymBoolType:
      return ArgKind::kBool;
    case c10::TypeKind::StringType:
      return ArgKind::kString;
    case c10::TypeKind::ScalarTypeType:
      return ArgKind::kScalarType;
    case c10::TypeKind::LayoutType:
      return ArgKind::kLayout;
    case c10::TypeKind::DeviceObjType:
      return ArgKind::kDevice;
    case c10::TypeKind::MemoryFormatType:
      return ArgKind::kMemoryFormat;
    case c10::TypeKind::GeneratorType:
      return ArgKind::kGenerator;
    case c10::TypeKind::ListType: {
      const c10::TypePtr& elem = type->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case c10::TypeKind::IntType:
        case c10::TypeKind::SymIntType:
          return ArgKind::kIntList;
        case c10::TypeKind::FloatType:
          return ArgKind::kFloatList;
        case c10::TypeKind::BoolType:
          return ArgKind::kBoolList;
        case c10::TypeKind::TensorType:
          return ArgKind::kTensorList;
        case c10::TypeKind::OptionalType:
          if (elem->castRaw<c10::OptionalType>()->getElementType()->kind() == c10::TypeKind::TensorType) {
            return ArgKind::kOptionalTensorList;
          }
          return ArgKind::kUnsupported;
        default:
          return ArgKind::kUnsupported;
      }
    }
    default:
      return ArgKind::kUnsupported;
  }
}

ArgSpec SpecOf(const c10::Argument& arg) {
  ArgSpec spec;
  spec.name = arg.name();
  c10::TypePtr type = arg.real_type();
  spec.optional = type->kind() == c10::TypeKind::OptionalType;
  if (spec.optional) type = type->castRaw<c10::OptionalType>()->getElementType();
  spec.kind = KindOf(type);
  spec.default_value = arg.default_value();
  return spec;
}

ReturnSpec ReturnSpecOf(const c10::Argument& ret) {
  ReturnSpec spec{ReturnKind::kOther, ret.alias_info() != nullptr && ret.alias_info()->isWrite()};
  switch (KindOf(ret.real_type())) {
    case ArgKind::kTensor:
      spec.kind = ReturnKind::kTensor;
      break;
    case ArgKind::kTensorList:
      spec.kind = ReturnKind::kTensorList;
      break;
    case ArgKind::kInt:
      spec.kind = ReturnKind::kInt;
      break;
    case ArgKind::kFloat:
      spec.kind = ReturnKind::kFloat;
      break;
    case ArgKind::kBool:
      spec.kind = ReturnKind::kBool;
      break;
    case ArgKind::kScalar:
      spec.kind = ReturnKind::kScalar;
      break;
    default:
      break;
  }
  return spec;
}

at::indexing::TensorIndex ToTensorIndex(const IndexItem& item) {
  using at::indexing::TensorIndex;
  switch (item.kind) {
    case IndexItem::Kind::kInt:
      return TensorIndex(item.integer);
    case IndexItem::Kind::kSlice: {
      auto sym = [](const std::optional<int64_t>& v) -> std::optional<c10::SymInt> {
        if (!v) return std::nullopt;
        return c10::SymInt(*v);
      };
      return TensorIndex(at::indexing::Slice(sym(item.start), sym(item.stop), sym(item.step)));
    }
    case IndexItem::Kind::kNone:
      return TensorIndex(at::indexing::None);
    case IndexItem::Kind::kEllipsis:
      return TensorIndex(at::indexing::Ellipsis);
    case IndexItem::Kind::kBool:
      return TensorIndex(item.boolean);
    case IndexItem::Kind::kTensor:
      return TensorIndex(item.tensor);
  }
  throw Error(code::kInternal, "unknown index item kind");
}

std::vector<at::indexing::TensorIndex> ToTensorIndices(const std::vector<IndexItem>& items) {
  std::vector<at::indexing::TensorIndex> out;
  out.reserve(items.size());
  for (const IndexItem& item : items) out.push_back(ToTensorIndex(item));
  return out;
}

}  // namespace

int Resolve(const std::string& name, const std::string& overload) {
  Table& t = GetTable();
  const std::string key = overload.empty() ? name : name + "." + overload;
  std::lock_guard<std::mutex> lock(t.mutex);
  auto it = t.ids.find(key);
  if (it != t.ids.end()) return it->second;
  std::optional<c10::OperatorHandle> handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) {
    throw Error(code::kInvalidArgument,
                "this libtorch (" + std::string(TORCH_VERSION) + ") has no operator " + key +
                    ": the generated bindings were made from another version's schema");
  }
  const int id = t.size.load();
  if (static_cast<size_t>(id) >= kMaxOps) throw Error(code::kInternal, "too many operators resolved");
  auto op = std::make_unique<Op>(Op{*handle, key, {}, {}});
  const c10::FunctionSchema& schema = handle->schema();
  for (const c10::Argument& arg : schema.arguments()) op->args.push_back(SpecOf(arg));
  for (const c10::Argument& ret : schema.returns()) op->returns.push_back(ReturnSpecOf(ret));
  t.ops[id].store(op.release());
  t.size.store(id + 1);
  t.ids.emplace(key, id);
  return id;
}

const Op& Get(int id) {
  Table& t = GetTable();
  if (id < 0 || id >= t.size.load())
    throw Error(code::kInvalidArgument, "unknown operator id " + std::to_string(id));
  return *t.ops[id].load();
}

void Call(const Op& op, std::vector<c10::IValue>* stack) { op.handle.callBoxed(stack); }

at::Tensor WrappedNumber(const at::Scalar& value) {
  at::Tensor t = at::scalar_to_tensor(value);
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

at::Tensor Index(const at::Tensor& self, const std::vector<IndexItem>& items) {
  return self.index(ToTensorIndices(items));
}

void IndexPut(const at::Tensor& self, const std::vector<IndexItem>& items, const at::Tensor& value) {
  at::Tensor t = self;
  t.index_put_(ToTensorIndices(items), value);
}

void IndexPut(const at::Tensor& self, const std::vector<IndexItem>& items, const at::Scalar& value) {
  at::Tensor t = self;
  t.index_put_(ToTensorIndices(items), value);
}

at::Generator MakeGenerator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

}  // namespace jepa::ops
