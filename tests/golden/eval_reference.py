"""Reference implementation of the PEPLER/PETER explanation metrics (standard library only).

Written from the published formulas so that golden values do not come from the C++ code:
  * tokens: PEPLER's postprocessing (the regular expressions below, in this order), then
    str.split() (Python whitespace, Unicode included); no lowercasing;
  * BLEU: corpus BLEU of the TF/NMT compute_bleu (one reference per hypothesis), x100;
  * ROUGE-1/2/L: per pair on the tokens joined by " " and split on " " (so an empty text is
    one empty word), then the mean over pairs, x100; ROUGE-N on n-gram sets;
  * USR, FMR, FCR, DIV as in PEPLER's utils.py (the quadratic loops are kept on purpose: they
    are what the published code runs, and the benchmark times them);
  * Distinct-n: distinct n-grams over total n-grams of all generations.

Guards where the published code divides by zero (documented in the C++ headers too):
  * BLEU brevity penalty: no generated tokens -> bp = 0; no reference tokens -> bp = 1;
  * DIV with fewer than 2 rows -> 0; Distinct-n with no n-grams -> 0.
The mean over pairs is a plain left-to-right sum / N (numpy's pairwise sum differs from it by
rounding only, far below 1e-12 relative).
"""

import collections
import math
import re

_RULES = [
    ("'s", " 's"),
    ("'m", " 'm"),
    ("'ve", " 've"),
    ("n't", " n't"),
    ("'re", " 're"),
    ("'d", " 'd"),
    ("'ll", " 'll"),
    (r"\(", " ( "),
    (r"\)", " ) "),
    (",+", " , "),
    (":+", " , "),
    (";+", " . "),
    (r"\.+", " . "),
    ("!+", " ! "),
    (r"\?+", " ? "),
    (" +", " "),
]


def postprocess(text):
    for pattern, replacement in _RULES:
        text = re.sub(pattern, replacement, text)
    return text.strip()


def tokenize(text):
    return postprocess(text).split()


# ---------------------------------------------------------------- BLEU (TF/NMT compute_bleu)

def _ngram_counts(tokens, max_order):
    counts = collections.Counter()
    for order in range(1, max_order + 1):
        for start in range(len(tokens) - order + 1):
            counts[tuple(tokens[start:start + order])] += 1
    return counts


def corpus_bleu(references, hypotheses, max_order, smooth):
    """references, hypotheses: lists of token lists. Returns BLEU in [0, 1]."""
    matches = [0] * max_order
    possible = [0] * max_order
    ref_length = 0
    hyp_length = 0
    for ref, hyp in zip(references, hypotheses):
        ref_length += len(ref)
        hyp_length += len(hyp)
        overlap = _ngram_counts(hyp, max_order) & _ngram_counts(ref, max_order)
        for ngram, count in overlap.items():
            matches[len(ngram) - 1] += count
        for order in range(1, max_order + 1):
            if len(hyp) - order + 1 > 0:
                possible[order - 1] += len(hyp) - order + 1
    precisions = []
    for i in range(max_order):
        if smooth:
            precisions.append((matches[i] + 1.0) / (possible[i] + 1.0))
        elif possible[i] > 0:
            precisions.append(float(matches[i]) / possible[i])
        else:
            precisions.append(0.0)
    if min(precisions) > 0:
        geo_mean = math.exp(sum((1.0 / max_order) * math.log(p) for p in precisions))
    else:
        geo_mean = 0.0
    if hyp_length == 0:
        bp = 0.0
    elif ref_length == 0:
        bp = 1.0
    else:
        ratio = float(hyp_length) / ref_length
        bp = 1.0 if ratio > 1.0 else math.exp(1 - 1.0 / ratio)
    return geo_mean * bp


# ---------------------------------------------------------------- ROUGE (per pair, then mean)

def _ngram_set(words, n):
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def rouge_n(hyp_words, ref_words, n):
    hyp = _ngram_set(hyp_words, n)
    ref = _ngram_set(ref_words, n)
    common = len(hyp & ref)
    precision = common / len(hyp) if hyp else 0.0
    recall = common / len(ref) if ref else 0.0
    f = 2.0 * ((precision * recall) / (precision + recall + 1e-8))
    return f, precision, recall


def lcs_length(x, y):
    previous = [0] * (len(y) + 1)
    for xi in x:
        current = [0]
        for j, yj in enumerate(y):
            current.append(previous[j] + 1 if xi == yj else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(hyp_words, ref_words):
    lcs = lcs_length(hyp_words, ref_words)
    r = lcs / len(ref_words)
    p = lcs / len(hyp_words)
    beta = p / (r + 1e-12)
    f = ((1 + beta ** 2) * r * p) / ((r + (beta ** 2) * p) + 1e-12)
    return f, p, r


def rouge_scores(references, hypotheses):
    """Token lists in, the nine 'rouge_*/*_score' values x100 out."""
    sums = collections.defaultdict(float)
    for ref, hyp in zip(references, hypotheses):
        ref_words = " ".join(ref).split(" ")
        hyp_words = " ".join(hyp).split(" ")
        for name, (f, p, r) in (("rouge_1", rouge_n(hyp_words, ref_words, 1)),
                                ("rouge_2", rouge_n(hyp_words, ref_words, 2)),
                                ("rouge_l", rouge_l(hyp_words, ref_words))):
            sums[name + "/f_score"] += f
            sums[name + "/p_score"] += p
            sums[name + "/r_score"] += r
    return {key: value / len(references) * 100 for key, value in sums.items()}


# ---------------------------------------------------------------- explainability

def unique_sentence_ratio(sequences):
    unique = []
    for seq in sequences:
        if not any(len(seq) == len(u) and all(a == b for a, b in zip(seq, u)) for u in unique):
            unique.append(seq)
    return len(unique) / len(sequences)


def detect_features(sequences, feature_set):
    return [{token for token in seq if token in feature_set} for seq in sequences]


def feature_matching_ratio(found, features):
    return sum(1 for f_set, f in zip(found, features) if f in f_set) / len(found)


def feature_coverage_ratio(found, feature_set):
    covered = set()
    for f_set in found:
        covered |= f_set
    return len(covered) / len(feature_set)


def feature_diversity(found):
    n = len(found)
    if n < 2:
        return 0.0
    total = 0
    for i in range(n):
        for j in range(i + 1, n):
            total += len(found[i] & found[j])
    return total / (n * (n - 1) / 2)


def distinct_n(sequences, n):
    grams = set()
    total = 0
    for seq in sequences:
        for i in range(len(seq) - n + 1):
            grams.add(tuple(seq[i:i + n]))
            total += 1
    return len(grams) / total if total else 0.0


def rating_errors(pairs, low, high):
    """pairs: (rating, predicted). Returns (rmse, mae) with predictions clipped to [low, high]."""
    squared = 0.0
    absolute = 0.0
    for rating, predicted in pairs:
        predicted = min(max(predicted, low), high)
        squared += (predicted - rating) ** 2
        absolute += abs(predicted - rating)
    return math.sqrt(squared / len(pairs)), absolute / len(pairs)


# ---------------------------------------------------------------- everything at once

def evaluate(rows, feature_set=None, rating_range=None):
    """rows: dicts with reference, generated and optionally feature, rating, predicted_rating.

    feature_set defaults to the rows' features; rating_range (low, high) to the rows' ratings.
    """
    refs = [tokenize(row["reference"]) for row in rows]
    gens = [tokenize(row["generated"]) for row in rows]
    metrics = {
        "bleu_1": corpus_bleu(refs, gens, 1, False) * 100,
        "bleu_4": corpus_bleu(refs, gens, 4, False) * 100,
        "bleu_1_smooth": corpus_bleu(refs, gens, 1, True) * 100,
        "bleu_4_smooth": corpus_bleu(refs, gens, 4, True) * 100,
    }
    metrics.update(rouge_scores(refs, gens))
    metrics["usr"] = unique_sentence_ratio(gens)
    has_feature = all("feature" in row for row in rows)
    if feature_set is None and has_feature:
        feature_set = {row["feature"] for row in rows}
    if feature_set:
        found = detect_features(gens, feature_set)
        if has_feature:
            metrics["fmr"] = feature_matching_ratio(found, [row["feature"] for row in rows])
        metrics["fcr"] = feature_coverage_ratio(found, feature_set)
        metrics["div"] = feature_diversity(found)
    metrics["distinct_1"] = distinct_n(gens, 1)
    metrics["distinct_2"] = distinct_n(gens, 2)
    if all("predicted_rating" in row for row in rows):
        if rating_range is None:
            ratings = [row["rating"] for row in rows]
            rating_range = (min(ratings), max(ratings))
        pairs = [(row["rating"], row["predicted_rating"]) for row in rows]
        metrics["rmse"], metrics["mae"] = rating_errors(pairs, *rating_range)
    metrics["n"] = len(rows)
    return metrics
