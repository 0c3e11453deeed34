#!/usr/bin/env bash
# One command for a machine with an accelerator: install the GPU extra, run the
# GPU-relevant tests, every example in full mode and the optimizer and layer
# benchmarks, and print one summary -- in under 8 minutes (--budget).
#
#   scripts/device_check.sh [--no-install] [--smoke] [--full-benchmarks]
#                           [--budget SECONDS] [--jobs N] [--out DIR]
#
# Without a GPU (no `nvidia-smi -L` device, or TensorFlow sees none) it says so and
# runs the same checks on the CPU. Each part runs under `timeout` within its share
# of what is left of the budget (tests 40 %, then examples 60 %, then the two
# benchmarks half each), so that a slow part leaves time to the others; a step that
# does not fit is reported as TIMEOUT or NOT RUN. The exit status is 0 only when
# every step passed. Benchmark results go to DIR/benchmarks, not benchmarks/results.
#
#   --no-install       use the Python environment as it is (PYTHON, default python3)
#   --smoke            examples in --smoke mode (seconds each): a check of the script
#   --full-benchmarks  benchmarks in full mode (default --quick: minutes, not tens)
#   --budget SECONDS   wall-clock limit for all steps together (default 480)
#   --jobs N           examples run N at a time (default 4 with a GPU, 1 without)
#   --out DIR          plots, logs, benchmark results and summary.txt (default: a new temp folder)
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
install=1 smoke=0 bench_mode=--quick budget=480 jobs="" out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --no-install) install=0 ;;
        --smoke) smoke=1 ;;
        --full-benchmarks) bench_mode="" ;;
        --budget) budget=$2; shift ;;
        --jobs) jobs=$2; shift ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "device_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$budget" in ''|*[!0-9]*) echo "device_check: --budget must be a whole number of seconds, got '$budget'" >&2; exit 2 ;; esac
out=${out:-$(mktemp -d -t kerastools-device-check.XXXXXX)}
mkdir -p "$out/logs" "$out/examples" "$out/benchmarks"
export TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg PYTHONUNBUFFERED=1
# Several processes share one GPU (examples in parallel): each takes memory as it needs it.
export TF_FORCE_GPU_ALLOW_GROWTH=true
# This checkout's kerastools, installed or not.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

start=$(date +%s)
results=()  # "status|seconds|step"
left() { echo $(( budget - ($(date +%s) - start) )); }

# step CAP NAME COMMAND...: run for at most CAP seconds (and what is left of the
# budget); record PASS, FAIL (exit code), TIMEOUT or NOT RUN.
step() {
    local cap=$1 name=$2; shift 2
    local log="$out/logs/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    local remaining; remaining=$(left)
    [ "$cap" -lt "$remaining" ] && remaining=$cap
    if [ "$remaining" -le 5 ]; then
        results+=("NOT RUN|0|$name (budget spent)"); echo "== $name: not run, the budget is spent"; return
    fi
    echo "== $name (up to ${remaining} s; log $log)"
    local t0=$(date +%s) rc
    timeout -k 10 "$remaining" "$@" >"$log" 2>&1
    rc=$?
    local secs=$(( $(date +%s) - t0 ))
    if [ $rc -eq 0 ]; then results+=("PASS|$secs|$name")
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then results+=("TIMEOUT|$secs|$name")
    else results+=("FAIL (exit $rc)|$secs|$name"); fi
    tail -n 3 "$log" | sed 's/^/   /'
    [ -z "$(tail -c 1 "$log")" ] || echo  # a log that does not end its last line
}

gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    gpu=1
    echo "GPU: $(nvidia-smi -L | head -n 1)"
else
    echo "No GPU found (nvidia-smi lists none): running the same checks on the CPU."
fi
jobs=${jobs:-$([ $gpu -eq 1 ] && echo 4 || echo 1)}

if [ $install -eq 1 ]; then
    extras=test,examples
    [ $gpu -eq 1 ] && extras=gpu,$extras
    step "$budget" "install .[$extras]" "$PY" -m pip install -q -e ".[$extras]"
fi

devices=$("$PY" -c 'import tensorflow as tf; print(len(tf.config.list_physical_devices("GPU")))' 2>/dev/null | tail -n 1)
echo "TensorFlow sees ${devices:-no} GPU(s)"
if [ $gpu -eq 1 ]; then
    step 60 "TensorFlow sees the GPU" test "${devices:-0}" -gt 0
fi
device=$([ "${devices:-0}" -gt 0 ] 2>/dev/null && echo GPU || echo CPU)

# The tests whose numerics run on the device: the components' maths and their
# training, the gradient checks, the diagnostics and saving (slot variables
# copied between device and host); end-to-end subprocess tests stay on CI.
# A share of the budget for each part, so that a slow part leaves time to the others.
step $(( $(left) * 40 / 100 )) "tests on the $device (not slow)" "$PY" -m pytest -q -p no:cacheprovider -m "not slow" \
    tests/optimizers tests/schedules tests/layers tests/initializers tests/regularizers \
    tests/gradcheck tests/diagnostics tests/saving

mode=$([ $smoke -eq 1 ] && echo --smoke || echo full)
run_example() {  # one example, its own log and status file
    local path=$1 name; name=$(basename "$path" .py)
    local flag=(); [ "$mode" = --smoke ] && flag=(--smoke)
    local t0=$(date +%s)
    "$PY" "$path" "${flag[@]}" --out "$out/examples/$name" >"$out/logs/example_$name.log" 2>&1
    echo "$? $(( $(date +%s) - t0 ))" >"$out/logs/example_$name.status"
}
export -f run_example
export PY mode out
examples_budget=$(( $(left) * 60 / 100 ))
examples_ran=0
if [ "$examples_budget" -gt 5 ]; then
    examples_ran=1
    echo "== examples ($mode mode, $jobs at a time, up to ${examples_budget} s)"
    ls examples/[0-9][0-9]_*.py | timeout -k 10 "$examples_budget" xargs -P "$jobs" -I{} bash -c 'run_example {}'
fi
for path in examples/[0-9][0-9]_*.py; do
    name=$(basename "$path" .py)
    if [ $examples_ran -eq 0 ]; then
        results+=("NOT RUN|0|example $name ($mode; budget spent)")
    elif [ -f "$out/logs/example_$name.status" ]; then
        read -r rc secs <"$out/logs/example_$name.status"
        if [ "$rc" -eq 0 ]; then results+=("PASS|$secs|example $name ($mode)")
        else results+=("FAIL (exit $rc)|$secs|example $name ($mode)"); fi
    else
        results+=("TIMEOUT|-|example $name ($mode; not finished within the budget)")
    fi
done

bench_label=$([ -n "$bench_mode" ] && echo quick || echo full)
for bench in optimizers layers; do
    # optimizers gets half of what is left, layers the rest.
    step $([ $bench = optimizers ] && echo $(( $(left) / 2 )) || left) "benchmark $bench $bench_label" "$PY" "benchmarks/$bench.py" $bench_mode --out "$out/benchmarks"
done

total=$(( $(date +%s) - start ))
{
    echo
    echo "device check summary: $device ($([ $gpu -eq 1 ] && nvidia-smi -L | head -n 1 || echo "no GPU")), $(nproc) CPUs, ${total} s of a ${budget} s budget"
    printf '%-16s %8s  %s\n' status seconds step
    for r in "${results[@]}"; do
        IFS='|' read -r status secs name <<<"$r"
        printf '%-16s %8s  %s\n' "$status" "$secs" "$name"
    done
    "$PY" - "$out/benchmarks" <<'PY'
import importlib.util, json, pathlib, sys
spec = importlib.util.spec_from_file_location("_benchmarks_common", "benchmarks/_common.py")
common = importlib.util.module_from_spec(spec)
spec.loader.exec_module(common)
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    data = json.loads(path.read_text())
    for table in data["tables"]:
        print("\n" + data["benchmark"] + ": " + common.format_table(table))
PY
    echo
    echo "plots, logs and benchmark results: $out"
} | tee "$out/summary.txt"
[ "$(grep -c -v '^PASS' <(printf '%s\n' "${results[@]}"))" -eq 0 ]
