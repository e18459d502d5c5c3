// The Node-API side of lazy .pt archives (jepa.open): a PtArchive reads a file's directory and
// pickle, lists its tensors, and reads the values under a key path on demand.
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "bindings/pt_binding.h"
#include "bindings/values_binding.h"
#include "core/async.h"
#include "core/common.h"
#include "pt/pt_file.h"
#include "tensor/tensor.h"

namespace jepa {
namespace {

using pt::Kind;
using pt::Value;

std::optional<c10::Device> DeviceArg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return ParseDevice(ToString(v, "options.device"));
}

// The path of keys from the root to a value, walking containers once each.
struct Entry {
  std::vector<const Value*> keys;  // dict keys (values of the tree) or nullptr for list indices
  std::vector<size_t> indices;
  const Value* tensor;
};

void CollectEntries(const Value* v, std::vector<const Value*>& keys, std::vector<size_t>& indices,
                    std::unordered_set<const Value*>& seen, std::vector<Entry>& out, int depth) {
  if (depth > pt::kMaxDepth) {
    throw Error(code::kPtLimit, "the value is nested deeper than " + std::to_string(pt::kMaxDepth) +
                                    " levels (jepa.limits.maxDepth)");
  }
  if (v->kind == Kind::kTensor) {
    out.push_back(Entry{keys, indices, v});
    return;
  }
  const bool list = v->kind == Kind::kList || v->kind == Kind::kTuple || v->kind == Kind::kSet;
  const bool dict = v->kind == Kind::kDict || v->kind == Kind::kOrderedDict;
  if (!list && !dict) return;
  if (!seen.insert(v).second) return;
  if (list) {
    for (size_t i = 0; i < v->items.size(); ++i) {
      keys.push_back(nullptr);
      indices.push_back(i);
      CollectEntries(v->items[i], keys, indices, seen, out, depth + 1);
      keys.pop_back();
      indices.pop_back();
    }
  } else {
    for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
      keys.push_back(v->items[i]);
      indices.push_back(0);
      CollectEntries(v->items[i + 1], keys, indices, seen, out, depth + 1);
      keys.pop_back();
      indices.pop_back();
    }
  }
}

std::string KeyText(const Value* k) {
  switch (k->kind) {
    case Kind::kStr:
      return k->s;
    case Kind::kInt:
      return std::to_string(k->i);
    case Kind::kBool:
      return k->b ? "True" : "False";
    case Kind::kNone:
      return "None";
    default:
      return "?";
  }
}

class ArchiveHandle : public Napi::ObjectWrap<ArchiveHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "PtArchive",
        {InstanceMethod("entries", &ArchiveHandle::Entries), InstanceMethod("get", &ArchiveHandle::Get),
         InstanceMethod("getAsync", &ArchiveHandle::GetAsync),
         InstanceMethod("close", &ArchiveHandle::Close)});
  }
  explicit ArchiveHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ArchiveHandle>(info) {}

  std::shared_ptr<pt::Archive> archive;

 private:
  std::shared_ptr<pt::Archive> Live() {
    if (!archive) throw Error(code::kDisposed, "the archive was closed");
    return archive;
  }

  // entries() -> [{key, path, dtype, shape, nbytes, parameter}]
  Napi::Value Entries(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      Napi::Env env = info.Env();
      auto a = Live();
      std::lock_guard<std::mutex> lock(a->mutex());
      std::vector<Entry> entries;
      std::vector<const pt::Value*> keys;
      std::vector<size_t> indices;
      std::unordered_set<const pt::Value*> seen;
      CollectEntries(a->doc().root, keys, indices, seen, entries, 0);
      JsWriter to(env);
      Napi::Array out = Napi::Array::New(env, entries.size());
      for (size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        const pt::TensorSpec& spec = *e.tensor->tensor;
        Napi::Array path = Napi::Array::New(env, e.keys.size());
        std::string key;
        for (size_t k = 0; k < e.keys.size(); ++k) {
          if (e.keys[k] == nullptr) {
            path.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(e.indices[k])));
            key += (k ? "." : "") + std::to_string(e.indices[k]);
          } else {
            path.Set(static_cast<uint32_t>(k), to.Convert(e.keys[k], 1));
            key += (k ? "." : "") + KeyText(e.keys[k]);
          }
        }
        int64_t numel = 1;
        for (int64_t d : spec.sizes) numel *= d;
        Napi::Object o = Napi::Object::New(env);
        o.Set("key", StrToJs(env, key));
        o.Set("path", path);
        std::string dtype = DtypeName(spec.dtype);
        o.Set("dtype", Napi::String::New(env, dtype));
        o.Set("shape", FromShape(env, spec.sizes));
        o.Set("nbytes", Napi::Number::New(env, static_cast<double>(numel * ElementSize(spec.dtype))));
        o.Set("parameter", Napi::Boolean::New(env, spec.parameter));
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    });
  }

  // Finds the value at `path` (an array of keys / indices).
  pt::Value* Find(pt::Archive& a, const Napi::Value& path) {
    if (!path.IsArray()) throw Error(code::kInvalidArgument, "expected `key` to be a key path", true);
    Napi::Array p = path.As<Napi::Array>();
    pt::Value* v = a.doc().root;
    for (uint32_t i = 0; i < p.Length(); ++i) {
      Napi::Value k = p.Get(i);
      pt::Value* next = nullptr;
      // A string step matches a str key, or (when no str key does) an int key or list index
      // written in decimal: "state.0.exp_avg".
      const std::string text = k.IsString() ? StrFromJs(k.Env(), k) : std::string();
      if (v->kind == Kind::kList || v->kind == Kind::kTuple) {
        int64_t idx = -1;
        if (k.IsNumber()) idx = k.As<Napi::Number>().Int64Value();
        if (k.IsString() && !text.empty() && text.size() < 16 &&
            text.find_first_not_of("0123456789") == std::string::npos) {
          idx = std::stoll(text);
        }
        if (idx >= 0 && static_cast<size_t>(idx) < v->items.size()) next = v->items[static_cast<size_t>(idx)];
      } else if (v->kind == Kind::kDict || v->kind == Kind::kOrderedDict) {
        for (size_t j = 0; j + 1 < v->items.size() && next == nullptr; j += 2) {
          const pt::Value* key = v->items[j];
          if (k.IsString() && key->kind == Kind::kStr && key->s == text) next = v->items[j + 1];
          if (k.IsNumber() && key->kind == Kind::kInt &&
              static_cast<double>(key->i) == k.As<Napi::Number>().DoubleValue()) {
            next = v->items[j + 1];
          }
          if (k.IsBoolean() && key->kind == Kind::kBool && key->b == k.As<Napi::Boolean>().Value())
            next = v->items[j + 1];
        }
        for (size_t j = 0; j + 1 < v->items.size() && next == nullptr && k.IsString(); j += 2) {
          const pt::Value* key = v->items[j];
          if (key->kind == Kind::kInt && std::to_string(key->i) == text) next = v->items[j + 1];
        }
      }
      if (next == nullptr) {
        throw Error(
            code::kInvalidArgument,
            "no entry at key " +
                std::string(k.IsString() ? k.As<Napi::String>().Utf8Value() : k.ToString().Utf8Value()) +
                " (step " + std::to_string(i + 1) + " of the key path)",
            true);
      }
      v = next;
    }
    return v;
  }

  static void MaterializeUnder(pt::Archive& a, pt::Value* v, const std::optional<c10::Device>& device) {
    std::vector<pt::Value*> todo{v};
    std::unordered_set<pt::Value*> seen;
    while (!todo.empty()) {
      pt::Value* x = todo.back();
      todo.pop_back();
      if (!seen.insert(x).second) continue;
      if (x->kind == Kind::kTensor) a.Materialize(x, device);
      for (pt::Value* item : x->items) todo.push_back(item);
      if (x->attrs != nullptr) todo.push_back(x->attrs);
    }
  }

  // get(path, device)
  Napi::Value Get(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      auto a = Live();
      const auto device = DeviceArg(info[1]);
      std::lock_guard<std::mutex> lock(a->mutex());
      pt::Value* v = Find(*a, info[0]);
      MaterializeUnder(*a, v, device);
      return ValueToJs(info.Env(), v);
    });
  }

  // getAsync(path, device) -> Promise
  Napi::Value GetAsync(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), [&]() -> Napi::Value {
      auto a = Live();
      const auto device = DeviceArg(info[1]);
      pt::Value* v;
      {
        std::lock_guard<std::mutex> lock(a->mutex());
        v = Find(*a, info[0]);
      }
      return RunAsync<bool>(
          info.Env(),
          [a, v, device]() {
            std::lock_guard<std::mutex> lock(a->mutex());
            MaterializeUnder(*a, v, device);
            return true;
          },
          [a, v](Napi::Env env, bool&) -> Napi::Value {
            std::lock_guard<std::mutex> lock(a->mutex());
            return ValueToJs(env, v);
          });
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    archive.reset();
    return info.Env().Undefined();
  }
};

Napi::Value WrapArchive(Napi::Env env, std::shared_ptr<pt::Archive> a) {
  Napi::Object obj = GetAddonData(env).archive_ctor.New({});
  ArchiveHandle::Unwrap(obj)->archive = std::move(a);
  return obj;
}

// ptOpenSync(path, mmap) -> PtArchive (reads only the directory and the pickle)
Napi::Value OpenSync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    std::shared_ptr<pt::Archive> a = pt::Archive::Open(path, info[1].ToBoolean().Value());
    return WrapArchive(info.Env(), std::move(a));
  });
}

// ptOpen(path, mmap) -> Promise<PtArchive>
Napi::Value OpenAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const std::string path = ToString(info[0], "path");
    const bool mmap = info[1].ToBoolean().Value();
    return RunAsync<std::shared_ptr<pt::Archive>>(
        info.Env(), [path, mmap]() { return std::shared_ptr<pt::Archive>(pt::Archive::Open(path, mmap)); },
        [](Napi::Env env, std::shared_ptr<pt::Archive>& a) { return WrapArchive(env, a); });
  });
}

}  // namespace

void PtArchiveBindingInit(Napi::Env env, Napi::Object exports) {
  GetAddonData(env).archive_ctor = Napi::Persistent(ArchiveHandle::Define(env));
  exports.Set("ptOpenSync", Napi::Function::New(env, OpenSync, "ptOpenSync"));
  exports.Set("ptOpen", Napi::Function::New(env, OpenAsync, "ptOpen"));
}

}  // namespace jepa
