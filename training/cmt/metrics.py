"""Answer metrics of the streaming-QA evaluations (SQuAD's): strict exact match after normalisation,
MAC's prefix exact match, and token F1. The TypeScript engine's src/eval/metrics.ts is a port."""
import collections
import re
import string
from collections.abc import Sequence


def normalize_answer(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(pred: str, golds: Sequence[str]) -> float:
    return float(any(normalize_answer(pred) == normalize_answer(g) for g in golds))


def prefix_exact_match(pred: str, golds: Sequence[str]) -> float:
    """MAC's EM: the prediction is cut to the gold answer's length before comparing."""
    p = normalize_answer(pred)
    return float(any(p[: len(normalize_answer(g))] == normalize_answer(g) for g in golds))


def f1_score(pred: str, golds: Sequence[str]) -> float:
    best = 0.0
    pt = normalize_answer(pred).split()
    for g in golds:
        gt = normalize_answer(g).split()
        common = collections.Counter(pt) & collections.Counter(gt)
        same = sum(common.values())
        if same == 0:
            continue
        precision, recall = same / len(pt), same / len(gt)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best
