"""Tables of the transfer and attention comparisons, from the runs' report.json files, into docs/results/.

    python -m bench.comparison_tables         # after bench/transfer.sh and bench/attention_budget.sh

Writes docs/results/transfer/README.md and docs/results/attention/README.md (the tables and the machine)
and copies each run's report.md beside them.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from pathlib import Path

from bench.common import ROOT, cpu_name
from fer.training.precision import cpu_hardware

RUNS = ROOT / "outputs" / "bench"
DOCS = ROOT / "docs" / "results"


def report(run: Path) -> dict | None:
    path = run / "report.json"
    return json.loads(path.read_text()) if path.is_file() else None


def machine() -> str:
    return f"{os.cpu_count()} cores of an {cpu_name()} ({cpu_hardware().cpu_class})"


def keep_report(run: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("report.md", "confusion_matrix.png", "curves.png", "class_activation.png"):
        if (run / name).is_file():
            shutil.copy2(run / name, dest / name)


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def transfer_table() -> str:
    base = RUNS / "transfer"
    lines = ["| faces per class | start | seeds | PublicTest, each seed | mean | macro-F1 mean | surprise F1 mean |",
             "|---|---|---|---|---:|---:|---:|"]
    starts = {"finetune": "pretrained without surprise, fine-tuned (`experiment=finetune init_from=...`)",
              "scratch": "from scratch, the same recipe (`init_from=null`)",
              "scratch40": "from scratch, `experiment=fast_cpu trainer.max_epochs=40`"}
    for n in (100, 300):
        for start, words in starts.items():
            reps = [(s, report(base / f"few{n}_{start}_s{s}")) for s in (1, 2, 3)]
            reps = [(s, r) for s, r in reps if r]
            if not reps:
                continue
            accs = [r["accuracy"] for _, r in reps]
            f1s = [r["macro_f1"] for _, r in reps]
            new_class = [r["classes"]["surprise"]["f1"] for _, r in reps]  # the class the source never saw
            lines.append(f"| {n} | {words} | {len(reps)} | {' / '.join(pct(a) for a in accs)} | "
                         f"**{pct(statistics.mean(accs))}** | {pct(statistics.mean(f1s))} | {pct(statistics.mean(new_class))} |")
            if n == 300:  # one seed's report per start is enough to look at
                keep_report(base / f"few{n}_{start}_s{reps[0][0]}", DOCS / "transfer" / f"few{n}_{start}_s{reps[0][0]}")
    pre = report(base / "pretrain")
    if pre:
        keep_report(base / "pretrain", DOCS / "transfer" / "pretrain")
        lines.append("")
        lines.append(f"The six-class source model (`experiment=fast_cpu`, {pre['epochs']} epochs, {pre['train_time_s'] / 60:.1f} "
                     f"min): {pct(pre['accuracy'])} on PublicTest without its surprise faces.")
    return "\n".join(lines)


def attention_table() -> str:
    base = RUNS / "attention"
    lines = ["| budget | attention | seed | network chosen | epochs | wall s (training) | PublicTest | macro-F1 |",
             "|---|---|---:|---|---:|---:|---:|---:|"]
    means = []
    for minutes in (10, 60):
        for kind in ("null", "se", "cbam"):
            name = "none" if kind == "null" else kind
            runs = [(42, base / f"{minutes}min_{kind}")] + [(s, base / f"{minutes}min_{kind}_s{s}") for s in range(1, 10)]
            reps = [(s, run, r) for s, run in runs if (r := report(run))]
            for s, _, r in reps:
                kw = r["budget"]["model_kwargs"]
                lines.append(f"| {minutes} min | {name} | {s} | fastcnn-{kw['width']} | {r['epochs']} | "
                             f"{r['train_time_s']:.0f} | **{pct(r['accuracy'])}** | {pct(r['macro_f1'])} |")
            if reps:  # the seed-42 run's report and Grad-CAM grid stand for the arm
                keep_report(reps[0][1], DOCS / "attention" / reps[0][1].name)
            if len(reps) > 1:
                accs = [r["accuracy"] for _, _, r in reps]
                means.append(f"| {minutes} min | {name} | {len(reps)} | {pct(statistics.mean(accs))} | "
                             f"{pct(statistics.stdev(accs))} | {pct(min(accs))}-{pct(max(accs))} |")
    if means:
        lines += ["", "| budget | attention | seeds | PublicTest mean | standard deviation | range |",
                  "|---|---|---:|---:|---:|---|", *means]
    return "\n".join(lines)


def main() -> None:
    machine_text = machine()
    for name, table in (("transfer", transfer_table()), ("attention", attention_table())):
        dest = DOCS / name / "README.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = dest.read_text() if dest.is_file() else ""
        start, end = "<!-- table -->", "<!-- /table -->"
        block = f"{start}\nMachine: {machine_text}.\n\n{table}\n{end}"
        if start in text:
            text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text = f"{text}\n{block}\n" if text else f"# {name}\n\n{block}\n"
        dest.write_text(text)
        print(f"{dest}:\n{block}\n")


if __name__ == "__main__":
    main()
