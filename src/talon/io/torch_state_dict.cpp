#include "talon/io/torch_state_dict.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "talon/util/error.h"

namespace talon::io {
namespace {

// The Python values a state dict's pickle builds. Tuples and dicts are
// shared, as pickle's memo shares them.
struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Global {
  std::string name;  // "module.qualname"
};
using Tuple = std::vector<ValuePtr>;
using Dict = std::vector<std::pair<ValuePtr, ValuePtr>>;  // insertion order
struct Value {
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Global, Tuple, Dict, at::Tensor> v;
};

// The storage classes torch.save names in a persistent id.
const std::map<std::string, at::ScalarType> kStorages = {
    {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
    {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
    {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar}, {"torch.ByteStorage", at::kByte},
    {"torch.BoolStorage", at::kBool},
};

class StateDictPickle {
 public:
  StateDictPickle(const std::string& path, caffe2::serialize::PyTorchStreamReader& archive, const char* data,
                  std::size_t size)
      : path_(path), archive_(archive), data_(data), size_(size) {}

  ValuePtr run() {
    for (;;) {
      const auto op = static_cast<unsigned char>(bytes(1)[0]);
      switch (op) {
        case 0x80: bytes(1); break;                                         // PROTO
        case 0x95: bytes(8); break;                                         // FRAME
        case '.': return pop();                                             // STOP
        case '(': marks_.push_back(stack_.size()); break;                   // MARK
        case 'N': push({}); break;                                          // NONE
        case 0x88: push({true}); break;                                     // NEWTRUE
        case 0x89: push({false}); break;                                    // NEWFALSE
        case 'K': push({static_cast<std::int64_t>(little(1))}); break;      // BININT1
        case 'M': push({static_cast<std::int64_t>(little(2))}); break;      // BININT2
        case 'J': push({std::int64_t{static_cast<std::int32_t>(little(4))}}); break;  // BININT
        case 0x8a: push({signed_little(little(1))}); break;                 // LONG1
        case 'G': push({big_endian_double()}); break;                       // BINFLOAT
        case 'X': push({text(little(4))}); break;                           // BINUNICODE
        case 0x8c: push({text(little(1))}); break;                          // SHORT_BINUNICODE
        case 'c': {  // GLOBAL
          std::string module = line();
          push({Global{module + "." + line()}});
        } break;
        case 0x93: {  // STACK_GLOBAL
          std::string name = as<std::string>(pop(), "STACK_GLOBAL name");
          push({Global{as<std::string>(pop(), "STACK_GLOBAL module") + "." + name}});
        } break;
        case 'q': memo_[little(1)] = top(); break;                          // BINPUT
        case 'r': memo_[little(4)] = top(); break;                          // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;                      // MEMOIZE
        case 'h': stack_.push_back(memo(little(1))); break;                 // BINGET
        case 'j': stack_.push_back(memo(little(4))); break;                 // LONG_BINGET
        case ')': push({Tuple{}}); break;                                   // EMPTY_TUPLE
        case '}': push({Dict{}}); break;                                    // EMPTY_DICT
        case 't': push({Tuple(since_mark())}); break;                       // TUPLE
        case 0x85: case 0x86: case 0x87: {                                  // TUPLE1, TUPLE2, TUPLE3
          const std::size_t n = op - 0x84;
          if (stack_.size() < n) bad("a tuple of missing values");
          Tuple items(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push({std::move(items)});
        } break;
        case 's': {  // SETITEM
          ValuePtr value = pop(), key = pop();
          dict(top()).emplace_back(key, value);
        } break;
        case 'u': {  // SETITEMS
          Tuple items = since_mark();
          if (items.size() % 2 != 0) bad("SETITEMS with an odd number of values");
          Dict& d = dict(top());
          for (std::size_t i = 0; i < items.size(); i += 2) d.emplace_back(items[i], items[i + 1]);
        } break;
        case 'R': {  // REDUCE
          Tuple args = as<Tuple>(pop(), "REDUCE arguments");
          push(call(as<Global>(pop(), "REDUCE callable").name, args));
        } break;
        case 'b': {  // BUILD: the OrderedDict's own attributes (_metadata), not its items
          ValuePtr state = pop();
          if (!std::holds_alternative<Dict>(top()->v) || !std::holds_alternative<Dict>(state->v)) {
            bad("BUILD of something other than a dict");
          }
        } break;
        case 'Q': push({storage(as<Tuple>(pop(), "a persistent id"))}); break;  // BINPERSID
        default: bad(fmt::format("pickle opcode 0x{:02x}, which torch.save does not write for a state dict", op));
      }
    }
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("{}: data.pkl at byte {}: {} (expected a state dict of tensors written by torch.save)", path_, offset_,
         what);
  }

  const char* bytes(std::size_t n) {
    if (n > size_ - offset_) bad("the pickle ends early");
    offset_ += n;
    return data_ + offset_ - n;
  }
  std::string text(std::size_t n) { return std::string(bytes(n), n); }
  std::uint64_t little(std::size_t n) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes(n));
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < n; ++i) x |= std::uint64_t{b[i]} << (8 * i);
    return x;
  }
  std::int64_t signed_little(std::uint64_t n) {
    if (n > 8) bad("an integer wider than 64 bits");
    std::uint64_t x = little(n);
    if (n > 0 && n < 8 && (x >> (8 * n - 1)) & 1) x |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<std::int64_t>(x);
  }
  double big_endian_double() {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes(8));
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = bits << 8 | b[i];
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  std::string line() {
    const std::size_t start = offset_;
    while (offset_ < size_ && data_[offset_] != '\n') ++offset_;
    if (offset_ == size_) bad("the pickle ends early");
    return std::string(data_ + start, data_ + offset_++);
  }

  void push(Value value) { stack_.push_back(std::make_shared<Value>(std::move(value))); }
  const ValuePtr& top() const {
    if (stack_.empty()) bad("an opcode on an empty stack");
    return stack_.back();
  }
  ValuePtr pop() {
    ValuePtr value = top();
    stack_.pop_back();
    return value;
  }
  Tuple since_mark() {
    if (marks_.empty() || marks_.back() > stack_.size()) bad("no MARK");
    Tuple items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  ValuePtr memo(std::uint64_t key) const {
    auto it = memo_.find(key);
    if (it == memo_.end()) bad(fmt::format("memo entry {} read before it was written", key));
    return it->second;
  }
  template <typename T>
  T& as(const ValuePtr& value, const char* what) const {
    if (!std::holds_alternative<T>(value->v)) bad(fmt::format("{} of an unexpected type", what));
    return std::get<T>(value->v);
  }
  Dict& dict(const ValuePtr& value) const { return as<Dict>(value, "SETITEMS on a value"); }
  std::int64_t integer(const ValuePtr& value, const char* what) const { return as<std::int64_t>(value, what); }
  std::vector<std::int64_t> integers(const ValuePtr& value, const char* what) const {
    std::vector<std::int64_t> out;
    for (const ValuePtr& item : as<Tuple>(value, what)) out.push_back(integer(item, what));
    return out;
  }

  Value call(const std::string& name, const Tuple& args) {
    if (name == "collections.OrderedDict" && args.empty()) return {Dict{}};
    // libtorch's pickle_save tags a typed dict with its TorchScript type; torch.load drops the tag.
    if (name == "torch.jit._pickle.restore_type_tag" && args.size() == 2) return *args[0];
    if (name == "torch._utils._rebuild_tensor_v2" && args.size() >= 4) {
      const at::Tensor& storage = as<at::Tensor>(args[0], "a tensor's storage");
      return {storage.as_strided(integers(args[2], "a tensor's size"), integers(args[3], "a tensor's stride"),
                                 integer(args[1], "a tensor's storage offset"))};
    }
    bad(fmt::format("a call of {}", name));
  }

  // ('storage', torch.<Type>Storage, key, location, numel): record data/<key>.
  at::Tensor storage(const Tuple& id) {
    if (id.size() != 5 || as<std::string>(id[0], "a persistent id's kind") != "storage") bad("a persistent id");
    const std::string& key = as<std::string>(id[2], "a storage key");
    if (auto it = storages_.find(key); it != storages_.end()) return it->second;
    auto type = kStorages.find(as<Global>(id[1], "a storage type").name);
    if (type == kStorages.end()) bad(fmt::format("storage type {}", as<Global>(id[1], "a storage type").name));
    const std::int64_t numel = integer(id[4], "a storage size");
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) bad(fmt::format("no record {} for storage {}", record, key));
    auto [data, size] = archive_.getRecord(record);
    // Compared before anything is allocated: a corrupt numel is an error, not a huge allocation.
    const std::size_t item = at::elementSize(type->second);
    if (numel < 0 || size % item != 0 || static_cast<std::uint64_t>(numel) != size / item) {
      bad(fmt::format("record {} holds {} bytes, expected {} elements of {}", record, size, numel,
                      at::toString(type->second)));
    }
    at::Tensor tensor = at::empty({numel}, type->second);
    if (size > 0) std::memcpy(tensor.data_ptr(), data.get(), size);  // an empty record has no data
    return storages_[key] = tensor;
  }

  const std::string& path_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  const char* data_;
  std::size_t size_, offset_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
  std::map<std::string, at::Tensor> storages_;
};

// Bytes in memory as the archive reader reads a file: libtorch's
// MemoryReadAdapter copies from any offset the zip's directory names, even
// past the end (found by fuzz_torch_state_dict); like its FileAdapter, this
// one clamps the read to the bytes there are.
class BytesAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BytesAdapter(std::string_view bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (n == 0 || pos >= bytes_.size()) return 0;  // buf may be null for an empty read
    n = std::min<std::size_t>(n, bytes_.size() - pos);
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  std::string_view bytes_;
};

// The archive's state dict; `path` names it in errors. Any libtorch error
// (not a zip, a record missing or cut short) becomes one naming `path`.
template <typename OpenArchive>
NamedTensors read_archive(const std::string& path, OpenArchive open) {
  try {
    caffe2::serialize::PyTorchStreamReader archive = open();
    if (archive.hasRecord("byteorder")) {
      auto [order, size] = archive.getRecord("byteorder");
      if (std::string(static_cast<const char*>(order.get()), size) != "little") {
        fail("{}: storages are big-endian; only little-endian archives are read", path);
      }
    }
    auto [pickle, size] = archive.getRecord("data.pkl");
    StateDictPickle reader(path, archive, static_cast<const char*>(pickle.get()), size);
    ValuePtr root = reader.run();
    if (!std::holds_alternative<Dict>(root->v)) fail("{}: expected a state dict (a dict of tensors)", path);
    NamedTensors out;
    for (const auto& [key, value] : std::get<Dict>(root->v)) {
      if (!std::holds_alternative<std::string>(key->v)) fail("{}: a state dict key is not a string", path);
      const std::string& name = std::get<std::string>(key->v);
      if (!std::holds_alternative<at::Tensor>(value->v)) fail("{}: entry {} is not a tensor", path, name);
      out.emplace_back(name, std::get<at::Tensor>(value->v));
    }
    return out;
  } catch (const c10::Error& e) {
    fail("{}: cannot be read as the PyTorch zip archive torch.save writes (its format since torch 1.6; the legacy "
         "one is not read): {}",
         path, e.what_without_backtrace());
  }
}

}  // namespace

NamedTensors read_torch_state_dict(const std::string& path) {
  return read_archive(path, [&] { return caffe2::serialize::PyTorchStreamReader(path); });
}

NamedTensors read_torch_state_dict_bytes(std::string_view bytes, const std::string& name) {
  return read_archive(name, [&] {
    return caffe2::serialize::PyTorchStreamReader(std::make_shared<BytesAdapter>(bytes));
  });
}

}  // namespace talon::io
