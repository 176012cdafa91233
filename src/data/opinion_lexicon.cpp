// The opinion lexicon: curated positive and negative opinion adjectives, and negation words.
//
// Written for this project with product and service reviews in mind. Words whose polarity
// depends on the aspect ("cheap", "loud", "light", "heavy", "bright", "hard") are left out on
// purpose: a review calls a price cheap in praise and a build cheap in blame.
#include "gavamoe/data/opinion_lexicon.hpp"

#include <unordered_map>
#include <unordered_set>

namespace gavamoe {
namespace {

const char* const kPositiveWords[] = {
    "acceptable",    "accurate",     "adequate",      "adjustable", "admirable",
    "adorable",      "affordable",   "amazing",       "ample",      "attractive",
    "authentic",     "awesome",      "balanced",      "beautiful",  "best",
    "better",        "brilliant",    "capable",       "charming",   "classy",
    "clean",         "clear",        "comfortable",   "comfy",      "compact",
    "competent",     "consistent",   "convenient",    "cool",       "cozy",
    "crisp",         "decent",       "delightful",    "dependable", "detailed",
    "durable",       "easy",         "effective",     "efficient",  "elegant",
    "enjoyable",     "excellent",    "exceptional",   "exciting",   "exquisite",
    "fabulous",      "fantastic",    "fast",          "favorite",   "favourite",
    "fine",          "firm",         "flawless",      "flexible",   "fresh",
    "friendly",      "fun",          "functional",    "generous",   "genuine",
    "glad",          "gorgeous",     "great",         "handy",      "happy",
    "helpful",       "ideal",        "impeccable",    "impressive", "incredible",
    "inexpensive",   "intuitive",    "lovely",        "lush",       "magnificent",
    "marvelous",     "marvellous",   "neat",          "nice",       "outstanding",
    "perfect",       "phenomenal",   "pleasant",      "pleased",    "polished",
    "portable",      "positive",     "powerful",      "precise",    "premium",
    "pristine",      "professional", "quick",         "quiet",      "reasonable",
    "recommended",   "refreshing",   "reliable",      "remarkable", "responsive",
    "rich",          "robust",       "rugged",        "safe",       "satisfied",
    "satisfying",    "secure",       "sensational",   "sharp",      "simple",
    "sleek",         "smooth",       "snug",          "solid",      "sophisticated",
    "spacious",      "spectacular",  "speedy",        "splendid",   "stable",
    "stellar",       "sturdy",       "stunning",      "stylish",    "sublime",
    "substantial",   "superb",       "superior",      "supportive", "sweet",
    "terrific",      "thrilled",     "tidy",          "tight",      "tough",
    "tremendous",    "trustworthy",  "useful",        "valuable",   "versatile",
    "vibrant",       "warm",         "welcoming",     "wonderful",  "worth",
    "worthwhile",    "unbeatable",   "rewarding",     "spotless",   "immaculate",
    "courteous",     "attentive",    "knowledgeable", "wise",       "good",
    "clever",        "cute",         "handsome",      "strong",     "steady",
    "accommodating", "modern",       "luxurious",     "plush",      "tasty",
    "delicious",     "yummy",        "cheerful",      "exemplary",  "praiseworthy",
    "lightweight",   "seamless",     "effortless",    "gentle",     "pure",
    "true",          "rock-solid",   "well-made",     "top-notch",  "first-rate",
    "articulate",    "expressive",   "lively",        "punchy",     "full-bodied",
    "glorious",      "honest",       "legit",         "ok",         "okay",
    "nifty",         "slick",        "snappy",        "thoughtful", "tuneful",
};

const char* const kNegativeWords[] = {
    "abysmal",       "annoying",      "appalling",     "atrocious",      "awful",
    "awkward",       "bad",           "bland",         "boring",         "broken",
    "buggy",         "bulky",         "careless",      "clumsy",         "clunky",
    "confusing",     "costly",        "crackly",       "crappy",         "creaky",
    "crooked",       "crude",         "cumbersome",    "damaged",        "dead",
    "defective",     "deficient",     "difficult",     "dirty",          "disappointed",
    "disappointing", "disgusting",    "dreadful",      "dull",           "dusty",
    "faulty",        "filthy",        "flaky",         "flimsy",         "fragile",
    "frustrating",   "fuzzy",         "garbage",       "harsh",          "horrible",
    "horrendous",    "hideous",       "impossible",    "inaccurate",     "inadequate",
    "inconsistent",  "inconvenient",  "inferior",      "ineffective",    "intermittent",
    "irritating",    "junky",         "lame",          "lacking",        "lousy",
    "mediocre",      "messy",         "muddy",         "muffled",        "nasty",
    "noisy",         "overpriced",    "pathetic",      "poor",           "problematic",
    "rattly",        "ridiculous",    "rough",         "rude",           "rusty",
    "scratchy",      "shabby",        "shaky",         "shoddy",         "sloppy",
    "slow",          "sluggish",      "smelly",        "sorry",          "sticky",
    "stiff",         "subpar",        "sub-par",       "tacky",          "tedious",
    "terrible",      "thin-sounding", "tinny",         "tiresome",       "trashy",
    "troublesome",   "ugly",          "uncomfortable", "unacceptable",   "unhappy",
    "unhelpful",     "unpleasant",    "unreliable",    "unstable",       "unusable",
    "useless",       "weak",          "weird",         "wobbly",         "worse",
    "worst",         "worthless",     "wrong",         "unfortunate",    "unsatisfactory",
    "unimpressive",  "uneven",        "unresponsive",  "unbearable",     "overrated",
    "miserable",     "lackluster",    "lacklustre",    "hollow",         "grainy",
    "distorted",     "buzzy",         "brittle",       "loose",          "stale",
    "sour",          "cramped",       "crowded",       "dated",          "dingy",
    "dark-sounding", "pricey",        "outdated",      "mushy",          "noisier",
    "sharp-edged",   "jagged",        "uneasy",        "unfriendly",     "unprofessional",
    "unclean",       "unsafe",        "unsturdy",      "cheesy",         "chintzy",
    "cheapo",        "bogus",         "fake",          "questionable",   "iffy",
    "meh",           "sad",           "upset",         "angry",          "mad",
    "frustrated",    "annoyed",       "regrettable",   "inept",          "incompetent",
    "negligent",     "hazardous",     "dangerous",     "toxic",          "painful",
    "sore",          "uncomfy",       "unwieldy",      "fiddly",         "finicky",
    "temperamental", "glitchy",       "erratic",       "harsh-sounding", "shrill",
    "piercing",      "boomy",         "boxy",          "plasticky",      "tinnier",
    "muted",         "lifeless",      "sterile",
};

const char* const kNegationWords[] = {
    "not",      "no",       "never",     "neither",  "nor",     "nothing", "none",    "hardly",
    "barely",   "scarcely", "without",   "isn't",    "isnt",    "aren't",  "arent",   "wasn't",
    "wasnt",    "weren't",  "werent",    "don't",    "dont",    "doesn't", "doesnt",  "didn't",
    "didnt",    "won't",    "wont",      "wouldn't", "wouldnt", "can't",   "cant",    "cannot",
    "couldn't", "couldnt",  "shouldn't", "shouldnt", "hasn't",  "hasnt",   "haven't", "havent",
    "hadn't",   "hadnt",    "ain't",     "aint",     "nowhere", "less",
};

const std::unordered_map<std::string, int>& lexicon() {
  static const std::unordered_map<std::string, int> words = [] {
    std::unordered_map<std::string, int> map;
    for (const char* word : kPositiveWords) map[word] = 1;
    for (const char* word : kNegativeWords) map[word] = -1;
    return map;
  }();
  return words;
}

}  // namespace

int opinion_polarity(const std::string& word) {
  const auto found = lexicon().find(word);
  return found == lexicon().end() ? 0 : found->second;
}

bool is_negation(const std::string& word) {
  static const std::unordered_set<std::string> words(std::begin(kNegationWords),
                                                     std::end(kNegationWords));
  return words.count(word) > 0;
}

int opinion_word_count(int polarity) {
  int count = 0;
  for (const auto& [word, value] : lexicon()) count += value == polarity;
  return count;
}

}  // namespace gavamoe
