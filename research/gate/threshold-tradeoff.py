"""Issue 20: where the gate's dermoscopy threshold could sit, and what each choice costs.

Runs `dermlens classify --json` with a gated model on HAM10000 validation (the run's split.json), the external
msk images (isic-extra, never trained on) and PAD-UFES-20's validation and held-out patients (the split
`dermlens fit-gate` uses: sha256(patient_id) as a fraction, below 0.6 train, below 0.8 val, else held out), then
prints, for thresholds chosen several ways, the share of each set that would be flagged (not dermoscopic).
The shipped rule is the first row (1% of HAM10000 validation flagged).

    python3 research/gate/threshold-tradeoff.py --model extension/model --split runs/r5-mix05/split.json
"""
import argparse
import csv
import hashlib
import json
import os
import subprocess

import numpy as np

SHARED = "../shared"


def classify(model, files):
    out = subprocess.run(
        ["node", "bin/dermlens.js", "classify", "--model", model, "--json", *files],
        check=True, capture_output=True, text=True,
    ).stdout
    scores = {}
    for line in out.splitlines():
        if line.startswith("{"):
            o = json.loads(line)
            if o.get("dermoscopyScore") is not None:
                scores[o["file"]] = o["dermoscopyScore"]
    missing = len(files) - len(scores)
    if missing:
        raise SystemExit(f"{missing} of {len(files)} images got no dermoscopy score (is {model} a gated model?)")
    return np.array([scores[f] for f in files])


def pad_part(patient_id):
    f = int(hashlib.sha256(patient_id.encode()).hexdigest()[:8], 16) / 2**32
    return "train" if f < 0.6 else "val" if f < 0.8 else "heldout"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", required=True)
    args = ap.parse_args()
    val_ids = json.load(open(args.split))["val"]
    ham = classify(args.model, [f"{SHARED}/ham10000/images/{i}.jpg" for i in val_ids])
    extra = [r for r in csv.DictReader(open(f"{SHARED}/isic-extra/labels.csv")) if r["dataset"] == "msk"]
    msk = classify(args.model, [f"{SHARED}/isic-extra/images/{r['image_id']}.jpg" for r in extra])
    pad = list(csv.DictReader(open(f"{SHARED}/pad-ufes-20/metadata.csv")))
    photos = {p: [f"{SHARED}/pad-ufes-20/images/{os.path.splitext(r['img_id'])[0]}.jpg" for r in pad if pad_part(r["patient_id"]) == p] for p in ("val", "heldout")}
    pad_val, pad_held = classify(args.model, photos["val"]), classify(args.model, photos["heldout"])
    print(f"images: HAM10000 val {len(ham)}, msk {len(msk)}, PAD val {len(pad_val)}, PAD held out {len(pad_held)}")
    both = np.concatenate([ham, msk])
    rows = [
        ("1% of HAM10000 val (shipped rule)", np.quantile(ham, 0.01)),
        ("2% of HAM10000 val", np.quantile(ham, 0.02)),
        ("3% of HAM10000 val", np.quantile(ham, 0.03)),
        ("2% of HAM10000 val + msk", np.quantile(both, 0.02)),
        ("3% of msk", np.quantile(msk, 0.03)),
    ]
    print("| threshold chosen at | P(dermoscopic) | HAM10000 val flagged | msk flagged | PAD val flagged | PAD held out flagged |")
    print("|---|---|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {np.mean(ham < t):.1%} | {np.mean(msk < t):.1%} | {np.mean(pad_val < t):.1%} | {np.mean(pad_held < t):.1%} |")


if __name__ == "__main__":
    main()
