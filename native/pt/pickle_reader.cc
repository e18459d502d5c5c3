#include "pt/pickle_reader.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/dtype.h"
#include "core/errors.h"

namespace jepa {
namespace pt {

namespace {

// ---------------------------------------------------------------------------------------------
// The allowlist

enum GlobalId : int64_t {
  kOrderedDictG,
  kCounterG,
  kSizeG,
  kDeviceG,
  kTensorClassG,
  kParameterClassG,
  kCodecsEncodeG,
  kSetG,
  kBytearrayG,
  kStorageClassG,  // a typed storage class (torch.FloatStorage ...): dtype in the table
  kUntypedStorageG,
  kRebuildTensorG,
  kRebuildTensorV2G,
  kRebuildTensorV3G,
  kRebuildParameterG,
  kRebuildParameterWithStateG,
  kRebuildFromTypeV2G,
};

struct GlobalEntry {
  GlobalId id;
  at::ScalarType dtype;  // for storage classes
};

const std::unordered_map<std::string, GlobalEntry>& SupportedGlobals() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string, GlobalEntry>{
        {"collections.OrderedDict", {kOrderedDictG, at::kByte}},
        {"collections.Counter", {kCounterG, at::kByte}},
        {"torch.Size", {kSizeG, at::kByte}},
        {"torch.device", {kDeviceG, at::kByte}},
        {"torch.Tensor", {kTensorClassG, at::kByte}},
        {"torch.nn.parameter.Parameter", {kParameterClassG, at::kByte}},
        {"_codecs.encode", {kCodecsEncodeG, at::kByte}},
        {"builtins.set", {kSetG, at::kByte}},
        {"builtins.bytearray", {kBytearrayG, at::kByte}},
        {"torch.storage.UntypedStorage", {kUntypedStorageG, at::kByte}},
        {"torch._utils._rebuild_tensor", {kRebuildTensorG, at::kByte}},
        {"torch._utils._rebuild_tensor_v2", {kRebuildTensorV2G, at::kByte}},
        {"torch._utils._rebuild_tensor_v3", {kRebuildTensorV3G, at::kByte}},
        {"torch._utils._rebuild_parameter", {kRebuildParameterG, at::kByte}},
        {"torch._utils._rebuild_parameter_with_state", {kRebuildParameterWithStateG, at::kByte}},
        {"torch._tensor._rebuild_from_type_v2", {kRebuildFromTypeV2G, at::kByte}},
    };
    for (const DtypeInfo& d : Dtypes()) {
      if (d.legacy_storage == nullptr) continue;
      (*t)[std::string("torch.") + d.legacy_storage] = {kStorageClassG, d.type};
      (*t)[std::string("torch.cuda.") + d.legacy_storage] = {kStorageClassG, d.type};
    }
    return t;
  }();
  return *table;
}

// Globals that torch.load(weights_only=True) allows but that have no representation here.
bool AllowedButUnsupported(const std::string& name) {
  static const char* const kNames[] = {
      "builtins.complex",
      "torch.serialization._get_layout",
      "torch.storage.TypedStorage",
      "torch._utils._rebuild_qtensor",
      "torch._utils._rebuild_sparse_tensor",
      "torch._utils._rebuild_meta_tensor_no_storage",
      "torch._utils._rebuild_nested_tensor",
      "torch._utils._rebuild_wrapper_subclass",
      "torch._utils._rebuild_device_tensor_from_numpy",
      "torch._utils._rebuild_device_tensor_from_cpu_tensor",
      "torch.per_tensor_affine",
      "torch.per_tensor_symmetric",
      "torch.per_channel_affine",
      "torch.per_channel_symmetric",
      "torch.per_channel_affine_float_qparams",
  };
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  // Quantized storages and the legacy tensor classes (torch.FloatTensor, torch.sparse.*, ...).
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  const bool torch_ns = name.rfind("torch.", 0) == 0 && name.find('.', 6) == std::string::npos;
  const bool cuda_ns = name.rfind("torch.cuda.", 0) == 0 && name.find('.', 11) == std::string::npos;
  const bool sparse_ns = name.rfind("torch.sparse.", 0) == 0 || name.rfind("torch.cuda.sparse.", 0) == 0;
  if ((torch_ns || cuda_ns || sparse_ns) && ends_with("Tensor")) return true;
  if (torch_ns && ends_with("Storage") && name.find("QInt") != std::string::npos) return true;
  if (torch_ns && ends_with("Storage") && name.find("QUInt") != std::string::npos) return true;
  return false;
}

// A printable rendering of bytes from the file, for error messages.
std::string Printable(const std::string& s, size_t max = 120) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
    case Kind::kBigInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kStr:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kSize:
      return "torch.Size";
    case Kind::kSet:
      return "set";
    case Kind::kDict:
      return "dict";
    case Kind::kOrderedDict:
      return "OrderedDict";
    case Kind::kTensor:
      return "Tensor";
    case Kind::kDevice:
      return "torch.device";
    case Kind::kDtype:
      return "torch.dtype";
    case Kind::kGlobal:
      return "global";
    case Kind::kStorage:
      return "storage";
  }
  return "value";
}

// Validates UTF-8 as Python's decoder with errors="surrogatepass" does (encoded surrogates
// allowed; overlong forms and code points above U+10FFFF refused).
bool ValidUtf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    i += len;
  }
  return true;
}

Error Corrupt(const std::string& message) { return Error(code::kPtCorrupt, "corrupt pickle: " + message); }

// Pickle opcodes (Lib/pickle.py) that torch.load(weights_only=True) accepts.
enum Op : uint8_t {
  MARK = '(',
  STOP = '.',
  BININT = 'J',
  BININT1 = 'K',
  BININT2 = 'M',
  NONE = 'N',
  BINPERSID = 'Q',
  REDUCE = 'R',
  SHORT_BINSTRING = 'U',
  BINUNICODE = 'X',
  APPEND = 'a',
  BUILD = 'b',
  GLOBAL = 'c',
  EMPTY_DICT = '}',
  APPENDS = 'e',
  BINGET = 'h',
  LONG_BINGET = 'j',
  EMPTY_LIST = ']',
  BINPUT = 'q',
  LONG_BINPUT = 'r',
  SETITEM = 's',
  TUPLE = 't',
  EMPTY_TUPLE = ')',
  SETITEMS = 'u',
  BINFLOAT = 'G',
  PROTO = 0x80,
  NEWOBJ = 0x81,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  EMPTY_SET = 0x8f,
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, Document& doc, const PickleOptions& options, bool* truncated)
      : begin_(data), p_(data), end_(data + size), doc_(doc), options_(options), truncated_(truncated) {
    stack_.reserve(32);
    marks_.reserve(8);
    memo_.reserve(std::min<size_t>(size / 2, 64));
  }

  // Runs up to the STOP opcode; returns the bytes read (a legacy file holds several pickles).
  size_t Run() {
    while (true) {
      if (p_ >= end_) {
        *truncated_ = true;
        throw Corrupt("the pickle ends before its STOP opcode (truncated?)");
      }
      op_pos_ = static_cast<size_t>(p_ - begin_);
      const uint8_t op = *p_++;
      switch (op) {
        case PROTO:
          Take(1);
          break;
        case STOP:
          doc_.root = Pop("STOP");
          return static_cast<size_t>(p_ - begin_);
        case GLOBAL:
          Push(Global());
          break;
        case NEWOBJ: {
          Value* args = Pop("NEWOBJ");
          Value* cls = Pop("NEWOBJ");
          Push(NewObj(cls, args));
          break;
        }
        case REDUCE: {
          Value* args = Pop("REDUCE");
          Value*& func = Top("REDUCE");
          func = Reduce(func, args);
          break;
        }
        case BUILD: {
          Value* state = Pop("BUILD");
          Build(Top("BUILD"), state);
          break;
        }
        case APPEND: {
          Value* item = Pop("APPEND");
          Value* list = Top("APPEND");
          if (list->kind != Kind::kList) throw Corrupt(std::string("APPEND to a ") + KindName(list->kind));
          list->items.push_back(item);
          break;
        }
        case APPENDS: {
          const size_t mark = PopMark("APPENDS");
          Value* list = BelowMark(mark, "APPENDS");
          if (list->kind != Kind::kList) throw Corrupt(std::string("APPENDS to a ") + KindName(list->kind));
          list->items.insert(list->items.end(), stack_.begin() + mark, stack_.end());
          stack_.resize(mark);
          break;
        }
        case SETITEM: {
          Value* v = Pop("SETITEM");
          Value* k = Pop("SETITEM");
          Value* dict = Top("SETITEM");
          CheckDict(dict, "SETITEM");
          dict->items.push_back(k);
          dict->items.push_back(v);
          break;
        }
        case SETITEMS: {
          const size_t mark = PopMark("SETITEMS");
          if ((stack_.size() - mark) % 2 != 0) throw Corrupt("SETITEMS with an odd number of items");
          Value* dict = BelowMark(mark, "SETITEMS");
          CheckDict(dict, "SETITEMS");
          dict->items.insert(dict->items.end(), stack_.begin() + mark, stack_.end());
          stack_.resize(mark);
          break;
        }
        case MARK:
          if (marks_.size() >= static_cast<size_t>(kMaxDepth)) {
            throw Error(code::kPtLimit, "pickle nesting deeper than " + std::to_string(kMaxDepth) +
                                            " levels (MARK; jepa.limits.maxDepth)");
          }
          marks_.push_back(stack_.size());
          break;
        case TUPLE: {
          const size_t mark = PopMark("TUPLE");
          Value* t = doc_.New(Kind::kTuple);
          t->items.assign(stack_.begin() + mark, stack_.end());
          stack_.resize(mark);
          Push(t);
          break;
        }
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
          const size_t n = op - TUPLE1 + 1;
          Need(n, "TUPLE1/2/3");
          Value* t = doc_.New(Kind::kTuple);
          t->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          Push(t);
          break;
        }
        case NONE:
          Push(doc_.New(Kind::kNone));
          break;
        case NEWFALSE:
        case NEWTRUE: {
          Value* v = doc_.New(Kind::kBool);
          v->b = op == NEWTRUE;
          Push(v);
          break;
        }
        case EMPTY_TUPLE:
          Push(doc_.New(Kind::kTuple));
          break;
        case EMPTY_LIST:
          Push(doc_.New(Kind::kList));
          break;
        case EMPTY_DICT:
          Push(doc_.New(Kind::kDict));
          break;
        case EMPTY_SET:
          Push(doc_.New(Kind::kSet));
          break;
        case BININT: {
          const uint8_t* b = Take(4);
          int32_t v;
          std::memcpy(&v, b, 4);  // little-endian host (checked in pt_file.cc)
          PushInt(v);
          break;
        }
        case BININT1:
          PushInt(*Take(1));
          break;
        case BININT2: {
          const uint8_t* b = Take(2);
          PushInt(b[0] | (b[1] << 8));
          break;
        }
        case LONG1: {
          const size_t n = *Take(1);
          Push(MakeLong(Take(n), n));
          break;
        }
        case BINFLOAT: {
          const uint8_t* b = Take(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];  // big-endian
          Value* v = doc_.New(Kind::kFloat);
          std::memcpy(&v->f, &bits, 8);
          Push(v);
          break;
        }
        case BINUNICODE: {
          const uint8_t* b = Take(4);
          const uint32_t n = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
          Push(MakeStr(n));
          break;
        }
        case SHORT_BINSTRING:
          // torch.load decodes protocol-0 strings as UTF-8 (its default `encoding`).
          Push(MakeStr(*Take(1)));
          break;
        case BINPERSID: {
          if (!options_.persistent_ids) throw Corrupt("a persistent id (BINPERSID) where no storage can be");
          Value* pid = Pop("BINPERSID");
          Push(PersistentLoad(pid));
          break;
        }
        case BINGET:
          Push(MemoGet(*Take(1)));
          break;
        case LONG_BINGET:
          Push(MemoGet(ReadU32()));
          break;
        case BINPUT:
          MemoPut(*Take(1));
          break;
        case LONG_BINPUT:
          MemoPut(ReadU32());
          break;
        default: {
          std::ostringstream msg;
          msg << "unsupported pickle opcode 0x" << std::hex << static_cast<int>(op) << std::dec << " at byte "
              << op_pos_ << " (torch.load(weights_only=True) accepts only the opcodes torch.save emits)";
          throw Error(code::kPtCorrupt, msg.str());
        }
      }
    }
  }

 private:
  // --- reading --------------------------------------------------------------------------------
  const uint8_t* Take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      *truncated_ = true;
      throw Corrupt("the pickle ends inside the opcode at byte " + std::to_string(op_pos_) + " (truncated?)");
    }
    const uint8_t* b = p_;
    p_ += n;
    return b;
  }
  uint32_t ReadU32() {
    const uint8_t* b = Take(4);
    return b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  std::string ReadLine() {
    const void* nl = std::memchr(p_, '\n', static_cast<size_t>(end_ - p_));
    if (nl == nullptr) *truncated_ = true;
    if (nl == nullptr) throw Corrupt("GLOBAL at byte " + std::to_string(op_pos_) + " has no end of line");
    std::string s(reinterpret_cast<const char*>(p_), static_cast<const uint8_t*>(nl) - p_);
    p_ = static_cast<const uint8_t*>(nl) + 1;
    return s;
  }

  // --- the stack ------------------------------------------------------------------------------
  size_t Base() const { return marks_.empty() ? 0 : marks_.back(); }
  void Need(size_t n, const char* op) {
    if (stack_.size() - Base() < n) {
      throw Corrupt(std::string(op) + " at byte " + std::to_string(op_pos_) + " on an empty stack");
    }
  }
  void Push(Value* v) {
    // Each opcode pushes at most one value, so the stack is bounded by the pickle's size.
    stack_.push_back(v);
  }
  Value* Pop(const char* op) {
    Need(1, op);
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value*& Top(const char* op) {
    Need(1, op);
    return stack_.back();
  }
  // The value just below a popped MARK (the list or dict that APPENDS / SETITEMS fill).
  Value* BelowMark(size_t mark, const char* op) {
    if (mark == 0 || mark - 1 < Base()) {
      throw Corrupt(std::string(op) + " at byte " + std::to_string(op_pos_) +
                    " has no container below its MARK");
    }
    return stack_[mark - 1];
  }
  size_t PopMark(const char* op) {
    if (marks_.empty())
      throw Corrupt(std::string(op) + " at byte " + std::to_string(op_pos_) + " without a MARK");
    const size_t mark = marks_.back();
    marks_.pop_back();
    return mark;
  }
  void PushInt(int64_t v) {
    Value* x = doc_.New(Kind::kInt);
    x->i = v;
    Push(x);
  }

  // --- memo -----------------------------------------------------------------------------------
  Value* MemoGet(uint32_t idx) {
    if (idx >= memo_.size() || memo_[idx] == nullptr) {
      throw Corrupt("memo index " + std::to_string(idx) + " read before it was written (byte " +
                    std::to_string(op_pos_) + ")");
    }
    return memo_[idx];
  }
  void MemoPut(uint32_t idx) {
    Need(1, "BINPUT");
    // A writer numbers memo entries from 0 and each BINPUT takes 2 bytes, so no honest index
    // exceeds the pickle's size: this bounds the memo's memory.
    if (idx >= static_cast<size_t>(end_ - begin_)) {
      throw Corrupt("memo index " + std::to_string(idx) + " is out of range for a pickle of " +
                    std::to_string(end_ - begin_) + " bytes");
    }
    if (idx >= memo_.size()) memo_.resize(static_cast<size_t>(idx) + 1, nullptr);
    memo_[idx] = stack_.back();
  }

  // --- scalars --------------------------------------------------------------------------------
  Value* MakeStr(size_t n) {
    if (static_cast<int64_t>(n) > kMaxStringBytes) {
      throw Error(code::kPtLimit, "a string of " + std::to_string(n) + " bytes exceeds the limit of " +
                                      std::to_string(kMaxStringBytes) +
                                      " bytes (jepa.limits.maxStringBytes)");
    }
    const uint8_t* b = Take(n);
    if (!ValidUtf8(b, n))
      throw Corrupt("a string at byte " + std::to_string(op_pos_) + " is not valid UTF-8");
    Value* v = doc_.New(Kind::kStr);
    v->s.assign(reinterpret_cast<const char*>(b), n);
    return v;
  }

  Value* MakeLong(const uint8_t* b, size_t n) {
    // Minimal little-endian two's complement (Python's decode_long).
    while (n > 1) {
      const uint8_t top = b[n - 1], next = b[n - 2];
      if ((top == 0x00 && !(next & 0x80)) || (top == 0xff && (next & 0x80))) {
        --n;
      } else {
        break;
      }
    }
    if (n <= 8) {
      uint64_t u = 0;
      for (size_t k = 0; k < n; ++k) u |= static_cast<uint64_t>(b[k]) << (8 * k);
      if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
      Value* v = doc_.New(Kind::kInt);
      v->i = static_cast<int64_t>(u);
      return v;
    }
    Value* v = doc_.New(Kind::kBigInt);
    v->s.assign(reinterpret_cast<const char*>(b), n);
    return v;
  }

  // --- globals --------------------------------------------------------------------------------
  Value* Global() {
    std::string module = ReadLine();
    std::string name = ReadLine();
    // Python 2 names that protocol 2 writes (pickle's fix_imports), as torch maps them.
    if (module == "__builtin__") module = "builtins";
    if (module == "copy_reg") module = "copyreg";
    std::string full;
    full.reserve(module.size() + 1 + name.size());
    full.append(module).append(1, '.').append(name);
    if (module == "sys" || module == "os" || module == "posix" || module == "nt") {
      throw Error(code::kPtUnsafeGlobal, "refusing GLOBAL " + Printable(full) + ": module " +
                                             Printable(module) +
                                             " is blocked by torch.load(weights_only=True); nothing was run");
    }
    if (module == "torch") {
      if (FindDtype(name) != nullptr) {
        Value* v = doc_.New(Kind::kDtype);
        v->s = std::move(name);
        return v;
      }
    }
    const auto& table = SupportedGlobals();
    auto it = table.find(full);
    if (it != table.end()) {
      Value* v = doc_.New(Kind::kGlobal);
      v->i = it->second.id;
      if (it->second.id == kStorageClassG) v->f = static_cast<double>(static_cast<int>(it->second.dtype));
      v->s = std::move(full);
      return v;
    }
    if (AllowedButUnsupported(full)) {
      throw Error(code::kPtUnsupported, "the file uses " + full +
                                            ", which torch.load(weights_only=True) allows but jepa-native "
                                            "does not support (sparse, quantized, nested, meta and complex "
                                            "values have no representation here)");
    }
    throw Error(code::kPtUnsafeGlobal,
                "refusing GLOBAL " + Printable(full) +
                    ": it is not among the globals torch.load(weights_only=True) allows (tensors, "
                    "storages, dtypes, torch.Size, torch.device, OrderedDict, set, bytes); nothing was run");
  }

  static bool IsGlobal(const Value* v, GlobalId id) { return v->kind == Kind::kGlobal && v->i == id; }

  // --- NEWOBJ / REDUCE / BUILD ----------------------------------------------------------------
  const std::vector<Value*>& Args(Value* args, const char* what) {
    if (args->kind != Kind::kTuple && args->kind != Kind::kList) {
      throw Corrupt(std::string("the arguments of ") + what + " are a " + KindName(args->kind) +
                    ", not a tuple");
    }
    return args->items;
  }

  Value* NewObj(Value* cls, Value* args) {
    const auto& a = Args(args, "NEWOBJ");
    if (cls->kind != Kind::kGlobal) throw Corrupt(std::string("NEWOBJ of a ") + KindName(cls->kind));
    switch (cls->i) {
      case kOrderedDictG:
        return doc_.New(Kind::kOrderedDict);
      case kCounterG:
        return doc_.New(Kind::kDict);
      case kSetG:
        return doc_.New(Kind::kSet);
      case kSizeG:
        return MakeSize(a);
      case kParameterClassG: {
        if (a.empty() || a.size() > 2 || a[0]->kind != Kind::kTensor) {
          throw Corrupt("Parameter(...) needs a tensor and an optional requires_grad");
        }
        Value* p = CopyTensor(a[0]);
        p->tensor->parameter = true;
        p->tensor->requires_grad = a.size() < 2 || Truthy(a[1]);
        return p;
      }
      default:
        throw Error(code::kPtUnsupported, "NEWOBJ of " + cls->s + " is not supported");
    }
  }

  Value* Reduce(Value* func, Value* args) {
    const auto& a = Args(args, "REDUCE");
    if (func->kind != Kind::kGlobal) {
      throw Corrupt(std::string("REDUCE calls a ") + KindName(func->kind) + ", not an allowed global");
    }
    switch (func->i) {
      case kOrderedDictG:
      case kCounterG: {
        Value* d = doc_.New(func->i == kOrderedDictG ? Kind::kOrderedDict : Kind::kDict);
        if (a.size() > 1) throw Corrupt(func->s + "() takes at most one argument");
        if (a.size() == 1) AddPairs(d, a[0], func->s);
        return d;
      }
      case kSizeG:
        if (a.size() != 1 || (a[0]->kind != Kind::kTuple && a[0]->kind != Kind::kList)) {
          throw Corrupt("torch.Size(...) needs one tuple of ints");
        }
        return MakeSize(a[0]->items);
      case kDeviceG:
        return MakeDevice(a);
      case kCodecsEncodeG:
        return Encode(a, "_codecs.encode");
      case kBytearrayG:
        if (a.empty()) return doc_.New(Kind::kBytes);
        if (a.size() == 1 && a[0]->kind == Kind::kBytes) {
          Value* v = doc_.New(Kind::kBytes);
          v->s = a[0]->s;
          return v;
        }
        return Encode(a, "bytearray");
      case kSetG: {
        Value* s = doc_.New(Kind::kSet);
        if (a.size() > 1) throw Corrupt("set() takes at most one argument");
        if (a.size() == 1) {
          const Value* it = a[0];
          if (it->kind != Kind::kList && it->kind != Kind::kTuple && it->kind != Kind::kSet) {
            throw Corrupt(std::string("set() of a ") + KindName(it->kind));
          }
          s->items = it->items;
        }
        return s;
      }
      case kRebuildTensorG:
      case kRebuildTensorV2G:
      case kRebuildTensorV3G:
        return RebuildTensor(static_cast<GlobalId>(func->i), a);
      case kRebuildParameterG:
      case kRebuildParameterWithStateG: {
        const size_t want = func->i == kRebuildParameterG ? 3 : 4;
        if (a.size() != want || a[0]->kind != Kind::kTensor) {
          throw Corrupt(func->s + " needs (tensor, requires_grad, hooks" + (want == 4 ? ", state)" : ")"));
        }
        Value* p = CopyTensor(a[0]);
        p->tensor->parameter = true;
        p->tensor->requires_grad = Truthy(a[1]);
        return p;
      }
      case kRebuildFromTypeV2G: {
        // (func, new_type, args, state): a tensor with Python attributes, or a subclass.
        if (a.size() != 4) throw Corrupt("_rebuild_from_type_v2 needs 4 arguments");
        if (a[0]->kind != Kind::kGlobal || a[0]->i == kRebuildFromTypeV2G) {
          throw Corrupt("_rebuild_from_type_v2 needs a tensor rebuild function");
        }
        if (!IsGlobal(a[1], kTensorClassG) && !IsGlobal(a[1], kParameterClassG)) {
          throw Error(code::kPtUnsupported,
                      "_rebuild_from_type_v2 of a tensor subclass other than torch.Tensor or Parameter");
        }
        Value* inner = Reduce(a[0], a[2]);
        if (inner->kind != Kind::kTensor) throw Corrupt("_rebuild_from_type_v2 did not rebuild a tensor");
        if (IsGlobal(a[1], kParameterClassG)) inner->tensor->parameter = true;
        return inner;
      }
      default:
        throw Error(code::kPtUnsupported, "calling " + func->s + " is not supported");
    }
  }

  void Build(Value* inst, Value* state) {
    if (inst->kind == Kind::kOrderedDict && state->kind == Kind::kDict) {
      // state_dict()'s `_metadata` attribute, and any other attribute of an OrderedDict.
      if (inst->attrs == nullptr) {
        inst->attrs = doc_.New(Kind::kDict);
      }
      for (size_t k = 0; k + 1 < state->items.size(); k += 2) {
        if (state->items[k]->kind != Kind::kStr) throw Corrupt("an attribute name is not a str");
      }
      inst->attrs->items.insert(inst->attrs->items.end(), state->items.begin(), state->items.end());
      return;
    }
    if (inst->kind == Kind::kOrderedDict && state->kind == Kind::kNone) return;
    if (inst->kind == Kind::kTensor) {
      throw Error(code::kPtUnsupported, "BUILD on a tensor (legacy tensor state) is not supported");
    }
    throw Corrupt(std::string("BUILD on a ") + KindName(inst->kind) +
                  " (only tensors, Parameters and OrderedDicts can be built)");
  }

  void CheckDict(const Value* d, const char* op) {
    if (d->kind != Kind::kDict && d->kind != Kind::kOrderedDict) {
      throw Corrupt(std::string(op) + " on a " + KindName(d->kind) + " (only dicts take items)");
    }
  }

  static bool Truthy(const Value* v) {
    switch (v->kind) {
      case Kind::kBool:
        return v->b;
      case Kind::kInt:
        return v->i != 0;
      case Kind::kNone:
        return false;
      default:
        throw Corrupt(std::string("expected a bool, got a ") + KindName(v->kind));
    }
  }

  static int64_t AsInt(const Value* v, const char* what) {
    if (v->kind != Kind::kInt)
      throw Corrupt(std::string(what) + " is a " + KindName(v->kind) + ", not an int");
    return v->i;
  }

  void AddPairs(Value* d, const Value* src, const std::string& fn) {
    if (src->kind == Kind::kDict || src->kind == Kind::kOrderedDict) {
      d->items.insert(d->items.end(), src->items.begin(), src->items.end());
      return;
    }
    if (src->kind != Kind::kList && src->kind != Kind::kTuple) {
      throw Corrupt(fn + "() of a " + KindName(src->kind));
    }
    for (const Value* pair : src->items) {
      if ((pair->kind != Kind::kTuple && pair->kind != Kind::kList) || pair->items.size() != 2) {
        throw Corrupt(fn + "() needs (key, value) pairs");
      }
      d->items.push_back(pair->items[0]);
      d->items.push_back(pair->items[1]);
    }
  }

  Value* MakeSize(const std::vector<Value*>& items) {
    Value* s = doc_.New(Kind::kSize);
    for (Value* item : items) {
      if (item->kind != Kind::kInt) throw Corrupt(std::string("torch.Size holds a ") + KindName(item->kind));
    }
    s->items = items;
    return s;
  }

  Value* MakeDevice(const std::vector<Value*>& a) {
    if (a.empty() || a.size() > 2 || a[0]->kind != Kind::kStr) throw Corrupt("torch.device(...) needs a str");
    Value* d = doc_.New(Kind::kDevice);
    d->i = -1;
    std::string type = a[0]->s;
    const size_t colon = type.find(':');
    if (colon != std::string::npos) {
      const std::string digits = type.substr(colon + 1);
      if (digits.empty() || digits.size() > 6 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        throw Corrupt("bad torch.device string '" + Printable(type) + "'");
      }
      d->i = std::stoll(digits);
      type = type.substr(0, colon);
    }
    if (a.size() == 2 && a[1]->kind != Kind::kNone) {
      d->i = AsInt(a[1], "the device index");
      if (d->i < 0) throw Corrupt("negative device index");
    }
    if (type.empty() || type.size() > 64) throw Corrupt("bad torch.device type");
    d->s = type;
    return d;
  }

  Value* Encode(const std::vector<Value*>& a, const std::string& fn) {
    // _codecs.encode(str, 'latin1') is how protocol 2 pickles bytes.
    if (a.empty() || a.size() > 2 || a[0]->kind != Kind::kStr) throw Corrupt(fn + "(...) needs a str");
    std::string encoding = "utf-8";
    if (a.size() == 2) {
      if (a[1]->kind != Kind::kStr) throw Corrupt(fn + "(...) needs an encoding name");
      encoding = a[1]->s;
    }
    for (char& c : encoding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Value* v = doc_.New(Kind::kBytes);
    const std::string& s = a[0]->s;
    if (encoding == "utf-8" || encoding == "utf8") {
      v->s = s;
      return v;
    }
    if (encoding != "latin1" && encoding != "latin-1" && encoding != "iso-8859-1" && encoding != "l1") {
      throw Error(code::kPtUnsupported, fn + " with encoding '" + Printable(encoding) + "' is not supported");
    }
    v->s.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      const uint8_t c = static_cast<uint8_t>(s[i]);
      if (c < 0x80) {
        v->s.push_back(static_cast<char>(c));
        ++i;
      } else if ((c == 0xc2 || c == 0xc3) && i + 1 < s.size()) {
        v->s.push_back(static_cast<char>(((c & 0x1f) << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3f)));
        i += 2;
      } else {
        throw Corrupt("bytes encoded as latin1 hold a character above U+00FF");
      }
    }
    return v;
  }

  Value* CopyTensor(const Value* t) {
    Value* v = doc_.New(Kind::kTensor);
    v->tensor = std::make_unique<TensorSpec>(*t->tensor);
    return v;
  }

  std::vector<int64_t> IntList(const Value* v, const char* what) {
    if (v->kind != Kind::kTuple && v->kind != Kind::kList && v->kind != Kind::kSize) {
      throw Corrupt(std::string("the tensor's ") + what + " is a " + KindName(v->kind) + ", not a tuple");
    }
    if (v->items.size() > static_cast<size_t>(kMaxRank)) {
      throw Error(code::kPtLimit, "a tensor of rank " + std::to_string(v->items.size()) +
                                      " exceeds the limit of " + std::to_string(kMaxRank) +
                                      " dimensions (jepa.limits.maxRank)");
    }
    std::vector<int64_t> out;
    out.reserve(v->items.size());
    for (const Value* item : v->items) out.push_back(AsInt(item, what));
    return out;
  }

  Value* RebuildTensor(GlobalId fn, const std::vector<Value*>& a) {
    // _rebuild_tensor(storage, offset, size, stride)
    // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
    // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
    const size_t min = fn == kRebuildTensorG ? 4 : fn == kRebuildTensorV2G ? 6 : 7;
    const size_t max = fn == kRebuildTensorG ? 4 : min + 1;
    if (a.size() < min || a.size() > max) {
      throw Corrupt("a tensor rebuild call has " + std::to_string(a.size()) + " arguments");
    }
    if (a[0]->kind != Kind::kStorage)
      throw Corrupt(std::string("a tensor's storage is a ") + KindName(a[0]->kind));
    const StorageSpec& storage = doc_.storages[static_cast<size_t>(a[0]->i)];
    const auto view = views_.find(a[0]);
    Value* v = doc_.New(Kind::kTensor);
    v->tensor = std::make_unique<TensorSpec>();
    TensorSpec& t = *v->tensor;
    t.storage = a[0]->i;
    t.dtype = storage.dtype;
    t.offset = AsInt(a[1], "storage offset");
    t.sizes = IntList(a[2], "size");
    t.strides = IntList(a[3], "stride");
    if (fn != kRebuildTensorG) t.requires_grad = Truthy(a[4]);
    const Value* metadata = nullptr;
    if (fn == kRebuildTensorV3G) {
      if (a[6]->kind != Kind::kDtype) throw Corrupt("_rebuild_tensor_v3's dtype argument is not a dtype");
      t.dtype = FindDtype(a[6]->s)->type;  // a kDtype value names a dtype of the table
      if (a.size() == 8) metadata = a[7];
    } else if (fn == kRebuildTensorV2G && a.size() == 7) {
      metadata = a[6];
    }
    if (metadata != nullptr && metadata->kind != Kind::kNone) {
      if (metadata->kind != Kind::kDict && metadata->kind != Kind::kOrderedDict) {
        throw Corrupt("a tensor's metadata is not a dict");
      }
      for (size_t k = 0; k + 1 < metadata->items.size(); k += 2) {
        const Value* key = metadata->items[k];
        const bool on = Truthy(metadata->items[k + 1]);
        if (key->kind == Kind::kStr && key->s == "conj") {
          t.conj = on;
        } else if (key->kind == Kind::kStr && key->s == "neg") {
          t.neg = on;
        } else {
          throw Error(code::kPtUnsupported, "unknown tensor metadata in the file");
        }
      }
    }
    if (view == views_.end()) {
      CheckView(t, storage.nbytes, "a tensor in the file");
    } else {
      // A view of a storage (legacy files of torch <= 0.3): the tensor lies inside the view,
      // whose elements start `offset` elements into the storage.
      const int64_t itemsize = ElementSize(storage.dtype);
      CheckView(t, view->second.size * itemsize, "a tensor in the file (in a storage view)");
      t.offset += view->second.offset;
    }
    return v;
  }

  Value* PersistentLoad(const Value* pid) {
    // ('storage', storage_type, key, location, numel); the legacy format adds view_metadata:
    // None, or (view_key, offset, size) in elements.
    const size_t want = options_.legacy ? 6 : 5;
    if (pid->kind != Kind::kTuple || pid->items.size() != want) {
      throw Corrupt(options_.legacy
                        ? "a persistent id is not a 6-tuple ('storage', type, key, location, numel, view)"
                        : "a persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    }
    const auto& it = pid->items;
    if ((it[0]->kind != Kind::kStr && it[0]->kind != Kind::kBytes) || it[0]->s != "storage") {
      throw Corrupt("only persistent ids of storages are allowed");
    }
    at::ScalarType dtype;
    if (IsGlobal(it[1], kStorageClassG)) {
      dtype = static_cast<at::ScalarType>(static_cast<int>(it[1]->f));
    } else if (IsGlobal(it[1], kUntypedStorageG)) {
      dtype = at::kByte;
    } else {
      throw Corrupt(std::string("a persistent id's storage type is a ") + KindName(it[1]->kind));
    }
    if (it[2]->kind != Kind::kStr || it[2]->s.empty() || it[2]->s.size() > 256) {
      throw Corrupt("a storage key is not a short str");
    }
    if (it[3]->kind != Kind::kStr || it[3]->s.size() > 64)
      throw Corrupt("a storage location is not a short str");
    const int64_t numel = AsInt(it[4], "a storage's size");
    const int64_t itemsize = ElementSize(dtype);
    if (numel < 0 || numel > kMaxFileBytes / itemsize) {
      throw Corrupt("storage '" + Printable(it[2]->s) + "' declares " + std::to_string(numel) +
                    " elements, more than a file can hold");
    }
    const int64_t nbytes = numel * itemsize;
    auto found = storage_index_.find(it[2]->s);
    int64_t index;
    if (found != storage_index_.end()) {
      index = found->second;
      if (doc_.storages[static_cast<size_t>(index)].nbytes != nbytes) {
        throw Corrupt("storage '" + Printable(it[2]->s) + "' is declared with two different sizes");
      }
    } else {
      index = static_cast<int64_t>(doc_.storages.size());
      StorageSpec spec;
      spec.key = it[2]->s;
      spec.dtype = dtype;
      spec.nbytes = nbytes;
      spec.location = it[3]->s;
      doc_.storages.push_back(std::move(spec));
      storage_index_.emplace(it[2]->s, index);
    }
    Value* v = doc_.New(Kind::kStorage);
    v->i = index;
    if (options_.legacy && it[5]->kind != Kind::kNone) {
      const Value* m = it[5];
      if (m->kind != Kind::kTuple || m->items.size() != 3 || m->items[0]->kind != Kind::kStr) {
        throw Corrupt("a storage view is not a tuple (key, offset, size)");
      }
      const int64_t offset = AsInt(m->items[1], "a storage view's offset");
      const int64_t size = AsInt(m->items[2], "a storage view's size");
      if (offset < 0 || size < 0 || offset > numel || size > numel - offset) {
        throw Corrupt("storage view '" + Printable(m->items[0]->s) + "' (offset " + std::to_string(offset) +
                      ", size " + std::to_string(size) + ") lies outside its storage of " +
                      std::to_string(numel) + " elements");
      }
      views_[v] = View{offset, size};
    }
    return v;
  }

  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
  size_t op_pos_ = 0;
  Document& doc_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::vector<Value*> memo_;
  std::unordered_map<std::string, int64_t> storage_index_;
  const PickleOptions options_;
  bool* truncated_;
  struct View {
    int64_t offset;  // elements into the storage
    int64_t size;    // elements
  };
  std::unordered_map<const Value*, View> views_;  // storage values that are views (legacy)
};

// Refuses values that only make sense inside the VM (a bare global or storage in the result).
void CheckFinished(const Document& doc) {
  std::vector<const Value*> todo{doc.root};
  const uint32_t walk = doc.NextWalk();
  while (!todo.empty()) {
    const Value* v = todo.back();
    todo.pop_back();
    if (v->walk == walk) continue;
    v->walk = walk;
    if (v->kind == Kind::kGlobal) {
      throw Error(code::kPtUnsupported,
                  "the file holds " + v->s + " itself as a value, which is not supported");
    }
    if (v->kind == Kind::kStorage) {
      throw Error(code::kPtUnsupported,
                  "the file holds a bare storage (not viewed by a tensor), which is not supported");
    }
    for (const Value* item : v->items) todo.push_back(item);
    if (v->attrs != nullptr) todo.push_back(v->attrs);
  }
}

}  // namespace

void CheckView(const TensorSpec& t, int64_t storage_nbytes, const std::string& what) {
  if (t.sizes.size() > static_cast<size_t>(kMaxRank)) {
    throw Error(code::kPtLimit, what + " has rank " + std::to_string(t.sizes.size()) +
                                    ", above the limit of " + std::to_string(kMaxRank) +
                                    " (jepa.limits.maxRank)");
  }
  if (t.sizes.size() != t.strides.size()) {
    throw Error(code::kPtCorrupt, what + " has " + std::to_string(t.sizes.size()) + " sizes but " +
                                      std::to_string(t.strides.size()) + " strides");
  }
  const int64_t itemsize = ElementSize(t.dtype);
  const int64_t capacity = storage_nbytes / itemsize;  // elements of this dtype in the storage
  if (t.offset < 0) throw Error(code::kPtCorrupt, what + " has a negative storage offset");
  __int128 last = t.offset;  // index of the last element
  bool empty = false;
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    if (t.sizes[d] < 0 || t.strides[d] < 0) {
      throw Error(code::kPtCorrupt, what + " has a negative size or stride");
    }
    if (t.sizes[d] == 0) empty = true;
  }
  // libtorch refuses (with a c10::Error) sizes whose running product leaves int64, even when a
  // later size is 0; a view of a few bytes can have such sizes with strides of 0.
  __int128 count = 1;
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    count *= t.sizes[d];
    if (count > std::numeric_limits<int64_t>::max()) {
      throw Error(code::kPtCorrupt, what + " has more elements than an int64 can count (sizes overflow)");
    }
  }
  if (!empty) {
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      last += static_cast<__int128>(t.sizes[d] - 1) * t.strides[d];
      if (last >= capacity) break;
    }
  }
  if (empty ? t.offset > capacity : last >= capacity) {
    std::ostringstream msg;
    msg << what << " (dtype " << DtypeName(t.dtype) << ", offset " << t.offset << ", size [";
    for (size_t d = 0; d < t.sizes.size(); ++d) msg << (d ? ", " : "") << t.sizes[d];
    msg << "], stride [";
    for (size_t d = 0; d < t.strides.size(); ++d) msg << (d ? ", " : "") << t.strides[d];
    msg << "]) reaches past the end of its storage of " << storage_nbytes << " bytes";
    throw Error(code::kPtCorrupt, msg.str());
  }
}

void ParsePickle(const uint8_t* data, size_t size, Document& doc) {
  if (static_cast<int64_t>(size) > kMaxPickleBytes) {
    throw Error(code::kPtLimit, "the pickle (data.pkl) has " + std::to_string(size) +
                                    " bytes, above the limit of " + std::to_string(kMaxPickleBytes) +
                                    " bytes (jepa.limits.maxPickleBytes)");
  }
  bool truncated = false;
  Unpickler(data, size, doc, PickleOptions(), &truncated).Run();
  CheckFinished(doc);
}

size_t ParsePickleAt(const uint8_t* data, size_t size, Document& doc, const PickleOptions& options,
                     bool* truncated) {
  *truncated = false;
  const size_t used = Unpickler(data, size, doc, options, truncated).Run();
  CheckFinished(doc);
  return used;
}

}  // namespace pt
}  // namespace jepa
