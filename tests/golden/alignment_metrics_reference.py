"""Golden numbers for tests/align/test_alignment_metrics.cpp and test_explanation_judge.cpp.

Part 1 transcribes RecExplainer's metric code (src/inference.py: calculate_rank_metrics,
calculate_rec_metrics and the uid2hist coverage loop), with the v2 separator "; " and the
.strip().lower() post-processing, so the C++ numbers are checked against the original's loops
and not against themselves. Part 2 runs scikit-learn (TfidfVectorizer, Ridge,
LogisticRegression) on small inputs; without scikit-learn it prints the plain-Python TF-IDF
formula only.

Run: ~/.cache/gavamoe/venv/bin/python tests/golden/alignment_metrics_reference.py
"""

import itertools
import math


# ---- Part 1: the original's metric loops ----


def calculate_rank_metrics(preds, labels, topk=5):
    rel = [1000, 100, 10, 1, 0]
    idcg = rel[0]/math.log2(2) + rel[1]/math.log2(3) + rel[2]/math.log2(4) + rel[3]/math.log2(5) + rel[4]/math.log2(6)
    ndcgs = []
    for pred, label in zip(preds, labels):
        pred = pred[:topk]
        dcg = 0.0
        visited = set()
        for i, y in enumerate(label):
            for j, p in enumerate(pred):
                if y == p and j not in visited:
                    dcg += rel[i] / math.log2(j+2)
                    visited.add(j)
                    break
        ndcgs.append(dcg/idcg)
    return ndcgs


def calculate_rec_metrics(preds, labels, topk=5):
    hits, ndcgs = [], []
    idcg = 1.0 / math.log2(2)
    for pred, label in zip(preds, labels):
        pred = pred[:topk]
        hit = 0.0
        dcg = 0.0
        for i, item in enumerate(pred):
            if item == label:
                hit = 1.0
                dcg = 1.0 / math.log2(i+2)
                break
        ndcgs.append(dcg/idcg)
        hits.append(hit)
    return hits, ndcgs


def coverage(pred, answer):
    answer = [a.strip().lower() for a in answer]
    c = 0.0
    for item in pred.split("; ")[:len(answer)]:
        if item.strip().lower() in answer:
            c += 1/len(answer)
    return c


def rank(pred, labels):
    return calculate_rank_metrics([[p.strip().lower() for p in pred.split("; ")]],
                                  [[l.strip().lower() for l in labels]])[0]


def rank_general(pred, labels):
    """rank with IDCG over the first len(labels) rel values (the original's constant for 5)."""
    rel = [1000, 100, 10, 1, 0]
    original_idcg = sum(rel[i] / math.log2(i + 2) for i in range(5))
    idcg = sum(rel[i] / math.log2(i + 2) for i in range(len(labels)))
    return rank(pred, labels) * original_idcg / idcg


def part1():
    labels = ["Alpha (1990)", "Beta", "Gamma", "Delta", "Epsilon"]
    cases = [
        "alpha (1990); beta; gamma; delta; epsilon",
        "epsilon; delta; gamma; beta; alpha (1990)",
        "ALPHA (1990); x; y",
        " Beta ; alpha (1990); alpha (1990); gamma; delta; epsilon",
        "",
        "alpha (1990); alpha (1990); alpha (1990); alpha (1990); alpha (1990)",
        "beta; gamma; delta; epsilon; alpha (1990)",
        "alpha (1990), beta, gamma, delta, epsilon",
        "x;gamma; beta",
        "delta; ; beta; ",
    ]
    rel = [1000, 100, 10, 1, 0]
    print("// IDCG of five labels: %.17g" % sum(rel[i] / math.log2(i + 2) for i in range(5)))
    print("// rank_ndcg, labels", labels)
    for c in cases:
        print('  {"%s", %.17g},' % (c, rank(c, labels)))
    short = ["Xi", "Omicron"]
    print("// rank_ndcg, labels", short, "(IDCG over the first 2 rel values)")
    for c in ["omicron; xi", "xi", "omicron"]:
        print('  {"%s", %.17g},' % (c, rank_general(c, short)))

    perms = list(itertools.permutations(labels))
    mean = sum(rank("; ".join(p), labels) for p in perms) / len(perms)
    print("// random_rank_ndcg(5), mean over %d permutations: %.17g" % (len(perms), mean))
    for n in range(1, 5):
        sub = labels[:n]
        ps = list(itertools.permutations(sub))
        print("// random_rank_ndcg(%d): %.17g" % (n, sum(rank_general("; ".join(p), sub) for p in ps) / len(ps)))

    history = ["Toy Story (1995)", "Heat (1995)", "Fargo (1996)"]
    print("// history_coverage, history", history)
    for c in ["toy story (1995); fargo (1996)",
              "Fargo (1996); fargo (1996); fargo (1996); heat (1995)",
              "", "heat (1995);fargo (1996)", " HEAT (1995) ; x; toy story (1995)"]:
        print('  {"%s", %.17g},' % (c, coverage(c, history)))
    seven = ["a", "b", "c", "d", "e", "f", "g"]
    print("// history_coverage of all 7 of 7 (1/7 accumulated): %.17g" % coverage("; ".join(seven), seven))

    beams = ["x", " Toy Story (1995) ", "y", "z", "w"]
    hits, ndcgs = calculate_rec_metrics([[b.strip().lower() for b in beams]], ["toy story (1995)"])
    print("// next_item_hit_ndcg: hit %.17g ndcg %.17g" % (hits[0], ndcgs[0]))
    for j in range(5):
        print("//   first match at %d: ndcg %.17g" % (j, 1 / math.log2(j + 2)))
    n = 1682
    print("// random next item, %d items: hr %.17g ndcg %.17g" % (n, 5 / n, sum(1 / math.log2(j + 2) for j in range(5)) / n))


# ---- Part 2: TF-IDF and the linear models ----

SENTENCES = [
    "The user likes Toy Story (1995) and Fargo.",
    "No, the user will not like it: the history is mostly drama.",
    "Yes! The user's history shows action, action and more ACTION.",
    "Cafe creme: 42 films, 3D effects",
    "",
]


def tfidf_plain(texts):
    import re
    docs = [re.findall(r"[a-z0-9]+", t.lower()) for t in texts]
    vocab = sorted({w for d in docs for w in d})
    n = len(docs)
    idf = {w: math.log((1 + n) / (1 + sum(w in d for d in docs))) + 1 for w in vocab}
    rows = []
    for d in docs:
        counts = {w: d.count(w) * idf[w] for w in set(d)}
        norm = math.sqrt(sum(v * v for v in counts.values()))
        rows.append({w: v / norm for w, v in counts.items()})
    return vocab, idf, rows


def part2():
    vocab, idf, rows = tfidf_plain(SENTENCES)
    try:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression, Ridge
    except ImportError:
        print("// scikit-learn missing: plain-Python TF-IDF only")
        np = None
    if np is not None:
        vec = TfidfVectorizer(lowercase=True, token_pattern=r"[a-z0-9]+", smooth_idf=True,
                              norm="l2", sublinear_tf=False)
        m = vec.fit_transform(SENTENCES).toarray()
        names = list(vec.get_feature_names_out())
        assert names == vocab, (names, vocab)
        for i, r in enumerate(rows):
            for j, w in enumerate(names):
                assert abs(m[i, j] - r.get(w, 0.0)) < 1e-15
        print("// sklearn TfidfVectorizer matches the plain formula")
    print("// vocabulary (%d):" % len(vocab), " ".join(vocab))
    print("// idf:")
    print("  " + ", ".join("%.17g" % idf[w] for w in vocab))
    print("// rows as {row, term, value}:")
    for i, r in enumerate(rows):
        for w in sorted(r):
            print('  {%d, "%s", %.17g},' % (i, w, r[w]))
    if np is None:
        return

    # Ridge, primal case (n > d) and dual case (n < d)
    x1 = np.array([[1, 0, 2], [0, 1, 1], [3, 1, 0], [1, 1, 1], [0, 0, 1], [2, 3, 1]], float)
    y1 = np.array([1.5, -0.5, 2.0, 0.25, -1.0, 3.0])
    x2 = np.array([[1, 0, 2, 0, 1], [0, 1, 1, 0, 0], [3, 1, 0, 2, 0]], float)
    y2 = np.array([0.5, -1.5, 2.25])
    for name, x, y, alpha in [("primal", x1, y1, 0.5), ("dual", x2, y2, 0.75)]:
        r = Ridge(alpha=alpha, fit_intercept=True, solver="cholesky").fit(x, y)
        print("// ridge %s alpha %g: coef %s intercept %.17g" % (
            name, alpha, ", ".join("%.17g" % c for c in r.coef_), r.intercept_))

    # Multinomial logistic regression, C = 1 (overlapping classes, so the optimum is inside)
    x3 = np.array([[0, 0], [1, 0], [0, 1], [2, 2], [3, 2], [2, 3], [0, 3], [1, 3], [3, 0],
                   [1, 1], [2, 1]], float)
    y3 = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1])
    lr = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(x3, y3)
    p = lr.predict_proba(np.array([[0, 0], [2, 2], [1, 3], [1.5, 0.5]], float))
    print("// logistic C=1 probabilities of (0,0) (2,2) (1,3) (1.5,0.5):")
    for row in p:
        print("  {" + ", ".join("%.17g" % v for v in row) + "},")
    print("// coef", lr.coef_.tolist(), "intercept", lr.intercept_.tolist())


# ---- Part 3: the judge prompt (preprocess/eval_explan.py, eval_data_gen, verbatim) ----

TEMPLATE = "Please act as an impartial judge and evaluate the AI assistant's recommendation decision as well as decision explanation based on the user's purchase history, target item, and ground truth label. Assign a score according to the following four levels:\n \
    A. <score>A</score>: Incorrect classification - The assistant failed to generate a correct recommendation decision.\n \
    B. <score>B</score>: Correct classification, insufficient explanation - The assistant correctly classified the recommendation but provided no, few, or irrelevant explanations, or provided explanations with hallucination, some of which do not conform to the actual situation.\n \
    C. <score>C</score>: Correct classification, acceptable explanation - The assistant correctly classified the recommendation and provided an explanation that is logically consistent and aligns with the user's history and target item, but has minor imperfections such as lack of persuasiveness or informativeness.\n \
    D. <score>D</score>: Correct classification, satisfying explanation - The assistant correctly classified the recommendation and provided a satisfactory explanation, including a summary of the user's historical behavior patterns and characteristics, as well as a thorough analysis of the consistency or inconsistency between user preferences and the target item.\n \
    Please give your score in the form of <score>label</score>, for example: if the score is C, output <score>C</score>. Do not allow the length of the explanation to influence your evaluation. Be as objective as possible.\n \
    Known information: User history: {0}, Target item: {1}, Label: {2}. Assistant's output: {3}"


def fnv1a64(text):
    h = 0xcbf29ce484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def part3():
    prompt = TEMPLATE.format(", ".join(["Toy Story (1995)", "Fargo (1996)"]), "Heat (1995)", "Yes",
                             "Yes. The user likes crime films.")
    print("// judge prompt: %d bytes, FNV-1a 64 0x%016x" % (len(prompt.encode("utf-8")), fnv1a64(prompt)))


if __name__ == "__main__":
    part1()
    part2()
    part3()
