// Amazon 5-core reviews -> explanation records (see amazon_import.hpp for the method).
//
// Three passes over the parsed reviews: split every review into clauses and words; count, for
// each candidate feature term (word or bigram), the clauses where it sits near an opinion word
// and how often it follows a determiner or an opinion adjective (the noun test that replaces
// a part-of-speech tagger); then pick per review the clause with the closest (feature, opinion)
// pair. Ties go to the earlier clause and position, so the output depends only on the input.
#include "gavamoe/data/amazon_import.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/normalised_text.hpp"
#include "gavamoe/data/opinion_lexicon.hpp"
#include "gavamoe/text/utf8.hpp"

namespace gavamoe {
namespace {

// Function words, review verbs and generic nouns that never make a feature.
const char* const kStopWords[] = {
    "a",          "about",      "above",      "actually",   "after",       "again",
    "against",    "all",        "almost",     "also",       "although",    "always",
    "am",         "among",      "an",         "and",        "another",     "any",
    "anyone",     "anything",   "anyway",     "are",        "around",      "as",
    "at",         "away",       "back",       "be",         "because",     "been",
    "before",     "being",      "below",      "between",    "both",        "but",
    "by",         "came",       "can",        "come",       "comes",       "could",
    "did",        "do",         "does",       "doing",      "done",        "down",
    "during",     "each",       "either",     "else",       "enough",      "even",
    "ever",       "every",      "everyone",   "everything", "few",         "for",
    "from",       "further",    "get",        "gets",       "getting",     "give",
    "gives",      "go",         "goes",       "going",      "gone",        "got",
    "had",        "has",        "have",       "having",     "he",          "her",
    "here",       "hers",       "herself",    "him",        "himself",     "his",
    "how",        "however",    "i",          "if",         "in",          "into",
    "is",         "it",         "its",        "itself",     "just",        "keep",
    "keeps",      "know",       "least",      "let",        "like",        "likes",
    "little",     "lot",        "lots",       "made",       "make",        "makes",
    "making",     "many",       "may",        "maybe",      "me",          "might",
    "more",       "most",       "much",       "must",       "my",          "myself",
    "need",       "needed",     "needs",      "new",        "next",        "now",
    "of",         "off",        "often",      "old",        "on",          "once",
    "one",        "ones",       "only",       "or",         "other",       "others",
    "our",        "ours",       "out",        "over",       "own",         "part",
    "people",     "per",        "pretty",     "put",        "quite",       "rather",
    "really",     "right",      "said",       "same",       "say",         "see",
    "seem",       "seems",      "seemed",     "several",    "she",         "should",
    "since",      "so",         "some",       "someone",    "something",   "sometimes",
    "soon",       "still",      "such",       "sure",       "take",        "takes",
    "than",       "that",       "the",        "their",      "theirs",      "them",
    "themselves", "then",       "there",      "these",      "they",        "thing",
    "things",     "think",      "this",       "those",      "though",      "through",
    "thru",       "time",       "times",      "to",         "too",         "took",
    "toward",     "try",        "tried",      "two",        "under",       "until",
    "up",         "upon",       "us",         "use",        "used",        "uses",
    "using",      "very",       "via",        "want",       "wanted",      "was",
    "way",        "ways",       "we",         "well",       "went",        "were",
    "what",       "whatever",   "when",       "where",      "whether",     "which",
    "while",      "who",        "whole",      "whom",       "why",         "will",
    "with",       "within",     "work",       "worked",     "working",     "works",
    "would",      "yet",        "you",        "your",       "yours",       "yourself",
    "bit",        "bought",     "buy",        "buying",     "day",         "days",
    "first",      "found",      "guess",      "anybody",    "item",        "items",
    "kind",       "last",       "look",       "looked",     "looking",     "looks",
    "order",      "ordered",    "product",    "products",   "purchase",    "purchased",
    "review",     "reviews",    "star",       "stars",      "stuff",       "three",
    "year",       "years",      "amazon",     "lol",        "etc",         "yes",
    "yeah",       "thanks",     "thank",      "love",       "loved",       "recommend",
    "highly",     "definitely", "absolutely", "totally",    "extremely",   "fairly",
    "especially", "probably",   "certainly",  "overall",    "anyone",      "someone",
    "money",      "buck",       "bucks",      "dollar",     "dollars",     "able",
    "set",        "play",       "played",     "playing",    "plays",       "sounded",
    "sounding",   "fits",       "feels",      "felt",       "hold",        "holds",
    "stay",       "stays",      "hear",       "heard",      "hope",        "job",
    "end",        "side",       "top",        "bottom",     "front",       "lot",
    "reason",     "point",      "piece",      "pieces",     "week",        "weeks",
    "month",      "months",     "hour",       "hours",      "minute",      "minutes",
    "far",        "long",       "short",      "big",        "small",       "high",
    "low",        "hard",       "large",      "whatever",   "wish",        "given",
    "idea",       "luck",       "boy",        "darn",       "mind",        "fact",
    "couple",     "place",      "rest",       "state",      "opinion",     "plus",
    "pros",       "cons",       "means",      "half",       "second",      "general",
    "name",       "house",      "home",       "person",     "result",      "results",
    "difference", "option",     "options",    "addition",   "alternative", "solution",
    "experience", "problem",    "problems",   "issue",      "issues",      "effort",
    "purpose",    "type",       "amount",     "penny",      "spot",        "monkey",
    "choice",     "investment", "hand",       "hands",      "feeling",
};

// Tokens before a term that mark it as a noun: determiners and possessives.
const char* const kDeterminers[] = {"a",     "an",   "the", "this", "that", "these", "those",
                                    "my",    "your", "his", "her",  "its",  "our",   "their",
                                    "every", "each", "any", "some", "no"};

// Tokens before a term that mark it as an adjective or adverb ("is cheap", "very light").
const char* const kModifierContexts[] = {
    "is",    "are",    "was",    "were",       "be",          "been",  "very",
    "so",    "too",    "quite",  "really",     "pretty",      "more",  "most",
    "less",  "rather", "fairly", "extremely",  "incredibly",  "super", "seems",
    "looks", "feels",  "sounds", "remarkably", "surprisingly"};

// Clause starters after a comma that begin a new clause.
const char* const kClauseConjunctions[] = {"but",     "and", "although", "though",
                                           "however", "yet", "so",       "while"};

// Words that end the reach of a negation looking forward to an opinion word.
bool ends_negation_scope(const std::string& word) { return word == "but" || word == "and"; }

constexpr int kNegationReach = 3;  // "not very good", "isn't all that good"
// A feature term follows a determiner or opinion adjective in at least kMinNounShare of its
// occurrences, and in less than kMaxModifierShare of them follows a copula or intensifier
// ("is cheap") or, for a bigram, ends in a verb before an opinion word ("strings sound great").
constexpr double kMinNounShare = 0.15;
constexpr double kMaxModifierShare = 0.1;

const std::unordered_set<std::string>& stop_words() {
  static const std::unordered_set<std::string> words(std::begin(kStopWords), std::end(kStopWords));
  return words;
}

bool is_determiner(const std::string& word) {
  static const std::unordered_set<std::string> words(std::begin(kDeterminers),
                                                     std::end(kDeterminers));
  return words.count(word) > 0;
}

bool is_modifier_context(const std::string& word) {
  static const std::unordered_set<std::string> words(std::begin(kModifierContexts),
                                                     std::end(kModifierContexts));
  return words.count(word) > 0;
}

bool ends_with(const std::string& word, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return word.size() >= n && word.compare(word.size() - n, n, suffix) == 0;
}

// A word that may be part of a feature term.
bool is_feature_word(const std::string& word) {
  if (word.size() < 3 || stop_words().count(word) || opinion_polarity(word) != 0 ||
      is_negation(word))
    return false;
  // Numbers, model codes ("3.5mm" is split already) and contractions are not features.
  if (std::any_of(word.begin(), word.end(), [](char c) { return c == '\''; })) return false;
  // Adverbs ("slightly", "incredibly"), but not nouns like "supply" or "assembly".
  if (ends_with(word, "ly") && !ends_with(word, "ply") && !ends_with(word, "mbly")) return false;
  return std::any_of(word.begin(), word.end(), [](unsigned char c) { return std::isalpha(c); }) &&
         !std::isdigit(static_cast<unsigned char>(word[0]));
}

// The UTF-8 "general punctuation" block (U+2000..U+206F, lead bytes E2 80 / E2 81) holds
// dashes, quotes and spaces; U+2019 and U+2018 are apostrophes. Returns the sequence length.
size_t general_punctuation_length(const std::string& text, size_t i, bool* apostrophe) {
  if (i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xE2 &&
      (static_cast<unsigned char>(text[i + 1]) == 0x80 ||
       static_cast<unsigned char>(text[i + 1]) == 0x81)) {
    const unsigned char last = static_cast<unsigned char>(text[i + 2]);
    *apostrophe = static_cast<unsigned char>(text[i + 1]) == 0x80 && (last == 0x98 || last == 0x99);
    return 3;
  }
  return 0;
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

std::string lowercase_ascii(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The clause as an explanation: lowercase, single spaces, no bullets or commas at the ends.
std::string explanation_text(const std::string& clause) {
  const std::string text = normalised_text(clause);
  const char* const kEdge = " ,-*";
  const size_t begin = text.find_first_not_of(kEdge);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(kEdge) - begin + 1);
}

// The dumps keep some HTML entities ("&#34;", "&amp;"); their ';' must not end a sentence.
std::string decode_html_entities(const std::string& text) {
  static const std::pair<const char*, uint32_t> kNamed[] = {
      {"quot", '"'}, {"amp", '&'}, {"apos", '\''}, {"lt", '<'}, {"gt", '>'}, {"nbsp", ' '}};
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t end = text[i] == '&' ? text.find(';', i) : std::string::npos;
    if (end == std::string::npos || end - i > 8) {
      out += text[i];
      continue;
    }
    const std::string name = text.substr(i + 1, end - i - 1);
    uint32_t code = 0;
    bool known = false;
    if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string digits = name.substr(hex ? 2 : 1);
      known = !digits.empty() && std::all_of(digits.begin(), digits.end(), [&](char c) {
        return hex ? std::isxdigit(static_cast<unsigned char>(c))
                   : std::isdigit(static_cast<unsigned char>(c));
      });
      if (known) code = static_cast<uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10));
      known = known && code > 0 && code < 0x110000;
    } else {
      for (const auto& [entity, value] : kNamed)
        if (name == entity) code = value, known = true;
    }
    if (!known) {
      out += text[i];
      continue;
    }
    utf8::append(out, code);
    i = end;
  }
  return out;
}

struct Clause {
  std::string text;
  std::vector<std::string> words;
};

struct Review {
  std::string user;
  std::string item;
  double rating = 0.0;
  int64_t time = 0;  // unixReviewTime; 0 when absent
  std::string text;  // normalised reviewText, the key of repeated reviews
  std::vector<Clause> clauses;
};

std::string required_string(const nlohmann::json& review, const char* key, const std::string& path,
                            int64_t line) {
  const auto found = review.find(key);
  if (found == review.end() || !found->is_string())
    throw file_error(path, "line " + std::to_string(line),
                     std::string("missing string field \"") + key + "\"");
  return found->get<std::string>();
}

std::vector<Review> parse_reviews(const std::string& path) {
  const std::string text = read_maybe_gzipped(path);
  std::vector<Review> reviews;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json review = nlohmann::json::parse(line, nullptr, false);
    if (!review.is_object())
      throw file_error(path, "line " + std::to_string(line_number), "not a JSON object");
    Review parsed;
    parsed.user = required_string(review, "reviewerID", path, line_number);
    parsed.item = required_string(review, "asin", path, line_number);
    const auto overall = review.find("overall");
    if (overall == review.end() || !overall->is_number() || overall->get<double>() < 1.0 ||
        overall->get<double>() > 5.0)
      throw file_error(path, "line " + std::to_string(line_number),
                       "\"overall\" must be a number from 1 to 5");
    parsed.rating = overall->get<double>();
    const auto time = review.find("unixReviewTime");
    if (time != review.end() && time->is_number_integer()) parsed.time = time->get<int64_t>();
    const auto body = review.find("reviewText");
    if (body != review.end() && body->is_string()) {
      parsed.text = normalised_text(body->get<std::string>());
      for (std::string& clause : split_clauses(decode_html_entities(body->get<std::string>()))) {
        Clause c{std::move(clause), {}};
        c.words = tokenize_words(c.text);
        if (!c.words.empty()) parsed.clauses.push_back(std::move(c));
      }
    }
    reviews.push_back(std::move(parsed));
  }
  return reviews;
}

// Amazon's dumps repeat one review under several product variants (same reviewer, same text,
// other asin) and sometimes the same (reviewer, asin) twice. Keeps, in order of
// (unixReviewTime, file position), the first review of each (user, item) and of each
// (user, normalised text); the kept reviews stay in file order.
std::vector<Review> deduplicate_reviews(std::vector<Review> reviews, AmazonImport& result) {
  std::vector<size_t> order(reviews.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return reviews[a].time < reviews[b].time; });
  std::set<std::pair<std::string, std::string>> pairs, texts;
  std::vector<bool> keep(reviews.size(), false);
  for (size_t i : order) {
    const Review& review = reviews[i];
    if (!pairs.insert({review.user, review.item}).second) {
      ++result.duplicate_pairs;
    } else if (!review.text.empty() && !texts.insert({review.user, review.text}).second) {
      ++result.duplicate_texts;
    } else {
      keep[i] = true;
    }
  }
  std::vector<Review> kept;
  for (size_t i = 0; i < reviews.size(); ++i)
    if (keep[i]) kept.push_back(std::move(reviews[i]));
  return kept;
}

std::vector<int> opinion_positions(const std::vector<std::string>& words) {
  std::vector<int> positions;
  for (size_t i = 0; i < words.size(); ++i)
    if (opinion_polarity(words[i]) != 0) positions.push_back(static_cast<int>(i));
  return positions;
}

// Words strictly between the span [first, last] and position `other`.
int gap(int first, int last, int other) {
  return other > last ? other - last - 1 : first - other - 1;
}

bool near_opinion(int first, int last, const std::vector<int>& opinions, int max_distance) {
  return std::any_of(opinions.begin(), opinions.end(), [&](int o) {
    return (o < first || o > last) && gap(first, last, o) <= max_distance;
  });
}

struct TermStats {
  int64_t near_opinion_clauses = 0;
  int64_t occurrences = 0;
  int64_t noun_contexts = 0;      // after a determiner or an opinion adjective
  int64_t modifier_contexts = 0;  // after a copula or intensifier, or before an opinion word
};

std::vector<std::string> mine_features(const std::vector<Review>& reviews,
                                       const AmazonImportOptions& options) {
  std::unordered_map<std::string, TermStats> stats;
  for (const Review& review : reviews) {
    for (const Clause& clause : review.clauses) {
      const auto& words = clause.words;
      const std::vector<int> opinions = opinion_positions(words);
      std::unordered_set<std::string> counted;  // count a term once per clause
      const auto visit = [&](const std::string& term, int first, int last) {
        TermStats& s = stats[term];
        ++s.occurrences;
        if (first > 0 &&
            (is_determiner(words[first - 1]) || opinion_polarity(words[first - 1]) != 0))
          ++s.noun_contexts;
        if ((first > 0 && is_modifier_context(words[first - 1])) ||
            (last > first && last + 1 < static_cast<int>(words.size()) &&
             opinion_polarity(words[last + 1]) != 0))
          ++s.modifier_contexts;
        if (near_opinion(first, last, opinions, options.max_distance) &&
            counted.insert(term).second)
          ++s.near_opinion_clauses;
      };
      for (size_t i = 0; i < words.size(); ++i) {
        if (!is_feature_word(words[i])) continue;
        const int p = static_cast<int>(i);
        visit(words[i], p, p);
        if (i + 1 < words.size() && is_feature_word(words[i + 1]))
          visit(words[i] + " " + words[i + 1], p, p + 1);
      }
    }
  }
  std::vector<std::string> features;
  for (const auto& [term, s] : stats)
    if (s.near_opinion_clauses >= options.min_feature_count &&
        s.noun_contexts >= kMinNounShare * static_cast<double>(s.occurrences) &&
        s.modifier_contexts < kMaxModifierShare * static_cast<double>(s.occurrences))
      features.push_back(term);
  std::sort(features.begin(), features.end());
  return features;
}

// The closest (feature, opinion) pair of a clause; distance < 0 when there is none.
struct Pair {
  int distance = -1;
  std::string feature;
  std::string adjective;
  int sentiment = 0;
};

int sentiment_at(const std::vector<std::string>& words, int opinion) {
  int polarity = opinion_polarity(words[opinion]);
  for (int i = opinion - 1; i >= 0 && i >= opinion - kNegationReach; --i) {
    // A negation belongs to the first opinion word after it ("not as noisy, better feel").
    if (ends_negation_scope(words[i]) || opinion_polarity(words[i]) != 0) break;
    if (is_negation(words[i])) {
      polarity = -polarity;
      break;
    }
  }
  return polarity;
}

Pair closest_pair(const std::vector<std::string>& words,
                  const std::unordered_set<std::string>& features, int max_distance) {
  Pair best;
  const std::vector<int> opinions = opinion_positions(words);
  if (opinions.empty()) return best;
  for (size_t i = 0; i < words.size();) {
    // Longest match first: "pop filter" before "filter".
    int last = -1;
    std::string term;
    if (i + 1 < words.size() && features.count(words[i] + " " + words[i + 1])) {
      term = words[i] + " " + words[i + 1];
      last = static_cast<int>(i + 1);
    } else if (features.count(words[i])) {
      term = words[i];
      last = static_cast<int>(i);
    }
    if (last < 0) {
      ++i;
      continue;
    }
    const int first = static_cast<int>(i);
    for (int o : opinions) {
      if (o >= first && o <= last) continue;
      const int d = gap(first, last, o);
      if (d <= max_distance && (best.distance < 0 || d < best.distance)) {
        best = {d, term, words[o], sentiment_at(words, o)};
      }
    }
    i = static_cast<size_t>(last) + 1;
  }
  return best;
}

}  // namespace

std::vector<std::string> split_clauses(const std::string& text) {
  std::vector<std::string> sentences;
  std::string current;
  const auto flush = [&](std::vector<std::string>& out) {
    if (current.find_first_not_of(" \t") != std::string::npos) out.push_back(current);
    current.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool between_digits = c == '.' && i > 0 && i + 1 < text.size() &&
                                std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
                                std::isdigit(static_cast<unsigned char>(text[i + 1]));
    if ((c == '.' || c == '!' || c == '?' || c == ';' || c == '\n' || c == '\r') &&
        !between_digits) {
      flush(sentences);
    } else {
      current += c;
    }
  }
  flush(sentences);

  // Cut again before ", but", ", and", ...: each piece starts a clause of its own.
  std::vector<std::string> clauses;
  for (const std::string& sentence : sentences) {
    size_t start = 0;
    for (size_t comma = sentence.find(','); comma != std::string::npos;
         comma = sentence.find(',', comma + 1)) {
      const size_t word = sentence.find_first_not_of(' ', comma + 1);
      if (word == std::string::npos) break;
      for (const char* conjunction : kClauseConjunctions) {
        const size_t n = std::strlen(conjunction);
        if (lowercase_ascii(sentence.substr(word, n)) == conjunction &&
            (word + n == sentence.size() || sentence[word + n] == ' ')) {
          current = sentence.substr(start, comma - start);
          flush(clauses);
          start = word;
          break;
        }
      }
    }
    current = sentence.substr(start);
    flush(clauses);
  }
  for (std::string& clause : clauses) {
    clause.erase(0, clause.find_first_not_of(" \t"));
    clause.erase(clause.find_last_not_of(" \t") + 1);
  }
  return clauses;
}

std::vector<std::string> tokenize_words(const std::string& clause) {
  std::vector<std::string> words;
  std::string word;
  const auto flush = [&] {
    while (!word.empty() && (word.back() == '\'' || word.back() == '-')) word.pop_back();
    if (!word.empty()) words.push_back(lowercase_ascii(word));
    word.clear();
  };
  for (size_t i = 0; i < clause.size();) {
    bool apostrophe = false;
    const size_t punctuation = general_punctuation_length(clause, i, &apostrophe);
    const unsigned char c = static_cast<unsigned char>(clause[i]);
    if (punctuation > 0) {
      if (apostrophe && !word.empty()) {
        word += '\'';
      } else {
        flush();
      }
      i += punctuation;
    } else if (is_word_byte(c)) {
      word += static_cast<char>(c);
      ++i;
    } else if ((c == '\'' || c == '-') && !word.empty()) {
      word += static_cast<char>(c);
      ++i;
    } else {
      flush();
      ++i;
    }
  }
  flush();
  return words;
}

std::string read_maybe_gzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files unchanged
  if (!file) throw file_error(path, std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) text.append(buffer, n);
  int code = Z_OK;
  const std::string message = gzerror(file, &code);
  // A truncated stream ends with Z_BUF_ERROR and no negative return.
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
    gzclose(file);
    throw file_error(path, "byte " + std::to_string(text.size()), "cannot decompress: " + message);
  }
  gzclose(file);
  return text;
}

AmazonImport import_amazon_reviews(const std::string& path, const AmazonImportOptions& options) {
  if (options.min_feature_count < 1)
    throw Error("--min-feature-count must be at least 1, got " +
                std::to_string(options.min_feature_count));
  AmazonImport result;
  std::vector<Review> reviews = parse_reviews(path);
  result.reviews = static_cast<int64_t>(reviews.size());
  if (!options.keep_duplicates) reviews = deduplicate_reviews(std::move(reviews), result);
  result.features = mine_features(reviews, options);
  const std::unordered_set<std::string> features(result.features.begin(), result.features.end());
  log::info(
      "%s: %lld reviews, %lld dropped as a repeated (user, item), %lld as a repeated (user, "
      "text); %zu feature terms mined",
      path.c_str(), static_cast<long long>(result.reviews),
      static_cast<long long>(result.duplicate_pairs),
      static_cast<long long>(result.duplicate_texts), result.features.size());

  for (const Review& review : reviews) {
    Pair best;
    const Clause* best_clause = nullptr;
    for (const Clause& clause : review.clauses) {
      if (static_cast<int>(clause.words.size()) > options.max_clause_words) continue;
      const Pair pair = closest_pair(clause.words, features, options.max_distance);
      if (pair.distance >= 0 && (best.distance < 0 || pair.distance < best.distance)) {
        best = pair;
        best_clause = &clause;
      }
    }
    if (!best_clause) {
      ++result.reviews_without_record;
      continue;
    }
    Record record;
    record.user = review.user;
    record.item = review.item;
    record.rating = review.rating;
    record.feature = best.feature;
    record.adjective = best.adjective;
    record.explanation = explanation_text(best_clause->text);
    record.sentiment = best.sentiment;
    record.has_text = true;
    result.records.push_back(std::move(record));
  }
  return result;
}

}  // namespace gavamoe
