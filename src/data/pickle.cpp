// Python pickle reader for plain data: one pass over the bytes with a value stack, a mark stack
// and a memo, like CPython's Unpickler (Lib/pickle.py is the reference for every opcode).
//
// Conventions:
// - "the segment" is the part of the stack above the topmost MARK; opcodes only pop from it;
// - every declared length is checked against the bytes left before anything is allocated;
// - nothing recurses over the input: container heights are tracked as containers are filled and
//   capped at kPickleMaxDepth, so the finished tree can be destroyed recursively;
// - a container is frozen once it is placed inside another one. Python only modifies a
//   container after that for recursive structures, which are refused: the result is then a
//   tree or a DAG of shared_ptrs, never a cycle (a cycle would leak);
// - a memo reference (GET) or DUP of a str copies its text, and one of a container makes a
//   walk over the result longer. Both are bounded in proportion to the input (the text copied
//   in all, and the weight of every container: its size with shared parts counted each time),
//   so a small file cannot expand into a huge one (a pickle bomb);
// - errors are file_error(name, "byte N", what), N the offset of the opcode at fault.
#include "gavamoe/data/pickle.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

using Kind = PickleValue::Kind;

enum Opcode : uint8_t {
  MARK = '(',
  STOP = '.',
  POP = '0',
  POP_MARK = '1',
  DUP = '2',
  FLOAT = 'F',
  INT = 'I',
  BININT = 'J',
  BININT1 = 'K',
  LONG = 'L',
  BININT2 = 'M',
  NONE = 'N',
  PERSID = 'P',
  BINPERSID = 'Q',
  REDUCE = 'R',
  STRING = 'S',
  BINSTRING = 'T',
  SHORT_BINSTRING = 'U',
  UNICODE = 'V',
  BINUNICODE = 'X',
  APPEND = 'a',
  BUILD = 'b',
  GLOBAL = 'c',
  DICT = 'd',
  EMPTY_DICT = '}',
  APPENDS = 'e',
  GET = 'g',
  BINGET = 'h',
  INST = 'i',
  LONG_BINGET = 'j',
  LIST = 'l',
  EMPTY_LIST = ']',
  OBJ = 'o',
  PUT = 'p',
  BINPUT = 'q',
  LONG_BINPUT = 'r',
  SETITEM = 's',
  TUPLE = 't',
  EMPTY_TUPLE = ')',
  SETITEMS = 'u',
  BINFLOAT = 'G',
  PROTO = 0x80,
  NEWOBJ = 0x81,
  EXT1 = 0x82,
  EXT2 = 0x83,
  EXT4 = 0x84,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  LONG4 = 0x8b,
  BINBYTES = 'B',
  SHORT_BINBYTES = 'C',
  SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e,
  EMPTY_SET = 0x8f,
  ADDITEMS = 0x90,
  FROZENSET = 0x91,
  NEWOBJ_EX = 0x92,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
  BYTEARRAY8 = 0x96,
  NEXT_BUFFER = 0x97,
  READONLY_BUFFER = 0x98,
};

constexpr int kHighestProtocol = 5;
// Bound on the text that DUP, GET and PUT may copy in all, and on the weight of any container:
// this many times the input, plus the allowance.
constexpr uint64_t kCopyFactor = 16;
constexpr uint64_t kCopyAllowance = uint64_t{256} << 20;

// The opcodes that build objects from code (or from out-of-band buffers): reading them is
// refused.
constexpr std::pair<uint8_t, const char*> kUnsupported[] = {
    {PERSID, "PERSID"},
    {BINPERSID, "BINPERSID"},
    {REDUCE, "REDUCE"},
    {BUILD, "BUILD"},
    {GLOBAL, "GLOBAL"},
    {INST, "INST"},
    {OBJ, "OBJ"},
    {NEWOBJ, "NEWOBJ"},
    {EXT1, "EXT1"},
    {EXT2, "EXT2"},
    {EXT4, "EXT4"},
    {NEWOBJ_EX, "NEWOBJ_EX"},
    {STACK_GLOBAL, "STACK_GLOBAL"},
    {NEXT_BUFFER, "NEXT_BUFFER"},
    {READONLY_BUFFER, "READONLY_BUFFER"},
};

const char* unsupported_name(uint8_t op) {
  for (const auto& [code, name] : kUnsupported) {
    if (code == op) return name;
  }
  return nullptr;
}

std::string hex_byte(uint8_t byte) {
  static const char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

// A container with its parse-time bookkeeping in one allocation. The public shared_ptr points
// at `value` (aliasing constructor); `value` is the first member of a standard-layout struct,
// so a pointer to it converts back to the node.
template <class T>
struct Node {
  T value;
  int height = 1;       // containers on the longest path down, this one included
  uint64_t weight = 1;  // values in the tree, shared ones counted each time, plus text bytes
  bool frozen = false;
};
static_assert(std::is_standard_layout_v<Node<PickleList>>);
static_assert(std::is_standard_layout_v<Node<PickleDict>>);

template <class T>
std::shared_ptr<T> make_node() {
  auto node = std::make_shared<Node<T>>();
  return std::shared_ptr<T>(node, &node->value);
}

template <class T>
Node<T>& node_of(const std::shared_ptr<T>& container) {
  return *reinterpret_cast<Node<T>*>(container.get());
}

// UTF-8 as Python's "surrogatepass" decoder accepts it: encoded surrogates are allowed.
bool valid_utf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t first = s[i];
    if (first < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code, smallest;
    if ((first & 0xe0) == 0xc0) {
      length = 2, code = first & 0x1f, smallest = 0x80;
    } else if ((first & 0xf0) == 0xe0) {
      length = 3, code = first & 0x0f, smallest = 0x800;
    } else if ((first & 0xf8) == 0xf0) {
      length = 4, code = first & 0x07, smallest = 0x10000;
    } else {
      return false;
    }
    if (n - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      code = (code << 6) | (s[i + k] & 0x3f);
    }
    if (code < smallest || code > 0x10ffff) return false;
    i += length;
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view strip(std::string_view text) {
  const char* space = " \t\r\n\f\v";
  const size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// A memo entry, kept small because Python memoizes every str, tuple, list and dict it writes.
// Text is a view of the input it was read from, or of Unpickler::memo_texts_ otherwise.
struct MemoEntry {
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string_view text;
  std::shared_ptr<void> container;  // PickleList for tuple and list, PickleDict for dict
};

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const std::string& name)
      : name_(name),
        begin_(reinterpret_cast<const uint8_t*>(bytes.data())),
        at_(begin_),
        end_(begin_ + bytes.size()),
        max_weight_(kCopyFactor * static_cast<uint64_t>(bytes.size()) + kCopyAllowance),
        copy_budget_(max_weight_) {}

  PickleValue run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw file_error(name_, "byte " + std::to_string(opcode_at_), what);
  }

  uint64_t left() const { return static_cast<uint64_t>(end_ - at_); }
  // The next n bytes of the opcode's argument.
  const uint8_t* take(uint64_t n, const char* opcode) {
    if (n > left()) {
      fail(std::string("truncated pickle: opcode ") + opcode + " needs " + std::to_string(n) +
           " bytes, " + std::to_string(left()) + " left");
    }
    const uint8_t* start = at_;
    at_ += n;
    return start;
  }
  // Little-endian unsigned integer of n <= 8 bytes.
  uint64_t read_le(int n, const char* opcode) {
    const uint8_t* b = take(static_cast<uint64_t>(n), opcode);
    uint64_t value = 0;
    for (int i = n - 1; i >= 0; --i) value = (value << 8) | b[i];
    return value;
  }
  // A text argument up to the newline (protocols 0 and 1), without the newline.
  std::string_view read_line(const char* opcode) {
    const void* newline = std::memchr(at_, '\n', left());
    if (!newline) fail(std::string("truncated pickle: opcode ") + opcode + " has no end of line");
    const auto* stop = static_cast<const uint8_t*>(newline);
    std::string_view line(reinterpret_cast<const char*>(at_), static_cast<size_t>(stop - at_));
    at_ = stop + 1;
    return line;
  }

  size_t segment_start() const { return marks_.empty() ? 0 : marks_.back(); }
  void need(size_t n) const {
    if (stack_.size() - segment_start() < n) fail("stack underflow: the pickle is corrupt");
  }
  size_t pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack: the pickle is corrupt");
    const size_t mark = marks_.back();
    marks_.pop_back();
    return mark;
  }
  PickleValue pop() {
    need(1);
    PickleValue value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  PickleValue& push(Kind kind) {
    top_text_at_ = kNoText;
    stack_.emplace_back();
    stack_.back().kind = kind;
    return stack_.back();
  }
  [[noreturn]] void refuse_bomb() const {
    fail("shared values expand to more than " + std::to_string(kCopyFactor) +
         " times the size of the file: refused as a pickle bomb");
  }
  void spend_copy(uint64_t bytes) {
    if (bytes > copy_budget_) refuse_bomb();
    copy_budget_ -= bytes;
  }
  void push_copy_of_top();
  void push_memo(const MemoEntry& entry);
  void push_integer(int64_t value) { push(Kind::integer).integer = value; }
  void push_boolean(bool value) { push(Kind::boolean).boolean = value; }
  void push_text(Kind kind, const uint8_t* data, uint64_t size, const char* opcode);
  void push_long(const uint8_t* bytes, uint64_t size, const char* opcode);
  void push_decimal(std::string_view digits, const char* opcode);
  void push_float_text(std::string_view text);
  void push_quoted_string(std::string_view line);
  void push_raw_unicode_escape(std::string_view line);

  // What a walk over the whole value costs (see Node::weight).
  static uint64_t weight_of(const PickleValue& value);
  // Height and weight that the items added to a container bring.
  struct Growth {
    int height = 0;
    uint64_t weight = 0;
  };
  // Records `item` as placed inside a container: freezes it and adds it to `growth`.
  void adopt(const PickleValue& item, Growth& growth) const;
  // Adds `growth` to a container's node and checks the bounds.
  template <class T>
  void grow(Node<T>& node, const Growth& growth) const {
    node.height = std::max(node.height, growth.height);
    node.weight += growth.weight;
    if (node.height > kPickleMaxDepth) {
      fail("containers nested more than " + std::to_string(kPickleMaxDepth) + " deep");
    }
    if (node.weight > max_weight_) refuse_bomb();
  }
  // The list or dict that an opcode adds to; it must not be frozen.
  template <class T>
  Node<T>& open_container(PickleValue& target, Kind kind, const char* opcode);

  // Builds a tuple or list from stack_[first, end) and replaces those items with it.
  void collapse_to_sequence(size_t first, Kind kind);
  void collapse_to_dict(size_t first);
  void append_items(size_t first, const char* opcode);
  void set_items(size_t first, const char* opcode);

  void memo_put(uint64_t index);
  const MemoEntry& memo_get(uint64_t index) const;

  const std::string& name_;
  const uint8_t* const begin_;
  const uint8_t* at_;
  const uint8_t* const end_;
  size_t opcode_at_ = 0;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;  // stack sizes at each MARK
  // Python's memo is a dict; Python writes dense indices 0, 1, 2, ..., which live in `memo_`.
  // Any other index (only a hand-made file has those) goes to `sparse_memo_`, so that a huge
  // index cannot make the reader allocate. Keys of the two never overlap.
  std::vector<MemoEntry> memo_;
  std::unordered_map<uint64_t, MemoEntry> sparse_memo_;
  std::deque<std::string> memo_texts_;  // memoized text that is not a slice of the input
  // stack_[top_text_at_] is a str or bytes whose text is `top_text_` (a slice of the input or of
  // memo_texts_), so memoizing it needs no copy. Every push resets it.
  static constexpr size_t kNoText = std::numeric_limits<size_t>::max();
  size_t top_text_at_ = kNoText;
  std::string_view top_text_;
  const uint64_t max_weight_;  // bound on the weight of any container
  uint64_t copy_budget_;       // bytes of text that DUP, GET and PUT may still copy
};

void Unpickler::push_text(Kind kind, const uint8_t* data, uint64_t size, const char* opcode) {
  if (kind == Kind::string && !valid_utf8(data, size)) {
    fail(std::string("opcode ") + opcode + ": the string is not valid UTF-8");
  }
  push(kind).text.assign(reinterpret_cast<const char*>(data), size);
  top_text_at_ = stack_.size() - 1;
  top_text_ = std::string_view(reinterpret_cast<const char*>(data), size);
}

void Unpickler::push_copy_of_top() {
  need(1);
  spend_copy(stack_.back().text.size());
  PickleValue copy = stack_.back();
  push(copy.kind) = std::move(copy);
}

void Unpickler::push_memo(const MemoEntry& entry) {
  PickleValue& value = push(entry.kind);
  value.boolean = entry.boolean;
  value.integer = entry.integer;
  value.real = entry.real;
  if (entry.kind == Kind::string || entry.kind == Kind::bytes) {
    spend_copy(entry.text.size());
    value.text.assign(entry.text);
    top_text_at_ = stack_.size() - 1;
    top_text_ = entry.text;
  } else if (entry.kind == Kind::dict) {
    value.entries = std::static_pointer_cast<PickleDict>(entry.container);
  } else if (entry.container) {
    value.items = std::static_pointer_cast<PickleList>(entry.container);
  }
}

// LONG1 / LONG4: little-endian two's complement of any length.
void Unpickler::push_long(const uint8_t* b, uint64_t size, const char* opcode) {
  if (size == 0) return push_integer(0);
  const bool negative = (b[size - 1] & 0x80) != 0;
  if (size > 8) {
    // Fits in int64 only when the extra high bytes are sign extension of byte 7.
    const uint8_t fill = negative ? 0xff : 0x00;
    bool fits = ((b[7] & 0x80) != 0) == negative;
    for (uint64_t i = 8; i < size && fits; ++i) fits = b[i] == fill;
    if (!fits) fail(std::string("opcode ") + opcode + ": integer does not fit in 64 bits");
  }
  uint64_t value = negative ? ~0ull : 0ull;
  const uint64_t n = size < 8 ? size : 8;
  for (uint64_t i = 0; i < n; ++i) {
    value &= ~(0xffull << (8 * i));
    value |= static_cast<uint64_t>(b[i]) << (8 * i);
  }
  push_integer(static_cast<int64_t>(value));
}

// INT and LONG text: optional sign and decimal digits ("I01"/"I00" are True/False for INT).
void Unpickler::push_decimal(std::string_view digits, const char* opcode) {
  digits = strip(digits);
  const bool plus = !digits.empty() && digits[0] == '+';
  if (plus) digits.remove_prefix(1);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const bool complete = !digits.empty() && end == digits.data() + digits.size();
  if (error == std::errc::result_out_of_range) {
    fail(std::string("opcode ") + opcode + ": integer does not fit in 64 bits");
  }
  if (error != std::errc() || !complete || (plus && digits[0] == '-')) {
    fail(std::string("opcode ") + opcode + ": not a decimal integer: '" + std::string(digits) +
         "'");
  }
  push_integer(value);
}

void Unpickler::push_float_text(std::string_view text) {
  text = strip(text);
  if (!text.empty() && text[0] == '+' && text.size() > 1 && text[1] != '-') text.remove_prefix(1);
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  // Out of range means overflow to +-inf or underflow to 0, as Python's float() does.
  if ((error != std::errc() && error != std::errc::result_out_of_range) || text.empty() ||
      end != text.data() + text.size()) {
    fail("opcode FLOAT: not a number: '" + std::string(text) + "'");
  }
  if (error == std::errc::result_out_of_range)
    value = std::strtod(std::string(text).c_str(), nullptr);
  push(Kind::real).real = value;
}

// STRING (Python 2, protocol 0): a quoted literal with backslash escapes, decoded as ASCII.
void Unpickler::push_quoted_string(std::string_view line) {
  if (line.size() < 2 || line.front() != line.back() ||
      (line.front() != '\'' && line.front() != '"')) {
    fail("opcode STRING: the argument must be quoted");
  }
  line = line.substr(1, line.size() - 2);
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\') {
      out += line[i];
      continue;
    }
    if (++i == line.size()) fail("opcode STRING: trailing backslash");
    const char c = line[i];
    switch (c) {
      case '\n':
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
      case '\'':
      case '"':
        out += c;
        break;
      case 'x': {
        if (i + 2 >= line.size() || hex_digit(line[i + 1]) < 0 || hex_digit(line[i + 2]) < 0) {
          fail("opcode STRING: invalid \\x escape");
        }
        out += static_cast<char>(hex_digit(line[i + 1]) * 16 + hex_digit(line[i + 2]));
        i += 2;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int code = c - '0';
          for (int k = 0; k < 2 && i + 1 < line.size() && line[i + 1] >= '0' && line[i + 1] <= '7';
               ++k) {
            code = code * 8 + (line[++i] - '0');
          }
          out += static_cast<char>(code & 0xff);
        } else {
          out += '\\';  // unknown escapes stay as written
          out += c;
        }
    }
  }
  for (char c : out) {
    if (static_cast<uint8_t>(c) >= 0x80) fail("opcode STRING: the string is not ASCII");
  }
  push(Kind::string).text = std::move(out);
}

// UNICODE (protocol 0): "raw-unicode-escape": bytes are Latin-1 code points, except \uXXXX and
// \UXXXXXXXX after an odd number of backslashes.
void Unpickler::push_raw_unicode_escape(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] != '\\') {
      utf8::append(out, static_cast<uint8_t>(line[i++]));
      continue;
    }
    size_t backslashes = 0;
    while (i < line.size() && line[i] == '\\') {
      out += '\\';
      ++backslashes, ++i;
    }
    if (backslashes % 2 == 0 || i == line.size() || (line[i] != 'u' && line[i] != 'U')) continue;
    out.pop_back();
    const size_t count = line[i] == 'u' ? 4 : 8;
    ++i;
    if (line.size() - i < count) fail("opcode UNICODE: truncated \\u escape");
    uint32_t code = 0;
    for (size_t k = 0; k < count; ++k, ++i) {
      const int digit = hex_digit(line[i]);
      if (digit < 0) fail("opcode UNICODE: truncated \\u escape");
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    if (code > 0x10ffff) fail("opcode UNICODE: \\U escape out of range");
    utf8::append(out, code);
  }
  push(Kind::string).text = std::move(out);
}

uint64_t Unpickler::weight_of(const PickleValue& value) {
  if (value.kind == Kind::tuple || value.kind == Kind::list) return node_of(value.items).weight;
  if (value.kind == Kind::dict) return node_of(value.entries).weight;
  return 1 + value.text.size();
}

void Unpickler::adopt(const PickleValue& item, Growth& growth) const {
  int height = 0;
  if (item.kind == Kind::tuple || item.kind == Kind::list) {
    node_of(item.items).frozen = true;
    height = node_of(item.items).height;
  } else if (item.kind == Kind::dict) {
    node_of(item.entries).frozen = true;
    height = node_of(item.entries).height;
  }
  growth.height = std::max(growth.height, height + 1);
  growth.weight += weight_of(item);
  if (growth.weight > max_weight_) refuse_bomb();  // checked per item: the sum cannot overflow
}

template <class T>
Node<T>& Unpickler::open_container(PickleValue& target, Kind kind, const char* opcode) {
  if (target.kind != kind) {
    fail(std::string("opcode ") + opcode + " applies to a " +
         (kind == Kind::list ? "list" : "dict") + ", not to " + target.describe());
  }
  Node<T>* node;
  if constexpr (std::is_same_v<T, PickleList>) {
    node = &node_of(target.items);
  } else {
    node = &node_of(target.entries);
  }
  if (node->frozen) {
    fail(std::string("opcode ") + opcode +
         " changes a container that is already inside another one: recursive structures are "
         "not supported");
  }
  return *node;
}

void Unpickler::collapse_to_sequence(size_t first, Kind kind) {
  auto items = make_node<PickleList>();
  Node<PickleList>& node = node_of(items);
  items->reserve(stack_.size() - first);
  Growth growth;
  for (size_t i = first; i < stack_.size(); ++i) {
    adopt(stack_[i], growth);
    items->push_back(std::move(stack_[i]));
  }
  grow(node, growth);
  stack_.resize(first);
  push(kind).items = std::move(items);
}

void Unpickler::collapse_to_dict(size_t first) {
  if ((stack_.size() - first) % 2 != 0) fail("opcode DICT: odd number of items (a key alone)");
  auto entries = make_node<PickleDict>();
  Node<PickleDict>& node = node_of(entries);
  entries->reserve((stack_.size() - first) / 2);
  Growth growth;
  for (size_t i = first; i < stack_.size(); i += 2) {
    adopt(stack_[i], growth);
    adopt(stack_[i + 1], growth);
    entries->emplace_back(std::move(stack_[i]), std::move(stack_[i + 1]));
  }
  grow(node, growth);
  stack_.resize(first);
  push(Kind::dict).entries = std::move(entries);
}

// APPEND(S) / ADDITEMS: stack_[first, end) go into the list at stack_[first - 1].
void Unpickler::append_items(size_t first, const char* opcode) {
  if (first <= segment_start()) fail(std::string("opcode ") + opcode + ": no list to add to");
  Growth growth;
  for (size_t i = first; i < stack_.size(); ++i) adopt(stack_[i], growth);
  Node<PickleList>& node = open_container<PickleList>(stack_[first - 1], Kind::list, opcode);
  grow(node, growth);
  // Only the first batch sizes the list exactly; later ones grow it geometrically.
  if (node.value.empty()) node.value.reserve(stack_.size() - first);
  for (size_t i = first; i < stack_.size(); ++i) node.value.push_back(std::move(stack_[i]));
  stack_.resize(first);
}

// SETITEM(S): key, value pairs in stack_[first, end) go into the dict at stack_[first - 1].
void Unpickler::set_items(size_t first, const char* opcode) {
  if (first <= segment_start()) fail(std::string("opcode ") + opcode + ": no dict to add to");
  if ((stack_.size() - first) % 2 != 0) {
    fail(std::string("opcode ") + opcode + ": odd number of items (a key alone)");
  }
  Growth growth;
  for (size_t i = first; i < stack_.size(); ++i) adopt(stack_[i], growth);
  Node<PickleDict>& node = open_container<PickleDict>(stack_[first - 1], Kind::dict, opcode);
  grow(node, growth);
  if (node.value.empty()) node.value.reserve((stack_.size() - first) / 2);
  for (size_t i = first; i < stack_.size(); i += 2) {
    node.value.emplace_back(std::move(stack_[i]), std::move(stack_[i + 1]));
  }
  stack_.resize(first);
}

void Unpickler::memo_put(uint64_t index) {
  need(1);
  const PickleValue& top = stack_.back();
  MemoEntry entry;
  entry.kind = top.kind;
  entry.boolean = top.boolean;
  entry.integer = top.integer;
  entry.real = top.real;
  if (top.kind == Kind::string || top.kind == Kind::bytes) {
    if (top_text_at_ == stack_.size() - 1) {
      entry.text = top_text_;
    } else {
      spend_copy(top.text.size());
      entry.text = memo_texts_.emplace_back(top.text);
    }
  } else if (top.kind == Kind::dict) {
    entry.container = top.entries;
  } else {
    entry.container = top.items;
  }
  if (index < memo_.size()) {
    memo_[index] = std::move(entry);
  } else if (index == memo_.size()) {
    memo_.push_back(std::move(entry));
    if (!sparse_memo_.empty()) sparse_memo_.erase(index);
  } else {
    sparse_memo_[index] = std::move(entry);
  }
}

const MemoEntry& Unpickler::memo_get(uint64_t index) const {
  if (index < memo_.size()) return memo_[index];
  const auto found = sparse_memo_.find(index);
  if (found == sparse_memo_.end()) {
    fail("memo index " + std::to_string(index) + " was never stored: the pickle is corrupt");
  }
  return found->second;
}

PickleValue Unpickler::run() {
  if (begin_ == end_) fail("empty file: not a pickle");
  while (at_ < end_) {
    opcode_at_ = static_cast<size_t>(at_ - begin_);
    const uint8_t op = *at_++;
    switch (op) {
      case PROTO: {
        const uint8_t version = *take(1, "PROTO");
        if (version > kHighestProtocol) {
          fail("pickle protocol " + std::to_string(version) + " is not supported (0 to 5 are)");
        }
        break;
      }
      case FRAME: {
        const uint64_t size = read_le(8, "FRAME");
        if (size > left()) {
          fail("truncated pickle: FRAME declares " + std::to_string(size) + " bytes, " +
               std::to_string(left()) + " left");
        }
        break;
      }
      case STOP:
        return pop();

      case MARK:
        marks_.push_back(stack_.size());
        break;
      case POP:
        if (stack_.size() > segment_start()) {
          stack_.pop_back();
        } else {
          pop_mark();  // Python's POP discards an empty segment's MARK
        }
        break;
      case POP_MARK:
        stack_.resize(pop_mark());
        break;
      case DUP:
        push_copy_of_top();
        break;

      case NONE:
        push(Kind::none);
        break;
      case NEWTRUE:
        push_boolean(true);
        break;
      case NEWFALSE:
        push_boolean(false);
        break;
      case BININT:
        push_integer(static_cast<int32_t>(static_cast<uint32_t>(read_le(4, "BININT"))));
        break;
      case BININT1:
        push_integer(static_cast<int64_t>(read_le(1, "BININT1")));
        break;
      case BININT2:
        push_integer(static_cast<int64_t>(read_le(2, "BININT2")));
        break;
      case LONG1: {
        const uint64_t size = read_le(1, "LONG1");
        push_long(take(size, "LONG1"), size, "LONG1");
        break;
      }
      case LONG4: {
        const auto size = static_cast<int32_t>(static_cast<uint32_t>(read_le(4, "LONG4")));
        if (size < 0) fail("opcode LONG4: negative byte count");
        push_long(take(static_cast<uint64_t>(size), "LONG4"), static_cast<uint64_t>(size), "LONG4");
        break;
      }
      case BINFLOAT: {
        const uint8_t* b = take(8, "BINFLOAT");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];  // big-endian
        double value;
        std::memcpy(&value, &bits, sizeof value);
        push(Kind::real).real = value;
        break;
      }
      case INT: {
        const std::string_view line = read_line("INT");
        if (line == "00" || line == "01") {
          push_boolean(line == "01");
        } else {
          push_decimal(line, "INT");
        }
        break;
      }
      case LONG: {
        std::string_view line = read_line("LONG");
        if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
        push_decimal(line, "LONG");
        break;
      }
      case FLOAT:
        push_float_text(read_line("FLOAT"));
        break;

      case SHORT_BINUNICODE: {
        const uint64_t size = read_le(1, "SHORT_BINUNICODE");
        push_text(Kind::string, take(size, "SHORT_BINUNICODE"), size, "SHORT_BINUNICODE");
        break;
      }
      case BINUNICODE: {
        const uint64_t size = read_le(4, "BINUNICODE");
        push_text(Kind::string, take(size, "BINUNICODE"), size, "BINUNICODE");
        break;
      }
      case BINUNICODE8: {
        const uint64_t size = read_le(8, "BINUNICODE8");
        push_text(Kind::string, take(size, "BINUNICODE8"), size, "BINUNICODE8");
        break;
      }
      case SHORT_BINBYTES: {
        const uint64_t size = read_le(1, "SHORT_BINBYTES");
        push_text(Kind::bytes, take(size, "SHORT_BINBYTES"), size, "SHORT_BINBYTES");
        break;
      }
      case BINBYTES: {
        const uint64_t size = read_le(4, "BINBYTES");
        push_text(Kind::bytes, take(size, "BINBYTES"), size, "BINBYTES");
        break;
      }
      case BINBYTES8:
      case BYTEARRAY8: {
        const char* opcode = op == BINBYTES8 ? "BINBYTES8" : "BYTEARRAY8";
        const uint64_t size = read_le(8, opcode);
        push_text(Kind::bytes, take(size, opcode), size, opcode);
        break;
      }
      case SHORT_BINSTRING:
      case BINSTRING: {
        // Python 2 str: Python 3 decodes it as ASCII by default.
        const char* opcode = op == BINSTRING ? "BINSTRING" : "SHORT_BINSTRING";
        const auto size = op == BINSTRING
                              ? static_cast<int32_t>(static_cast<uint32_t>(read_le(4, opcode)))
                              : static_cast<int32_t>(read_le(1, opcode));
        if (size < 0) fail("opcode BINSTRING: negative byte count");
        const uint8_t* data = take(static_cast<uint64_t>(size), opcode);
        for (int32_t i = 0; i < size; ++i) {
          if (data[i] >= 0x80) fail(std::string("opcode ") + opcode + ": the string is not ASCII");
        }
        push_text(Kind::string, data, static_cast<uint64_t>(size), opcode);
        break;
      }
      case STRING:
        push_quoted_string(read_line("STRING"));
        break;
      case UNICODE:
        push_raw_unicode_escape(read_line("UNICODE"));
        break;

      case EMPTY_TUPLE:
        push(Kind::tuple).items = make_node<PickleList>();
        break;
      case EMPTY_LIST:
      case EMPTY_SET:
        push(Kind::list).items = make_node<PickleList>();
        break;
      case EMPTY_DICT:
        push(Kind::dict).entries = make_node<PickleDict>();
        break;
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        const size_t count = op - TUPLE1 + 1;
        need(count);
        collapse_to_sequence(stack_.size() - count, Kind::tuple);
        break;
      }
      case TUPLE:
        collapse_to_sequence(pop_mark(), Kind::tuple);
        break;
      case LIST:
      case FROZENSET:
        collapse_to_sequence(pop_mark(), Kind::list);
        break;
      case DICT:
        collapse_to_dict(pop_mark());
        break;
      case APPEND:
        need(2);
        append_items(stack_.size() - 1, "APPEND");
        break;
      case APPENDS:
        append_items(pop_mark(), "APPENDS");
        break;
      case ADDITEMS:
        append_items(pop_mark(), "ADDITEMS");
        break;
      case SETITEM:
        need(3);
        set_items(stack_.size() - 2, "SETITEM");
        break;
      case SETITEMS:
        set_items(pop_mark(), "SETITEMS");
        break;

      case BINPUT:
        memo_put(read_le(1, "BINPUT"));
        break;
      case LONG_BINPUT:
        memo_put(read_le(4, "LONG_BINPUT"));
        break;
      case MEMOIZE:
        memo_put(memo_.size() + sparse_memo_.size());
        break;
      case PUT:
      case GET: {
        const char* opcode = op == PUT ? "PUT" : "GET";
        const std::string_view line = strip(read_line(opcode));
        uint64_t index = 0;
        const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), index);
        if (error != std::errc() || line.empty() || end != line.data() + line.size()) {
          fail(std::string("opcode ") + opcode + ": not a memo index: '" + std::string(line) + "'");
        }
        if (op == PUT) {
          memo_put(index);
        } else {
          push_memo(memo_get(index));
        }
        break;
      }
      case BINGET:
        push_memo(memo_get(read_le(1, "BINGET")));
        break;
      case LONG_BINGET:
        push_memo(memo_get(read_le(4, "LONG_BINGET")));
        break;

      default:
        if (const char* name = unsupported_name(op)) {
          fail(std::string("opcode ") + name + " (" + hex_byte(op) +
               ") is not supported: only plain data (str, int, float, bool, None, tuple, list, "
               "dict) can be read");
        }
        fail("unknown opcode " + hex_byte(op) + ": not a pickle, or a corrupt one");
    }
  }
  opcode_at_ = static_cast<size_t>(end_ - begin_);
  fail("truncated pickle: the data ends before the STOP opcode");
}

}  // namespace

const PickleValue* PickleValue::get(const std::string& key) const {
  if (kind != Kind::dict || !entries) return nullptr;
  for (auto entry = entries->rbegin(); entry != entries->rend(); ++entry) {
    if (entry->first.kind == Kind::string && entry->first.text == key) return &entry->second;
  }
  return nullptr;
}

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
      return "int";
    case Kind::real:
      return "float";
    case Kind::string:
      return "str";
    case Kind::bytes:
      return "bytes";
    case Kind::tuple:
      return "tuple";
    case Kind::list:
      return "list";
    case Kind::dict:
      return "dict";
  }
  return "?";
}

PickleValue parse_pickle(const std::string& bytes, const std::string& name) {
  return Unpickler(bytes, name).run();
}

PickleValue read_pickle_file(const std::string& path) {
  return parse_pickle(read_file(path), path);
}

}  // namespace gavamoe
