"""Times the Python formulas of the PEPLER/PETER metrics on the pairs eval_bench times.

Usage: python3 bench/eval_python_baseline.py [N]   (needs GAVAMOE_DATASETS; N defaults to 20000)
Runs tests/golden/eval_reference.py, which keeps the published quadratic USR and DIV loops.
Builds the same rows as bench/eval_bench.cpp (make_rows there) and prints the same metrics
(JSON on stderr), so the two outputs can be compared line by line. One run (the quadratic
parts take minutes).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
import eval_reference  # noqa: E402


def read_samples(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def make_rows(samples, n):
    rows = []
    s = len(samples)
    for i in range(n):
        ref = samples[i % s]
        head = samples[(7 * i) % s]["review"].split()
        tail = samples[(13 * i + 5) % s]["review"].split()
        k = i % 7 + 2
        rows.append({
            "reference": ref["review"],
            "generated": " ".join(head[:k] + tail[k:]),
            "feature": ref["feature"],
            "rating": ref["label"],
            "predicted_rating": ref["label"] + ((i * 7) % 11 - 5) * 0.45,
        })
    return rows


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    datasets = os.environ.get("GAVAMOE_DATASETS")
    if not datasets:
        sys.exit("eval_python_baseline: set GAVAMOE_DATASETS (it must hold peter_samples/)")
    samples = read_samples(os.path.join(datasets, "peter_samples", "tripadvisor_test_head.jsonl"))
    samples += read_samples(os.path.join(datasets, "peter_samples", "movies_test_head.jsonl"))
    rows = make_rows(samples, n)
    start = time.perf_counter()
    metrics = eval_reference.evaluate(rows)
    took = time.perf_counter() - start
    print("| eval | all metrics, %d pairs, Python formulas (reference) | %.0f | pairs/s |"
          % (n, n / took))
    print(json.dumps(metrics), file=sys.stderr)


if __name__ == "__main__":
    main()
