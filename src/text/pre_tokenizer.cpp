// Normaliser and pre-tokenizer of byte-level BPE (pre_tokenizer.hpp). The split rules follow
// `tokenizers` (normalizer.rs `split`, pattern.rs `find_matches`): the matches and the gaps
// between them form the pieces, which the behaviour then keeps, drops or merges.
#include "gavamoe/text/pre_tokenizer.hpp"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>

#include "gavamoe/core/error.hpp"
#include "gavamoe/text/byte_level.hpp"
#include "gavamoe/text/regex.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

enum class Behaviour { removed, isolated, merged_with_previous, merged_with_next, contiguous };

std::string type_of(const nlohmann::json& j, const std::string& origin, const char* what) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw file_error(origin, std::string(what) + " without a \"type\"");
  return j["type"].get<std::string>();
}

template <typename T>
T field(const nlohmann::json& j, const char* key, T fallback, const std::string& origin,
        const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw file_error(origin, where + ": \"" + key + "\" has the wrong type");
  }
}

Behaviour parse_behaviour(const std::string& name, const std::string& origin) {
  if (name == "Removed") return Behaviour::removed;
  if (name == "Isolated") return Behaviour::isolated;
  if (name == "MergedWithPrevious") return Behaviour::merged_with_previous;
  if (name == "MergedWithNext") return Behaviour::merged_with_next;
  if (name == "Contiguous") return Behaviour::contiguous;
  throw file_error(origin, "pre_tokenizer Split: unknown behavior '" + name +
                               "' (Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                               "Contiguous)");
}

struct Range {
  size_t begin, end;
  bool is_match;
};

// The pieces of `text` for `matches` under `behaviour` (tokenizers normalizer.rs `split`).
void split_by(const std::string& text, const std::vector<std::pair<size_t, size_t>>& matches,
              Behaviour behaviour, bool invert, std::vector<std::string>& pieces) {
  std::vector<Range> ranges;
  if (text.empty()) {
    ranges.push_back({0, 0, false});
  } else {
    size_t previous = 0;
    for (const auto& [begin, end] : matches) {
      if (previous != begin) ranges.push_back({previous, begin, false});
      ranges.push_back({begin, end, true});
      previous = end;
    }
    if (previous != text.size()) ranges.push_back({previous, text.size(), false});
  }
  if (invert)
    for (Range& range : ranges) range.is_match = !range.is_match;

  std::vector<Range> kept;
  bool previous_match = false;
  switch (behaviour) {
    case Behaviour::removed:
      for (const Range& range : ranges)
        if (!range.is_match) kept.push_back(range);
      break;
    case Behaviour::isolated:
      kept = ranges;
      break;
    case Behaviour::merged_with_previous:
      for (const Range& range : ranges) {
        if (range.is_match && !previous_match && !kept.empty())
          kept.back().end = range.end;
        else
          kept.push_back(range);
        previous_match = range.is_match;
      }
      break;
    case Behaviour::merged_with_next:
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty())
          kept.back().begin = it->begin;
        else
          kept.push_back(*it);
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    case Behaviour::contiguous:
      for (const Range& range : ranges) {
        if (range.is_match == previous_match && !kept.empty())
          kept.back().end = range.end;
        else
          kept.push_back(range);
        previous_match = range.is_match;
      }
      break;
  }
  for (const Range& range : kept)
    if (range.end > range.begin)
      pieces.push_back(text.substr(range.begin, range.end - range.begin));
}

const Regex& gpt2_regex() {
  static const Regex regex(kGpt2Pattern);
  return regex;
}

}  // namespace

struct PreTokenizer::Step {
  enum class Kind { split, byte_level } kind = Kind::split;
  std::shared_ptr<const Regex> regex;  // split
  Behaviour behaviour = Behaviour::isolated;
  bool invert = false;
  bool add_prefix_space = false, use_regex = true;  // byte_level

  void apply(const std::string& piece, std::vector<std::string>& out) const {
    if (kind == Kind::split) {
      split_by(piece, regex->find_all(piece), behaviour, invert, out);
      return;
    }
    const std::string text = add_prefix_space && piece[0] != ' ' ? " " + piece : piece;
    if (!use_regex) {
      out.push_back(byte_level::encode(text));
      return;
    }
    std::vector<std::string> parts;
    split_by(text, gpt2_regex().find_all(text), Behaviour::isolated, false, parts);
    for (const std::string& part : parts) out.push_back(byte_level::encode(part));
  }
};

std::string nfc(const std::string& text) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return text;  // ASCII is always in NFC
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw Error(std::string("ICU NFC normaliser: ") + u_errorName(status));
  std::string out;
  auto normalize_run = [&](size_t begin, size_t end) {
    if (begin == end) return;
    const icu::UnicodeString run =
        icu::UnicodeString::fromUTF8(icu::StringPiece(text.data() + begin, end - begin));
    UErrorCode run_status = U_ZERO_ERROR;
    const icu::UnicodeString normalized = normalizer->normalize(run, run_status);
    if (U_FAILURE(run_status)) throw Error(std::string("ICU NFC: ") + u_errorName(run_status));
    normalized.toUTF8String(out);
  };
  size_t run_begin = 0, at = 0;
  while (at < text.size()) {
    size_t subpart = 1;
    const size_t length = utf8::sequence_length(text, at, &subpart);
    if (length) {
      at += length;
      continue;
    }
    normalize_run(run_begin, at);
    out.append(text, at, subpart);  // ill-formed bytes pass through unchanged
    at += subpart;
    run_begin = at;
  }
  normalize_run(run_begin, at);
  return out;
}

TextNormalizer TextNormalizer::from_json(const nlohmann::json& j, const std::string& origin) {
  TextNormalizer normalizer;
  if (j.is_null()) return normalizer;
  const std::string type = type_of(j, origin, "normalizer");
  if (type == "NFC") {
    normalizer.nfc_ = true;
  } else if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array())
      throw file_error(origin, "normalizer Sequence without a \"normalizers\" list");
    for (const auto& part : j["normalizers"])
      normalizer.nfc_ = from_json(part, origin).nfc_ || normalizer.nfc_;
  } else {
    throw file_error(origin, "normalizer '" + type + "' is not supported (null, NFC, Sequence)");
  }
  return normalizer;
}

std::string TextNormalizer::normalize(const std::string& text) const {
  return nfc_ ? nfc(text) : text;
}

void PreTokenizer::add_steps(const nlohmann::json& j, const std::string& origin,
                             std::vector<std::shared_ptr<const Step>>& steps) {
  const std::string type = type_of(j, origin, "pre_tokenizer");
  const std::string where = "pre_tokenizer " + type;
  auto step = std::make_shared<Step>();
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      throw file_error(origin, "pre_tokenizer Sequence without a \"pretokenizers\" list");
    for (const auto& part : j["pretokenizers"]) add_steps(part, origin, steps);
    return;
  }
  if (type == "ByteLevel") {
    step->kind = Step::Kind::byte_level;
    step->add_prefix_space = field<bool>(j, "add_prefix_space", true, origin, where);
    step->use_regex = field<bool>(j, "use_regex", true, origin, where);
  } else if (type == "Digits") {
    const bool individual = field<bool>(j, "individual_digits", false, origin, where);
    step->regex = std::make_shared<Regex>(individual ? "\\p{N}" : "\\p{N}+");
  } else if (type == "Split") {
    const nlohmann::json& pattern = j.contains("pattern") ? j["pattern"] : nlohmann::json();
    const bool is_regex = pattern.is_object() && pattern.contains("Regex");
    const bool is_string = pattern.is_object() && pattern.contains("String");
    if (!(is_regex || is_string) || !pattern[is_regex ? "Regex" : "String"].is_string())
      throw file_error(origin,
                       "pre_tokenizer Split: \"pattern\" must be {\"Regex\": ...} or "
                       "{\"String\": ...}");
    try {
      step->regex = std::make_shared<Regex>(
          pattern[is_regex ? "Regex" : "String"].get<std::string>(), is_string);
    } catch (const Error& e) {
      throw file_error(origin, std::string("pre_tokenizer Split: ") + e.what());
    }
    step->behaviour =
        parse_behaviour(field<std::string>(j, "behavior", "Isolated", origin, where), origin);
    step->invert = field<bool>(j, "invert", false, origin, where);
  } else {
    throw file_error(origin, "pre_tokenizer '" + type +
                                 "' is not supported (ByteLevel, Split, Digits, Sequence)");
  }
  steps.push_back(std::move(step));
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& j, const std::string& origin) {
  PreTokenizer pre_tokenizer;
  if (!j.is_null()) add_steps(j, origin, pre_tokenizer.steps_);
  return pre_tokenizer;
}

void PreTokenizer::split(const std::string& segment, std::vector<std::string>& pieces) const {
  if (segment.empty()) return;
  std::vector<std::string> current = {segment}, next;
  for (const auto& step : steps_) {
    next.clear();
    for (const std::string& piece : current) step->apply(piece, next);
    current.swap(next);
  }
  for (std::string& piece : current) pieces.push_back(std::move(piece));
}

}  // namespace gavamoe
