// libFuzzer target: a Hugging Face tokenizer.json (src/text/bpe_tokenizer.cpp) on arbitrary text.
//
// The text is parsed as JSON first; invalid JSON is skipped (read_json_file turns the same
// nlohmann exceptions into a gavamoe::Error naming the file). The document must then either
// load as a byte-level BPE tokenizer or throw gavamoe::Error; a tokenizer that loads encodes a
// few fixed strings (an Error is allowed there: a regex of the file may hit PCRE2's match limit)
// and must decode what it encoded without any exception. Anything else (another exception, a
// sanitizer report, a leak, a huge allocation, a stack overflow) is a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/hf_tokenizer_config.hpp"

namespace {

const char* const kTexts[] = {
    "Hello world! The pasta was great, 123 stars.",
    "  leading spaces\tand tabs\r\nand newlines  ",
    "Caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x99\x82",
    "<|endoftext|><user> likes <item><sep>it's <|im_start|>",
    "\xFF\xFE ill-formed \xC3 UTF-8 \xED\xA0\x80",
    "",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  std::unique_ptr<gavamoe::Tokenizer> tokenizer;
  try {
    tokenizer =
        gavamoe::make_bpe_tokenizer(document, gavamoe::HfTokenizerConfig{}, "fuzz/tokenizer.json");
  } catch (const gavamoe::Error&) {
    return 0;
  }
  const int vocab_size = tokenizer->vocab_size();
  for (const char* text : kTexts) {
    std::vector<int> ids;
    try {
      ids = tokenizer->encode(text);
    } catch (const gavamoe::Error&) {
      continue;
    }
    for (int id : ids)
      if (id < 0 || id >= vocab_size) std::abort();
    tokenizer->decode(ids);
    tokenizer->decode(ids, true);
    for (int id : ids) tokenizer->piece_to_id(tokenizer->id_to_piece(id));
  }
  tokenizer->end_of_generation_ids();
  tokenizer->adds_bos();
  return 0;
}
