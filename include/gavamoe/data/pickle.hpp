// A reader of Python pickles (protocols 2 to 5, and 0/1 text opcodes) for the plain data types
// PEPLER uses.
//
// Supports str, bytes, int (any size that fits int64), float, bool, None, tuple, list, dict and
// the memo; sets and frozensets are read as lists, bytearray as bytes. Everything else (GLOBAL,
// REDUCE, ... : code execution in Python) is refused, and so are recursive structures (a list
// that contains itself). The reader is a security boundary: lengths are checked against the
// bytes left, nesting depth is bounded, shared references may not expand the data to more than
// 16 times the file's size plus 256 MiB (a pickle bomb), and every failure is a gavamoe::Error
// naming the file and byte offset. Like Python, bytes after the STOP opcode are ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gavamoe {

// Containers nested deeper than this are refused (Python's own pickler stops near 1000 too).
constexpr int kPickleMaxDepth = 1000;

struct PickleValue;
using PickleList = std::vector<PickleValue>;
// Dict entries in insertion order (Python's order).
using PickleDict = std::vector<std::pair<PickleValue, PickleValue>>;

struct PickleValue {
  enum class Kind { none, boolean, integer, real, string, bytes, tuple, list, dict };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;  // str (UTF-8) or bytes
  // tuple and list items; shared so that memo references stay cheap.
  std::shared_ptr<PickleList> items;
  std::shared_ptr<PickleDict> entries;

  // Lookup in a dict by string key (the last entry wins, as in Python); nullptr when absent or
  // not a dict.
  const PickleValue* get(const std::string& key) const;
  std::string describe() const;  // Python's type name: "str", "int", ... for error messages
};

// `name` is used in error messages (usually the file path).
PickleValue parse_pickle(const std::string& bytes, const std::string& name);
PickleValue read_pickle_file(const std::string& path);

}  // namespace gavamoe
