// The legacy .pt format (torch < 1.6, or _use_new_zipfile_serialization=False): Archive's
// reading of its pickles and storage layout (the rest of Archive is in pt_file.cc).
#include <caffe2/serialize/read_adapter_interface.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/errors.h"
#include "pt/pickle_reader.h"
#include "pt/pt_file.h"

namespace jepa {
namespace pt {

using caffe2::serialize::ReadAdapterInterface;

namespace {

// A little-endian uint64 (the host is little-endian: see the static_assert in pt_file.cc).
uint64_t U64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

// The legacy format (torch < 1.6, or _use_new_zipfile_serialization=False), as
// torch/serialization.py's _legacy_save writes it: five pickles in a row (the magic number
// 0x1950a86a20f9469cfc6c, the protocol version 1001, a sys_info dict, the value, the sorted list
// of storage keys), then each listed storage's bytes: its element count as a little-endian
// int64, then the elements (little-endian whatever the writer's byte order). The value's
// persistent ids are 6-tuples ('storage', type, key, location, numel, view). Everything goes
// through the same restricted unpickler as data.pkl.
void Archive::InitLegacy(std::shared_ptr<ReadAdapterInterface> adapter, int64_t size) {
  legacy_ = true;
  adapter_ = std::move(adapter);
  size_ = static_cast<uint64_t>(size);
  const uint8_t* whole = WholeData();
  // A large file is read from its start in growing windows until the pickles fit; they take at
  // most jepa.limits.maxPickleBytes together.
  const uint64_t cap = std::min<uint64_t>(size_, static_cast<uint64_t>(kMaxPickleBytes));
  uint64_t have = whole != nullptr ? size_ : std::min<uint64_t>(cap, 64 << 10);
  std::vector<uint8_t> window;
  std::vector<std::string> keys;
  uint64_t data_start = 0;
  for (;;) {
    const uint8_t* data = whole;
    if (data == nullptr) {
      window.resize(have);
      if (adapter_->read(0, window.data(), have) != have) Fail(code::kIo, "reading the file failed");
      data = window.data();
    }
    bool truncated = false;
    try {
      doc_ = Document();
      keys.clear();
      data_start = ParseLegacyPickles(data, have, &keys, &truncated);
      break;
    } catch (const Error& e) {
      if (!truncated || have >= size_) throw Error(e.code(), name_ + ": " + e.what(), e.type_error());
      if (have >= cap) {
        Fail(code::kPtLimit, "the pickles of this legacy-format file take more than " +
                                 std::to_string(kMaxPickleBytes) + " bytes (jepa.limits.maxPickleBytes)");
      }
      have = std::min<uint64_t>(cap, have * 8);
    }
  }
  // The storages' bytes, in the order of the key list.
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < doc_.storages.size(); ++i) index.emplace(doc_.storages[i].key, i);
  legacy_offsets_.assign(doc_.storages.size(), UINT64_MAX);
  uint64_t pos = data_start;
  for (const std::string& key : keys) {
    auto it = index.find(key);
    if (it == index.end())
      Fail(code::kPtCorrupt, "the storage list names '" + key + "', which no tensor uses");
    const size_t i = it->second;
    if (legacy_offsets_[i] != UINT64_MAX)
      Fail(code::kPtCorrupt, "the storage list names '" + key + "' twice");
    const StorageSpec& s = doc_.storages[i];
    uint8_t count[8];
    if (pos > size_ || size_ - pos < 8 || adapter_->read(pos, count, 8) != 8) {
      Fail(code::kPtCorrupt, "the data of storage '" + key + "' lies past the end of the file (truncated?)");
    }
    const uint64_t numel = U64(count);
    const uint64_t itemsize = static_cast<uint64_t>(ElementSize(s.dtype));
    if (numel > static_cast<uint64_t>(kMaxFileBytes) || numel * itemsize != static_cast<uint64_t>(s.nbytes)) {
      Fail(code::kPtCorrupt, "storage '" + key + "' has " + std::to_string(numel) +
                                 " elements in the file, but the pickle declares " +
                                 std::to_string(s.nbytes / static_cast<int64_t>(itemsize)));
    }
    pos += 8;
    if (size_ - pos < static_cast<uint64_t>(s.nbytes)) {
      Fail(code::kPtCorrupt, "the data of storage '" + key + "' lies past the end of the file (truncated?)");
    }
    legacy_offsets_[i] = pos;
    pos += static_cast<uint64_t>(s.nbytes);
  }
  for (size_t i = 0; i < doc_.storages.size(); ++i) {
    if (legacy_offsets_[i] == UINT64_MAX) {
      Fail(code::kPtCorrupt, "storage '" + doc_.storages[i].key +
                                 "' has no data in the file (it is missing from the storage list)");
    }
  }
  swapped_.assign(doc_.storages.size(), false);
}

uint64_t Archive::ParseLegacyPickles(const uint8_t* data, uint64_t size, std::vector<std::string>* keys,
                                     bool* truncated) {
  uint64_t pos = 0;
  PickleOptions header;
  header.persistent_ids = false;
  auto next = [&](Document& doc, const PickleOptions& options) {
    pos += ParsePickleAt(data + pos, static_cast<size_t>(size - pos), doc, options, truncated);
  };
  {
    Document magic;
    next(magic, header);
    static const uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                     0x20, 0x6a, 0xa8, 0x50, 0x19};  // 0x1950a86a20f9469cfc6c
    const Value* m = magic.root;
    if (m->kind != Kind::kBigInt ||
        m->s != std::string(reinterpret_cast<const char*>(kMagic), sizeof kMagic)) {
      throw Error(code::kPtCorrupt,
                  "not a PyTorch file (a pickle, but not the magic number of the legacy torch.save format)");
    }
  }
  {
    Document protocol;
    next(protocol, header);
    const Value* v = protocol.root;
    if (v->kind != Kind::kInt || v->i != 1001) {
      throw Error(code::kPtUnsupported,
                  "the legacy torch.save file has protocol version " +
                      std::string(v->kind == Kind::kInt ? std::to_string(v->i) : "(not an int)") +
                      " (torch.load reads only 1001)");
    }
  }
  {
    Document sys_info;  // byte order and C type sizes of the writer; the data is little-endian anyway
    next(sys_info, header);
  }
  PickleOptions value;
  value.legacy = true;
  next(doc_, value);
  Document list;
  next(list, header);
  if (list.root->kind != Kind::kList)
    throw Error(code::kPtCorrupt, "the legacy file's storage list is not a list");
  for (const Value* k : list.root->items) {
    if (k->kind != Kind::kStr)
      throw Error(code::kPtCorrupt, "the legacy file's storage list holds a non-str key");
    keys->push_back(k->s);
  }
  return pos;
}

}  // namespace pt
}  // namespace jepa
