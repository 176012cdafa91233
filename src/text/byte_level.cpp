// GPT-2's byte-level alphabet (byte_level.hpp).
#include "gavamoe/text/byte_level.hpp"

#include <array>

#include "gavamoe/text/utf8.hpp"

namespace gavamoe::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> char_of{};
  std::array<std::string, 256> utf8_of{};
  std::array<int, 0x144> byte_of{};  // code point -> byte, -1 outside the alphabet
  Tables() {
    byte_of.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      char_of[b] = printable ? static_cast<char32_t>(b) : next++;
      utf8::append(utf8_of[b], char_of[b]);
      byte_of[char_of[b]] = b;
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

}  // namespace

char32_t char_of(unsigned char b) { return tables().char_of[b]; }

std::string encode(const std::string& bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.utf8_of[static_cast<unsigned char>(c)];
  return out;
}

void append_decoded(const std::string& token, std::string& bytes) {
  const Tables& t = tables();
  const size_t start = bytes.size();
  for (size_t at = 0; at < token.size();) {
    const size_t length = utf8::sequence_length(token, at);
    const char32_t c = length ? utf8::decode_at(token, at, length) : 0x110000;
    if (c >= t.byte_of.size() || t.byte_of[c] < 0) {
      bytes.resize(start);
      bytes += token;
      return;
    }
    bytes += static_cast<char>(t.byte_of[c]);
    at += length;
  }
}

}  // namespace gavamoe::byte_level
