"""Expected metrics of `gavamoe eval`, and the inputs they were computed on.

Usage:
  python3 tests/golden/make_eval_golden.py [DATASETS_DIR]
      writes tests/golden/eval_golden.json (DATASETS_DIR defaults to $GAVAMOE_DATASETS; it must
      hold peter_samples/)
  python3 tests/golden/make_eval_golden.py --write-inputs OUT_DIR DATASETS_DIR
      rebuilds the inputs of the cases made from the datasets folder: OUT_DIR/<case>.jsonl (the
      prediction rows) and OUT_DIR/<case>.options.json (feature_set, rating_range; null = unset)

Expected values come from eval_reference.py (standard library only), never from the C++ code.
Every case is a recipe applied to a list of samples ({review, feature, label}):
  shifted    generated = review of row (i+1) mod n; features and rating range from the rows
  identical  generated = reference
  perturbed  each generation a deterministic edit of its reference (punctuation runs,
             contractions, Unicode spaces, empty, truncated, ...); feature set and rating
             range given, as `--data` would
The samples are either sentences this script writes itself from templates (the synthetic_*
cases, stored with their rows) or the PETER/PEPLER sample sentences of the datasets folder
(tripadvisor_shifted, movies_identical, perturbed). Those are third-party text, so the golden
file keeps only their recipe, source files and metrics; --write-inputs rebuilds the rows with
the same code. The `edge` case (hand-made rows: empty texts, one word, no overlap) and a list
of tokenisation examples complete the file.
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_reference  # noqa: E402

TRIPADVISOR = "tripadvisor_test_head.jsonl"
MOVIES = "movies_test_head.jsonl"


# ---------------------------------------------------------------- recipes

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
        return ("\u00a0".join(words[:4]) + "\u3000caf\u00e9 \u4e2d\u6587\ttest\n"
                + " ".join(words[4:]))
    if kind == 7:
        return other
    if kind == 8:
        return "the room is clean and the staff is friendly ."
    if kind == 9:
        return " ".join(words[:2])
    if kind == 10:
        return text + " " + text
    return text.upper() + " (" + words[0] + ")" if words else "()"


def shifted(samples):
    rows = [row(s, samples[(i + 1) % len(samples)]["review"], i) for i, s in enumerate(samples)]
    return {"rows": rows, "feature_set": None, "rating_range": None}


def identical(samples):
    return {"rows": [row(s, s["review"], i) for i, s in enumerate(samples)], "feature_set": None,
            "rating_range": None}


def perturbed(samples):
    rows = [row(s, perturb(s["review"], i, samples[(i * 31 + 7) % len(samples)]["review"]), i)
            for i, s in enumerate(samples)]
    features = sorted({s["feature"] for s in samples} | {"breakfast", "pool", "plot"})
    return {"rows": rows, "feature_set": features, "rating_range": [1, 5]}


RECIPES = {"shifted": shifted, "identical": identical, "perturbed": perturbed}

# name, recipe, sample files (concatenated in this order)
DATASET_CASES = [
    ("tripadvisor_shifted", "shifted", [TRIPADVISOR]),
    ("movies_identical", "identical", [MOVIES]),
    ("perturbed", "perturbed", [TRIPADVISOR, MOVIES]),
]


def load_samples(datasets, name):
    with open(os.path.join(datasets, "peter_samples", name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def dataset_case(datasets, name, recipe, sources):
    samples = [s for source in sources for s in load_samples(datasets, source)]
    return {"name": name, "recipe": recipe, "source": sources, **RECIPES[recipe](samples)}


# ---------------------------------------------------------------- project-made samples

# Sentences in the datasets' style: lower case, tokens split by spaces ("do n't", "it 's",
# " ( ", " - "), some with a leading space and a final " .".
HOTEL_TEMPLATES = [
    "the {f} was {a}",
    "{a} {f} and {b} {g}",
    " the {f} is {a} , but the {g} is {b} .",
    "we did n't expect the {f} to be so {a}",
    "our {f} ( on the {n} floor ) was {a}",
    "it 's a {a} place with a {b} {f}",
    "i 'd come back for the {f} alone !",
    "the {f} - {a} as always - made the stay",
    "do n't book if you care about the {f}",
    "{n} nights and the {f} never stopped being {a}",
]
HOTEL_FEATURES = ["room", "staff", "breakfast", "pool", "location", "bathroom", "lobby", "view",
                  "bed", "service"]
HOTEL_UNSAID = ["wifi", "parking"]
HOTEL_WORDS = ["clean", "friendly", "spacious", "noisy", "tiny", "superb", "dated", "charming",
               "quiet", "overpriced"]
MOVIE_TEMPLATES = [
    "the {f} is {a}",
    "a {a} {f} with a {b} {g}",
    " do n't miss the {f} ; it 's {a} .",
    "i 've watched it {n} times and the {f} still feels {a}",
    "the {f} ( and the {g} ) are {b}",
    "what a {a} {f} !",
    "they 're not {a} at all ... the {f} is though",
    "you 'll forget the {f} but not the {g}",
    " a {a} film ?? the {f} says otherwise .",
    "{a} , {b} and {a} again : the {f} in one word",
]
MOVIE_FEATURES = ["plot", "acting", "soundtrack", "ending", "dialogue", "cast", "script",
                  "effects", "director", "pacing"]
MOVIE_UNSAID = ["subtitles", "runtime"]
MOVIE_WORDS = ["gripping", "slow", "clever", "dull", "moving", "bland", "brilliant", "silly",
               "dark", "forgettable"]


def synthetic_samples(templates, features, words, unsaid, count, rng):
    samples = []
    for i in range(count):
        f, g = rng.sample(features, 2)
        a, b = rng.sample(words, 2)
        text = templates[i % len(templates)].format(f=f, g=g, a=a, b=b, n=rng.randint(2, 9))
        # As in real data, some rows' feature is not in their text (and then in no text at all,
        # so that FCR is below 1).
        feature = rng.choice(unsaid) if i % 5 == 4 else f
        samples.append({"review": text, "feature": feature, "label": rng.randint(1, 5)})
    samples[-1] = dict(samples[0])  # a repeated sentence, so that USR is below 1
    return samples


def synthetic_cases():
    rng = random.Random(20240611)
    hotels = synthetic_samples(HOTEL_TEMPLATES, HOTEL_FEATURES, HOTEL_WORDS, HOTEL_UNSAID, 24, rng)
    movies = synthetic_samples(MOVIE_TEMPLATES, MOVIE_FEATURES, MOVIE_WORDS, MOVIE_UNSAID, 24, rng)
    cases = []
    for name, recipe, samples in [("synthetic_shifted", "shifted", hotels),
                                  ("synthetic_identical", "identical", movies),
                                  ("synthetic_perturbed", "perturbed", hotels + movies)]:
        cases.append({"name": name, "recipe": recipe, **RECIPES[recipe](samples)})
    return cases


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


def edge_case():
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
        rows.append({"reference": ref, "generated": gen,
                     "feature": ["room", "staff", "food"][i % 3], "rating": 1 + i % 5,
                     "predicted_rating": 0.5 + i})
    return {"name": "edge", "recipe": "hand-made", "rows": rows, "feature_set": None,
            "rating_range": None}


# ---------------------------------------------------------------- outputs

def metrics_of(case):
    feature_set = set(case["feature_set"]) if case["feature_set"] is not None else None
    rating_range = tuple(case["rating_range"]) if case["rating_range"] else None
    return eval_reference.evaluate(case["rows"], feature_set, rating_range)


def write_golden(datasets):
    cases = synthetic_cases() + [edge_case()]
    for case in cases:
        case["metrics"] = metrics_of(case)
    for name, recipe, sources in DATASET_CASES:
        case = dataset_case(datasets, name, recipe, sources)
        cases.append({"name": name, "recipe": recipe, "source": sources,
                      "metrics": metrics_of(case)})
    golden = {
        "about": "expected gavamoe eval metrics; made by tests/golden/make_eval_golden.py; "
                 "cases with a source have their rows rebuilt by its --write-inputs",
        "tokenize": [{"text": t, "tokens": eval_reference.tokenize(t)} for t in TOKENIZE_EXAMPLES],
        "cases": cases,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eval_golden.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))


def write_inputs(out_dir, datasets):
    os.makedirs(out_dir, exist_ok=True)
    for name, recipe, sources in DATASET_CASES:
        case = dataset_case(datasets, name, recipe, sources)
        with open(os.path.join(out_dir, name + ".jsonl"), "w", encoding="utf-8") as f:
            for r in case["rows"]:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        with open(os.path.join(out_dir, name + ".options.json"), "w", encoding="utf-8") as f:
            json.dump({"feature_set": case["feature_set"], "rating_range": case["rating_range"]},
                      f, ensure_ascii=False)
        print("wrote %s (%d rows)" % (os.path.join(out_dir, name + ".jsonl"), len(case["rows"])))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--write-inputs":
        if len(args) != 3:
            sys.exit("usage: make_eval_golden.py --write-inputs OUT_DIR DATASETS_DIR")
        write_inputs(args[1], args[2])
        return
    datasets = args[0] if args else os.environ.get("GAVAMOE_DATASETS")
    if not datasets:
        sys.exit("give the datasets folder as argument or set GAVAMOE_DATASETS")
    write_golden(datasets)


if __name__ == "__main__":
    main()
