// Explanation judging: the Yes/No decision rule on the forms explainers write, the A grade, the
// judge prompt and reply reading, title grounding against a brute-force search, TF-IDF, ridge
// and logistic regression against scikit-learn, and the discriminator protocol on synthetic
// explainers. Golden numbers: printed by `~/.cache/gavamoe/venv/bin/python
// tests/golden/alignment_metrics_reference.py` (part 2: scikit-learn 1.9.1; part 3: the
// original's template string).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "gavamoe/align/alignment_metrics.hpp"
#include "gavamoe/align/explanation_judge.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using D = ExplanationDecision;
using Strings = std::vector<std::string>;

TEST(ExplanationJudge, DecisionAtTheStart) {
  const std::vector<std::pair<std::string, D>> cases = {
      {"Yes, the user will like it.", D::yes},
      {"No. The user prefers comedies.", D::no},
      {"  **Yes**\n\nThe user ...", D::yes},
      {"**Answer:** No, because", D::no},
      {"Answer: Yes", D::yes},
      {"answer : YES!", D::yes},
      {"Final answer: no", D::no},
      {"**Decision**:\n\nYes. Because", D::yes},
      {"# Recommendation: No", D::no},
      {"\"Yes\" - the user", D::yes},
      {"- No, not a match", D::no},
      {"I think yes, the user would enjoy it", D::yes},
      {"Based on the history, the answer is no; the user ...", D::no},
      {"Yes/No: yes", D::yes},
      {"Not really. Yes, later.", D::none},  // the first sentence has neither
      {"Yesterday the user watched", D::none},
      {"Nobody knows\nYes", D::none},
      {"The user will like it. Yes.", D::none},
      {"Answer:\nThe user might. No.", D::none},
      {"", D::none},
      {"***", D::none},
      {"yes", D::yes},
      {"NO", D::no},
      {"No1 way", D::none},                               // "no1" is one word
      {"\xE2\x80\x9CYes\xE2\x80\x9D, the user", D::yes},  // curly quotes separate words
  };
  for (const auto& [text, decision] : cases)
    EXPECT_EQ(explanation_decision(text), decision) << '"' << text << '"';
  EXPECT_STREQ(explanation_decision_name(D::yes), "yes");
  EXPECT_STREQ(explanation_decision_name(D::no), "no");
  EXPECT_STREQ(explanation_decision_name(D::none), "none");
}

TEST(ExplanationJudge, GradeAWhenTheDecisionIsNotTheLabel) {
  EXPECT_FALSE(rule_grade_a(D::yes, true));
  EXPECT_FALSE(rule_grade_a(D::no, false));
  EXPECT_TRUE(rule_grade_a(D::no, true));
  EXPECT_TRUE(rule_grade_a(D::yes, false));
  EXPECT_TRUE(rule_grade_a(D::none, true));
  EXPECT_TRUE(rule_grade_a(D::none, false));
}

uint64_t fnv1a64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

TEST(ExplanationJudge, JudgePromptIsTheOriginalTemplate) {
  const std::string prompt = judge_prompt({"Toy Story (1995)", "Fargo (1996)"}, "Heat (1995)", true,
                                          "Yes. The user likes crime films.");
  // golden (part 3): 1720 bytes, FNV-1a 64 0x5e0350eabb8a5c76
  EXPECT_EQ(prompt.size(), 1720u);
  EXPECT_EQ(fnv1a64(prompt), 0x5e0350eabb8a5c76ull);
  EXPECT_NE(prompt.find("four levels:\n     A. <score>A</score>: Incorrect"), std::string::npos);
  const std::string tail =
      "Known information: User history: Toy Story (1995), Fargo (1996), Target item: Heat "
      "(1995), Label: Yes. Assistant's output: Yes. The user likes crime films.";
  EXPECT_EQ(prompt.substr(prompt.size() - tail.size()), tail);
  EXPECT_NE(judge_prompt({}, "t", false, "o").find("Label: No. "), std::string::npos);
}

TEST(ExplanationJudge, JudgeGrade) {
  EXPECT_EQ(judge_grade("<score>C</score>"), 'C');
  EXPECT_EQ(judge_grade("  <SCORE>a</SCORE>\n"), 'A');
  EXPECT_EQ(judge_grade("<score>D</score>."), 0);
  EXPECT_EQ(judge_grade("The score is <score>B</score>"), 0);
  EXPECT_EQ(judge_grade("<score>E</score>"), 0);
  EXPECT_EQ(judge_grade(""), 0);
  EXPECT_EQ(judge_grade("The score is <score>B</score>", true), 'B');
  EXPECT_EQ(judge_grade("<score>label</score> then <Score>d</Score> and <score>a</score>", true),
            'D');
  EXPECT_EQ(judge_grade("<score>e</score> <score>", true), 0);
}

const Strings kCatalogue = {"Toy Story (1995)",
                            "Heat (1995)",
                            "Shawshank Redemption, The (1994)",
                            "Batman (1989)",
                            "Batman Returns (1992)",
                            "Hamlet (1996)",
                            "Hamlet (1948)",
                            "Fargo (1996)",
                            "Toy Story (1995)",  // repeated title
                            "Misérables, Les (1995)",
                            "Ed (1996)",
                            "Jean de Florette (1986)",
                            "Homme et une femme, Un (1966)"};

TEST(ExplanationJudge, TitleForms) {
  TitleMatcher matcher(kCatalogue);
  EXPECT_EQ(matcher.titles(), 12u);  // the repeated title once
  EXPECT_EQ(matcher.find(" TOY STORY (1995)"), 0);
  EXPECT_EQ(matcher.find("toy story"), -1);  // a short form is not a title
  EXPECT_EQ(matcher.find("Nope (2000)"), -1);
  auto ids = [&](const std::string& text) {
    Strings found;
    for (const auto& candidates : matcher.mentions(text))
      for (int32_t id : candidates) found.push_back(matcher.title(id));
    return found;
  };
  EXPECT_EQ(ids("They loved Toy Story (1995) and toy story."), Strings({"toy story (1995)"}));
  EXPECT_EQ(ids("Fargo, Hamlet, fargo (1996), Hamlet (1996)"),
            Strings({"fargo (1996)", "hamlet (1996)", "hamlet (1948)", "hamlet (1996)"}));
  EXPECT_EQ(ids("THE SHAWSHANK REDEMPTION is great"),
            Strings({"shawshank redemption, the (1994)"}));
  EXPECT_EQ(ids("Shawshank Redemption, The (1994)!"),
            Strings({"shawshank redemption, the (1994)"}));
  EXPECT_EQ(ids("Batman Returns beats Batman."),
            Strings({"batman returns (1992)", "batman (1989)"}));
  EXPECT_EQ(ids("Watching batman returns"), Strings({"batman returns (1992)"}));
  EXPECT_EQ(ids("a theater heat wave"), Strings({"heat (1995)"}));
  EXPECT_EQ(ids("theatre heated"), Strings());
  EXPECT_EQ(ids("Hamlet"), Strings({"hamlet (1996)", "hamlet (1948)"}));
  EXPECT_EQ(ids("Hamlet (1948)"), Strings({"hamlet (1948)"}));
  EXPECT_EQ(ids("les mis\xC3\xA9rables"), Strings({"mis\xC3\xA9rables, les (1995)"}));
  EXPECT_EQ(ids("\xE2\x80\x9C"
                "Fargo\xE2\x80\x9D"),
            Strings({"fargo (1996)"}));
  EXPECT_EQ(ids("un homme et une femme"), Strings());  // "un" is not in the article list
  EXPECT_EQ(ids("Ed, educated"), Strings({"ed (1996)"}));
  TitleMatcher two_words(kCatalogue, 2);
  EXPECT_TRUE(two_words.mentions("Ed, Heat and Fargo").empty());
  EXPECT_EQ(two_words.mentions("Toy Story").size(), 1u);
}

// The brute force: every form of every title at every position, then leftmost-longest.
std::set<std::string> brute_force_mentions(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> forms;  // (form, title)
  for (const auto& raw : kCatalogue) {
    const std::string title = normalise_answer(raw);
    forms.emplace_back(title, title);
    std::string base = title;
    if (base.size() >= 8 && base[base.size() - 7] == ' ' && base[base.size() - 6] == '(') {
      base = base.substr(0, base.size() - 7);
      forms.emplace_back(base, title);
    }
    for (const std::string article : {"the", "les"})
      if (base.size() > article.size() + 2 &&
          base.compare(base.size() - article.size() - 2, std::string::npos, ", " + article) == 0)
        forms.emplace_back(article + " " + base.substr(0, base.size() - article.size() - 2), title);
  }
  std::string lowered = text;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  std::vector<std::tuple<size_t, size_t, std::string>> matches;  // begin, -length, title
  for (const auto& [form, title] : forms)
    for (size_t at = lowered.find(form); at != std::string::npos; at = lowered.find(form, at + 1)) {
      const size_t end = at + form.size();
      if ((at == 0 || !word(lowered[at - 1])) && (end == lowered.size() || !word(lowered[end])))
        matches.emplace_back(at, form.size(), title);
    }
  std::sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) < std::get<0>(b)
                                            : std::get<1>(a) > std::get<1>(b);
  });
  std::set<std::string> found;
  size_t covered = 0, chosen_begin = std::string::npos, chosen_length = 0;
  for (const auto& [begin, length, title] : matches) {
    if (begin == chosen_begin && length == chosen_length) {
      found.insert(title);  // another title of the same form
      continue;
    }
    if (begin < covered) continue;
    covered = begin + length;
    chosen_begin = begin;
    chosen_length = length;
    found.insert(title);
  }
  return found;
}

TEST(ExplanationJudge, MentionsMatchBruteForce) {
  TitleMatcher matcher(kCatalogue);
  const Strings pieces = {"toy story",
                          " (1995)",
                          "heat",
                          "batman",
                          " returns",
                          "the shawshank redemption",
                          "fargo",
                          "ed",
                          "theater",
                          ", ",
                          ". ",
                          " and ",
                          "hamlet",
                          "x",
                          "TOY",
                          " story",
                          "batmanreturns",
                          " (1989)"};
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    std::set<std::string> found;
    for (const auto& candidates : matcher.mentions(text))
      for (int32_t id : candidates) found.insert(matcher.title(id));
    EXPECT_EQ(found, brute_force_mentions(text)) << '"' << text << '"';
  }
}

TEST(ExplanationJudge, Grounding) {
  TitleMatcher matcher(kCatalogue);
  const Strings history = {"Toy Story (1995)", "Fargo (1996)", "Hamlet (1948)"};
  auto g = grounding(matcher,
                     "Yes. The user enjoyed Toy Story and Hamlet, so Heat (1995) fits; "
                     "like Batman Returns.",
                     history, "Heat (1995)");
  EXPECT_EQ(g.history_titles, 3);
  EXPECT_EQ(g.history_mentioned, 2);  // Hamlet stands for the 1948 one, in the history
  EXPECT_DOUBLE_EQ(g.history_share, 2.0 / 3);
  EXPECT_TRUE(g.target_mentioned);
  EXPECT_EQ(g.mentioned, 4);  // toy story, hamlet (1948), heat, batman returns
  EXPECT_EQ(g.hallucinated, 1);
  EXPECT_DOUBLE_EQ(g.hallucination_rate, 0.25);

  const auto none = grounding("No, not for this user.", history, "Heat (1995)", kCatalogue);
  EXPECT_EQ(none.mentioned, 0);
  EXPECT_EQ(none.hallucination_rate, 0.0);
  EXPECT_EQ(none.history_share, 0.0);
  EXPECT_FALSE(none.target_mentioned);

  const auto other_hamlet = grounding(matcher, "Hamlet", {"Fargo (1996)"}, "Heat (1995)");
  EXPECT_EQ(other_hamlet.mentioned, 1);  // one title for the ambiguous short form
  EXPECT_EQ(other_hamlet.hallucinated, 1);
  const auto repeated = grounding(matcher, "x", {"Fargo (1996)", "fargo (1996)"}, "Heat (1995)");
  EXPECT_EQ(repeated.history_titles, 1);
  EXPECT_THROW(grounding(matcher, "x", {"Unknown (2001)"}, "Heat (1995)"), Error);
}

TEST(ExplanationJudge, GroundingScalesToTheCatalogue) {
  // 1682 titles x 3000 texts of ~1500 bytes: one automaton pass per text.
  Strings catalogue;
  for (int k = 0; k < 1682; ++k)
    catalogue.push_back("Movie number " + std::to_string(k) + " (19" + std::to_string(k % 100) +
                        ")");
  TitleMatcher matcher(catalogue);
  std::string text;
  while (text.size() < 1500) text += "The user liked movie number 17 and movie number 1234. ";
  int64_t mentioned = 0;
  for (int k = 0; k < 3000; ++k)
    mentioned += grounding(matcher, text, {catalogue[17]}, catalogue[1234]).mentioned;
  EXPECT_EQ(mentioned, 3000 * 2);
}

TEST(ExplanationJudge, TfidfMatchesScikitLearn) {
  const Strings sentences = {"The user likes Toy Story (1995) and Fargo.",
                             "No, the user will not like it: the history is mostly drama.",
                             "Yes! The user's history shows action, action and more ACTION.",
                             "Cafe creme: 42 films, 3D effects", ""};
  TfidfVectorizer vectorizer;
  vectorizer.fit(sentences);
  // golden (part 2), sklearn TfidfVectorizer(token_pattern=r"[a-z0-9]+"), 28 terms
  const Strings vocabulary = {"1995",  "3d",      "42",    "action", "and",     "cafe", "creme",
                              "drama", "effects", "fargo", "films",  "history", "is",   "it",
                              "like",  "likes",   "more",  "mostly", "no",      "not",  "s",
                              "shows", "story",   "the",   "toy",    "user",    "will", "yes"};
  ASSERT_EQ(vectorizer.features(), vocabulary.size());
  for (size_t f = 0; f < vocabulary.size(); ++f)
    EXPECT_EQ(vectorizer.term(static_cast<int32_t>(f)), vocabulary[f]);
  const double rare = 2.09861228866811, twice = 1.6931471805599454, thrice = 1.4054651081081644;
  for (size_t f = 0; f < vocabulary.size(); ++f) {
    const std::string& t = vocabulary[f];
    const double idf = t == "the" || t == "user"      ? thrice
                       : t == "and" || t == "history" ? twice
                                                      : rare;
    EXPECT_NEAR(vectorizer.idf(static_cast<int32_t>(f)), idf, 1e-15) << t;
  }
  struct Entry {
    int row;
    const char* term;
    double value;
  };
  const std::vector<Entry> golden = {
      {0, "1995", 0.39079368662348096},    {0, "and", 0.31528988573068212},
      {0, "fargo", 0.39079368662348096},   {0, "likes", 0.39079368662348096},
      {0, "story", 0.39079368662348096},   {0, "the", 0.26171908645728925},
      {0, "toy", 0.39079368662348096},     {0, "user", 0.26171908645728925},
      {1, "drama", 0.30298183285776287},   {1, "history", 0.24444383502089281},
      {1, "is", 0.30298183285776287},      {1, "it", 0.30298183285776287},
      {1, "like", 0.30298183285776287},    {1, "mostly", 0.30298183285776287},
      {1, "no", 0.30298183285776287},      {1, "not", 0.30298183285776287},
      {1, "the", 0.40582092916505302},     {1, "user", 0.20291046458252651},
      {1, "will", 0.30298183285776287},    {2, "action", 0.76951263245505519},
      {2, "and", 0.20694598220640142},     {2, "history", 0.20694598220640142},
      {2, "more", 0.25650421081835173},    {2, "s", 0.25650421081835173},
      {2, "shows", 0.25650421081835173},   {2, "the", 0.17178385942684596},
      {2, "user", 0.17178385942684596},    {2, "yes", 0.25650421081835173},
      {3, "3d", 0.40824829046386296},      {3, "42", 0.40824829046386296},
      {3, "cafe", 0.40824829046386296},    {3, "creme", 0.40824829046386296},
      {3, "effects", 0.40824829046386296}, {3, "films", 0.40824829046386296},
  };
  const auto rows = vectorizer.transform(sentences);
  std::vector<size_t> seen(rows.size(), 0);
  for (const auto& e : golden) {
    const int32_t f = vectorizer.feature(e.term);
    ASSERT_GE(f, 0) << e.term;
    const auto& row = rows[e.row];
    auto it = std::find_if(row.begin(), row.end(), [&](const auto& p) { return p.first == f; });
    ASSERT_NE(it, row.end()) << e.row << " " << e.term;
    EXPECT_NEAR(it->second, e.value, 1e-15) << e.row << " " << e.term;
    ++seen[e.row];
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].size(), seen[r]) << r;
    EXPECT_TRUE(std::is_sorted(rows[r].begin(), rows[r].end()));
  }
  EXPECT_TRUE(rows[4].empty());
  EXPECT_TRUE(vectorizer.transform("unseen words only").empty());
  EXPECT_EQ(vectorizer.feature("zzz"), -1);
  EXPECT_EQ(tfidf_tokens("It's 3D-Action_x!"), Strings({"it", "s", "3d", "action", "x"}));
}

std::vector<SparseRow> dense_rows(const std::vector<std::vector<double>>& x) {
  std::vector<SparseRow> rows;
  for (const auto& r : x) {
    SparseRow row;
    for (size_t f = 0; f < r.size(); ++f)
      if (r[f] != 0) row.emplace_back(static_cast<int32_t>(f), r[f]);
    rows.push_back(row);
  }
  return rows;
}

TEST(ExplanationJudge, RidgeMatchesScikitLearn) {
  // golden (part 2): sklearn Ridge(alpha, fit_intercept=True, solver="cholesky")
  RidgeRegression primal;  // 6 rows, 3 features
  primal.fit(dense_rows({{1, 0, 2}, {0, 1, 1}, {3, 1, 0}, {1, 1, 1}, {0, 0, 1}, {2, 3, 1}}),
             {1.5, -0.5, 2.0, 0.25, -1.0, 3.0}, 3, {0.5});
  const double primal_coef[3] = {1.0756360619469021, 0.48091814159292057, 0.8528761061946899};
  for (size_t f = 0; f < 3; ++f) EXPECT_NEAR(primal.weight(f), primal_coef[f], 1e-12);
  EXPECT_NEAR(primal.intercept(), -1.7137029867256626, 1e-12);

  RidgeRegression dual;  // 3 rows, 5 features
  dual.fit(dense_rows({{1, 0, 2, 0, 1}, {0, 1, 1, 0, 0}, {3, 1, 0, 2, 0}}), {0.5, -1.5, 2.25}, 5,
           {0.75});
  const double dual_coef[5] = {0.85036202735317779, -0.26629123089300083, 0.071600965406275224,
                               0.38938053097345138, 0.26629123089300089};
  for (size_t f = 0; f < 5; ++f) EXPECT_NEAR(dual.weight(f), dual_coef[f], 1e-12);
  EXPECT_NEAR(dual.intercept(), -0.95957361222847926, 1e-12);
  EXPECT_NEAR(dual.predict({{0, 1.0}, {3, 2.0}}),
              -0.95957361222847926 + 0.85036202735317779 + 2 * 0.38938053097345138, 1e-12);
}

// The primal closed form by Gauss-Jordan elimination, for random sparse data.
std::vector<double> closed_form_ridge(const std::vector<SparseRow>& x, const std::vector<double>& y,
                                      size_t d, double alpha, double& intercept) {
  const size_t n = x.size();
  std::vector<std::vector<double>> dense(n, std::vector<double>(d, 0.0));
  for (size_t i = 0; i < n; ++i)
    for (const auto& [f, v] : x[i]) dense[i][f] = v;
  std::vector<double> mean(d, 0.0);
  double mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t f = 0; f < d; ++f) mean[f] += dense[i][f] / n;
    mean_y += y[i] / n;
  }
  std::vector<std::vector<double>> a(d, std::vector<double>(d + 1, 0.0));
  for (size_t f = 0; f < d; ++f) {
    for (size_t g = 0; g < d; ++g)
      for (size_t i = 0; i < n; ++i) a[f][g] += (dense[i][f] - mean[f]) * (dense[i][g] - mean[g]);
    a[f][f] += alpha;
    for (size_t i = 0; i < n; ++i) a[f][d] += (dense[i][f] - mean[f]) * (y[i] - mean_y);
  }
  for (size_t c = 0; c < d; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < d; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    std::swap(a[c], a[pivot]);
    for (size_t r = 0; r < d; ++r) {
      if (r == c) continue;
      const double factor = a[r][c] / a[c][c];
      for (size_t k = c; k <= d; ++k) a[r][k] -= factor * a[c][k];
    }
  }
  std::vector<double> w(d);
  intercept = mean_y;
  for (size_t f = 0; f < d; ++f) {
    w[f] = a[f][d] / a[f][f];
    intercept -= mean[f] * w[f];
  }
  return w;
}

TEST(ExplanationJudge, RidgeBothFormsMatchTheClosedForm) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> value(-1, 1);
  for (const auto& [n, d] : {std::pair<size_t, size_t>{40, 9}, {7, 30}, {12, 12}}) {
    std::vector<SparseRow> x(n);
    std::vector<double> y(n);
    for (size_t i = 0; i < n; ++i) {
      for (size_t f = 0; f < d; ++f)
        if (rng() % 3 == 0) x[i].emplace_back(static_cast<int32_t>(f), value(rng));
      y[i] = value(rng) * 3;
    }
    RidgeRegression ridge;
    ridge.fit(x, y, d, {0.3});
    double intercept = 0;
    const auto w = closed_form_ridge(x, y, d, 0.3, intercept);
    for (size_t f = 0; f < d; ++f) EXPECT_NEAR(ridge.weight(f), w[f], 1e-10) << n << " " << f;
    EXPECT_NEAR(ridge.intercept(), intercept, 1e-10) << n;
  }
  RidgeRegression ridge;
  EXPECT_THROW(ridge.fit({}, {}, 3), Error);
  EXPECT_THROW(ridge.fit({{{5, 1.0}}}, {1.0}, 3), Error);
}

TEST(ExplanationJudge, LogisticMatchesScikitLearn) {
  // golden (part 2): sklearn LogisticRegression(C=1) (multinomial, lbfgs, tol 1e-12)
  const auto x = dense_rows(
      {{0, 0}, {1, 0}, {0, 1}, {2, 2}, {3, 2}, {2, 3}, {0, 3}, {1, 3}, {3, 0}, {1, 1}, {2, 1}});
  const std::vector<int> y = {0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1};
  LogisticRegression model;
  model.fit(x, y, 3, 2, {1.0, 100000, 1e-10});
  const std::vector<std::vector<double>> golden = {
      {0.92565631194549103, 0.011950433796047101, 0.062393254258461997},
      {0.081639475461215069, 0.58776118078696749, 0.33059934375181738},
      {0.08760961284763856, 0.448419568005129, 0.46397081914723237},
      {0.54992489080579454, 0.19884039865562966, 0.25123471053857588}};
  const auto queries = dense_rows({{0, 0}, {2, 2}, {1, 3}, {1.5, 0.5}});
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto p = model.probabilities(queries[q]);
    for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(p[c], golden[q][c], 1e-7) << q << " " << c;
  }
  EXPECT_NEAR(model.weight(0, 0), -0.8804207054724028, 1e-6);
  EXPECT_NEAR(model.intercept(0), 2.348927093782608, 1e-6);
  EXPECT_LT(model.iterations(), 100000);
  EXPECT_THROW(model.fit(x, {0, 1}, 3, 2), Error);
  EXPECT_THROW(model.fit(x, std::vector<int>(x.size(), 3), 3, 2), Error);
}

TEST(ExplanationJudge, LogisticSeparatesASeparableSet) {
  // Three classes, each with its own features (and a shared noise feature).
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> value(0.2, 1.0);
  std::vector<SparseRow> x;
  std::vector<int> y;
  for (int i = 0; i < 90; ++i) {
    const int c = i % 3;
    x.push_back({{c * 2, value(rng)}, {c * 2 + 1, value(rng)}, {6, value(rng)}});
    y.push_back(c);
  }
  LogisticRegression model;
  model.fit(x, y, 3, 7);
  int correct = 0;
  for (size_t i = 0; i < x.size(); ++i) correct += model.predict(x[i]) == y[i];
  EXPECT_EQ(correct, 90);
  LogisticRegression again;
  again.fit(x, y, 3, 7);
  for (size_t f = 0; f < 7; ++f)
    EXPECT_EQ(again.weight(1, f), model.weight(1, f));  // deterministic
}

// Three explainers with their own style words; the score is carried by "great" / "poor".
std::vector<ExplainerTexts> synthetic_explainers(size_t rows) {
  const Strings style[3] = {{"pattern", "consistent", "embedding"},
                            {"certainly", "enjoy", "wonderful"},
                            {"however", "overall", "might"}};
  std::vector<ExplainerTexts> explainers(3);
  std::mt19937 rng(5);
  const char* names[3] = {"recexplainer-H", "base", "chatgpt"};
  for (int e = 0; e < 3; ++e) {
    explainers[e].name = names[e];
    for (size_t r = 0; r < rows; ++r) {
      const bool good = rng() % 2 == 0;
      std::string text = good ? "Yes, a great match" : "No, a poor match";
      text += " for the user; " + style[e][rng() % 3] + " and " + style[e][rng() % 3] + ".";
      explainers[e].texts.push_back(text);
      explainers[e].scores.push_back(good ? 2.0 : -1.0);
    }
  }
  return explainers;
}

TEST(ExplanationJudge, DiscriminatorProtocol) {
  auto explainers = synthetic_explainers(60);
  explainers[2].texts.resize(45);  // fewer rows: 40 train, 5 test
  explainers[2].scores.clear();    // and no regressor
  DiscriminatorOptions options;
  options.n_train = 40;
  options.n_test = 15;
  const auto result = run_discriminators(explainers, options);
  EXPECT_EQ(result.train_rows, std::vector<int64_t>({40, 40, 40}));
  EXPECT_EQ(result.test_rows, std::vector<int64_t>({15, 15, 5}));
  EXPECT_EQ(result.accuracy, 1.0);
  EXPECT_EQ(result.predicted,
            std::vector<std::vector<int64_t>>({{15, 0, 0}, {0, 15, 0}, {0, 0, 5}}));
  ASSERT_EQ(result.score.size(), 2u);
  for (const auto& s : result.score) {
    EXPECT_EQ(s.train_rows, 40);
    EXPECT_EQ(s.test_rows, 15);
    EXPECT_LT(s.mse, 0.2 * s.mean_mse) << s.name;
  }
  const auto json = result.to_json();
  EXPECT_EQ(json["distinction"]["accuracy"], 1.0);
  EXPECT_EQ(json["distinction"]["predicted"]["base"]["base"], 15);
  EXPECT_EQ(json["distinction"]["test_rows"]["chatgpt"], 5);
  EXPECT_TRUE(json["score"].contains("recexplainer-H"));
  EXPECT_FALSE(json["score"].contains("chatgpt"));

  // Defaults: 2000 / 500 per explainer, clipped to 60 rows -> all training, no test rows.
  EXPECT_THROW(run_discriminators(synthetic_explainers(60)), Error);
  EXPECT_THROW(run_discriminators({synthetic_explainers(60)[0]}, options), Error);
  auto bad = synthetic_explainers(60);
  bad[1].scores.pop_back();
  EXPECT_THROW(run_discriminators(bad, options), Error);
}

// Given features (a text encoder's) replace TF-IDF: on texts that are all the same word, TF-IDF
// has nothing to tell the explainers or the scores apart by, the features have.
TEST(ExplanationJudge, DiscriminatorsOnGivenFeatures) {
  std::vector<ExplainerTexts> explainers(2);
  for (int e = 0; e < 2; ++e) {
    explainers[e].name = e == 0 ? "hybrid" : "base";
    for (int r = 0; r < 30; ++r) {
      const double score = (r * 7 % 11) / 2.0;
      explainers[e].texts.push_back("same");
      explainers[e].scores.push_back(score);
      // Feature e marks the explainer; feature 2 carries the score.
      explainers[e].features.push_back({{e, 1.0}, {2, score}});
    }
  }
  DiscriminatorOptions options;
  options.n_train = 20;
  options.n_test = 10;
  const auto with_features = run_discriminators(explainers, options);
  EXPECT_EQ(with_features.accuracy, 1.0);
  ASSERT_EQ(with_features.score.size(), 2u);
  for (const auto& s : with_features.score) EXPECT_LT(s.mse, 0.05 * s.mean_mse) << s.name;
  for (auto& ex : explainers) ex.features.clear();
  const auto with_tfidf = run_discriminators(explainers, options);
  EXPECT_EQ(with_tfidf.accuracy, 0.5);  // every text the same: one class for all
  for (const auto& s : with_tfidf.score) EXPECT_NEAR(s.mse, s.mean_mse, 1e-9) << s.name;
  // Features for one explainer only, or one row short: one error naming the explainer.
  explainers[1].features.assign(30, {{0, 1.0}});
  EXPECT_THROW(run_discriminators(explainers, options), Error);
  explainers[0].features.assign(29, {{0, 1.0}});
  try {
    run_discriminators(explainers, options);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("\"hybrid\""), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace gavamoe
