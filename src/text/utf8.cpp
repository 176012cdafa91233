// UTF-8 helpers (utf8.hpp). Well-formedness as in Unicode Table 3-7: no overlong forms, no
// surrogates, nothing past U+10FFFF.
#include "gavamoe/text/utf8.hpp"

namespace gavamoe::utf8 {
namespace {

// The allowed range of the second byte after lead byte `lead` (Table 3-7); later bytes are
// always 0x80..0xBF.
bool second_byte_ok(unsigned char lead, unsigned char second) {
  if (lead == 0xE0) return second >= 0xA0 && second <= 0xBF;
  if (lead == 0xED) return second >= 0x80 && second <= 0x9F;
  if (lead == 0xF0) return second >= 0x90 && second <= 0xBF;
  if (lead == 0xF4) return second >= 0x80 && second <= 0x8F;
  return second >= 0x80 && second <= 0xBF;
}

}  // namespace

size_t sequence_length(const std::string& text, size_t at, size_t* maximal_subpart) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  size_t need = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    need = 2;
  else if (lead >= 0xE0 && lead <= 0xEF)
    need = 3;
  else if (lead >= 0xF0 && lead <= 0xF4)
    need = 4;
  size_t good = 1;  // bytes of a valid prefix so far
  if (need > 0) {
    for (; good < need && at + good < text.size(); ++good) {
      const unsigned char b = byte(at + good);
      const bool ok = good == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
    }
    if (good == need) return need;
  }
  if (maximal_subpart) *maximal_subpart = good;
  return 0;
}

char32_t decode_at(const std::string& text, size_t at, size_t length) {
  const auto byte = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[i]));
  };
  switch (length) {
    case 1:
      return byte(at);
    case 2:
      return ((byte(at) & 0x1F) << 6) | (byte(at + 1) & 0x3F);
    case 3:
      return ((byte(at) & 0x0F) << 12) | ((byte(at + 1) & 0x3F) << 6) | (byte(at + 2) & 0x3F);
    default:
      return ((byte(at) & 0x07) << 18) | ((byte(at + 1) & 0x3F) << 12) |
             ((byte(at + 2) & 0x3F) << 6) | (byte(at + 3) & 0x3F);
  }
}

void append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_valid(const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    const size_t length = sequence_length(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

std::string repair_lossy(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t at = 0; at < bytes.size();) {
    size_t subpart = 1;
    const size_t length = sequence_length(bytes, at, &subpart);
    if (length > 0) {
      out.append(bytes, at, length);
      at += length;
    } else {
      out += "\xEF\xBF\xBD";
      at += subpart;
    }
  }
  return out;
}

}  // namespace gavamoe::utf8
