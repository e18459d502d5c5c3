#include "pt/pickle_writer.h"

#include <cstring>
#include <unordered_map>
#include <utility>

#include "core/errors.h"
#include "pt/pickle_reader.h"

namespace jepa {
namespace pt {
namespace {

constexpr size_t kBatch = 1000;  // pickle's BATCHSIZE for APPENDS / SETITEMS

class Pickler {
 public:
  PickleOutput Run(const Document& doc) {
    Byte(0x80);
    Byte(2);
    Save(doc.root, 0);
    Byte('.');
    out_.data = std::move(buf_);
    return std::move(out_);
  }

 private:
  // --- bytes ----------------------------------------------------------------------------------
  void Byte(uint8_t b) { buf_.push_back(static_cast<char>(b)); }
  void U32(uint32_t v) {
    for (int k = 0; k < 4; ++k) Byte(static_cast<uint8_t>(v >> (8 * k)));
  }

  // --- memo -----------------------------------------------------------------------------------
  void Put(uint32_t idx) {
    if (idx < 256) {
      Byte('q');
      Byte(static_cast<uint8_t>(idx));
    } else {
      Byte('r');
      U32(idx);
    }
  }
  void Get(uint32_t idx) {
    if (idx < 256) {
      Byte('h');
      Byte(static_cast<uint8_t>(idx));
    } else {
      Byte('j');
      U32(idx);
    }
  }
  uint32_t Memoize() {
    const uint32_t idx = next_memo_++;
    Put(idx);
    return idx;
  }
  // Writes BINGET and returns true when `v` was written before.
  bool Seen(const void* v) {
    auto it = by_object_.find(v);
    if (it == by_object_.end()) return false;
    Get(it->second);
    return true;
  }
  void Remember(const void* v) { by_object_[v] = Memoize(); }

  // --- scalars --------------------------------------------------------------------------------
  // Strings are memoized by value within a namespace: Python memoizes by object identity, and
  // equal user strings are usually one (interned) object, while the strings of persistent ids
  // ('storage', 'cpu', storage keys) are other objects, and tensor metadata keys are new objects
  // each time (`dedup` false). This reproduces Python's bytes in the common cases.
  enum Space { kUser, kPid };
  void Str(const std::string& s, Space space = kUser, bool dedup = true) {
    auto& memo = space == kUser ? strings_ : pid_strings_;
    auto it = memo.find(s);
    if (dedup && it != memo.end()) {
      Get(it->second);
      return;
    }
    if (static_cast<int64_t>(s.size()) > kMaxStringBytes) {
      throw Error(code::kPtLimit, "a string of " + std::to_string(s.size()) + " bytes exceeds the limit of " +
                                      std::to_string(kMaxStringBytes) +
                                      " bytes (jepa.limits.maxStringBytes)");
    }
    Byte('X');
    U32(static_cast<uint32_t>(s.size()));
    buf_ += s;
    const uint32_t idx = Memoize();
    if (dedup) memo.emplace(s, idx);
  }

  void Int(int64_t v) {
    if (v >= 0 && v <= 0xff) {
      Byte('K');
      Byte(static_cast<uint8_t>(v));
    } else if (v >= 0 && v <= 0xffff) {
      Byte('M');
      Byte(static_cast<uint8_t>(v));
      Byte(static_cast<uint8_t>(v >> 8));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      Byte('J');
      U32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {
      uint8_t bytes[8];
      for (int k = 0; k < 8; ++k) bytes[k] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * k));
      Long(std::string(reinterpret_cast<char*>(bytes), 8));
    }
  }

  // LONG1 of little-endian two's complement bytes, trimmed to the minimal form Python writes.
  void Long(std::string b) {
    while (b.size() > 1) {
      const uint8_t top = static_cast<uint8_t>(b.back()), next = static_cast<uint8_t>(b[b.size() - 2]);
      if ((top == 0x00 && !(next & 0x80)) || (top == 0xff && (next & 0x80))) {
        b.pop_back();
      } else {
        break;
      }
    }
    if (b.size() > static_cast<size_t>(kMaxIntBytes)) {
      throw Error(code::kPtLimit,
                  "an int of " + std::to_string(b.size()) +
                      " bytes is too large: torch.load(weights_only=True) reads ints of up to "
                      "255 bytes (jepa.limits.maxIntBytes)");
    }
    Byte(0x8a);
    Byte(static_cast<uint8_t>(b.size()));
    buf_ += b;
  }

  void Float(double f) {
    uint64_t bits;
    std::memcpy(&bits, &f, 8);
    Byte('G');
    for (int k = 7; k >= 0; --k) Byte(static_cast<uint8_t>(bits >> (8 * k)));
  }

  void Global(const char* module, const std::string& name) {
    const std::string key = std::string(module) + "\n" + name;
    auto it = globals_.find(key);
    if (it != globals_.end()) {
      Get(it->second);
      return;
    }
    Byte('c');
    buf_ += module;
    Byte('\n');
    buf_ += name;
    Byte('\n');
    globals_.emplace(key, Memoize());
  }

  // --- containers -----------------------------------------------------------------------------
  // A tuple of already-known items: TUPLE1/2/3 or MARK ... TUPLE, then memoized (not the empty
  // tuple), as Python writes tuples.
  template <typename F>
  void Tuple(size_t n, F&& items) {
    if (n == 0) {
      Byte(')');
      return;
    }
    if (n > 3) Byte('(');
    items();
    Byte(n == 1 ? 0x85 : n == 2 ? 0x86 : n == 3 ? 0x87 : 't');
    Memoize();
  }

  void Appends(const std::vector<Value*>& items, int depth) {
    if (items.empty()) return;
    if (items.size() == 1) {
      Save(items[0], depth);
      Byte('a');
      return;
    }
    size_t i = 0;
    do {
      Byte('(');
      for (size_t n = 0; n < kBatch && i < items.size(); ++n, ++i) Save(items[i], depth);
      Byte('e');
    } while (i < items.size());
  }

  // `exact`: a dict (Python's batch_dict_exact); else an OrderedDict (batch_dict).
  void SetItems(const std::vector<Value*>& items, bool exact, int depth) {
    const size_t pairs = items.size() / 2;
    if (pairs == 0) return;
    if (exact) {
      if (pairs == 1) {
        Save(items[0], depth);
        Save(items[1], depth);
        Byte('s');
        return;
      }
      size_t i = 0, n;
      do {
        Byte('(');
        for (n = 0; n < kBatch && i < pairs; ++i) {
          Save(items[2 * i], depth);
          Save(items[2 * i + 1], depth);
          ++n;
        }
        Byte('u');
      } while (n == kBatch);
      return;
    }
    size_t i = 0;
    while (i < pairs) {
      const size_t chunk = std::min(kBatch, pairs - i);
      if (chunk == 1) {
        Save(items[2 * i], depth);
        Save(items[2 * i + 1], depth);
        Byte('s');
      } else {
        Byte('(');
        for (size_t k = 0; k < chunk; ++k) {
          Save(items[2 * (i + k)], depth);
          Save(items[2 * (i + k) + 1], depth);
        }
        Byte('u');
      }
      i += chunk;
    }
  }

  void IntTuple(at::IntArrayRef v) {
    Tuple(v.size(), [&] {
      for (int64_t x : v) Int(x);
    });
  }

  // --- tensors --------------------------------------------------------------------------------
  void EmptyOrderedDict() {
    Global("collections", "OrderedDict");
    Byte(')');
    Byte('R');
    Memoize();
  }

  void Tensor(const Value* v, const TensorSpec& spec, bool as_parameter_data) {
    const at::Tensor& t = spec.tensor;
    if (!t.defined()) throw Error(code::kInvalidArgument, "cannot save an undefined tensor", true);
    if (!t.has_storage() || t.layout() != at::kStrided) {
      throw Error(code::kInvalidArgument,
                  "cannot save a tensor without strided storage (sparse, nested, ...)", true);
    }
    const at::ScalarType dtype = t.scalar_type();
    const DtypeInfo* dtype_info = FindDtype(dtype);
    const std::string dtype_name = dtype_info != nullptr ? dtype_info->name : "";
    const int64_t itemsize = ElementSize(dtype);
    if (dtype_name.empty()) {
      throw Error(code::kInvalidArgument,
                  std::string("cannot save a tensor of dtype ") + c10::toString(dtype), true);
    }
    const bool v3 = !LegacyStorageName(dtype);
    const bool parameter = spec.parameter && !as_parameter_data;
    if (parameter) {
      Global("torch._utils", "_rebuild_parameter");
      Tensor(v, spec, true);
      Byte(spec.requires_grad ? 0x88 : 0x89);
      EmptyOrderedDict();
      Byte(0x87);  // TUPLE3
      Memoize();
      Byte('R');
      Memoize();
      return;
    }
    Global("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
    Byte('(');
    // The persistent id: ('storage', storage_type, key, location, numel).
    const at::Storage& storage = t.storage();
    const void* impl = storage.unsafeGetStorageImpl();
    const int64_t nbytes = static_cast<int64_t>(storage.nbytes());
    auto found = storage_keys_.find(impl);
    size_t index;
    if (found == storage_keys_.end()) {
      index = out_.storages.size();
      out_.storages.push_back(storage);
      storage_keys_.emplace(impl, std::make_pair(index, dtype));
    } else {
      index = found->second.first;
      if (found->second.second != dtype) {
        throw Error(code::kInvalidArgument,
                    "cannot save tensors that view the same storage as different dtypes (" +
                        DtypeName(found->second.second) + " and " + dtype_name +
                        "), as torch.save refuses: clone() one of them",
                    true);
      }
    }
    if (!v3 && nbytes % itemsize != 0) {
      throw Error(code::kInvalidArgument,
                  "cannot save a " + dtype_name + " tensor whose storage has " + std::to_string(nbytes) +
                      " bytes (not a whole number of elements)",
                  true);
    }
    Byte('(');
    Str("storage", kPid);
    if (v3) {
      Global("torch.storage", "UntypedStorage");
    } else {
      Global("torch", LegacyStorageName(dtype));
    }
    Str(std::to_string(index), kPid);
    Str(Location(t.device()), kPid);
    Int(v3 ? nbytes : nbytes / itemsize);
    Byte('t');
    Memoize();
    Byte('Q');  // BINPERSID
    Int(t.storage_offset());
    IntTuple(t.sizes());
    IntTuple(t.strides());
    Byte(spec.requires_grad && !as_parameter_data ? 0x88 : 0x89);
    EmptyOrderedDict();
    if (v3) Global("torch", dtype_name);
    if (t.is_conj() || t.is_neg()) {
      Byte('}');
      Memoize();
      if (t.is_conj() && t.is_neg()) {
        Byte('(');
        Str("conj", kUser, false);
        Byte(0x88);
        Str("neg", kUser, false);
        Byte(0x88);
        Byte('u');
      } else {
        Str(t.is_conj() ? "conj" : "neg", kUser, false);
        Byte(0x88);
        Byte('s');
      }
    }
    Byte('t');
    Memoize();
    Byte('R');
    Memoize();
  }

  // The legacy typed storage class of a dtype (torch.HalfStorage), or nullptr: tensors of other
  // dtypes are written with _rebuild_tensor_v3 and an untyped storage, as torch.save does.
  static const char* LegacyStorageName(at::ScalarType t) {
    const DtypeInfo* d = FindDtype(t);
    return d != nullptr ? d->legacy_storage : nullptr;
  }

  static std::string Location(const c10::Device& d) {
    if (d.is_cpu()) return "cpu";
    if (d.is_cuda()) return "cuda:" + std::to_string(d.has_index() ? d.index() : 0);
    return d.str();
  }

  // --- any value ------------------------------------------------------------------------------
  void Save(const Value* v, int depth) {
    if (depth > kMaxDepth) {
      throw Error(code::kPtLimit, "the value is nested deeper than " + std::to_string(kMaxDepth) +
                                      " levels (jepa.limits.maxDepth), or holds a cycle through a tuple");
    }
    ++depth;
    switch (v->kind) {
      case Kind::kNone:
        Byte('N');
        return;
      case Kind::kBool:
        Byte(v->b ? 0x88 : 0x89);
        return;
      case Kind::kInt:
        Int(v->i);
        return;
      case Kind::kBigInt:
        Long(v->s);
        return;
      case Kind::kFloat:
        Float(v->f);
        return;
      case Kind::kStr:
        Str(v->s);
        return;
      case Kind::kBytes: {
        // Protocol 2 pickles bytes as _codecs.encode(<latin-1 str>, 'latin1'), also b''
        // (Python writes b'' as bytes(), which weights_only refuses).
        if (Seen(v)) return;
        Global("_codecs", "encode");
        std::string latin;
        latin.reserve(v->s.size() * 2);
        for (char ch : v->s) {
          const uint8_t c = static_cast<uint8_t>(ch);
          if (c < 0x80) {
            latin.push_back(ch);
          } else {
            latin.push_back(static_cast<char>(0xc0 | (c >> 6)));
            latin.push_back(static_cast<char>(0x80 | (c & 0x3f)));
          }
        }
        Tuple(2, [&] {
          Str(latin);
          Str("latin1");
        });
        Byte('R');
        Remember(v);
        return;
      }
      case Kind::kList:
        if (Seen(v)) return;
        Byte(']');
        Remember(v);
        Appends(v->items, depth);
        return;
      case Kind::kTuple:
        if (Seen(v)) return;
        if (v->items.empty()) {
          Byte(')');
          return;
        }
        if (v->items.size() > 3) Byte('(');
        for (const Value* item : v->items) Save(item, depth);
        Byte(v->items.size() == 1 ? 0x85 : v->items.size() == 2 ? 0x86 : v->items.size() == 3 ? 0x87 : 't');
        Remember(v);
        return;
      case Kind::kSize:
        if (Seen(v)) return;
        Global("torch", "Size");
        Tuple(1, [&] {
          Tuple(v->items.size(), [&] {
            for (const Value* item : v->items) Save(item, depth);
          });
        });
        Byte('R');
        Remember(v);
        return;
      case Kind::kSet:
        if (Seen(v)) return;
        Global("__builtin__", "set");
        Tuple(1, [&] {
          Byte(']');
          Memoize();
          Appends(v->items, depth);
        });
        Byte('R');
        Remember(v);
        return;
      case Kind::kDict:
        if (Seen(v)) return;
        Byte('}');
        Remember(v);
        SetItems(v->items, true, depth);
        return;
      case Kind::kOrderedDict:
        if (Seen(v)) return;
        Global("collections", "OrderedDict");
        Byte(')');
        Byte('R');
        Remember(v);
        SetItems(v->items, false, depth);
        if (v->attrs != nullptr && !v->attrs->items.empty()) {
          Save(v->attrs, depth);
          Byte('b');
        }
        return;
      case Kind::kTensor:
        if (Seen(v)) return;
        Tensor(v, *v->tensor, false);
        by_object_[v] = next_memo_ - 1;
        return;
      case Kind::kDevice:
        if (Seen(v)) return;
        Global("torch", "device");
        if (v->i >= 0) {
          Tuple(2, [&] {
            Str(v->s);
            Int(v->i);
          });
        } else {
          Tuple(1, [&] { Str(v->s); });
        }
        Byte('R');
        Remember(v);
        return;
      case Kind::kDtype:
        Global("torch", v->s);
        return;
      case Kind::kGlobal:
      case Kind::kStorage:
        break;
    }
    throw Error(code::kInternal, "cannot write this value");
  }

  std::string buf_;
  PickleOutput out_;
  uint32_t next_memo_ = 0;
  std::unordered_map<const void*, uint32_t> by_object_;
  std::unordered_map<std::string, uint32_t> strings_;
  std::unordered_map<std::string, uint32_t> pid_strings_;
  std::unordered_map<std::string, uint32_t> globals_;
  std::unordered_map<const void*, std::pair<size_t, at::ScalarType>> storage_keys_;
};

}  // namespace

PickleOutput WritePickle(const Document& doc) { return Pickler().Run(doc); }

}  // namespace pt
}  // namespace jepa
