"""Writes tests/golden/eval_golden.json: inputs and expected metrics of `gavamoe eval`.

Usage: python3 tests/golden/make_eval_golden.py [DATASETS_DIR]
(DATASETS_DIR defaults to $GAVAMOE_DATASETS; it must hold peter_samples/.)

The inputs are real explanation sentences from the PETER/PEPLER test splits, paired with each
other, and are stored in the golden file itself, so the C++ test needs no datasets folder.
Expected values come from eval_reference.py (standard library only), never from the C++ code.
Cases:
  tripadvisor_shifted  generated = review of row (i+1) mod n; features and rating range from rows
  movies_identical     generated = reference
  perturbed            both files, each generation a deterministic edit of its reference
                       (punctuation runs, contractions, Unicode spaces, empty, truncated, ...);
                       feature set and rating range given, as `--data` would
  edge                 hand-made rows: empty texts, one word, no overlap
plus a list of tokenisation examples.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_reference  # noqa: E402


def load_samples(datasets, name):
    with open(os.path.join(datasets, "peter_samples", name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def predicted_rating(i, rating):
    # Deterministic errors of up to +-2.25 stars, so that clipping to the range matters.
    return rating + ((i * 7) % 11 - 5) * 0.45


def row(sample, generated, i):
    return {
        "reference": sample["review"],
        "generated": generated,
        "feature": sample["feature"],
        "rating": sample["label"],
        "predicted_rating": predicted_rating(i, sample["label"]),
    }


def perturb(text, i, other):
    words = text.split()
    kind = i % 12
    if kind == 0:
        return text
    if kind == 1:
        return " ".join(w for j, w in enumerate(words) if j % 3 != 2)
    if kind == 2:
        return " ".join(reversed(words))
    if kind == 3:
        return "wow!!! " + text + "... really?? yes!"
    if kind == 4:
        return text.replace(" do n't", " don't") + " ; it's great:: (truly) ,, we'll see; i'm in"
    if kind == 5:
        return ""
    if kind == 6:
        return "\u00a0".join(words[:4]) + "\u3000caf\u00e9 \u4e2d\u6587\ttest\n" + " ".join(words[4:])
    if kind == 7:
        return other
    if kind == 8:
        return "the room is clean and the staff is friendly ."
    if kind == 9:
        return " ".join(words[:2])
    if kind == 10:
        return text + " " + text
    return text.upper() + " (" + words[0] + ")" if words else "()"


TOKENIZE_EXAMPLES = [
    "",
    "   ",
    "good!",
    "i don't know, it's fine... really?!",
    "wait:: what;; ok... (yes) (no)",
    "a,b:c;d.e!f?g",
    ",,,:::;;;...!!!???",
    "they're we've i'm he'd you'll",
    "can't won't isn't",
    "'s'm've n't're'd'll",
    "caf\u00e9 na\u00efve \u4e2d\u6587",
    "a\u00a0b\u2009c\u3000d\te\nf\x1cg\u200bh",
    "  leading and trailing  ",
    "((nested))",
    "...start and end...",
    "o'clock rock'n'roll",
    "we 'll see 's",
]


def edge_rows():
    texts = [
        ("", ""),
        ("the room was clean", ""),
        ("", "the room was clean"),
        ("great", "great"),
        ("great location", "terrible food"),
        ("the staff were very helpful", "the staff were very helpful and kind"),
        ("staff", "the staff staff staff"),
    ]
    rows = []
    for i, (ref, gen) in enumerate(texts):
        rows.append({"reference": ref, "generated": gen, "feature": ["room", "staff", "food"][i % 3],
                     "rating": 1 + i % 5, "predicted_rating": 0.5 + i})
    return rows


def main():
    datasets = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GAVAMOE_DATASETS")
    if not datasets:
        sys.exit("give the datasets folder as argument or set GAVAMOE_DATASETS")
    trip = load_samples(datasets, "tripadvisor_test_head.jsonl")
    movies = load_samples(datasets, "movies_test_head.jsonl")

    cases = []
    shifted = [row(s, trip[(i + 1) % len(trip)]["review"], i) for i, s in enumerate(trip)]
    cases.append({"name": "tripadvisor_shifted", "rows": shifted, "feature_set": None,
                  "rating_range": None})
    identical = [row(s, s["review"], i) for i, s in enumerate(movies)]
    cases.append({"name": "movies_identical", "rows": identical, "feature_set": None,
                  "rating_range": None})
    both = trip + movies
    perturbed = [row(s, perturb(s["review"], i, both[(i * 31 + 7) % len(both)]["review"]), i)
                 for i, s in enumerate(both)]
    features = sorted({s["feature"] for s in both} | {"breakfast", "pool", "plot"})
    cases.append({"name": "perturbed", "rows": perturbed, "feature_set": features,
                  "rating_range": [1, 5]})
    cases.append({"name": "edge", "rows": edge_rows(), "feature_set": None, "rating_range": None})

    for case in cases:
        feature_set = set(case["feature_set"]) if case["feature_set"] is not None else None
        rating_range = tuple(case["rating_range"]) if case["rating_range"] else None
        case["metrics"] = eval_reference.evaluate(case["rows"], feature_set, rating_range)

    golden = {
        "about": "expected gavamoe eval metrics; made by tests/golden/make_eval_golden.py",
        "tokenize": [{"text": t, "tokens": eval_reference.tokenize(t)} for t in TOKENIZE_EXAMPLES],
        "cases": cases,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eval_golden.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
