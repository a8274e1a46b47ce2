#!/usr/bin/env bash
# hark's CUDA path on one GPU, end to end, in under 8 minutes: a 10k-clip synthetic set;
# `hark train` with CUDA and AMP in bf16 and in fp16 (2 epochs each); the same under
# `torchrun --nproc_per_node 1` (DDP, nccl, SyncBatchNorm); evaluate, predict, export; and
# CPU against GPU training clips/s in one table.
#
#   bash benchmarks/gpu_check.sh [OUT]          # on a machine with a GPU (OUT: gpu-check)
#   bash benchmarks/gpu_check.sh --dry [OUT]    # the same steps on the CPU at a tiny size
#
# Every step has its own time limit; the script stops at the first failure and names the step.
# Environment: PYTHON (default: python), HARK_GPU_CHECK_CLIPS_SPEAKERS (default 200 speakers x
# 10 words x 5 takes = 10,000 clips), HARK_GPU_CHECK_MODEL (default bcresnet-3).
set -euo pipefail

DRY=0
if [[ "${1:-}" == "--dry" ]]; then DRY=1; shift; fi
OUT="${1:-gpu-check}"
PY="${PYTHON:-python}"
MODEL="${HARK_GPU_CHECK_MODEL:-bcresnet-3}"
WORDS="yes,no,up,down,left,right,on,off,stop,go"
if (( DRY )); then
  DEVICE=cpu; SPEAKERS=4; UTTERANCES=2; EPOCHS=1; BATCH=16; CPU_EPOCHS=1; LIMIT=300
else
  DEVICE=cuda; SPEAKERS="${HARK_GPU_CHECK_CLIPS_SPEAKERS:-200}"; UTTERANCES=5; EPOCHS=2; BATCH=256; CPU_EPOCHS=1; LIMIT=150
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
export HARK_CACHE_DIR="$OUT/cache"
LOG="$OUT/gpu_check.log"
: > "$LOG"
hark() { "$PY" -m hark.cli "$@"; }
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log it, stop on failure
  local name="$1" seconds="$2"; shift 2
  local started=$SECONDS
  echo "== $name" | tee -a "$LOG"
  if ! timeout "$seconds" bash -c '"$@"' "$name" "$@" >>"$LOG" 2>&1; then
    echo "FAILED: $name (exit or time limit ${seconds}s); last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  echo "   ok in $((SECONDS - started)) s" | tee -a "$LOG"
}
train() {  # train RUN DEVICE EPOCHS [extra hark-train options]
  local run="$1" device="$2" epochs="$3"; shift 3
  hark train "$OUT/data" --out "$OUT/$run" --preset bcresnet-paper --model "$MODEL" --epochs "$epochs" \
    --batch-size "$BATCH" --device "$device" --set run.checkpoint_every=1 "$@"
}
fp16_train() {  # AMP picks bf16 wherever the GPU has it; hide bf16 to exercise fp16 + GradScaler
  "$PY" - "$@" <<'EOF'
import sys
import torch
torch.cuda.is_bf16_supported = lambda *args, **kwargs: False
from hark.cli import main
sys.exit(main(sys.argv[1:]))
EOF
}
export -f hark train fp16_train  # `timeout` runs them in a fresh bash
export OUT PY MODEL BATCH

if (( ! DRY )); then
  step "GPU present" 60 "$PY" -c "import torch, sys; ok = torch.cuda.is_available(); \
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0) if ok else 'no GPU'); \
print('bf16 supported:', ok and torch.cuda.is_bf16_supported()); sys.exit(0 if ok else 1)"
fi
rm -rf "$OUT/data" "$OUT"/run-* "$OUT/model.onnx"
step "synthesise $((SPEAKERS * 10 * UTTERANCES)) clips" 240 \
  hark synth "$OUT/data" --words "$WORDS" --speakers "$SPEAKERS" --utterances "$UTTERANCES" --quiet
step "train $DEVICE AMP bf16 (auto), $EPOCHS epochs" "$LIMIT" train run-bf16 "$DEVICE" "$EPOCHS"
if (( DRY )); then
  step "train fp16 path (dry: CPU, AMP off)" "$LIMIT" fp16_train train "$OUT/data" --out "$OUT/run-fp16" \
    --preset bcresnet-paper --model "$MODEL" --epochs "$EPOCHS" --batch-size "$BATCH" --device cpu
else
  step "train cuda AMP fp16 + GradScaler, $EPOCHS epochs" "$LIMIT" fp16_train train "$OUT/data" \
    --out "$OUT/run-fp16" --preset bcresnet-paper --model "$MODEL" --epochs "$EPOCHS" --batch-size "$BATCH" --device cuda
fi
step "torchrun --nproc_per_node 1 (DDP)" "$LIMIT" "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 \
  -m hark.cli train "$OUT/data" --out "$OUT/run-ddp" --preset bcresnet-paper --model "$MODEL" --epochs 1 \
  --batch-size "$BATCH" --device "$DEVICE"
step "train cpu, $CPU_EPOCHS epoch (for the clips/s table)" 240 train run-cpu cpu "$CPU_EPOCHS"
step "evaluate" 120 hark evaluate "$OUT/run-bf16" --device "$DEVICE"
CLIP="$(find "$OUT/data" -name '*.wav' -path '*yes*' | head -n 1)"
step "predict" 60 hark predict "$OUT/run-bf16" "$CLIP" --device "$DEVICE"
step "export ONNX" 120 hark export "$OUT/run-bf16" --onnx "$OUT/model.onnx"

"$PY" - "$OUT" <<'EOF' | tee -a "$LOG"
import csv, json, sys
from pathlib import Path
from hark.data.datasets import load_dataset
out = Path(sys.argv[1])
clips = len(load_dataset(out / "data").split("train"))
print(f"\n{clips} training clips; epoch time includes validation; fastest epoch of each run")
print(f"{'run':<10}{'device':>8}{'precision':>16}{'epoch s':>9}{'clips/s':>9}{'val acc':>9}")
seconds = {}
for run, precision in (("run-cpu", "fp32"), ("run-bf16", "AMP auto (bf16)"), ("run-fp16", "AMP fp16"),
                       ("run-ddp", "AMP auto, DDP")):
    device = json.loads((out / run / "config.json").read_text())["run"]["device"]
    rows = list(csv.DictReader((out / run / "history.csv").open()))
    seconds[run] = min(float(r["seconds"]) for r in rows)
    print(f"{run:<10}{device:>8}{precision:>16}{seconds[run]:>9.1f}{clips / seconds[run]:>9.0f}"
          f"{float(rows[-1]['val_acc']):>9.3f}")
print(f"GPU (AMP auto) against CPU: {seconds['run-cpu'] / seconds['run-bf16']:.1f}x the clips/s")
EOF
echo "gpu check passed; log: $LOG"
