#!/usr/bin/env bash
# Attention against none at equal wall-clock budget: experiment=budget with model.kwargs.attention=null|se|cbam,
# the same seed. The budget's warm-up times each network, so a slower block buys fewer epochs or a narrower net.
#   FER2013_ROOT=/path/to/fer2013 bash bench/attention_budget.sh 10 null se cbam      # one after the other
#   FER2013_ROOT=/path/to/fer2013 bash bench/attention_budget.sh 60 null se --side-by-side
#   FER2013_ROOT=/path/to/fer2013 bash bench/attention_budget.sh 10 null cbam --seed 1   # another seed
# --side-by-side runs them at once, each pinned to its own core (taskset), for the same time in all.
# Runs land in outputs/bench/attention/<minutes>min_<attention>/ for seed 42, <...>_s<seed>/ for others
# (report.md each).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=$1; shift
kinds=(); parallel=0; seed=42
while [ $# -gt 0 ]; do
  case $1 in
    --side-by-side) parallel=1 ;;
    --seed) seed=$2; shift ;;
    *) kinds+=("$1") ;;
  esac
  shift
done
suffix=""; [ "$seed" = 42 ] || suffix=_s$seed
core=0
for kind in "${kinds[@]}"; do
  dir=outputs/bench/attention/${minutes}min_${kind}${suffix}
  [ -f "$dir/report.md" ] && { echo "skip $dir (done)"; continue; }
  cmd=(python scripts/train.py experiment=budget budget.minutes="$minutes" model.kwargs.attention="$kind" seed="$seed"
       logger=csv hydra.run.dir="$dir")
  if [ $parallel = 1 ]; then
    mkdir -p "$dir"
    OMP_NUM_THREADS=1 taskset -c $core "${cmd[@]}" >"$dir/stdout.log" 2>&1 &
    core=$((core + 1))
  else
    "${cmd[@]}"
  fi
done
wait
