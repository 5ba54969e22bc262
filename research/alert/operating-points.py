"""Melanoma alert of trained runs at the shipped threshold and at matched operating points.

Reads each run's saved calibrated probabilities (runs/<run>/predictions.json, HAM10000 validation and the
external ph2 + msk set; the test split is not read) and the alert threshold its shipped weights carry
(runs/<run>/best-float16/model.json). No model is run.

    python3 research/alert/operating-points.py runs/r5-mix05 runs/r8-aspect [--firing 0.40 0.51]

Prints per run: melanoma-vs-rest AUC on validation and external (rank statistic, ties counted half), the
external melanomas the shipped alert catches and how often it fires, and the melanoma recall when each run's
threshold is moved so the alert fires on the same share of images (validation and external).
"""
import argparse
import json
import os

import numpy as np

MEL = 4  # core/labels.ts CLASS_CODES: akiec, bcc, bkl, df, mel, nv, vasc


def auc(scores, positive):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = positive.sum()
    n_neg = len(positive) - n_pos
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def recall_at_firing(scores, positive, share):
    t = np.quantile(scores, 1 - share)
    return positive[scores >= t].sum() / positive.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--firing", nargs="+", type=float, default=[0.40, 0.51])
    args = ap.parse_args()
    for run in args.runs:
        p = json.load(open(os.path.join(run, "predictions.json")))
        meta = json.load(open(os.path.join(run, "best-float16", "model.json")))["userDefinedMetadata"]["dermlens"]
        t = meta["melanomaThreshold"]
        line = [os.path.basename(run.rstrip("/")), f"threshold {t:.3f}"]
        for part in ("val", "external"):
            probs = np.array(p[part]["probs"])[:, MEL]
            pos = np.array(p[part]["labels"]) == MEL
            fired = probs >= t
            line.append(
                f"{part}: AUC {auc(probs, pos):.3f}, alert {fired[pos].sum()}/{pos.sum()} ({fired[pos].mean():.3f}) "
                f"fires on {fired.mean():.2f} precision {pos[fired].mean():.3f}; "
                + ", ".join(f"recall firing on {f:.2f}: {recall_at_firing(probs, pos, f):.3f}" for f in args.firing)
            )
        print("\n  ".join(line))


if __name__ == "__main__":
    main()
