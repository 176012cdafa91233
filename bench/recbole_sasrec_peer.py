#!/usr/bin/env python3
"""RecBole's SASRec on the same leave-one-out split as `gavamoe rec train --model sasrec`.

The peer for the SASRec quality and speed check (bench/rec_peer.sh). It reads gavamoe's sequence folder
(`sequential_data.txt`, written by `gavamoe data import-movielens`), so both trainers see the
same users, items and time order, and writes a RecBole atomic file from it: one row per
interaction, `user_id:token item_id:token timestamp:float` with the item's position in the
user's sequence as its timestamp (no ties, so RecBole's time order is gavamoe's). RecBole's
leave-one-out (`LS: valid_and_test`, order TO) then makes the same split as gavamoe's default
`rec.split=separate`: the last item is the test target, the one before it the validation target,
every earlier item but the first a training target (96,458 on MovieLens-100k, as gavamoe).

Protocol, set to gavamoe's `rec` defaults (UniRec's settings in RecExplainer):
- SASRec: 2 layers, hidden 256, 16 heads, FFN 512, SiLU (`swish`), max history 9, hidden
  dropout 0.4954, attention dropout 0.1872, LayerNorm eps 1e-10, N(0, 0.02) init.
- CE loss over all items (full softmax, no negative sampling), AdamW lr 3.1126e-4, weight
  decay 0, batch 2048, gradient norm clipped to 10, ReduceLROnPlateau(max, factor 0.1,
  patience 1, threshold 1e-4) stepped with validation NDCG@10 (added here: RecBole has none),
  early stopping after 6 validations without improvement (RecBole's stopping_step 5).
- Evaluation: full ranking over all items; the user's history before the target is masked
  (added here: RecBole's sequential full ranking masks only the padding id); HR@10, NDCG@10,
  MRR@10 on the test item, with the best validation checkpoint.
Known differences that remain: RecBole right-pads the history (gavamoe and UniRec left-pad, so
position embeddings are indexed differently) and runs both layers on every position (gavamoe
runs the last layer on the last position only, which gives the same output), and RecBole's
metrics break score ties by sort order (gavamoe counts ties as half).

Prints one JSON line: {"model": "recbole-sasrec", "hr@10", "ndcg@10", "mrr@10", "epochs",
"best_epoch", "seconds_per_epoch" (training only, validation excluded), ...}.

Needs RecBole 1.2.1 in the test venv (scripts/setup.sh with GAVAMOE_PEER_PYTHON=1). RecBole
wants tensorboard only for its SummaryWriter; when tensorboard is not installed a no-op writer
stands in. The numpy-1 aliases its Config relies on (np.float_, np.complex_, np.unicode_) are
restored for numpy 2.
"""
import argparse
import json
import os
import sys
import tempfile
import time
import types

# RecBole's own torch.load of its best checkpoint predates weights_only=True.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import numpy as np  # noqa: E402

# RecBole's Config sets np.float = np.float_ and the like (configurator.compatibility_settings).
for _name, _value in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_),
                      ("bool8", np.bool_)):
    if _name not in np.__dict__:
        setattr(np, _name, _value)

import torch  # noqa: E402

try:
    import torch.utils.tensorboard  # noqa: F401
except Exception:  # tensorboard is not installed: RecBole only writes scalars to it
    _tb = types.ModuleType("torch.utils.tensorboard")

    class _NullWriter:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    _tb.SummaryWriter = _NullWriter
    sys.modules["torch.utils.tensorboard"] = _tb

# Defaults: gavamoe's config section "rec" (src/core/config_defaults.cpp).
LR = 0.0003112577321994525
HIDDEN_DROPOUT = 0.4954053313841075
ATTN_DROPOUT = 0.1871672079253271


def read_sequences(folder):
    sequences = []
    path = os.path.join(folder, "sequential_data.txt")
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 4:
                sys.exit(f"{path}:{number}: a user needs at least 3 items for this split")
            sequences.append((fields[0], fields[1:]))
    return sequences


def write_atomic(sequences, root, name):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    with open(os.path.join(root, name, name + ".inter"), "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user, items in sequences:
            for position, item in enumerate(items):
                f.write(f"{user}\t{item}\t{position}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="gavamoe sequence folder (sequential_data.txt)")
    ap.add_argument("--epochs", type=int, default=100, help="at most this many epochs")
    ap.add_argument("--patience", type=int, default=6,
                    help="stop after this many validations without improvement")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--time-limit", type=float, default=0,
                    help="start no epoch after this many seconds of fitting (0: no limit); "
                         "the test uses the best validation checkpoint so far")
    ap.add_argument("--quiet", action="store_true", help="only the JSON line")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_logger, init_seed

    sequences = read_sequences(args.data)
    work = tempfile.mkdtemp(prefix="recbole-peer-")
    name = "gavamoe"
    write_atomic(sequences, work, name)
    os.chdir(work)  # RecBole writes log/ and saved/ under the working folder
    config = Config(model="SASRec", dataset=name, config_dict={
        "data_path": work,
        "checkpoint_dir": os.path.join(work, "saved"),
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 9,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "train_neg_sample_args": None, "loss_type": "CE",
        "metrics": ["Hit", "NDCG", "MRR"], "topk": [10], "valid_metric": "NDCG@10",
        "n_layers": 2, "n_heads": 16, "hidden_size": 256, "inner_size": 512,
        "hidden_dropout_prob": HIDDEN_DROPOUT, "attn_dropout_prob": ATTN_DROPOUT,
        "hidden_act": "swish", "layer_norm_eps": 1e-10, "initializer_range": 0.02,
        "learner": "adamw", "learning_rate": LR, "weight_decay": 0.0,
        "train_batch_size": args.batch_size, "eval_batch_size": 1024,
        "clip_grad_norm": {"max_norm": 10.0, "norm_type": 2},
        "epochs": args.epochs, "stopping_step": args.patience - 1, "eval_step": 1,
        "seed": args.seed, "reproducibility": True, "device": "cpu", "use_gpu": False,
        "show_progress": False, "worker": 0, "state": "WARNING" if args.quiet else "INFO",
        "user_inter_num_interval": "[0,inf)", "item_inter_num_interval": "[0,inf)",
    })
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)

    # History before each target, in RecBole's internal ids: (user, target) -> earlier items.
    uid_of = dataset.field2token_id["user_id"]
    iid_of = dataset.field2token_id["item_id"]
    before = {}
    for user, items in sequences:
        ids = [iid_of[i] for i in items]
        u = uid_of[user]
        for position in (len(ids) - 2, len(ids) - 1):
            before[(u, ids[position])] = torch.tensor(ids[:position], dtype=torch.long)

    class OutOfTime(Exception):
        pass

    class PeerTrainer(Trainer):
        def __init__(self, config, model):
            super().__init__(config, model)
            self.epoch_seconds = []
            self.valid_curve = []
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="max", factor=0.1, patience=1, threshold=1e-4)

        def _train_epoch(self, train_data, epoch_idx, loss_func=None, show_progress=False):
            start = time.perf_counter()
            if args.time_limit > 0 and start - fit_start > args.time_limit:
                raise OutOfTime()
            loss = super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
            self.epoch_seconds.append(time.perf_counter() - start)
            return loss

        def _valid_epoch(self, valid_data, show_progress=False):
            score, result = super()._valid_epoch(valid_data, show_progress)
            self.plateau.step(score)
            self.valid_curve.append(float(score))
            return score, result

        def _full_sort_batch_eval(self, batched_data):
            interaction, scores, positive_u, positive_i = super()._full_sort_batch_eval(
                batched_data)
            users = interaction["user_id"].tolist()
            for row, (u, i) in enumerate(zip(users, positive_i.tolist())):
                scores[row, before[(u, i)]] = -np.inf
            return interaction, scores, positive_u, positive_i

    init_seed(config["seed"], config["reproducibility"])
    model = SASRec(config, train_data.dataset).to(config["device"])
    trainer = PeerTrainer(config, model)
    fit_start = time.perf_counter()
    out_of_time = False
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=False,
                    verbose=not args.quiet)
    except OutOfTime:
        out_of_time = True
    best_valid = trainer.best_valid_score
    fit_seconds = time.perf_counter() - fit_start
    test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    epochs = len(trainer.epoch_seconds)
    curve = trainer.valid_curve
    best_epoch = curve.index(max(curve)) + 1 if curve else 0
    row = {
        "model": "recbole-sasrec",
        "recbole": __import__("recbole").__version__,
        "hr@10": float(test["hit@10"]),
        "ndcg@10": float(test["ndcg@10"]),
        "mrr@10": float(test["mrr@10"]),
        "best_validation_ndcg@10": float(best_valid),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "early_stopped": epochs < args.epochs and not out_of_time,
        "stopped_by_time_limit": out_of_time,
        "validation_ndcg@10": [round(v, 5) for v in curve],
        "seconds_per_epoch": sum(trainer.epoch_seconds) / max(epochs, 1),
        "epoch_seconds": [round(s, 2) for s in trainer.epoch_seconds],
        "fit_seconds": fit_seconds,
        "train_samples": len(train_data.dataset),
        "users": len(test_data.dataset),
        "items": dataset.item_num,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
