#include "models/formats/restricted_unpickler_internal.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/torch_call.h"
#include "models/formats/mapped_file.h"

namespace sinkscope::formats {
namespace {

// ---------------------------------------------------------------------------------------------
// Values

enum class Kind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kStr,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

enum class GlobalId { kOrderedDict, kRebuildTensorV2, kRebuildTensor, kRebuildParameter, kStorage };

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  explicit Value(Kind k) : kind(k) {}

  Kind kind;
  // Containers: frozen once nested in another container (no later mutation, hence no cycles);
  // depth = 1 + deepest child (scalars 0).
  bool frozen = false;
  size_t depth = 0;

  bool b = false;                                  // kBool
  int64_t i = 0;                                   // kInt
  double f = 0;                                    // kFloat
  std::string s;                                   // kStr; kGlobal: "module.name"
  GlobalId global = GlobalId::kOrderedDict;        // kGlobal
  at::ScalarType dtype = at::kFloat;               // kGlobal storage types
  std::vector<Ref> items;                          // kTuple, kList
  std::vector<std::pair<Ref, Ref>> entries;        // kDict, insertion order
  std::unordered_map<std::string, size_t> by_key;  // kDict: key identity -> entries index
  at::Tensor tensor;                               // kStorage (1-D), kTensor
};

bool IsContainer(const Value& v) {
  return v.kind == Kind::kTuple || v.kind == Kind::kList || v.kind == Kind::kDict;
}

std::string_view TypeName(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kStr:
      return "str";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "?";
}

// "an int", "a str", "None": for messages about values.
std::string WithArticle(Kind kind) {
  if (kind == Kind::kNone) return "None";
  if (kind == Kind::kInt) return "an int";
  return fmt::format("a {}", TypeName(kind));
}

// Printable, length-limited rendering of bytes from the file for error messages.
std::string Printable(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

struct AllowedGlobal {
  std::string_view module;
  std::string_view name;
  GlobalId id;
  at::ScalarType dtype;
};

// Everything a state dict pickle may reference. The storage classes are torch's legacy typed
// storages, still what torch.save writes in persistent ids (torch/serialization.py).
constexpr AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", GlobalId::kOrderedDict, at::kFloat},
    {"torch._utils", "_rebuild_tensor_v2", GlobalId::kRebuildTensorV2, at::kFloat},
    {"torch._utils", "_rebuild_tensor", GlobalId::kRebuildTensor, at::kFloat},
    {"torch._utils", "_rebuild_parameter", GlobalId::kRebuildParameter, at::kFloat},
    {"torch", "DoubleStorage", GlobalId::kStorage, at::kDouble},
    {"torch", "FloatStorage", GlobalId::kStorage, at::kFloat},
    {"torch", "HalfStorage", GlobalId::kStorage, at::kHalf},
    {"torch", "BFloat16Storage", GlobalId::kStorage, at::kBFloat16},
    {"torch", "LongStorage", GlobalId::kStorage, at::kLong},
    {"torch", "IntStorage", GlobalId::kStorage, at::kInt},
    {"torch", "ShortStorage", GlobalId::kStorage, at::kShort},
    {"torch", "CharStorage", GlobalId::kStorage, at::kChar},
    {"torch", "ByteStorage", GlobalId::kStorage, at::kByte},
    {"torch", "BoolStorage", GlobalId::kStorage, at::kBool},
};

// Valid pickle opcodes that a state dict never needs; named in the refusal message.
struct RefusedOpcode {
  uint8_t code;
  std::string_view name;
};
constexpr RefusedOpcode kRefusedOpcodes[] = {
    {'i', "INST"},
    {'o', "OBJ"},
    {0x81, "NEWOBJ"},
    {0x92, "NEWOBJ_EX"},
    {0x82, "EXT1"},
    {0x83, "EXT2"},
    {0x84, "EXT4"},
    {'P', "PERSID"},
    {'S', "STRING"},
    {'T', "BINSTRING"},
    {'U', "SHORT_BINSTRING"},
    {'V', "UNICODE"},
    {'I', "INT"},
    {'L', "LONG"},
    {'F', "FLOAT"},
    {'p', "PUT"},
    {'g', "GET"},
    {'d', "DICT"},
    {'l', "LIST"},
    {'B', "BINBYTES"},
    {'C', "SHORT_BINBYTES"},
    {0x8e, "BINBYTES8"},
    {0x96, "BYTEARRAY8"},
    {0x8f, "EMPTY_SET"},
    {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"},
    {0x97, "NEXT_BUFFER"},
    {0x98, "READONLY_BUFFER"},
};

// ---------------------------------------------------------------------------------------------
// The machine

class Unpickler {
 public:
  Unpickler(std::string_view in, const StorageLoader& load, const UnpickleLimits& limits)
      : in_(in), load_(load), limits_(limits) {}

  StatusOr<Ref> Run() {
    while (true) {
      op_pos_ = pos_;
      if (pos_ >= in_.size()) return Corrupt("pickle ends without STOP (truncated?)");
      const auto op = static_cast<uint8_t>(in_[pos_++]);
      if (op == '.') {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) {
          return Corrupt("STOP with {} values and {} marks on the stack (want 1 and 0)",
                         stack_.size(), marks_.size());
        }
        return stack_.back();
      }
      RETURN_IF_ERROR(Step(op));
    }
  }

 private:
  template <typename... Args>
  Status Corrupt(fmt::format_string<Args...> f, Args&&... args) const {
    return DataLossError("pickle byte {}: {}", op_pos_,
                         fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  Status Refuse(fmt::format_string<Args...> f, Args&&... args) const {
    return InvalidArgumentError("pickle byte {}: {}", op_pos_,
                                fmt::format(f, std::forward<Args>(args)...));
  }

  // --- input ---------------------------------------------------------------------------------
  Status Take(size_t n, std::string_view* out) {
    if (in_.size() - pos_ < n) {
      return Corrupt("needs {} more bytes but only {} remain (truncated?)", n, in_.size() - pos_);
    }
    *out = in_.substr(pos_, n);
    pos_ += n;
    return OkStatus();
  }
  template <typename T>
  Status TakeLE(T* out) {
    std::string_view b;
    RETURN_IF_ERROR(Take(sizeof(T), &b));
    std::memcpy(out, b.data(), sizeof(T));  // little-endian host (checked in safetensors.cc)
    return OkStatus();
  }
  Status TakeLine(std::string_view* out) {
    constexpr size_t kMaxLine = 256;
    const size_t nl = in_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > kMaxLine) {
      return Corrupt("GLOBAL argument is not a newline-terminated name of at most {} bytes",
                     kMaxLine);
    }
    *out = in_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return OkStatus();
  }

  // --- stack ---------------------------------------------------------------------------------
  size_t Fence() const { return marks_.empty() ? 0 : marks_.back(); }

  Status Push(Ref v) {
    if (stack_.size() + marks_.size() >= limits_.max_stack) {
      return Corrupt("stack grows past the limit of {} entries", limits_.max_stack);
    }
    stack_.push_back(std::move(v));
    return OkStatus();
  }
  Status Pop(Ref* out) {
    if (stack_.size() <= Fence()) return Corrupt("stack underflow");
    *out = std::move(stack_.back());
    stack_.pop_back();
    return OkStatus();
  }
  Status Top(Ref* out) {
    if (stack_.size() <= Fence()) return Corrupt("stack underflow");
    *out = stack_.back();
    return OkStatus();
  }
  // Pops everything above the topmost MARK, and the mark.
  Status PopMark(std::vector<Ref>* out) {
    if (marks_.empty()) return Corrupt("no MARK on the stack");
    const size_t k = marks_.back();
    marks_.pop_back();
    out->assign(std::make_move_iterator(stack_.begin() + static_cast<ptrdiff_t>(k)),
                std::make_move_iterator(stack_.end()));
    stack_.resize(k);
    return OkStatus();
  }

  // --- values --------------------------------------------------------------------------------
  static Ref Int(int64_t i) {
    auto v = std::make_shared<Value>(Kind::kInt);
    v->i = i;
    return v;
  }
  static Ref NewContainer(Kind kind) {
    auto v = std::make_shared<Value>(kind);
    v->depth = 1;
    return v;
  }

  // Records that `child` now lives inside `parent`: freezes it and updates the depth bound.
  Status Adopt(Value& parent, const Ref& child) {
    if (child.get() == &parent) return Refuse("a container that contains itself");
    if (IsContainer(*child)) {
      child->frozen = true;
      const size_t depth = child->depth + 1;
      if (depth > limits_.max_nesting) {
        return Corrupt("containers nested deeper than {}", limits_.max_nesting);
      }
      parent.depth = std::max(parent.depth, depth);
    }
    return OkStatus();
  }
  Status CheckMutable(const Value& v, std::string_view op) {
    if (v.frozen) {
      return Refuse(
          "{} modifies a {} after it was nested in another container (a reference "
          "cycle or shared mutable object, which state dicts do not contain)",
          op, TypeName(v.kind));
    }
    return OkStatus();
  }

  StatusOr<Ref> MakeTuple(std::vector<Ref> items) {
    auto t = NewContainer(Kind::kTuple);
    for (const auto& item : items) RETURN_IF_ERROR(Adopt(*t, item));
    t->items = std::move(items);
    return t;
  }

  // Identity of a dict key (Python equality for the key types we allow: True == 1).
  StatusOr<std::string> KeyIdentity(const Value& key) {
    switch (key.kind) {
      case Kind::kStr:
        return "s" + key.s;
      case Kind::kInt:
        return "i" + std::to_string(key.i);
      case Kind::kBool:
        return std::string(key.b ? "i1" : "i0");
      case Kind::kNone:
        return std::string("n");
      default:
        return Refuse("dict key of type {} is not supported", TypeName(key.kind));
    }
  }

  Status SetItem(Value& dict, const Ref& key, const Ref& value) {
    ASSIGN_OR_RETURN(auto id, KeyIdentity(*key));
    RETURN_IF_ERROR(Adopt(dict, value));
    auto [it, inserted] = dict.by_key.try_emplace(std::move(id), dict.entries.size());
    if (inserted) {
      dict.entries.emplace_back(key, value);
    } else {
      dict.entries[it->second].second = value;  // Python: a repeated key overwrites
    }
    return OkStatus();
  }

  // --- opcodes -------------------------------------------------------------------------------
  Status PushString(std::string_view bytes) {
    if (!IsValidUtf8(bytes)) return Corrupt("string is not valid UTF-8");
    auto v = std::make_shared<Value>(Kind::kStr);
    v->s.assign(bytes);
    return Push(std::move(v));
  }
  Status ReadString(uint64_t len) {
    if (len > limits_.max_string_bytes) {
      return Corrupt("string of {} bytes exceeds the limit of {}", len, limits_.max_string_bytes);
    }
    std::string_view bytes;
    RETURN_IF_ERROR(Take(static_cast<size_t>(len), &bytes));
    return PushString(bytes);
  }

  Status PushGlobal(std::string_view module, std::string_view name) {
    for (const auto& g : kAllowedGlobals) {
      if (g.module == module && g.name == name) {
        auto v = std::make_shared<Value>(Kind::kGlobal);
        v->s = fmt::format("{}.{}", module, name);
        v->global = g.id;
        v->dtype = g.dtype;
        return Push(std::move(v));
      }
    }
    return Refuse(
        "global '{}.{}' is not allowed: a state dict references only collections.OrderedDict, "
        "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage",
        Printable(module), Printable(name));
  }

  // Little-endian two's complement of 0..8 bytes (LONG1/LONG4).
  Status PushLong(uint64_t n) {
    if (n > 8) return Refuse("integer of {} bytes does not fit in 64 bits", n);
    std::string_view b;
    RETURN_IF_ERROR(Take(static_cast<size_t>(n), &b));
    uint64_t u = 0;
    for (size_t k = 0; k < n; ++k) u |= uint64_t{static_cast<uint8_t>(b[k])} << (8 * k);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
    return Push(Int(static_cast<int64_t>(u)));
  }

  Status MemoPut(uint64_t index) {
    Ref top;
    RETURN_IF_ERROR(Top(&top));
    if (memo_.size() >= limits_.max_memo && !memo_.count(index)) {
      return Corrupt("memo grows past the limit of {} entries", limits_.max_memo);
    }
    memo_[index] = std::move(top);
    return OkStatus();
  }
  Status MemoGet(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return Corrupt("memo key {} was never stored", index);
    return Push(it->second);
  }

  Status Step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        uint8_t version = 0;
        RETURN_IF_ERROR(TakeLE(&version));
        if (version < 2 || version > 5) return Corrupt("unsupported pickle protocol {}", version);
        return OkStatus();
      }
      case 0x95: {  // FRAME: a length hint only
        uint64_t len = 0;
        RETURN_IF_ERROR(TakeLE(&len));
        if (len > in_.size() - pos_) return Corrupt("FRAME of {} bytes past the end", len);
        return OkStatus();
      }
      case '}':
        return Push(NewContainer(Kind::kDict));  // EMPTY_DICT
      case ']':
        return Push(NewContainer(Kind::kList));  // EMPTY_LIST
      case ')':
        return Push(NewContainer(Kind::kTuple));  // EMPTY_TUPLE
      case '(':                                   // MARK
        if (stack_.size() + marks_.size() >= limits_.max_stack) {
          return Corrupt("stack grows past the limit of {} entries", limits_.max_stack);
        }
        marks_.push_back(stack_.size());
        return OkStatus();
      case 'X': {  // BINUNICODE
        uint32_t len = 0;
        RETURN_IF_ERROR(TakeLE(&len));
        return ReadString(len);
      }
      case 0x8c: {  // SHORT_BINUNICODE
        uint8_t len = 0;
        RETURN_IF_ERROR(TakeLE(&len));
        return ReadString(len);
      }
      case 0x8d: {  // BINUNICODE8
        uint64_t len = 0;
        RETURN_IF_ERROR(TakeLE(&len));
        return ReadString(len);
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string_view module, name;
        RETURN_IF_ERROR(TakeLine(&module));
        RETURN_IF_ERROR(TakeLine(&name));
        return PushGlobal(module, name);
      }
      case 0x93: {  // STACK_GLOBAL
        Ref name, module;
        RETURN_IF_ERROR(Pop(&name));
        RETURN_IF_ERROR(Pop(&module));
        if (module->kind != Kind::kStr || name->kind != Kind::kStr) {
          return Corrupt("STACK_GLOBAL wants two str, got {} and {}", TypeName(module->kind),
                         TypeName(name->kind));
        }
        return PushGlobal(module->s, name->s);
      }
      case 'Q': {  // BINPERSID
        Ref pid;
        RETURN_IF_ERROR(Pop(&pid));
        ASSIGN_OR_RETURN(auto storage, LoadPersistent(*pid));
        return Push(std::move(storage));
      }
      case 't': {  // TUPLE
        std::vector<Ref> items;
        RETURN_IF_ERROR(PopMark(&items));
        ASSIGN_OR_RETURN(auto t, MakeTuple(std::move(items)));
        return Push(std::move(t));
      }
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        const size_t n = op - 0x84u;
        if (stack_.size() < Fence() + n) return Corrupt("stack underflow");
        std::vector<Ref> items(std::make_move_iterator(stack_.end() - static_cast<ptrdiff_t>(n)),
                               std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        ASSIGN_OR_RETURN(auto t, MakeTuple(std::move(items)));
        return Push(std::move(t));
      }
      case 'J': {  // BININT
        int32_t v = 0;
        RETURN_IF_ERROR(TakeLE(&v));
        return Push(Int(v));
      }
      case 'K': {  // BININT1
        uint8_t v = 0;
        RETURN_IF_ERROR(TakeLE(&v));
        return Push(Int(v));
      }
      case 'M': {  // BININT2
        uint16_t v = 0;
        RETURN_IF_ERROR(TakeLE(&v));
        return Push(Int(v));
      }
      case 0x8a: {  // LONG1
        uint8_t n = 0;
        RETURN_IF_ERROR(TakeLE(&n));
        return PushLong(n);
      }
      case 0x8b: {  // LONG4
        int32_t n = 0;
        RETURN_IF_ERROR(TakeLE(&n));
        if (n < 0) return Corrupt("LONG4 with negative length {}", n);
        return PushLong(static_cast<uint64_t>(n));
      }
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        auto v = std::make_shared<Value>(Kind::kBool);
        v->b = op == 0x88;
        return Push(std::move(v));
      }
      case 'N':
        return Push(std::make_shared<Value>(Kind::kNone));  // NONE
      case 'G': {                                           // BINFLOAT: big-endian IEEE double
        uint64_t bits = 0;
        RETURN_IF_ERROR(TakeLE(&bits));
        auto v = std::make_shared<Value>(Kind::kFloat);
        v->f = std::bit_cast<double>(__builtin_bswap64(bits));
        return Push(std::move(v));
      }
      case 'R':
        return Reduce();
      case 'b':
        return Build();
      case 's': {  // SETITEM
        Ref value, key, dict;
        RETURN_IF_ERROR(Pop(&value));
        RETURN_IF_ERROR(Pop(&key));
        RETURN_IF_ERROR(Top(&dict));
        if (dict->kind != Kind::kDict) return Corrupt("SETITEM on a {}", TypeName(dict->kind));
        RETURN_IF_ERROR(CheckMutable(*dict, "SETITEM"));
        return SetItem(*dict, key, value);
      }
      case 'u': {  // SETITEMS
        std::vector<Ref> items;
        RETURN_IF_ERROR(PopMark(&items));
        Ref dict;
        RETURN_IF_ERROR(Top(&dict));
        if (dict->kind != Kind::kDict) return Corrupt("SETITEMS on a {}", TypeName(dict->kind));
        if (items.size() % 2 != 0) return Corrupt("SETITEMS with an odd number of items");
        RETURN_IF_ERROR(CheckMutable(*dict, "SETITEMS"));
        for (size_t k = 0; k < items.size(); k += 2) {
          RETURN_IF_ERROR(SetItem(*dict, items[k], items[k + 1]));
        }
        return OkStatus();
      }
      case 'a': {  // APPEND
        Ref value, list;
        RETURN_IF_ERROR(Pop(&value));
        RETURN_IF_ERROR(Top(&list));
        if (list->kind != Kind::kList) return Corrupt("APPEND on a {}", TypeName(list->kind));
        RETURN_IF_ERROR(CheckMutable(*list, "APPEND"));
        RETURN_IF_ERROR(Adopt(*list, value));
        list->items.push_back(std::move(value));
        return OkStatus();
      }
      case 'e': {  // APPENDS
        std::vector<Ref> items;
        RETURN_IF_ERROR(PopMark(&items));
        Ref list;
        RETURN_IF_ERROR(Top(&list));
        if (list->kind != Kind::kList) return Corrupt("APPENDS on a {}", TypeName(list->kind));
        RETURN_IF_ERROR(CheckMutable(*list, "APPENDS"));
        for (auto& item : items) {
          RETURN_IF_ERROR(Adopt(*list, item));
          list->items.push_back(std::move(item));
        }
        return OkStatus();
      }
      case 'q': {  // BINPUT
        uint8_t index = 0;
        RETURN_IF_ERROR(TakeLE(&index));
        return MemoPut(index);
      }
      case 'r': {  // LONG_BINPUT
        uint32_t index = 0;
        RETURN_IF_ERROR(TakeLE(&index));
        return MemoPut(index);
      }
      case 0x94:
        return MemoPut(memo_.size());  // MEMOIZE
      case 'h': {                      // BINGET
        uint8_t index = 0;
        RETURN_IF_ERROR(TakeLE(&index));
        return MemoGet(index);
      }
      case 'j': {  // LONG_BINGET
        uint32_t index = 0;
        RETURN_IF_ERROR(TakeLE(&index));
        return MemoGet(index);
      }
      case '0': {  // POP
        Ref ignored;
        return Pop(&ignored);
      }
      case '1': {  // POP_MARK
        std::vector<Ref> ignored;
        return PopMark(&ignored);
      }
      case '2': {  // DUP
        Ref top;
        RETURN_IF_ERROR(Top(&top));
        return Push(std::move(top));
      }
      default:
        break;
    }
    for (const auto& refused : kRefusedOpcodes) {
      if (refused.code == op) {
        return Refuse("pickle opcode {} is not allowed in a state dict", refused.name);
      }
    }
    return Corrupt("invalid pickle opcode 0x{:02x}", op);
  }

  // ('storage', torch.<T>Storage, key, location, numel)
  StatusOr<Ref> LoadPersistent(const Value& pid) {
    if (pid.kind != Kind::kTuple || pid.items.size() != 5 || pid.items[0]->kind != Kind::kStr ||
        pid.items[0]->s != "storage") {
      return Corrupt("persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    const Value& type = *pid.items[1];
    const Value& key = *pid.items[2];
    const Value& location = *pid.items[3];
    const Value& numel = *pid.items[4];
    if (type.kind != Kind::kGlobal || type.global != GlobalId::kStorage) {
      return Corrupt("persistent id storage type is a {}, not a torch storage class",
                     TypeName(type.kind));
    }
    if (key.kind != Kind::kStr || location.kind != Kind::kStr || numel.kind != Kind::kInt ||
        numel.i < 0) {
      return Corrupt("persistent id wants (str key, str location, int numel >= 0)");
    }
    StorageRequest request{key.s, type.dtype, location.s, numel.i};
    ASSIGN_OR_RETURN(at::Tensor storage, load_(request));
    if (!storage.defined() || storage.dim() != 1 || storage.numel() != numel.i ||
        storage.scalar_type() != type.dtype) {
      return InternalError("storage loader returned a tensor that does not match '{}'", key.s);
    }
    auto v = std::make_shared<Value>(Kind::kStorage);
    v->tensor = std::move(storage);
    v->dtype = type.dtype;
    return v;
  }

  StatusOr<std::vector<int64_t>> IntTuple(const Value& v, std::string_view what) {
    if (v.kind != Kind::kTuple && v.kind != Kind::kList) {
      return Corrupt("tensor {} is a {}, not a tuple", what, TypeName(v.kind));
    }
    if (v.items.size() > limits_.max_rank) {
      return Corrupt("tensor {} has {} entries, more than the limit {}", what, v.items.size(),
                     limits_.max_rank);
    }
    std::vector<int64_t> out;
    out.reserve(v.items.size());
    for (const auto& item : v.items) {
      if (item->kind != Kind::kInt || item->i < 0) {
        return Corrupt("tensor {} must hold non-negative ints", what);
      }
      out.push_back(item->i);
    }
    return out;
  }

  // A tensor of `sizes`/`strides` at element `offset` of `storage`, bounds-checked.
  StatusOr<Ref> RebuildTensor(const Value& storage, const Value& offset, const Value& size,
                              const Value& stride) {
    if (storage.kind != Kind::kStorage) {
      return Corrupt("tensor storage is a {}, not a storage", TypeName(storage.kind));
    }
    if (offset.kind != Kind::kInt || offset.i < 0) {
      return Corrupt("tensor storage offset must be a non-negative int");
    }
    ASSIGN_OR_RETURN(auto sizes, IntTuple(size, "size"));
    ASSIGN_OR_RETURN(auto strides, IntTuple(stride, "stride"));
    if (sizes.size() != strides.size()) {
      return Corrupt("tensor has {} sizes but {} strides", sizes.size(), strides.size());
    }
    const auto storage_numel = static_cast<uint64_t>(storage.tensor.numel());
    const auto start = static_cast<uint64_t>(offset.i);
    // numel (overflow-checked over the non-zero sizes) and the last element's index.
    uint64_t numel = 1, last = start;
    bool empty = false;
    for (size_t d = 0; d < sizes.size(); ++d) {
      const auto n = static_cast<uint64_t>(sizes[d]);
      if (n == 0) {
        empty = true;
        continue;
      }
      uint64_t reach;
      if (!CheckedMul(numel, n, &numel) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          !CheckedMul(n - 1, static_cast<uint64_t>(strides[d]), &reach) ||
          !CheckedAdd(last, reach, &last)) {
        return Corrupt("tensor size/stride arithmetic overflows");
      }
    }
    if (empty) {
      numel = 0;
      if (start > storage_numel) {
        return Corrupt("storage offset {} past the storage's {} elements", start, storage_numel);
      }
    } else if (last >= storage_numel) {
      return Corrupt("tensor view reaches element {} of a storage of {} elements", last,
                     storage_numel);
    }
    const at::Tensor& base = storage.tensor;
    ASSIGN_OR_RETURN(at::Tensor view, TorchCall("rebuilding a tensor view", [&] {
                       return base.as_strided(sizes, strides, offset.i);
                     }));
    if (!view.is_contiguous()) {
      uint64_t bytes, total;
      if (!CheckedMul(numel, view.element_size(), &bytes) ||
          !CheckedAdd(copied_bytes_, bytes, &total) || total > limits_.max_copy_bytes) {
        return Status(StatusCode::kResourceExhausted,
                      fmt::format("pickle byte {}: making strided views contiguous would copy "
                                  "more than the limit of {} bytes",
                                  op_pos_, limits_.max_copy_bytes));
      }
      copied_bytes_ = total;
      ASSIGN_OR_RETURN(view,
                       TorchCall("copying a strided tensor", [&] { return view.contiguous(); }));
    }
    auto v = std::make_shared<Value>(Kind::kTensor);
    v->tensor = std::move(view);
    return v;
  }

  // An empty OrderedDict()/dict or None: what backward_hooks and tensor metadata are when there
  // is nothing in them.
  static bool IsEmptyState(const Value& v) {
    return v.kind == Kind::kNone || (v.kind == Kind::kDict && v.entries.empty());
  }

  Status Reduce() {
    Ref args, callable;
    RETURN_IF_ERROR(Pop(&args));
    RETURN_IF_ERROR(Pop(&callable));
    if (callable->kind != Kind::kGlobal) {
      return Corrupt("REDUCE calls a {}, not a global", TypeName(callable->kind));
    }
    if (args->kind != Kind::kTuple) {
      return Corrupt("REDUCE arguments are a {}, not a tuple", TypeName(args->kind));
    }
    const auto& a = args->items;
    switch (callable->global) {
      case GlobalId::kOrderedDict:
        if (!a.empty()) return Refuse("OrderedDict called with {} arguments, want 0", a.size());
        return Push(NewContainer(Kind::kDict));
      case GlobalId::kRebuildTensorV2: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.size() != 6 && a.size() != 7) {
          return Corrupt("_rebuild_tensor_v2 called with {} arguments, want 6 or 7", a.size());
        }
        if (a[4]->kind != Kind::kBool) return Corrupt("requires_grad is not a bool");
        if (!IsEmptyState(*a[5])) return Refuse("tensor with backward hooks");
        if (a.size() == 7 && !IsEmptyState(*a[6])) {
          return Status(StatusCode::kUnimplemented,
                        fmt::format("pickle byte {}: tensor metadata is not supported", op_pos_));
        }
        ASSIGN_OR_RETURN(auto t, RebuildTensor(*a[0], *a[1], *a[2], *a[3]));
        return Push(std::move(t));
      }
      case GlobalId::kRebuildTensor: {  // (storage, storage_offset, size, stride)
        if (a.size() != 4) {
          return Corrupt("_rebuild_tensor called with {} arguments, want 4", a.size());
        }
        ASSIGN_OR_RETURN(auto t, RebuildTensor(*a[0], *a[1], *a[2], *a[3]));
        return Push(std::move(t));
      }
      case GlobalId::kRebuildParameter: {  // (data, requires_grad, backward_hooks)
        if (a.size() != 3 || a[0]->kind != Kind::kTensor || a[1]->kind != Kind::kBool) {
          return Corrupt("_rebuild_parameter wants (tensor, bool, hooks)");
        }
        if (!IsEmptyState(*a[2])) return Refuse("parameter with backward hooks");
        return Push(a[0]);
      }
      case GlobalId::kStorage:
        return Refuse("calling storage class '{}' is not allowed", callable->s);
    }
    return Corrupt("unknown global");
  }

  // BUILD sets instance state. On an OrderedDict it carries attributes such as the `_metadata`
  // of nn.Module.state_dict() (module versions), which we drop. On a tensor only empty state is
  // accepted.
  Status Build() {
    Ref state, target;
    RETURN_IF_ERROR(Pop(&state));
    RETURN_IF_ERROR(Top(&target));
    if (target->kind == Kind::kDict) return OkStatus();
    if (target->kind == Kind::kTensor) {
      bool empty = IsEmptyState(*state);
      if (state->kind == Kind::kTuple) {
        empty = std::all_of(state->items.begin(), state->items.end(),
                            [](const Ref& r) { return IsEmptyState(*r); });
      }
      if (!empty) return Refuse("BUILD with non-empty state on a tensor");
      return OkStatus();
    }
    return Refuse("BUILD on a {} is not allowed", TypeName(target->kind));
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  const StorageLoader& load_;
  const UnpickleLimits& limits_;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  uint64_t copied_bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Flattening

// Walks the unpickled tree into a TensorMap. The tree is acyclic and at most max_nesting deep, but
// it may share sub-containers (a DAG), so the walk is bounded by a visit budget and a key-bytes
// budget derived from the pickle size: a legitimate state dict spends at least one SETITEM in
// the pickle per entry.
class Flattener {
 public:
  Flattener(uint64_t max_visits, uint64_t max_key_bytes, TensorMap* out)
      : visits_left_(max_visits), key_bytes_left_(max_key_bytes), out_(out) {}

  Status Flatten(const Value& v, const std::string& key) {
    if (visits_left_ == 0 || key.size() > key_bytes_left_) {
      return InvalidArgumentError(
          "flattening the pickle visits more entries than it has bytes (shared containers?)");
    }
    --visits_left_;
    key_bytes_left_ -= key.size();
    switch (v.kind) {
      case Kind::kTensor:
        if (!out_->emplace(key, v.tensor).second) {
          return InvalidArgumentError("two entries flatten to the same name '{}'", key);
        }
        return OkStatus();
      case Kind::kDict:
        for (const auto& [k, child] : v.entries) {
          if (k->kind != Kind::kStr) {
            return InvalidArgumentError("'{}' has a key of type {}, want str", key,
                                        TypeName(k->kind));
          }
          RETURN_IF_ERROR(Flatten(*child, Join(key, k->s)));
        }
        return OkStatus();
      case Kind::kList:
      case Kind::kTuple:
        for (size_t i = 0; i < v.items.size(); ++i) {
          RETURN_IF_ERROR(Flatten(*v.items[i], Join(key, std::to_string(i))));
        }
        return OkStatus();
      default:
        return InvalidArgumentError("'{}' is {}, not a tensor", key, WithArticle(v.kind));
    }
  }

 private:
  static std::string Join(const std::string& prefix, std::string_view part) {
    return prefix.empty() ? std::string(part) : fmt::format("{}.{}", prefix, part);
  }

  uint64_t visits_left_;
  uint64_t key_bytes_left_;
  TensorMap* out_;
};

}  // namespace

StatusOr<TensorMap> UnpickleStateDict(std::string_view pickle, const StorageLoader& load,
                                      const UnpickleLimits& limits) {
  Unpickler unpickler(pickle, load, limits);
  ASSIGN_OR_RETURN(Ref root, unpickler.Run());
  if (root->kind != Kind::kDict) {
    return InvalidArgumentError("the pickle holds {}, not a dict of tensors",
                                WithArticle(root->kind));
  }
  TensorMap tensors;
  const uint64_t budget = pickle.size() + 16;
  Flattener flattener(budget, budget * limits.max_nesting, &tensors);
  RETURN_IF_ERROR(flattener.Flatten(*root, ""));
  return tensors;
}

}  // namespace sinkscope::formats
