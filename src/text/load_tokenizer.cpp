// load_tokenizer (tokenizer.hpp): which file of a path is the tokenizer, and which kind.
//
// A folder: tokenizer.json, unless the folder also has tokenizer.model and its tokenizer.json
// is not byte-level (a SentencePiece model converted to tokenizer.json, which this library
// reads through tokenizer.model instead). A file: *.json is BPE, *.gguf is refused (the model
// library reads GGUF metadata into a BpeVocabulary), anything else SentencePiece. The settings
// always come from the folder the tokenizer lies in.
#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"
#include "gavamoe/text/hf_tokenizer_config.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

// Whether a ByteLevel step appears in the document's pre-tokenizer. Any JSON is accepted (a
// "type" that is not a string is no ByteLevel); the walk stops at a depth no pre-tokenizer
// reaches, and make_bpe_tokenizer refuses a document that deep.
bool has_byte_level(const nlohmann::json& j, int depth = 0) {
  if (depth > 32) return false;
  if (j.is_object()) {
    const auto type = j.find("type");
    if (type != j.end() && type->is_string() && type->get<std::string>() == "ByteLevel")
      return true;
  }
  if (j.is_structured())
    for (const auto& value : j)
      if (has_byte_level(value, depth + 1)) return true;
  return false;
}

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& model, const std::string& dir) {
  const HfTokenizerConfig config = read_hf_tokenizer_config(dir);
  SentencePieceSettings settings;
  settings.add_bos = config.add_bos_token.value_or(true);
  settings.chat_template = config.chat_template;
  return std::make_unique<SentencePieceTokenizer>(model, settings);
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (fs::is_directory(path)) {
    const std::string json_path = path + "/tokenizer.json", model_path = path + "/tokenizer.model";
    const bool has_model = fs::is_regular_file(model_path);
    if (fs::is_regular_file(json_path)) {
      const nlohmann::json document = read_json_file(json_path);
      // A document that is not an object is no tokenizer of either kind: make_bpe_tokenizer
      // says so. (find, not value(): no copy of a subtree that may be nested too deep.)
      const auto pre_tokenizer = document.find("pre_tokenizer");  // end() for a non-object
      if (!has_model || !document.is_object() ||
          (pre_tokenizer != document.end() && has_byte_level(*pre_tokenizer)))
        return make_bpe_tokenizer(document, read_hf_tokenizer_config(path), json_path);
    }
    if (has_model) return load_sentencepiece(model_path, path);
    throw file_error(path, "no tokenizer.json or tokenizer.model in this folder");
  }
  if (!fs::is_regular_file(path)) throw file_error(path, "no such tokenizer file or folder");
  const fs::path file(path);
  const std::string dir = file.has_parent_path() ? file.parent_path().string() : ".";
  const std::string extension = file.extension().string();
  if (extension == ".gguf")
    throw file_error(path,
                     "a GGUF file's vocabulary is read with the model, not as a tokenizer file");
  if (extension == ".json")
    return make_bpe_tokenizer(read_json_file(path), read_hf_tokenizer_config(dir), path);
  return load_sentencepiece(path, dir);
}

}  // namespace gavamoe
