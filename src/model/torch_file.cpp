#include "edge/model/torch_file.h"

#include <cstring>
#include <fstream>
#include <map>
#include <unordered_map>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"

namespace edge::model {

namespace {

using c10::IValue;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A Python global (module.name) on the unpickler's stack: a class or function that
// REDUCE calls, or a storage type inside a persistent id.
struct PyGlobal : torch::CustomClassHolder {
  explicit PyGlobal(std::string n) : name(std::move(n)) {}
  std::string name;
};

const PyGlobal* as_global(const IValue& v) {
  return v.isCapsule() ? dynamic_cast<const PyGlobal*>(v.toCapsule().get()) : nullptr;
}

// torch.<Name>Storage -> dtype.
bool storage_dtype(const std::string& name, c10::ScalarType* out) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", c10::kFloat},     {"torch.DoubleStorage", c10::kDouble},
      {"torch.HalfStorage", c10::kHalf},       {"torch.BFloat16Storage", c10::kBFloat16},
      {"torch.LongStorage", c10::kLong},       {"torch.IntStorage", c10::kInt},
      {"torch.ShortStorage", c10::kShort},     {"torch.CharStorage", c10::kChar},
      {"torch.ByteStorage", c10::kByte},       {"torch.BoolStorage", c10::kBool},
      {"torch.ComplexFloatStorage", c10::kComplexFloat}, {"torch.ComplexDoubleStorage", c10::kComplexDouble}};
  const auto it = types.find(name);
  if (it == types.end()) return false;
  *out = it->second;
  return true;
}

// The pickle protocol 2-5 opcodes torch.save emits for data (see Python's pickletools).
class Unpickler {
 public:
  Unpickler(std::string pkl, caffe2::serialize::PyTorchStreamReader& zip, std::string file)
      : pkl_(std::move(pkl)), zip_(zip), file_(std::move(file)) {}

  IValue run() {
    while (true) {
      const auto op = static_cast<uint8_t>(read_bytes(1)[0]);
      if (op == '.') {  // STOP
        fail_if(stack_.size() != 1, "the pickle does not end with exactly one object");
        return stack_.back();
      }
      if (!stack_op(op) && !scalar_op(op) && !container_op(op) && !object_op(op))
        fail(fmt::format("unsupported pickle opcode 0x{:02x} at byte {}", op, pos_ - 1));
    }
  }

 private:
  // The opcodes in four groups, each a switch that returns false for an opcode not its own.

  // Framing, marks and the memo.
  bool stack_op(uint8_t op) {
    switch (op) {
      case 0x80: read_bytes(1); return true;                                  // PROTO
      case 0x95: read_bytes(8); return true;                                  // FRAME (ignored)
      case '(': marks_.push_back(stack_.size()); return true;                 // MARK
      case '0': pop(); return true;                                           // POP
      case '1': pop_mark(); return true;                                      // POP_MARK
      case '2': fail_if(stack_.empty(), "DUP on an empty stack"); stack_.push_back(stack_.back()); return true;
      case 'q': memo_[read_le<uint8_t>()] = top("BINPUT"); return true;       // BINPUT
      case 'r': memo_[read_le<uint32_t>()] = top("LONG_BINPUT"); return true; // LONG_BINPUT
      case 0x94: memo_[memo_.size()] = top("MEMOIZE"); return true;           // MEMOIZE
      case 'h': stack_.push_back(memo_get(read_le<uint8_t>())); return true;  // BINGET
      case 'j': stack_.push_back(memo_get(read_le<uint32_t>())); return true; // LONG_BINGET
      default: return false;
    }
  }

  // None, booleans, integers, floats and strings.
  bool scalar_op(uint8_t op) {
    switch (op) {
      case 'N': stack_.emplace_back(); return true;                           // NONE
      case 0x88: stack_.emplace_back(true); return true;                      // NEWTRUE
      case 0x89: stack_.emplace_back(false); return true;                     // NEWFALSE
      case 'J': stack_.emplace_back(int64_t(read_le<int32_t>())); return true;   // BININT
      case 'K': stack_.emplace_back(int64_t(read_le<uint8_t>())); return true;   // BININT1
      case 'M': stack_.emplace_back(int64_t(read_le<uint16_t>())); return true;  // BININT2
      case 0x8a: stack_.emplace_back(read_long1()); return true;                 // LONG1
      case 'G': stack_.emplace_back(read_binfloat()); return true;               // BINFLOAT
      case 'X': stack_.emplace_back(read_bytes(read_le<uint32_t>())); return true;  // BINUNICODE
      case 0x8c: stack_.emplace_back(read_bytes(read_le<uint8_t>())); return true;  // SHORT_BINUNICODE
      case 0x8d: stack_.emplace_back(read_bytes(read_le<uint64_t>())); return true; // BINUNICODE8
      case 'U': stack_.emplace_back(read_bytes(read_le<uint8_t>())); return true;   // SHORT_BINSTRING
      case 'T': stack_.emplace_back(read_bytes(read_le<uint32_t>())); return true;  // BINSTRING
      default: return false;
    }
  }

  // Tuples, lists and dicts.
  bool container_op(uint8_t op) {
    switch (op) {
      case ')': stack_.emplace_back(c10::ivalue::Tuple::create(std::vector<IValue>{})); return true;
      case 't': stack_.emplace_back(c10::ivalue::Tuple::create(pop_mark())); return true;  // TUPLE
      case 0x85: tuple_of(1); return true;                                    // TUPLE1
      case 0x86: tuple_of(2); return true;                                    // TUPLE2
      case 0x87: tuple_of(3); return true;                                    // TUPLE3
      case ']': stack_.emplace_back(c10::impl::GenericList(c10::AnyType::get())); return true;  // EMPTY_LIST
      case 'l': {                                                             // LIST
        c10::impl::GenericList list(c10::AnyType::get());
        for (auto& v : pop_mark()) list.push_back(std::move(v));
        stack_.emplace_back(std::move(list));
        return true;
      }
      case 'a': {                                                             // APPEND
        IValue v = pop();
        top("APPEND").toList().push_back(std::move(v));
        return true;
      }
      case 'e': {                                                             // APPENDS
        auto items = pop_mark();
        auto list = top("APPENDS").toList();
        for (auto& v : items) list.push_back(std::move(v));
        return true;
      }
      case '}': stack_.emplace_back(new_dict()); return true;                 // EMPTY_DICT
      case 'd': {                                                             // DICT
        auto items = pop_mark();
        auto dict = new_dict();
        set_items(dict, items);
        stack_.emplace_back(std::move(dict));
        return true;
      }
      case 's': {                                                             // SETITEM
        IValue v = pop(), k = pop();
        dict_at_top("SETITEM").insert_or_assign(std::move(k), std::move(v));
        return true;
      }
      case 'u': {                                                             // SETITEMS
        auto items = pop_mark();
        auto dict = dict_at_top("SETITEMS");
        set_items(dict, items);
        return true;
      }
      default: return false;
    }
  }

  // Globals, calls, BUILD and the tensors' storages.
  bool object_op(uint8_t op) {
    switch (op) {
      case 'c': {                                                             // GLOBAL
        const std::string module = read_line();
        const std::string name = read_line();
        stack_.emplace_back(global(module + "." + name));
        return true;
      }
      case 0x93: {                                                            // STACK_GLOBAL
        const std::string name = pop().toStringRef();
        const std::string module = pop().toStringRef();
        stack_.emplace_back(global(module + "." + name));
        return true;
      }
      case 'R':                                                               // REDUCE
      case 0x81: {                                                            // NEWOBJ
        IValue args = pop();
        IValue callable = pop();
        stack_.push_back(call(callable, args));
        return true;
      }
      case 'b': {                                                             // BUILD
        pop();  // the state: an OrderedDict's attributes (a state_dict's _metadata)
        const IValue& target = top("BUILD");
        fail_if(!target.isGenericDict() && !target.isTensor(), "BUILD (setstate) of an unsupported object");
        return true;
      }
      case 'Q': stack_.push_back(persistent_load(pop())); return true;        // BINPERSID
      default: return false;
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}: cannot read the torch.save file: {}", file_, what));
  }
  void fail_if(bool cond, const std::string& what) const {
    if (cond) fail(what);
  }

  std::string read_bytes(size_t n) {
    fail_if(pos_ + n > pkl_.size() || pos_ + n < pos_, "truncated pickle");
    std::string s = pkl_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  template <typename T>
  T read_le() {
    const std::string b = read_bytes(sizeof(T));
    T v{};
    std::memcpy(&v, b.data(), sizeof(T));  // pickle integers are little-endian, as is this CPU
    return v;
  }
  int64_t read_long1() {
    const size_t n = read_le<uint8_t>();
    fail_if(n > 8, "integer wider than 64 bits");
    const std::string b = read_bytes(n);
    uint64_t u = 0;
    for (size_t i = 0; i < n; ++i) u |= uint64_t(static_cast<uint8_t>(b[i])) << (8 * i);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign-extend
    return static_cast<int64_t>(u);
  }
  double read_binfloat() {
    const std::string b = read_bytes(8);
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(b[i]);  // big-endian
    double d;
    std::memcpy(&d, &u, sizeof d);
    return d;
  }
  std::string read_line() {
    const size_t end = pkl_.find('\n', pos_);
    fail_if(end == std::string::npos, "truncated GLOBAL");
    std::string s = pkl_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  IValue pop() {
    fail_if(stack_.empty(), "pop from an empty stack");
    IValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const IValue& top(const char* op) const {
    fail_if(stack_.empty(), fmt::format("{} on an empty stack", op));
    return stack_.back();
  }
  std::vector<IValue> pop_mark() {
    fail_if(marks_.empty() || marks_.back() > stack_.size(), "missing MARK");
    const size_t start = marks_.back();
    marks_.pop_back();
    std::vector<IValue> items(std::make_move_iterator(stack_.begin() + start), std::make_move_iterator(stack_.end()));
    stack_.resize(start);
    return items;
  }
  void tuple_of(size_t n) {
    fail_if(stack_.size() < n, "TUPLE on a short stack");
    std::vector<IValue> items(stack_.end() - n, stack_.end());
    stack_.resize(stack_.size() - n);
    stack_.emplace_back(c10::ivalue::Tuple::create(std::move(items)));
  }
  static c10::impl::GenericDict new_dict() { return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()); }
  c10::impl::GenericDict dict_at_top(const char* op) const {
    const IValue& d = top(op);
    fail_if(!d.isGenericDict(), fmt::format("{} on something that is not a dict", op));
    return d.toGenericDict();
  }
  void set_items(c10::impl::GenericDict& dict, std::vector<IValue>& items) const {
    fail_if(items.size() % 2 != 0, "odd number of dict items");
    for (size_t i = 0; i < items.size(); i += 2) dict.insert_or_assign(std::move(items[i]), std::move(items[i + 1]));
  }
  IValue memo_get(size_t i) const {
    const auto it = memo_.find(i);
    fail_if(it == memo_.end(), fmt::format("memo entry {} missing", i));
    return it->second;
  }
  static IValue global(std::string name) {
    return IValue::make_capsule(c10::make_intrusive<PyGlobal>(std::move(name)));
  }

  std::vector<IValue> tuple_items(const IValue& args, const std::string& what) const {
    fail_if(!args.isTuple(), fmt::format("{}: expected a tuple of arguments", what));
    const auto elements = args.toTupleRef().elements();
    return std::vector<IValue>(elements.begin(), elements.end());
  }

  static std::vector<int64_t> int_list(const IValue& v) {
    std::vector<int64_t> out;
    for (const auto& e : v.toTupleRef().elements()) out.push_back(e.toInt());
    return out;
  }

  // Calls the Python callable `callable` (a global) on `args`, for the ones torch.save uses.
  IValue call(const IValue& callable, const IValue& args) {
    const PyGlobal* g = as_global(callable);
    fail_if(g == nullptr, "REDUCE of something that is not a class or function");
    const std::string& name = g->name;
    const auto& a = tuple_items(args, name);
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      fail_if(!a.empty(), name + " with arguments");
      return new_dict();
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride, requires_grad?, backward_hooks?, metadata?)
      fail_if(a.size() < 4 || !a[0].isTensor() || !a[1].isInt() || !a[2].isTuple() || !a[3].isTuple(),
              name + ": unexpected arguments");
      const at::Tensor& storage = a[0].toTensor();
      return at::empty({0}, storage.options()).set_(storage.storage(), a[1].toInt(), int_list(a[2]), int_list(a[3]));
    }
    if (name == "torch.jit._pickle.restore_type_tag" || name == "torch.jit._pickle.build_intlist" ||
        name == "torch.jit._pickle.build_doublelist" || name == "torch.jit._pickle.build_boollist" ||
        name == "torch.jit._pickle.build_tensorlist") {
      // LibTorch's pickler (torch::pickle_save) tags typed containers; Python returns the value.
      fail_if(a.empty(), name + " without arguments");
      return a[0];
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      fail_if(a.empty() || !a[0].isTensor(), name + ": unexpected arguments");
      return a[0];  // an nn.Parameter: its data
    }
    fail(fmt::format("unsupported Python object {} (expected tensors, dicts, lists, tuples, strings or numbers; "
                     "save a state_dict, not a module)", name));
  }

  // ('storage', storage type, key, location, numel) -> a 1-D tensor over the whole storage.
  IValue persistent_load(const IValue& pid) {
    const auto& a = tuple_items(pid, "persistent id");
    fail_if(a.size() < 5 || !a[0].isString() || a[0].toStringRef() != "storage" || !a[2].isString() || !a[4].isInt(),
            "unsupported persistent id (expected a tensor storage)");
    const PyGlobal* type = as_global(a[1]);
    c10::ScalarType dtype;
    fail_if(type == nullptr || !storage_dtype(type->name, &dtype),
            fmt::format("unsupported storage type {}", type ? type->name : std::string("?")));
    const std::string key = a[2].toStringRef();
    const auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const int64_t numel = a[4].toInt();
    const size_t nbytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
    at::DataPtr data;
    if (numel > 0) {
      const std::string record = "data/" + key;
      fail_if(!zip_.hasRecord(record), fmt::format("storage record {} missing", record));
      size_t size = 0;
      std::tie(data, size) = zip_.getRecord(record);
      fail_if(size < nbytes, fmt::format("storage record {} has {} bytes, expected {}", record, size, nbytes));
    }
    c10::Storage storage(c10::Storage::use_byte_size_t(), nbytes, std::move(data), /*allocator=*/nullptr,
                         /*resizable=*/false);
    at::Tensor t = at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage, 0, {numel}, {1});
    storages_.emplace(key, t);
    return t;
  }

  std::string pkl_;
  size_t pos_ = 0;
  caffe2::serialize::PyTorchStreamReader& zip_;
  std::string file_;
  std::vector<IValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<size_t, IValue> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
};

}  // namespace

c10::IValue load_torch_file(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) throw DataError(fmt::format("{} not found", file.string()));
  {
    std::ifstream in(file, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    if (!in || std::memcmp(magic, "PK\x03\x04", 4) != 0)
      throw DataError(fmt::format("{} is not a torch.save file in the zip format (PyTorch >= 1.6's default; a file "
                                  "saved with _use_new_zipfile_serialization=False must be re-saved)",
                                  file.string()));
  }
  try {
    caffe2::serialize::PyTorchStreamReader zip(file.string());
    if (!zip.hasRecord("data.pkl")) throw DataError(fmt::format("{}: no data.pkl in the archive", file.string()));
    at::DataPtr data;
    size_t size = 0;
    std::tie(data, size) = zip.getRecord("data.pkl");
    std::string pkl(static_cast<const char*>(data.get()), size);
    return Unpickler(std::move(pkl), zip, file.string()).run();
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: cannot read the torch.save file: {}", file.string(),
                                first_line(e.what_without_backtrace())));
  }
}

void save_torch_file(const c10::IValue& value, const std::filesystem::path& file) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_bytes_atomically(file, std::string(bytes.begin(), bytes.end()));
}

}  // namespace edge::model
