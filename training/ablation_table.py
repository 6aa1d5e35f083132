"""Print the markdown table of an ablation sweep (training/ablation-sweep.sh OUT_DIR): one row per
variant, EM / F1 of the shipped answer path on each dev split, and the last logged training NLL.
Usage: python3 training/ablation_table.py OUT_DIR"""
import json
import os
import re
import sys

VARIANTS = [("none", "full CMT"), ("no_self_matching", "no self-matching"), ("no_top_k", "no top-K"), ("alpha0", "α = 0")]


def row(out: str, name: str, label: str) -> str:
    report = os.path.join(out, name, f"ablation-{name}.json")
    if not os.path.exists(report):
        return f"| {label} | (not run) |"
    runs = json.load(open(report))["runs"]
    cells = [f"{r['variants']['cmt_plus_chunk']['em']:.1f} / {r['variants']['cmt_plus_chunk']['f1']:.1f}" for r in runs]
    log = open(os.path.join(out, name, "train.log")).read()
    steps = re.findall(r"step (\d+)/\d+ loss \S+ nll (\S+)", log)
    done = re.search(r"trained (\d+) steps in ([\d.]+) s", log)
    mean_f1 = sum(r["variants"]["cmt_plus_chunk"]["f1"] for r in runs) / len(runs)
    return (f"| {label} | " + " | ".join(cells) + f" | {mean_f1:.1f} | {steps[-1][1] if steps else '?'} | "
            + (f"{done.group(1)} / {float(done.group(2)) / 60:.0f} min" if done else "?") + " |")


def main(out: str) -> None:
    first = next((v for v, _ in VARIANTS if os.path.exists(os.path.join(out, v, f"ablation-{v}.json"))), None)
    names = [r["dataset"] for r in json.load(open(os.path.join(out, first, f"ablation-{first}.json")))["runs"]] if first else []
    print("| variant | " + " | ".join(f"{n} EM / F1" for n in names) + " | mean F1 | last logged answer NLL | steps / wall |")
    print("|---|" + "---|" * (len(names) + 3))
    for name, label in VARIANTS:
        print(row(out, name, label))


if __name__ == "__main__":
    main(sys.argv[1])
