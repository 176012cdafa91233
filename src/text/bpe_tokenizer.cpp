// Byte-level BPE tokenizer (bpe_tokenizer.hpp): a tokenizer.json document turned into
// added-token matchers, normaliser, pre-tokenizer and BpeModel; GGUF vocabularies become such a
// document first, so both sources run the same code and save the same way.
//
// encode: added tokens that are not `normalized` are cut out of the raw text; the rest is
// normalised, the `normalized` added tokens are cut out of that, and every remaining segment is
// pre-tokenized and merged piece by piece. decode: each id's token (added tokens by content,
// special ones left out with skip_special), then the decoder (ByteLevel: characters back to
// bytes, UTF-8 repaired lossily; none: tokens joined by spaces).
#include "gavamoe/text/bpe_tokenizer.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/text/added_tokens.hpp"
#include "gavamoe/text/bpe_model.hpp"
#include "gavamoe/text/byte_level.hpp"
#include "gavamoe/text/pre_tokenizer.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "gavamoe/text/special_tokens.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

// Ids above this are refused (2^30: far above any vocabulary, and safe in an int).
constexpr int64_t kMaxTokenId = 1 << 30;
// Ids that no vocab entry or added token names become empty slots of the id table; more than
// this beyond twice the named tokens is a lying id, not a sparse vocabulary (a document
// `{"vocab": {"a": 1000000000}}` would otherwise allocate a table of gigabytes).
constexpr size_t kMaxUnnamedIds = 1024;
// Deeper documents are refused before anything walks or copies them (both recurse; real
// tokenizer.json files nest about six levels).
constexpr int kMaxDocumentDepth = 64;

// Refuses a document nested deeper than kMaxDocumentDepth, without recursing itself.
void check_depth(const json& document, const std::string& origin) {
  std::vector<std::pair<const json*, int>> pending = {{&document, 0}};
  while (!pending.empty()) {
    const auto [j, depth] = pending.back();
    pending.pop_back();
    if (!j->is_structured()) continue;
    if (depth >= kMaxDocumentDepth)
      throw file_error(origin, "nested deeper than " + std::to_string(kMaxDocumentDepth) +
                                   " levels (not a tokenizer.json)");
    for (const json& child : *j) pending.emplace_back(&child, depth + 1);
  }
}

// `j` as a token id in [0, kMaxTokenId], or -1 when it is not an integer in that range.
int token_id(const json& j) {
  if (!j.is_number_integer()) return -1;
  if (j.is_number_unsigned())
    return j.get<uint64_t>() <= static_cast<uint64_t>(kMaxTokenId) ? j.get<int>() : -1;
  const int64_t id = j.get<int64_t>();
  return id >= 0 && id <= kMaxTokenId ? static_cast<int>(id) : -1;
}

// What the document alone does not say: special ids, BOS, chat template.
struct BpeSettings {
  int bos = -1, eos = -1, pad = -1;
  bool add_bos = false;
  std::vector<int> end_of_turn_ids;  // besides EOS and the well-known end-of-turn pieces
  std::string chat_template;
};

template <typename T>
T get_or(const json& j, const char* key, T fallback, const std::string& origin,
         const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    throw file_error(origin, where + ": \"" + key + "\" has the wrong type");
  }
}

// The leading special token id of a post-processor (its BOS), or -1.
int leading_special_id(const json& processor, const std::string& origin) {
  if (!processor.is_object()) return -1;
  const std::string type = get_or<std::string>(processor, "type", "", origin, "post_processor");
  if (type == "Sequence") {
    for (const json& part : processor.value("processors", json::array()))
      if (const int id = leading_special_id(part, origin); id >= 0) return id;
    return -1;
  }
  if (type == "TemplateProcessing") {
    const json single = processor.value("single", json::array());
    if (!single.is_array() || single.empty() || !single[0].is_object() ||
        !single[0].contains("SpecialToken"))
      return -1;
    const std::string name = get_or<std::string>(single[0]["SpecialToken"], "id", "", origin,
                                                 "post_processor TemplateProcessing");
    const json specials = processor.value("special_tokens", json::object());
    if (!specials.contains(name) || !specials[name].contains("ids") ||
        !specials[name]["ids"].is_array() || specials[name]["ids"].empty() ||
        token_id(specials[name]["ids"][0]) < 0)
      throw file_error(
          origin, "post_processor TemplateProcessing: no ids for special token '" + name + "'");
    return token_id(specials[name]["ids"][0]);
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json cls = processor.value("cls", json::array());
    if (cls.is_array() && cls.size() == 2 && token_id(cls[1]) >= 0) return token_id(cls[1]);
    throw file_error(origin, "post_processor " + type + ": no \"cls\" [token, id]");
  }
  if (type == "ByteLevel") return -1;
  throw file_error(origin, "post_processor '" + type +
                               "' is not supported (TemplateProcessing, ByteLevel, Sequence)");
}

// Whether the decoder is ByteLevel (possibly inside a Sequence); null means none.
bool byte_level_decoder(const json& decoder, const std::string& origin) {
  if (decoder.is_null()) return false;
  const std::string type = get_or<std::string>(decoder, "type", "", origin, "decoder");
  if (type == "ByteLevel") return true;
  if (type == "Sequence") {
    const json parts = decoder.value("decoders", json::array());
    if (parts.size() == 1) return byte_level_decoder(parts[0], origin);
  }
  throw file_error(origin, "decoder '" + (type.empty() ? decoder.dump() : type) +
                               "' is not supported (ByteLevel or none)");
}

std::vector<std::pair<std::string, std::string>> parse_merges(const json& merges,
                                                              const std::string& origin) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!merges.is_array()) throw file_error(origin, "model \"merges\" is not a list");
  pairs.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& merge = merges[i];
    if (merge.is_string()) {
      const std::string line = merge.get<std::string>();
      if (line.rfind("#version", 0) == 0) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        throw file_error(origin, "merges[" + std::to_string(i) + "] '" + line +
                                     "' is not two tokens separated by one space");
      pairs.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      pairs.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      throw file_error(origin,
                       "merges[" + std::to_string(i) + "] is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return pairs;
}

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(json document, const std::string& source,
               const std::function<BpeSettings(const BpeTokenizer&)>& settings)
      : document_(std::move(document)), source_(source) {
    try {
      build();
    } catch (const json::exception& e) {
      throw file_error(source_, std::string("malformed tokenizer: ") + e.what());
    }
    settings_ = settings(*this);
    for (int id : {settings_.bos, settings_.eos, settings_.pad})
      if (id >= vocab_size())
        throw file_error(source_, "special token id " + std::to_string(id) +
                                      " is outside the vocabulary of " +
                                      std::to_string(vocab_size()));
  }

  std::vector<int> encode(const std::string& text) const override {
    std::vector<int> ids;
    std::vector<TextSegment> raw, normalized;
    std::vector<std::string> pieces;
    raw_tokens_.split(text, raw);
    for (const TextSegment& segment : raw) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
        continue;
      }
      normalized.clear();
      normalized_tokens_.split(normalizer_.normalize(segment.text), normalized);
      for (const TextSegment& part : normalized) {
        if (part.id >= 0) {
          ids.push_back(part.id);
          continue;
        }
        pieces.clear();
        pre_tokenizer_.split(part.text, pieces);
        for (const std::string& piece : pieces) model_->encode_piece(piece, ids);
      }
    }
    return ids;
  }

  std::string decode(const std::vector<int>& ids, bool skip_special) const override {
    std::string bytes;
    bool first = true;
    for (int id : ids) {
      check_id(id);
      if (skip_special && special_[id]) continue;
      const std::string& token = tokens_[id];
      if (byte_level_decoder_) {
        byte_level::append_decoded(token, bytes);
      } else {
        if (!first) bytes += ' ';
        bytes += token;
      }
      first = false;
    }
    return byte_level_decoder_ ? utf8::repair_lossy(bytes) : bytes;
  }

  int piece_to_id(const std::string& piece) const override {
    const auto it = added_ids_.find(piece);
    return it != added_ids_.end() ? it->second : model_->token_to_id(piece);
  }
  std::string id_to_piece(int id) const override {
    check_id(id);
    return tokens_[id];
  }
  int vocab_size() const override { return static_cast<int>(tokens_.size()); }
  int bos_id() const override { return settings_.bos; }
  int eos_id() const override { return settings_.eos; }
  int pad_id() const override { return settings_.pad; }
  bool adds_bos() const override { return settings_.add_bos && settings_.bos >= 0; }
  std::vector<int> end_of_generation_ids() const override {
    std::vector<int> ids;
    auto add = [&](int id) {
      if (id >= 0 && id < vocab_size() && std::find(ids.begin(), ids.end(), id) == ids.end())
        ids.push_back(id);
    };
    add(settings_.eos);
    for (int id : settings_.end_of_turn_ids) add(id);
    for (const char* piece : end_of_turn_pieces()) add(piece_to_id(piece));
    return ids;
  }
  const std::string& chat_template() const override { return settings_.chat_template; }
  std::string kind() const override { return "bpe"; }
  const std::string& source() const override { return source_; }

  const json& document() const { return document_; }
  int leading_special() const { return leading_special_; }

 private:
  json document_;
  std::string source_;
  BpeSettings settings_;
  std::optional<BpeModel> model_;
  AddedTokenMatcher raw_tokens_, normalized_tokens_;
  std::unordered_map<std::string, int> added_ids_;
  TextNormalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  bool byte_level_decoder_ = false;
  int leading_special_ = -1;
  std::vector<std::string> tokens_;  // id -> token text ("" for ids nobody names)
  std::vector<char> special_;        // id -> special added token

  void check_id(int id) const {
    if (id < 0 || id >= vocab_size())
      throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                  std::to_string(vocab_size()));
  }

  void build() {
    if (!document_.is_object()) throw file_error(source_, "not a tokenizer.json object");
    if (!document_.contains("model") || !document_["model"].is_object())
      throw file_error(source_, "no \"model\" object");
    const json& model = document_["model"];
    const std::string type = get_or<std::string>(model, "type", "BPE", source_, "model");
    if (type != "BPE")
      throw file_error(source_, "model type '" + type + "' is not supported (only BPE)");
    if (!model.contains("vocab") || !model["vocab"].is_object())
      throw file_error(source_, "model has no \"vocab\" object");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (!get_or<std::string>(model, key, "", source_, "model").empty())
        throw file_error(source_, std::string("model \"") + key + "\" is not supported");
    if (get_or<double>(model, "dropout", 0.0, source_, "model") != 0.0)
      throw file_error(source_, "model \"dropout\" is not supported (encoding must be exact)");

    std::unordered_map<std::string, int> vocab;
    vocab.reserve(model["vocab"].size());
    int max_id = -1;
    for (const auto& [token, value] : model["vocab"].items()) {
      const int id = token_id(value);
      if (id < 0) throw file_error(source_, "vocab entry '" + token + "' has no valid id");
      vocab.emplace(token, id);
      max_id = std::max(max_id, id);
    }

    std::vector<AddedToken> added;
    const json added_list = document_.value("added_tokens", json::array());
    if (!added_list.is_array()) throw file_error(source_, "\"added_tokens\" is not a list");
    for (size_t i = 0; i < added_list.size(); ++i) {
      const json& entry = added_list[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      AddedToken token;
      token.content = get_or<std::string>(entry, "content", "", source_, where);
      // Only an integer: get<int> would also take a bool or a float (out of range: undefined).
      token.id = entry.is_object() && entry.contains("id") ? token_id(entry["id"]) : -1;
      if (token.content.empty() || token.id < 0)
        throw file_error(source_, where + " needs a \"content\" and an \"id\"");
      token.special = get_or<bool>(entry, "special", false, source_, where);
      token.lstrip = get_or<bool>(entry, "lstrip", false, source_, where);
      token.rstrip = get_or<bool>(entry, "rstrip", false, source_, where);
      token.single_word = get_or<bool>(entry, "single_word", false, source_, where);
      token.normalized = get_or<bool>(entry, "normalized", !token.special, source_, where);
      max_id = std::max(max_id, token.id);
      added.push_back(token);
    }

    BpeModelOptions options;
    options.ignore_merges = get_or<bool>(model, "ignore_merges", false, source_, "model");
    options.byte_fallback = get_or<bool>(model, "byte_fallback", false, source_, "model");
    options.fuse_unk = get_or<bool>(model, "fuse_unk", false, source_, "model");
    const std::string unk = get_or<std::string>(model, "unk_token", "", source_, "model");
    if (!unk.empty()) {
      const auto it = vocab.find(unk);
      if (it == vocab.end())
        throw file_error(source_, "model \"unk_token\" '" + unk + "' is not in the vocabulary");
      options.unk_id = it->second;
    }
    if (!model.contains("merges")) throw file_error(source_, "model has no \"merges\" list");
    const size_t named = vocab.size() + added.size();
    if (max_id >= 0 && static_cast<size_t>(max_id) >= 2 * named + kMaxUnnamedIds)
      throw file_error(source_, "token id " + std::to_string(max_id) + " is far beyond the " +
                                    std::to_string(named) + " tokens the file names");

    tokens_.assign(static_cast<size_t>(max_id + 1), "");
    special_.assign(tokens_.size(), 0);
    for (const auto& [token, id] : vocab) tokens_[id] = token;
    model_.emplace(std::move(vocab), parse_merges(model["merges"], source_), options, source_);

    normalizer_ = TextNormalizer::from_json(document_.value("normalizer", json()), source_);
    std::vector<AddedToken> raw, normalized;
    for (AddedToken& token : added) {
      tokens_[token.id] = token.content;
      special_[token.id] = token.special;
      added_ids_[token.content] = token.id;
      if (token.normalized) {
        token.content = normalizer_.normalize(token.content);
        normalized.push_back(token);
      } else {
        raw.push_back(token);
      }
    }
    raw_tokens_ = AddedTokenMatcher(raw);
    normalized_tokens_ = AddedTokenMatcher(normalized);
    pre_tokenizer_ = PreTokenizer::from_json(document_.value("pre_tokenizer", json()), source_);
    byte_level_decoder_ = byte_level_decoder(document_.value("decoder", json()), source_);
    leading_special_ = leading_special_id(document_.value("post_processor", json()), source_);
  }
};

// The regexes of a GGUF pre type, llama.cpp's `llm_tokenizer_bpe` list (HF originals).
struct PreType {
  std::vector<std::string> patterns;
  bool nfc = false, ignore_merges = false, add_bos = false;
};

const char* const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kTekkenPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

PreType pre_type(const std::string& name, const std::string& source) {
  if (name == "smollm") return {{"\\p{N}", kGpt2Pattern}};
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3" || name == "falcon3" ||
      name == "pixtral")
    return {{kLlama3Pattern}, false, true, true};
  if (name == "qwen2") return {{kQwen2Pattern}, true};
  if (name == "gpt-2") return {{kGpt2Pattern}};
  if (name == "tekken") return {{kTekkenPattern}, false, true, true};
  if (name == "default" || name.empty())
    return {{"[\\p{P}\\$\\+<=>\\^~\\|]+",
             "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
             "\\p{N}+", "[0-9][0-9][0-9]"}};
  throw file_error(source, "tokenizer pre type '" + name +
                               "' is not supported (smollm, llama-bpe, llama3, llama-v3, "
                               "falcon3, pixtral, qwen2, gpt-2, tekken, default)");
}

json gguf_document(const BpeVocabulary& vocabulary, const PreType& pre) {
  json vocab = json::object();
  json added = json::array();
  for (size_t id = 0; id < vocabulary.tokens.size(); ++id) {
    const std::string& token = vocabulary.tokens[id];
    if (!vocab.contains(token)) vocab[token] = id;  // a repeated text keeps its first id
    const int type = id < vocabulary.token_types.size() ? vocabulary.token_types[id] : 1;
    if (type == 3 || type == 4)
      added.push_back({{"id", id},
                       {"content", token},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type == 3}});
  }
  json merges = json::array();
  for (const auto& [left, right] : vocabulary.merges) merges.push_back({left, right});
  json steps = json::array();
  for (const std::string& pattern : pre.patterns)
    steps.push_back({{"type", "Split"},
                     {"pattern", {{"Regex", pattern}}},
                     {"behavior", "Isolated"},
                     {"invert", false}});
  steps.push_back({{"type", "ByteLevel"},
                   {"add_prefix_space", false},
                   {"trim_offsets", true},
                   {"use_regex", false}});
  json document = {{"version", "1.0"},
                   {"truncation", nullptr},
                   {"padding", nullptr},
                   {"added_tokens", added},
                   {"normalizer", pre.nfc ? json{{"type", "NFC"}} : json()},
                   {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", steps}}},
                   {"post_processor", nullptr},
                   {"decoder",
                    {{"type", "ByteLevel"},
                     {"add_prefix_space", true},
                     {"trim_offsets", true},
                     {"use_regex", true}}},
                   {"model",
                    {{"type", "BPE"},
                     {"dropout", nullptr},
                     {"unk_token", nullptr},
                     {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr},
                     {"fuse_unk", false},
                     {"byte_fallback", false},
                     {"ignore_merges", pre.ignore_merges},
                     {"vocab", vocab},
                     {"merges", merges}}}};
  const bool add_bos = vocabulary.add_bos_given ? vocabulary.add_bos : pre.add_bos;
  if (add_bos && vocabulary.bos_id >= 0 &&
      static_cast<size_t>(vocabulary.bos_id) < vocabulary.tokens.size()) {
    const std::string& bos = vocabulary.tokens[vocabulary.bos_id];
    document["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens",
         {{bos, {{"id", bos}, {"ids", {vocabulary.bos_id}}, {"tokens", {bos}}}}}}};
  }
  return document;
}

json token_or_null(const Tokenizer& tokenizer, int id) {
  return id >= 0 ? json(tokenizer.id_to_piece(id)) : json();
}

std::string dump(const json& j, const std::string& path) {
  try {
    return j.dump(2);
  } catch (const json::exception& e) {
    throw file_error(path, std::string("cannot write: ") + e.what());
  }
}

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const BpeVocabulary& vocabulary,
                                              const std::string& source) {
  if (vocabulary.tokens.empty()) throw file_error(source, "the vocabulary has no tokens");
  if (!vocabulary.token_types.empty() && vocabulary.token_types.size() != vocabulary.tokens.size())
    throw file_error(source, "token types (" + std::to_string(vocabulary.token_types.size()) +
                                 ") do not match the tokens (" +
                                 std::to_string(vocabulary.tokens.size()) + ")");
  const PreType pre = pre_type(vocabulary.pre_tokenizer, source);
  const bool add_bos = vocabulary.add_bos_given ? vocabulary.add_bos : pre.add_bos;
  return std::make_unique<BpeTokenizer>(gguf_document(vocabulary, pre), source,
                                        [&](const BpeTokenizer&) {
                                          BpeSettings settings;
                                          settings.bos = vocabulary.bos_id;
                                          settings.eos = vocabulary.eos_id;
                                          settings.pad = vocabulary.pad_id;
                                          settings.add_bos = add_bos;
                                          settings.end_of_turn_ids = vocabulary.end_of_turn_ids;
                                          settings.chat_template = vocabulary.chat_template;
                                          return settings;
                                        });
}

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const nlohmann::json& document,
                                              const HfTokenizerConfig& config,
                                              const std::string& source) {
  check_depth(document, source);
  return std::make_unique<BpeTokenizer>(document, source, [&](const BpeTokenizer& tokenizer) {
    auto id_of = [&](const std::optional<std::string>& token, const char* what) {
      if (!token) return -1;
      const int id = tokenizer.piece_to_id(*token);
      if (id < 0)
        throw file_error(source, std::string(what) + " '" + *token +
                                     "' of tokenizer_config.json is not in the vocabulary");
      return id;
    };
    BpeSettings settings;
    settings.bos = id_of(config.bos_token, "bos_token");
    if (settings.bos < 0) settings.bos = config.bos_token_id.value_or(tokenizer.leading_special());
    settings.eos = id_of(config.eos_token, "eos_token");
    if (settings.eos < 0 && !config.eos_token_ids.empty()) settings.eos = config.eos_token_ids[0];
    settings.pad = id_of(config.pad_token, "pad_token");
    if (settings.pad < 0) settings.pad = config.pad_token_id.value_or(-1);
    settings.add_bos = config.add_bos_token.value_or(tokenizer.leading_special() >= 0);
    settings.end_of_turn_ids = config.eos_token_ids;
    settings.chat_template = config.chat_template;
    return settings;
  });
}

void save_hf_tokenizer(const Tokenizer& tokenizer, const std::string& dir) {
  make_dirs(dir);
  json config = {{"add_bos_token", tokenizer.adds_bos()},
                 {"bos_token", token_or_null(tokenizer, tokenizer.bos_id())},
                 {"eos_token", token_or_null(tokenizer, tokenizer.eos_id())},
                 {"pad_token", token_or_null(tokenizer, tokenizer.pad_id())},
                 {"clean_up_tokenization_spaces", false}};
  if (!tokenizer.chat_template().empty()) config["chat_template"] = tokenizer.chat_template();
  if (const auto* bpe = dynamic_cast<const BpeTokenizer*>(&tokenizer)) {
    config["tokenizer_class"] = "PreTrainedTokenizerFast";
    write_file_atomic(dir + "/tokenizer.json", dump(bpe->document(), dir + "/tokenizer.json"));
  } else if (const auto* sp = dynamic_cast<const SentencePieceTokenizer*>(&tokenizer)) {
    write_file_atomic(dir + "/tokenizer.model", sp->serialized_model());
  } else {
    throw Error(tokenizer.source() + ": this tokenizer kind cannot be saved");
  }
  write_file_atomic(dir + "/tokenizer_config.json", dump(config, dir + "/tokenizer_config.json"));
}

}  // namespace gavamoe
