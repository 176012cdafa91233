// GPT-2's byte-level alphabet: every byte is one printable code point, so any text is a
// sequence of vocabulary characters (openai gpt-2 `bytes_to_unicode`).
//
// Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF stand for themselves (as code points); the other 68
// bytes, in increasing order, become U+0100, U+0101, ... (space 0x20 -> U+0120 'Ġ',
// '\n' -> U+010A 'Ċ').
#pragma once

#include <string>

namespace gavamoe::byte_level {

// The code point byte `b` stands for.
char32_t char_of(unsigned char b);

// Each byte of `bytes` as its code point, UTF-8 encoded.
std::string encode(const std::string& bytes);

// Appends the bytes `token` stands for: the byte of each code point when every code point of
// the token is in the alphabet, else the token's own UTF-8 bytes (Hugging Face's ByteLevel
// decoder does the same for tokens outside the alphabet).
void append_decoded(const std::string& token, std::string& bytes);

}  // namespace gavamoe::byte_level
