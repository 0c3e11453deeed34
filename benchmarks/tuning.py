"""CoarseToFine against KerasTuner's RandomSearch, BayesianOptimization and Hyperband at equal budgets.

Two suites:

* **synthetic** (``benchmarks/_tuning_suite.py``): five cheap objectives on the
  course's scales (a smooth bowl, a curved narrow valley, a deceptive
  two-basin objective, a noisy objective, one with conditional
  hyperparameters), each searched with 12, 30 and 60 trials from 100 seeds
  ``1000 * i + 17`` (KerasTuner draws the k-th value from ``seed + k``, so
  nearby seeds would share draws). The oracles are driven directly
  (``create_trial`` / ``update_trial`` / ``end_trial``), so a trial costs the
  oracle's own time plus microseconds; the score of a search is its regret,
  the noise-free objective at the trial it reports as best (the minimum is 0).
* **digits**: scikit-learn's digits split 60/20/20, a 64-32-10 MLP trained 3
  epochs per trial with `kerastools.Momentum`, whose learning rate
  (log-uniform in [1e-4, 1]) and beta (``1 - 10**r`` in [0.5, 0.999]) are
  searched; 12 trials (36 epochs) per search, Hyperband given 33 epochs (the
  closest its schedule comes); 10 seeds. The score is the best validation accuracy.

A *win* of CoarseToFine over random search on a seed is a strictly better
score than random search's with the same seed; a tie (the same best trial,
which happens when neither search improves on the trials they share) is not a
win, and ties are counted separately. Each row also gives the 95% Wilson
interval of the win rate: with 30 seeds it is up to +-17 points wide, with 100
up to +-10, so a row whose rate is near one half can meet or miss the criteria
by the luck of the seeds.

Each search appends one line to ``<out>/tuning_runs.jsonl`` as soon as it ends
(so a long run can be split, interrupted and continued); the tables are then
computed from that file and written to ``<out>/tuning.json``::

    python benchmarks/tuning.py                      # everything (hours on a shared 2-core machine: BayesianOptimization)
    python benchmarks/tuning.py --quick              # 3 seeds, 12 and 30 trials, 2 digits seeds: a minute or two
    python benchmarks/tuning.py --suite synthetic --tuners BayesianOptimization --budgets 30 --seeds 5
    python benchmarks/tuning.py --report             # only the tables, from the runs already recorded
"""

import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import _tuning_suite as suite  # noqa: E402

SYNTHETIC_TUNERS = ("CoarseToFine", "RandomSearch", "BayesianOptimization")
DIGITS_TUNERS = ("CoarseToFine", "RandomSearch", "BayesianOptimization", "Hyperband")
BUDGETS = (12, 30, 60)
DIGITS_TRIALS, DIGITS_EPOCHS = 12, 3


def seeds(count, offset=17):
    """``1000 * i + offset`` for ``i < count``: 17 for the reported figures; the
    defaults of `CoarseToFine` were chosen on 523 and 271."""
    return [1000 * i + offset for i in range(count)]


def record(out, entry):
    with open(out / "tuning_runs.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def load_runs(out):
    """The recorded runs, the last record of each (suite, objective, budget, tuner, seed) kept."""
    runs = {}
    path = out / "tuning_runs.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                runs[(entry["suite"], entry["objective"], entry["budget"], entry["tuner"], entry["seed"])] = entry
    return runs


# -- running ------------------------------------------------------------------


def run_synthetic(out, tuners, budgets, seed_list, objectives, options=None):
    options = options or {}
    directory = tempfile.mkdtemp(prefix="kt-tuning-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        for budget in budgets:
            for seed in seed_list:
                for name in objectives:
                    for tuner in tuners:
                        mine = options if tuner == "CoarseToFine" else {}  # the options are CoarseToFine's arguments
                        start = time.perf_counter()
                        regret, overhead, _ = suite.run(tuner, name, budget, seed, directory, **mine)
                        seconds = time.perf_counter() - start
                        entry = dict(suite="synthetic", objective=name, budget=budget, tuner=tuner, seed=seed, score=regret, overhead_s=overhead, seconds=seconds)
                        if mine:
                            entry["options"] = mine
                        record(out, entry)
                        print(f"{name:12s} {budget:3d} {tuner:21s} seed {seed:6d} regret {regret:.4f}  oracle {1000 * overhead:8.2f} ms/trial", flush=True)
                shutil.rmtree(directory, ignore_errors=True)
                os.makedirs(directory, exist_ok=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_digits(out, tuners, seed_list, trials, epochs):
    import _tuning_digits as digits

    data = digits.load()
    directory = tempfile.mkdtemp(prefix="kt-tuning-digits-")
    try:
        for seed in seed_list:
            for tuner in tuners:  # interleaved, so that load changes hit every tuner alike
                result = digits.search(tuner, seed, trials, epochs, data, directory)
                record(out, dict(suite="digits", objective="digits", budget=trials, tuner=tuner, seed=seed, **result))
                print(
                    f"digits seed {seed:6d} {tuner:21s} best val_accuracy {result['score']:.4f}  test {result['test_accuracy']:.4f}  "
                    f"{result['epochs']:3d} epochs {result['trials']:3d} trials  {result['seconds']:6.1f} s",
                    flush=True,
                )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- report -------------------------------------------------------------------


def _fmt(value, digits=3):
    return None if value is None else round(float(value), digits)


def wilson(successes, n, z=1.959964):
    """The 95% Wilson score interval of a proportion, ``(low, high)``."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At k = 0 and k = n the ends are exactly 0 and 1 (the float sum can miss by an ulp).
    return (0.0 if successes == 0 else centre - half, 1.0 if successes == n else centre + half)


def synthetic_tables(runs, budgets):
    objectives = list(suite.OBJECTIVES)
    rows, overhead_rows = [], []
    total_wins = total_seeds = 0
    checks = []
    for name in objectives:
        for budget in budgets:
            by_tuner = {t: {k[4]: e for k, e in runs.items() if k[:4] == ("synthetic", name, budget, t)} for t in SYNTHETIC_TUNERS}
            ctf, rnd, bay = (by_tuner[t] for t in SYNTHETIC_TUNERS)
            paired = sorted(set(ctf) & set(rnd))
            if not paired:
                continue
            wins = sum(ctf[s]["score"] < rnd[s]["score"] for s in paired)
            ties = sum(ctf[s]["score"] == rnd[s]["score"] for s in paired)
            total_wins += wins
            total_seeds += len(paired)
            c = [ctf[s]["score"] for s in paired]
            r = [rnd[s]["score"] for s in paired]
            b_seeds = sorted(set(bay) & set(paired))
            b = [bay[s]["score"] for s in b_seeds]
            ok = wins >= len(paired) / 2 and statistics.median(c) <= statistics.median(r) and max(c) <= max(r)
            checks.append(ok)
            rows.append(
                [
                    name,
                    budget,
                    len(paired),
                    _fmt(statistics.median(c)),
                    _fmt(statistics.median(r)),
                    _fmt(statistics.median(b)) if b else None,
                    len(b_seeds),
                    f"{wins}/{len(paired)}",
                    "{:.2f}-{:.2f}".format(*wilson(wins, len(paired))),
                    ties,
                    _fmt(max(c)),
                    _fmt(max(r)),
                    _fmt(max(b)) if b else None,
                    f"{sum(ctf[s]['score'] < bay[s]['score'] for s in b_seeds)}/{len(b_seeds)}" if b_seeds else None,
                    "yes" if ok else "no",
                ]
            )
    for budget in budgets:
        row = [budget]
        for tuner in SYNTHETIC_TUNERS:
            values = [e["overhead_s"] for k, e in runs.items() if k[0] == "synthetic" and k[2] == budget and k[3] == tuner]
            row.append(_fmt(1000 * statistics.median(values), 2) if values else None)
        overhead_rows.append(row)
    tables = [
        {
            "title": "Synthetic suite: regret of the best trial (lower is better; 0 is the optimum), per objective and budget",
            "columns": [
                "objective",
                "trials",
                "seeds",
                "median regret CoarseToFine",
                "median regret RandomSearch",
                "median regret BayesianOptimization",
                "seeds BayesianOptimization",
                "CoarseToFine wins vs random",
                "win rate, 95% interval",
                "ties vs random",
                "worst seed CoarseToFine",
                "worst seed RandomSearch",
                "worst seed BayesianOptimization",
                "CoarseToFine wins vs Bayes",
                "criteria met",
            ],
            "rows": rows,
        },
        {
            "title": "Synthetic suite: the oracle's own time per trial (median over searches, milliseconds)",
            "columns": ["trials", "CoarseToFine ms", "RandomSearch ms", "BayesianOptimization ms"],
            "rows": overhead_rows,
        },
    ]
    summary = dict(wins=total_wins, seeds=total_seeds, rows_met=sum(checks), rows=len(checks))
    return tables, summary


def digits_table(runs):
    rows = []
    by_tuner = {t: {k[4]: e for k, e in runs.items() if k[0] == "digits" and k[3] == t} for t in DIGITS_TUNERS}
    rnd = by_tuner["RandomSearch"]
    for tuner in DIGITS_TUNERS:
        mine = by_tuner[tuner]
        if not mine:
            continue
        s = sorted(mine)
        scores = [mine[x]["score"] for x in s]
        paired = [x for x in s if x in rnd]
        wins = sum(mine[x]["score"] > rnd[x]["score"] for x in paired)
        ties = sum(mine[x]["score"] == rnd[x]["score"] for x in paired)
        rows.append(
            [
                tuner,
                len(s),
                _fmt(statistics.median(scores), 4),
                _fmt(statistics.mean(scores), 4),
                _fmt(statistics.pstdev(scores), 4),
                _fmt(min(scores), 4),
                _fmt(statistics.median([mine[x]["test_accuracy"] for x in s]), 4),
                None if tuner == "RandomSearch" else f"{wins}/{len(paired)}",
                None if tuner == "RandomSearch" else ties,
                _fmt(statistics.median([mine[x]["trials"] for x in s]), 1),
                _fmt(statistics.median([mine[x]["epochs"] for x in s]), 1),
                _fmt(statistics.median([mine[x]["seconds"] for x in s]), 1),
            ]
        )
    return {
        "title": f"Digits MLP: best validation accuracy of a search ({DIGITS_TRIALS} trials of {DIGITS_EPOCHS} epochs; Hyperband: 33 epochs in 18 trials)",
        "columns": [
            "tuner",
            "seeds",
            "median best val acc",
            "mean",
            "std",
            "worst seed",
            "median test acc of the best trial",
            "wins vs random",
            "ties vs random",
            "trials",
            "epochs",
            "seconds per search",
        ],
        "rows": rows,
    }


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def versions():
    import keras
    import numpy
    import tensorflow

    import kerastools

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "kerastools": kerastools.__version__,
        "keras_tuner": __import__("keras_tuner").__version__,
    }


def print_table(table):
    print(f"\n{table['title']}")
    columns = table["columns"]
    widths = [max(len(str(c)), *(len(str(r[i])) for r in table["rows"])) if table["rows"] else len(str(c)) for i, c in enumerate(columns)]
    print("  ".join(str(c).rjust(w) for c, w in zip(columns, widths)))
    for row in table["rows"]:
        print("  ".join(str(v).rjust(w) for v, w in zip(row, widths)))


def report(out, command, budgets, notes_extra=""):
    runs = load_runs(out)
    tables, summary = synthetic_tables(runs, budgets)
    digits = digits_table(runs)
    if digits["rows"]:
        tables.append(digits)
    better = [
        f"{row[0]} at {row[1]} trials ({row[5]} against {row[3]}, {row[6]} seed{'s' if row[6] != 1 else ''})"
        for row in tables[0]["rows"]
        if row[5] is not None and row[5] < row[3]
    ]
    for row in digits["rows"]:
        ctf = next((r for r in digits["rows"] if r[0] == "CoarseToFine"), None)
        if ctf is not None and row[0] != "CoarseToFine" and row[2] > ctf[2]:
            better.append(f"{row[0]} on digits (median best validation accuracy {row[2]} against {ctf[2]}, {row[1]} seeds)")
    if better:
        notes_extra += " Better than CoarseToFine in median: " + "; ".join(better) + "."
    quick = "Quick mode (--quick): 3 seeds, fewer budgets; figures are indicative. " if "--quick" in command.split() else ""
    notes = quick + (
        f"Synthetic suite: CoarseToFine beats random search on {summary['wins']} of {summary['seeds']} (objective, budget, seed) searches "
        f"({100 * summary['wins'] / max(summary['seeds'], 1):.0f}%); {summary['rows_met']} of {summary['rows']} (objective, budget) rows meet all three "
        "criteria (wins on at least half of the seeds, median regret not worse, worst seed not worse than random search's). "
        "A win is a strictly better score on the same seed; ties are not wins. "
        "The CoarseToFine defaults were chosen on seeds 1000 * i + 523 and 1000 * i + 271 (i < 30; i < 100 for restart, explore and lone_width), "
        "not on the seeds reported here. "
        "BayesianOptimization uses KerasTuner's defaults (3 random trials per hyperparameter first: with 4 hyperparameters its first 12 "
        "trials are exactly random search's, with the conditional space's 7 its first 21); after those its oracle takes from a few "
        "hundred milliseconds to seconds per trial (table above), so it ran on fewer seeds where the column 'seeds BayesianOptimization' "
        "says so: a figure from fewer seeds than the other tuners' is a smaller sample, and one from a single seed is one search, not a median. "
        "The oracle times are comparable within a run, not across machines; the digits 'seconds per search' are the wall-clock "
        "times of the runs that recorded each tuner's searches, which may be different runs on a differently loaded machine "
        "(most of a search is training, the same for every tuner), so they are not a speed comparison." + notes_extra
    )
    result = {
        "benchmark": "tuning",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "versions": versions(),
        "tables": tables,
        "notes": notes,
    }
    for table in tables:
        print_table(table)
    print("\n" + notes)
    (out / "tuning.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'tuning.json'}")
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 seeds, 12 and 30 trials, no Bayesian search past 12 trials; 2 digits seeds of 6 trials")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results", help="folder for tuning_runs.jsonl and tuning.json")
    parser.add_argument("--suite", choices=("synthetic", "digits", "all"), default="all")
    parser.add_argument("--tuners", default=None, help="comma-separated tuners (default: all of the suite's)")
    parser.add_argument("--budgets", default=None, help="comma-separated trial budgets of the synthetic suite (default 12,30,60)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 100 synthetic, 10 digits)")
    parser.add_argument("--first-seed", type=int, default=0, help="start at the i-th seed (to continue or split a run)")
    parser.add_argument("--seed-offset", type=int, default=17, help="seeds 1000 * i + OFFSET (17: the reported figures; 523 and 271: the seeds the defaults were chosen on)")
    parser.add_argument("--options", type=json.loads, default={}, help='CoarseToFine arguments as JSON, e.g. \'{"candidates": 1}\' (synthetic suite; use another --out)')
    parser.add_argument("--objectives", default=",".join(suite.OBJECTIVES))
    parser.add_argument("--report", action="store_true", help="only write the tables from the runs recorded in --out")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "benchmarks/tuning.py", *argv])
    args.out.mkdir(parents=True, exist_ok=True)
    budgets = [int(b) for b in args.budgets.split(",")] if args.budgets else ([12, 30] if args.quick else list(BUDGETS))
    if not args.report:
        if args.suite in ("synthetic", "all"):
            tuners = args.tuners.split(",") if args.tuners else list(SYNTHETIC_TUNERS)
            count = args.seeds or (3 if args.quick else 100)
            chosen = seeds(count, args.seed_offset)[args.first_seed :]
            if args.quick and "BayesianOptimization" in tuners:
                run_synthetic(args.out, [t for t in tuners if t != "BayesianOptimization"], budgets, chosen, args.objectives.split(","), args.options)
                run_synthetic(args.out, ["BayesianOptimization"], [12], chosen, args.objectives.split(","))
            else:
                run_synthetic(args.out, tuners, budgets, chosen, args.objectives.split(","), args.options)
        if args.suite in ("digits", "all"):
            tuners = args.tuners.split(",") if args.tuners else list(DIGITS_TUNERS)
            count = args.seeds or (2 if args.quick else 10)
            trials, epochs = (6, 2) if args.quick else (DIGITS_TRIALS, DIGITS_EPOCHS)
            run_digits(args.out, tuners, seeds(count, args.seed_offset)[args.first_seed :], trials, epochs)
    extra = ""
    if args.report:
        runs = load_runs(args.out)
        counts = {}
        for key in runs:
            counts[(key[0], key[3])] = counts.get((key[0], key[3]), 0) + 1
        extra = " Tables computed from the runs recorded in tuning_runs.jsonl: " + ", ".join(
            f"{n} {suite_name} searches of {tuner}" for (suite_name, tuner), n in sorted(counts.items())
        ) + "."
    return report(args.out, command, budgets, extra)


if __name__ == "__main__":
    main()
