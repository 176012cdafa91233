// Tests of the pickle reader against pickles written by the machine's python3, and against
// hostile input built byte by byte.
//
// Python is the reference: a script writes each pickle together with a canonical text of the
// same object ("canon" below), and the test compares it with the canonical text of what the
// reader returns. Canonical text: N, T, F, i<int>, f<IEEE bits in hex>, s<len>:<utf-8 hex>,
// b<len>:<hex>, (tuple), [list, set], {key:value,...}.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/core/error.hpp"
#include "gavamoe/data/pickle.hpp"
#include "test_util.hpp"

namespace {

using gavamoe::parse_pickle;
using gavamoe::PickleValue;
using Kind = PickleValue::Kind;
namespace test = gavamoe::test;
using namespace std::string_literals;

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string canonical(const PickleValue& value) {
  switch (value.kind) {
    case Kind::none:
      return "N";
    case Kind::boolean:
      return value.boolean ? "T" : "F";
    case Kind::integer:
      return "i" + std::to_string(value.integer);
    case Kind::real: {
      uint64_t bits;
      std::memcpy(&bits, &value.real, sizeof bits);
      char text[32];
      std::snprintf(text, sizeof text, "f%016llx", static_cast<unsigned long long>(bits));
      return text;
    }
    case Kind::string:
      return "s" + std::to_string(value.text.size()) + ":" + hex(value.text);
    case Kind::bytes:
      return "b" + std::to_string(value.text.size()) + ":" + hex(value.text);
    case Kind::tuple:
    case Kind::list: {
      std::string out = value.kind == Kind::tuple ? "(" : "[";
      for (size_t i = 0; i < value.items->size(); ++i) {
        out += (i ? "," : "") + canonical((*value.items)[i]);
      }
      return out + (value.kind == Kind::tuple ? ")" : "]");
    }
    case Kind::dict: {
      std::string out = "{";
      for (size_t i = 0; i < value.entries->size(); ++i) {
        const auto& [key, item] = (*value.entries)[i];
        out += (i ? "," : "") + canonical(key) + ":" + canonical(item);
      }
      return out + "}";
    }
  }
  return "?";
}

// Python side of the canonical text plus file utilities; every script starts with it.
const char* kPrelude = R"(
import io, json, math, os, pickle, pickletools, struct, sys
os.chdir(os.path.dirname(os.path.abspath(__file__)))

def canon(v):
    if v is None: return 'N'
    if v is True: return 'T'
    if v is False: return 'F'
    if isinstance(v, int): return 'i%d' % v
    if isinstance(v, float): return 'f' + struct.pack('>d', v).hex()
    if isinstance(v, str):
        b = v.encode('utf-8', 'surrogatepass')
        return 's%d:%s' % (len(b), b.hex())
    if isinstance(v, (bytes, bytearray)): return 'b%d:%s' % (len(v), bytes(v).hex())
    if isinstance(v, tuple): return '(' + ','.join(map(canon, v)) + ')'
    if isinstance(v, (list, set, frozenset)): return '[' + ','.join(map(canon, v)) + ']'
    if isinstance(v, dict):
        return '{' + ','.join(canon(k) + ':' + canon(x) for k, x in v.items()) + '}'
    raise TypeError(type(v))

def write(name, data):
    with open(name, 'wb') as f: f.write(data)

def write_text(name, text):
    with open(name, 'w') as f: f.write(text)

def opcode_count(data, name):
    return sum(1 for op, _, _ in pickletools.genops(data) if op.name == name)
)";

// Runs `body` (after the prelude) with python3 in `dir`.
void run_script(const std::string& dir, const std::string& body) {
  const std::string script = dir + "/make.py";
  test::write_text(script, std::string(kPrelude) + body);
  const auto result = test::run_python(script, "", dir);
  ASSERT_EQ(result.exit_code, 0) << result.err;
}

// The message of the gavamoe::Error that parsing `bytes` throws ("" and a test failure if none).
std::string parse_error(const std::string& bytes, const std::string& name = "input.pickle") {
  try {
    parse_pickle(bytes, name);
  } catch (const gavamoe::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for " << hex(bytes.substr(0, 64));
  return "";
}

PickleValue read_fixture(const std::string& dir, const std::string& file) {
  return gavamoe::read_pickle_file(dir + "/" + file);
}

// Python writes every value below with each protocol that can hold it; the reader must give
// back the same object.
TEST(Pickle, ReadsWhatPythonWritesInEveryProtocol) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
shared = [1, 'two']
common = {
    'strings': ['', 'plain', 'caf\u00e9 \u4e2d\u6587 \U0001f600', 'back\\slash\nnew line', 'x' * 300],
    'ints': [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -2**31, -2**31 - 1,
             2**32, 2**63 - 1, -2**63, -2**63 + 1, 123456789012345],
    'floats': [0.0, -0.0, 0.1, -2.5, 1e-300, 1.7976931348623157e308, 5e-324,
               float('inf'), float('-inf'), float('nan')],
    'other': [True, False, None],
    'tuples': [(), (1,), (1, 'a'), (1, 'a', None), (1, 'a', None, 2.5)],
    'nested': {'a': {'b': {'c': [1, [2, [3, {}]]]}}, 7: 'int key', (1, 2): 'tuple key'},
    'shared': [shared, shared],
    'empty': [[], {}, ()],
}
extra = {
    3: {'bytes': [b'', b'\x00\xff', bytes(range(256)) * 2]},
    4: {'set': {1, 2, 3}, 'frozenset': frozenset({'a'}), 'long': 'y' * 70000},
    5: {'bytearray': bytearray(b'abc')},
}
for protocol in range(6):
    value = dict(common)
    for since, more in extra.items():
        if protocol >= since: value.update(more)
    write('p%d.pickle' % protocol, pickle.dumps(value, protocol=protocol))
    write_text('p%d.txt' % protocol, canon(value))
)");
  for (int protocol = 0; protocol <= 5; ++protocol) {
    SCOPED_TRACE("protocol " + std::to_string(protocol));
    const std::string name = "p" + std::to_string(protocol);
    const PickleValue value = read_fixture(dir, name + ".pickle");
    EXPECT_EQ(canonical(value), test::read_text(dir + "/" + name + ".txt"));

    ASSERT_EQ(value.describe(), "dict");
    const PickleValue* shared = value.get("shared");
    ASSERT_NE(shared, nullptr);
    // One list referenced twice stays one object.
    EXPECT_EQ((*shared->items)[0].items.get(), (*shared->items)[1].items.get());
    EXPECT_EQ(value.get("absent"), nullptr);
    EXPECT_EQ(shared->get("shared"), nullptr);  // not a dict
  }
}

TEST(Pickle, DescribesValuesByPythonTypeName) {
  EXPECT_EQ(parse_pickle("\x80\x02N."s, "x").describe(), "None");
  EXPECT_EQ(parse_pickle("\x80\x02\x88."s, "x").describe(), "bool");
  EXPECT_EQ(parse_pickle("\x80\x02K\x01."s, "x").describe(), "int");
  EXPECT_EQ(parse_pickle("\x80\x02G\x3f\xf0\0\0\0\0\0\0."s, "x").describe(), "float");
  EXPECT_EQ(parse_pickle("\x80\x02)."s, "x").describe(), "tuple");
  EXPECT_EQ(parse_pickle("\x80\x02]."s, "x").describe(), "list");
  EXPECT_EQ(parse_pickle("\x80\x02}."s, "x").describe(), "dict");
  EXPECT_EQ(parse_pickle("\x80\x03"
                         "C\x01"
                         "a."s,
                         "x")
                .describe(),
            "bytes");
  EXPECT_EQ(parse_pickle("\x80\x04\x8c\x01"
                         "a."s,
                         "x")
                .describe(),
            "str");
}

TEST(Pickle, RefusesIntegersBeyond64Bits) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
for protocol in (0, 2, 4):
    for name, v in (('big', 2**63), ('huge', 2**64), ('small', -2**63 - 1), ('vast', 10**40)):
        write('%s%d.pickle' % (name, protocol), pickle.dumps([v], protocol=protocol))
)");
  for (const char* name : {"big", "huge", "small", "vast"}) {
    for (int protocol : {0, 2, 4}) {
      const std::string path = dir + "/" + name + std::to_string(protocol) + ".pickle";
      try {
        gavamoe::read_pickle_file(path);
        ADD_FAILURE() << path << " was read";
      } catch (const gavamoe::Error& error) {
        EXPECT_NE(std::string(error.what()).find(path + ":byte "), std::string::npos);
        EXPECT_NE(std::string(error.what()).find("does not fit in 64 bits"), std::string::npos)
            << error.what();
      }
    }
  }
}

// Lists longer than Python's 1000-item APPENDS batches, spread over several 64 KiB frames.
TEST(Pickle, ReadsLargeListsOverBatchesAndFrames) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
value = [('item-%d' % i, i, i * 0.5) for i in range(5000)]
data = pickle.dumps(value, protocol=4)
assert opcode_count(data, 'FRAME') >= 2 and opcode_count(data, 'APPENDS') >= 5
write('large.pickle', data)
write_text('large.txt', canon(value))
)");
  const PickleValue value = read_fixture(dir, "large.pickle");
  ASSERT_EQ(value.items->size(), 5000u);
  EXPECT_EQ(canonical(value), test::read_text(dir + "/large.txt"));
}

// The PEPLER reviews.pickle layout, compared field by field with a JSON dump of the same list.
TEST(Pickle, ReadsPeplerShapedRecords) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
import random
random.seed(7)
users = ['user_%d' % i for i in range(40)]
items = ['B00%04d' % i for i in range(25)]
words = ['room', 'staff', 'breakfast', 'caf\u00e9', 'view', '\u00fcber', 'pool']
records = []
for i in range(800):
    feature = random.choice(words)
    sentence = 'the %s was %s \U0001f600 %d' % (feature, random.choice(['great', 'bad']), i)
    records.append({'user': random.choice(users), 'item': random.choice(items),
                    'rating': random.choice([1, 2, 3, 4, 5, 3.5]),
                    'template': (feature, random.choice(['great', 'bad']), sentence,
                                 random.choice([-1, 1])),
                    'predicted': random.choice(['', 'nice %s' % feature])})
for protocol in (2, 4, 5):
    write('reviews%d.pickle' % protocol, pickle.dumps(records, protocol=protocol))
with open('reviews.json', 'w') as f: json.dump(records, f)
)");
  const auto expected = nlohmann::json::parse(test::read_text(dir + "/reviews.json"));
  ASSERT_EQ(expected.size(), 800u);
  for (int protocol : {2, 4, 5}) {
    SCOPED_TRACE("protocol " + std::to_string(protocol));
    const PickleValue records = read_fixture(dir, "reviews" + std::to_string(protocol) + ".pickle");
    ASSERT_EQ(records.kind, Kind::list);
    ASSERT_EQ(records.items->size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const PickleValue& record = (*records.items)[i];
      const auto& want = expected[i];
      ASSERT_EQ(record.entries->size(), 5u);
      EXPECT_EQ(record.get("user")->text, want["user"].get<std::string>());
      EXPECT_EQ(record.get("item")->text, want["item"].get<std::string>());
      const PickleValue& rating = *record.get("rating");
      if (want["rating"].is_number_integer()) {
        ASSERT_EQ(rating.kind, Kind::integer);
        EXPECT_EQ(rating.integer, want["rating"].get<int64_t>());
      } else {
        ASSERT_EQ(rating.kind, Kind::real);
        EXPECT_EQ(rating.real, want["rating"].get<double>());
      }
      const PickleValue& templ = *record.get("template");
      ASSERT_EQ(templ.kind, Kind::tuple);
      ASSERT_EQ(templ.items->size(), 4u);
      for (int k = 0; k < 3; ++k) {
        EXPECT_EQ((*templ.items)[k].text, want["template"][k].get<std::string>());
      }
      EXPECT_EQ((*templ.items)[3].integer, want["template"][3].get<int64_t>());
      EXPECT_EQ(record.get("predicted")->text, want["predicted"].get<std::string>());
    }
  }
}

// Opcodes only Python 2 writes, and ones Python 3 writes only for huge or odd values, made by
// hand and checked against what Python 3's pickle.loads makes of them.
TEST(Pickle, ReadsHandMadeOpcodesLikePython) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
cases = [b"S'a\\nb\\t\\\\ \\x41\\101\\'q'\n.", b'S"double"\n.', b"S'\\q'\n.",
         b'U\x03abc.', b'T\x02\x00\x00\x00hi.', b'V\\u00e9 \\U0001f600 \\\\u0041 x\n.',
         b'I01\n.', b'I00\n.', b'I-42\n.', b'L12345678901234L\n.', b'F-1.5\n.', b'Finf\n.',
         b'((I1\nI2\nlp0\ng0\nt.', b'(dp5\nS\'k\'\nI3\nsg5\n.',
         b'\x80\x04\x8d\x03\0\0\0\0\0\0\0abc.', b'\x80\x04\x8e\x02\0\0\0\0\0\0\0hi.',
         b'\x80\x02\x8b\x02\0\0\0\x01\x01.', b'\x80\x02\x8a\x09' + b'\xff' * 9 + b'.',
         b'\x80\x02\x8a\x00.', b'\x80\x02\x8a\x0a' + b'\0' * 7 + b'\x40\0\0.',
         b'\x80\x02J\xff\xff\xff\xff.', b'\x80\x04\x8f(K\x01K\x02\x90.',
         b'\x80\x04\x8c\x03\xed\xa0\x80.', b'\x80\x04K\x05\x94\x30h\x00.']
for i, data in enumerate(cases):
    write('case%d.pickle' % i, data)
    write_text('case%d.txt' % i, canon(pickle.loads(data)))
write_text('count', str(len(cases)))
)");
  const int count = std::stoi(test::read_text(dir + "/count"));
  for (int i = 0; i < count; ++i) {
    const std::string name = "case" + std::to_string(i);
    EXPECT_EQ(canonical(read_fixture(dir, name + ".pickle")),
              test::read_text(dir + "/" + name + ".txt"))
        << name;
  }
  EXPECT_NE(parse_error("S'\\xZ1'\n."s).find("invalid \\x escape"), std::string::npos);
  EXPECT_NE(parse_error("S'\xe9'\n."s).find("not ASCII"), std::string::npos);
  EXPECT_NE(parse_error("Sabc\n."s).find("must be quoted"), std::string::npos);
  EXPECT_NE(parse_error("V\\u12\n."s).find("truncated \\u escape"), std::string::npos);
  EXPECT_NE(parse_error("I12x\n."s).find("not a decimal integer"), std::string::npos);
  EXPECT_NE(parse_error("I99999999999999999999\n."s).find("does not fit"), std::string::npos);
  EXPECT_NE(parse_error("Fone\n."s).find("not a number"), std::string::npos);
  EXPECT_NE(parse_error("I12"s).find("has no end of line"), std::string::npos);
}

TEST(Pickle, EveryTruncationIsAnError) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
value = {'a': [1, -70000, 2**40, 1.5, None, True], 'b': ('x\u00e9', (), [[]]), 'c': {}}
for protocol in (0, 2, 5):
    if protocol >= 3: value['d'] = b'yz'
    write('small%d.pickle' % protocol, pickle.dumps(value, protocol=protocol))
)");
  for (int protocol : {0, 2, 5}) {
    const std::string data = test::read_text(dir + "/small" + std::to_string(protocol) + ".pickle");
    ASSERT_NO_THROW(parse_pickle(data, "small"));
    for (size_t size = 0; size < data.size(); ++size) {
      EXPECT_THROW(parse_pickle(data.substr(0, size), "small"), gavamoe::Error) << size;
    }
  }
  EXPECT_EQ(parse_error(""), "input.pickle:byte 0: empty file: not a pickle");
  EXPECT_EQ(parse_error("\x80\x02N"s),
            "input.pickle:byte 3: truncated pickle: the data ends before the STOP opcode");
}

TEST(Pickle, RefusesCodeExecution) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
class Payload:
    def __reduce__(self): return (os.system, ('echo owned',))
for protocol in range(6):
    write('system%d.pickle' % protocol, pickle.dumps(os.system, protocol=protocol))
    write('payload%d.pickle' % protocol, pickle.dumps([Payload()], protocol=protocol))
)");
  for (int protocol = 0; protocol <= 5; ++protocol) {
    for (const char* name : {"system", "payload"}) {
      const std::string path = dir + "/" + name + std::to_string(protocol) + ".pickle";
      const std::string message = parse_error(test::read_text(path), path);
      EXPECT_NE(message.find("GLOBAL (0x"), std::string::npos) << message;
      EXPECT_NE(message.find("is not supported: only plain data (str, int, float, bool, None, "
                             "tuple, list, dict) can be read"),
                std::string::npos)
          << message;
    }
  }
  EXPECT_EQ(parse_error(test::read_text(dir + "/system2.pickle"), "f.pickle"),
            "f.pickle:byte 2: opcode GLOBAL (0x63) is not supported: only plain data (str, int, "
            "float, bool, None, tuple, list, dict) can be read");
  EXPECT_NE(parse_error("\x80\x02N)R."s).find("byte 4: opcode REDUCE (0x52)"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02N)b."s).find("opcode BUILD"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x05\x97."s).find("opcode NEXT_BUFFER"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02\xff."s).find("byte 2: unknown opcode 0xff"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x06N."s).find("protocol 6 is not supported"), std::string::npos);
}

// A structure that contains itself would be a shared_ptr cycle: refused.
TEST(Pickle, RefusesRecursiveStructures) {
  const std::string dir = test::scratch_dir();
  run_script(dir, R"(
a = []; a.append(a)
d = {}; d['self'] = d
b = []; t = (b,); b.append(t)
outer = [[]]; outer[0].append(outer)
for i, value in enumerate([a, d, b, outer]):
    write('recursive%d.pickle' % i, pickle.dumps(value, protocol=4))
)");
  for (int i = 0; i < 4; ++i) {
    const std::string message =
        parse_error(test::read_text(dir + "/recursive" + std::to_string(i) + ".pickle"));
    EXPECT_NE(message.find("recursive structures are not supported"), std::string::npos) << message;
  }
  // By hand: a list appended to itself through DUP.
  EXPECT_NE(parse_error("\x80\x02]2a."s).find("recursive"), std::string::npos);
}

std::string le64(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

TEST(Pickle, ChecksDeclaredLengthsBeforeAllocating) {
  EXPECT_EQ(parse_error("\x80\x04\x8d"s + le64(uint64_t{1} << 62) + "abc."),
            "input.pickle:byte 2: truncated pickle: opcode BINUNICODE8 needs 4611686018427387904 "
            "bytes, 4 left");
  EXPECT_NE(parse_error("\x80\x04\x8e"s + le64(~uint64_t{0}) + "."s).find("BINBYTES8 needs"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x05\x96"s + le64(~uint64_t{0}) + "."s).find("BYTEARRAY8 needs"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x03X\xff\xff\xff\xff."s).find("BINUNICODE needs 4294967295"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x03\x8b\xff\xff\xff\x7f."s).find("LONG4 needs"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x03\x8b\xff\xff\xff\xff."s).find("LONG4: negative byte count"),
            std::string::npos);
  EXPECT_NE(parse_error("T\xff\xff\xff\xff."s).find("negative byte count"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x04\x95"s + le64(uint64_t{1} << 63) + "N."s)
                .find("FRAME declares 9223372036854775808 bytes, 2 left"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x04\x8c\x02\xc3(."s).find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x04\x8c\x02\xc0\x80."s).find("not valid UTF-8"), std::string::npos);
}

TEST(Pickle, BoundsNestingWithoutRecursing) {
  const int deep = 100000;
  // Nested by APPEND, by MARK ... LIST, by TUPLE1 and by SETITEM.
  const std::string cases[] = {
      "\x80\x02"s + std::string(deep, ']') + std::string(deep - 1, 'a') + ".",
      "\x80\x02"s + std::string(deep, '(') + std::string(deep, 'l') + ".",
      "\x80\x02N"s + std::string(deep, '\x85') + ".",
      "\x80\x02"s + std::string(deep, '}') + std::string(deep - 1, 's') + ".",
  };
  for (const std::string& data : cases) {
    EXPECT_NE(parse_error(data).find("containers nested more than 1000 deep"), std::string::npos);
  }
  // At the bound itself nesting is fine.
  const int limit = gavamoe::kPickleMaxDepth;
  const std::string at_limit =
      "\x80\x02"s + std::string(limit, ']') + std::string(limit - 1, 'a') + ".";
  PickleValue value = parse_pickle(at_limit, "deep");
  int depth = 1;
  for (const PickleValue* v = &value; !v->items->empty(); v = &v->items->front()) ++depth;
  EXPECT_EQ(depth, limit);
  const std::string over =
      "\x80\x02"s + std::string(limit + 1, ']') + std::string(limit, 'a') + ".";
  EXPECT_THROW(parse_pickle(over, "deep"), gavamoe::Error);
}

TEST(Pickle, ChecksMemoIndices) {
  EXPECT_EQ(parse_error("\x80\x02h\x05."s),
            "input.pickle:byte 2: memo index 5 was never stored: the pickle is corrupt");
  EXPECT_NE(parse_error("\x80\x02j\xff\xff\xff\xff."s).find("memo index 4294967295"),
            std::string::npos);
  EXPECT_NE(parse_error("g12\n."s).find("memo index 12"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02q\x00."s).find("stack underflow"), std::string::npos);
  // A huge index is legal (stored sparsely) and MEMOIZE counts it, like Python's memo dict.
  const PickleValue sparse = parse_pickle(
      "\x80\x04K\x07r\xff\xff\xff\xff\x30K\x08\x94\x30j\xff\xff\xff\xffh\x01\x86."s, "x");
  EXPECT_EQ(canonical(sparse), "(i7,i8)");
  EXPECT_EQ(canonical(parse_pickle("K\x07p99999999999\n0g99999999999\n."s, "x")), "i7");
}

TEST(Pickle, ChecksTheStack) {
  EXPECT_NE(parse_error("\x80\x02."s).find("stack underflow"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02N(."s).find("stack underflow"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02Na."s).find("stack underflow"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02]N(a."s).find("stack underflow"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02NNa."s).find("APPEND applies to a list, not to None"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x02]NNs."s).find("SETITEM applies to a dict, not to list"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x02}(N\x75."s).find("odd number of items"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02(Ne."s).find("no list to add to"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02t."s).find("no MARK"), std::string::npos);
  EXPECT_NE(parse_error("\x80\x02\x31."s).find("no MARK"), std::string::npos);
  // POP of an empty segment removes its MARK, as in Python; POP_MARK drops the segment.
  EXPECT_EQ(canonical(parse_pickle("\x80\x02K\x01(0."s, "x")), "i1");
  EXPECT_EQ(canonical(parse_pickle("\x80\x02K\x01(NN1."s, "x")), "i1");
  EXPECT_EQ(canonical(parse_pickle("\x80\x02K\x01\x32\x86."s, "x")), "(i1,i1)");
}

// A small file whose memo references would expand into far more text than it holds.
TEST(Pickle, RefusesPickleBombs) {
  std::string size(4, '\0');
  const uint32_t megabyte = 1 << 20;
  for (int i = 0; i < 4; ++i) size[i] = static_cast<char>((megabyte >> (8 * i)) & 0xff);
  const std::string text = "\x80\x04X"s + size + std::string(megabyte, 'x') + "\x94";
  std::string gets;
  for (int i = 0; i < 300; ++i) gets += "h\x00\x30"s;  // BINGET 0, POP
  EXPECT_NE(parse_error(text + gets + "N.").find("refused as a pickle bomb"), std::string::npos);
  std::string dups;
  for (int i = 0; i < 300; ++i) dups += "\x32\x30"s;  // DUP, POP
  EXPECT_NE(parse_error(text + dups + "N.").find("refused as a pickle bomb"), std::string::npos);
  // Billion laughs: each level a pair of the level below, shared, so the file stays tiny.
  std::string laughs = "\x80\x04\x8c\x05laugh\x85"s;
  for (int level = 0; level < 64; ++level) laughs += "\x32\x86"s;  // DUP, TUPLE2
  EXPECT_NE(parse_error(laughs + ".").find("refused as a pickle bomb"), std::string::npos);
  std::string memo_laughs = "\x80\x04\x8c\x05laugh\x94"s;  // memo 0
  for (char level = 0; level < 64; ++level) {
    memo_laughs += "h"s + level + "h"s + level + "\x86\x94"s;  // memo level+1 = (level, level)
  }
  EXPECT_NE(parse_error(memo_laughs + ".").find("refused as a pickle bomb"), std::string::npos);
  // Ten levels of sharing are fine.
  std::string shared = "\x80\x04\x8c\x05laugh\x85"s;
  for (int level = 0; level < 10; ++level) shared += "\x32\x86"s;
  EXPECT_EQ(parse_pickle(shared + ".", "x").items->size(), 2u);
  // Within the budget, a shared string is copied as often as it is referenced.
  const PickleValue fine = parse_pickle(text + "\x30h\x00h\x00\x86."s, "x");
  EXPECT_EQ((*fine.items)[1].text, std::string(megabyte, 'x'));
}

TEST(Pickle, IgnoresBytesAfterStop) {
  EXPECT_EQ(canonical(parse_pickle("\x80\x02K\x05.garbage \xff\x00"s, "x")), "i5");
}

TEST(Pickle, NamesAMissingFile) {
  const std::string path = test::scratch_dir() + "/no such.pickle";
  try {
    gavamoe::read_pickle_file(path);
    ADD_FAILURE() << "read a missing file";
  } catch (const gavamoe::Error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
}

}  // namespace
