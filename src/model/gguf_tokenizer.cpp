// The byte-level BPE vocabulary of a GGUF file's tokenizer.ggml.* metadata.
#include "gavamoe/model/gguf_tokenizer.hpp"

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"

namespace gavamoe {

BpeVocabulary gguf_bpe_vocabulary(const GgufFile& file) {
  const GgufMetadata& meta = file.metadata();
  const std::string model = meta.string("tokenizer.ggml.model", "");
  if (model.empty())
    throw file_error(file.path(), "no tokenizer in the metadata (tokenizer.ggml.model)");
  if (model == "llama")
    throw file_error(file.path(),
                     "SentencePiece vocabularies in GGUF files (tokenizer.ggml.model 'llama') are "
                     "not supported yet; use the model's Hugging Face folder");
  if (model != "gpt2")
    throw file_error(file.path(), "tokenizer.ggml.model '" + model +
                                      "' is not supported (only 'gpt2', byte-level BPE)");
  BpeVocabulary vocabulary;
  vocabulary.tokens = meta.strings("tokenizer.ggml.tokens");
  const int64_t size = static_cast<int64_t>(vocabulary.tokens.size());
  if (meta.contains("tokenizer.ggml.token_type")) {
    for (int64_t type : meta.integers("tokenizer.ggml.token_type"))
      vocabulary.token_types.push_back(static_cast<int>(type));
    if (static_cast<int64_t>(vocabulary.token_types.size()) != size)
      throw file_error(file.path(), "tokenizer.ggml.token_type has " +
                                        std::to_string(vocabulary.token_types.size()) +
                                        " entries for " + std::to_string(size) + " tokens");
  }
  if (meta.contains("tokenizer.ggml.merges")) {
    const std::vector<std::string> merges = meta.strings("tokenizer.ggml.merges");
    vocabulary.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      // Byte-level tokens hold no ASCII space (it is 'Ġ'), so the first space after the first
      // character separates the pair (llama.cpp splits the same way).
      const size_t space = merges[i].size() > 1 ? merges[i].find(' ', 1) : std::string::npos;
      if (space == std::string::npos)
        throw file_error(file.path(), "tokenizer.ggml.merges[" + std::to_string(i) +
                                          "] is not two tokens separated by a space");
      vocabulary.merges.emplace_back(merges[i].substr(0, space), merges[i].substr(space + 1));
    }
  }
  vocabulary.pre_tokenizer = meta.string("tokenizer.ggml.pre", "default");
  // An id outside the vocabulary means "none", with a warning (as llama.cpp does: some
  // converters write -1 as an unsigned integer).
  auto token_id = [&](const std::string& key) {
    const int64_t id = meta.integer(key, -1);
    if (id < 0) return -1;
    if (id >= size) {
      log::warn("%s: %s %lld is not a token id (%lld tokens); ignored", file.path().c_str(),
                key.c_str(), static_cast<long long>(id), static_cast<long long>(size));
      return -1;
    }
    return static_cast<int>(id);
  };
  vocabulary.bos_id = token_id("tokenizer.ggml.bos_token_id");
  vocabulary.eos_id = token_id("tokenizer.ggml.eos_token_id");
  vocabulary.unk_id = token_id("tokenizer.ggml.unknown_token_id");
  vocabulary.pad_id = token_id("tokenizer.ggml.padding_token_id");
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (const int id = token_id(key); id >= 0) vocabulary.end_of_turn_ids.push_back(id);
  vocabulary.add_bos_given = meta.contains("tokenizer.ggml.add_bos_token");
  vocabulary.add_bos = meta.boolean("tokenizer.ggml.add_bos_token", false);
  vocabulary.chat_template = meta.string("tokenizer.chat_template", "");
  return vocabulary;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& file) {
  return make_bpe_tokenizer(gguf_bpe_vocabulary(file), file.path());
}

}  // namespace gavamoe
