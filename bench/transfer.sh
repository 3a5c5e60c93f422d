#!/usr/bin/env bash
# Few labels: does a model pretrained without one class, fine-tuned to all seven on N faces per class, beat the
# same network trained from scratch on the same faces? Everything scored on PublicTest (FER2013_ROOT's test/).
#   FER2013_ROOT=/path/to/fer2013 bash bench/transfer.sh            # ~20 min on 2 cores of an AMX Xeon
# Runs land in outputs/bench/transfer/<name>/ (report.md each); python -m bench.comparison_tables writes the table.
set -euo pipefail
cd "$(dirname "$0")/.."
out=outputs/bench/transfer
data=$out/data
[ -d "$data" ] || python -m bench.transfer_folders --out "$data" --leave-out surprise --per-class 100 300
net="model.kwargs.width=32 model.kwargs.dropout=0.3 model.kwargs.stage_dropout=0.0"
run() {  # name, overrides...
  local name=$1; shift
  [ -f "$out/$name/report.md" ] && { echo "skip $name (done)"; return; }
  python scripts/train.py data=folder "$@" hydra.run.dir="$out/$name" logger=csv
}
# 1. Six classes (no surprise) on everything but the fine-tuning pool: the fast_cpu recipe, 12 epochs.
run pretrain experiment=fast_cpu data.root="$data/pretrain"
source=$(ls "$out"/pretrain/checkpoints/best-*.ckpt | head -1)
for seed in 1 2 3; do
  for n in 300 100; do
    # 2. Fine-tuned: the new 7-class head, backbone frozen for 2 epochs, then at a tenth of the head's rate.
    run "few${n}_finetune_s$seed" experiment=finetune data.root="$data/few$n" init_from="$source" $net seed=$seed
    # 3. From scratch, the same recipe and faces (no frozen epochs: nothing to keep).
    run "few${n}_scratch_s$seed" experiment=finetune data.root="$data/few$n" init_from=null $net seed=$seed \
      finetune.freeze_epochs=0 finetune.backbone_lr_scale=1.0
    # 4. From scratch with the recipe made for it: fast_cpu's full learning rate, 40 epochs.
    run "few${n}_scratch40_s$seed" experiment=fast_cpu data.root="$data/few$n" seed=$seed trainer.max_epochs=40
  done
done
