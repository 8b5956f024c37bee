"""How learnable is an AVE feature set? A per-second linear probe, as a ceiling-free reference for TIM.

Fits multinomial logistic regression on each 1-s segment's own features (audio vector, visual map
mean-pooled over the 7x7 positions, and both concatenated) on the train split and reports test
accuracy. TIM additionally sees the whole 10-s window, so it can beat a per-second probe.

    python bench/ave_probe.py data/ave
"""
from __future__ import annotations

import argparse

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tim_bench_plugins.ave.dataset import AVE


def split_arrays(root: str, ave: AVE, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.unique(ave._order(split))
    labels = ave.per_second_labels(rows).reshape(-1)
    with h5py.File(f"{root}/audio_feature.h5") as f:
        audio = f["avadataset"][np.sort(rows)].reshape(len(rows) * 10, -1)
    with h5py.File(f"{root}/visual_feature.h5") as f:
        visual = f["avadataset"][np.sort(rows)].mean(axis=(2, 3)).reshape(len(rows) * 10, -1)
    return audio, visual, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_root")
    args = ap.parse_args()
    ave = AVE(args.data_root)
    a_tr, v_tr, y_tr = split_arrays(args.data_root, ave, "train")
    a_te, v_te, y_te = split_arrays(args.data_root, ave, "test")
    for name, xtr, xte in (("audio", a_tr, a_te), ("visual (mean-pooled map)", v_tr, v_te),
                           ("audio + visual", np.hstack([a_tr, v_tr]), np.hstack([a_te, v_te]))):
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(max_iter=2000, C=1.0).fit(scaler.transform(xtr), y_tr)
        acc = 100 * (clf.predict(scaler.transform(xte)) == y_te).mean()
        print(f"linear probe, {name:26s}: test per-second accuracy {acc:5.1f} %  (chance {100 / 29:.1f} %)")


if __name__ == "__main__":
    main()
