#!/usr/bin/env bash
# The main job on built-in synthetic data: synthesize (with injected faults) -> check -> train
# -> evaluate -> analyze -> fix (what the analysis suggests) -> retrain -> compare.
# Sizes are kept small so that the whole loop runs in minutes on 2 CPU cores;
# DEMO_SPEAKERS / DEMO_EPOCHS / DEMO_WORDS scale it up.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo}
HARK=.venv/bin/hark
WORDS=${DEMO_WORDS:-yes,no,up,down,left,right,on,off,stop,go,three,tree,four,forward}
SPEAKERS=${DEMO_SPEAKERS:-50}
UTTERANCES=${DEMO_UTTERANCES:-3}
EPOCHS=${DEMO_EPOCHS:-15}
# The published BC-ResNet recipe (SGD, strong noise) with a model that learns fast on a CPU, and a
# warm-up scaled to the short run; the README's demo figures are from this recipe.
TRAIN_ARGS="--preset bcresnet-paper --model ${DEMO_MODEL:-matchboxnet-3x1x64} --epochs $EPOCHS --set optim.warmup_epochs=1"
export HARK_CACHE_DIR=${HARK_CACHE_DIR:-$OUT/cache}

mkdir -p "$OUT"
echo "== 1/8 synthesize $WORDS x $SPEAKERS speakers x $UTTERANCES utterances (with faults)"
[ -f "$OUT/data/faults.csv" ] || $HARK synth "$OUT/data" --words "$WORDS" --speakers "$SPEAKERS" \
  --utterances "$UTTERANCES" --seed 0 --faults cutoff=0.08,mislabel=0.04,multiword=0.03,silent=0.01,clipped=0.02
echo "== 2/8 check the data"
$HARK check "$OUT/data" --json "$OUT/check.json" --out "$OUT/check"
echo "== 3/8 train"
$HARK train "$OUT/data" --out "$OUT/run-a" $TRAIN_ARGS --resume
echo "== 4/8 evaluate"
$HARK evaluate "$OUT/run-a"
echo "== 5/8 analyze"
$HARK analyze "$OUT/run-a" --folds 3
echo "== 6/8 fix: apply the fixes the analysis suggests"
if ! $HARK fix "$OUT/run-a" --suggested --out "$OUT/fixed.json"; then
  echo "hark fix applied nothing (see above), so there is nothing to retrain or compare."
  exit 0
fi
echo "== 7/8 retrain on the fixed data"
$HARK train "$OUT/fixed.json" --out "$OUT/run-b" $TRAIN_ARGS --resume
$HARK evaluate "$OUT/run-b"
echo "== 8/8 compare"
$HARK compare "$OUT/run-a" "$OUT/run-b" --html "$OUT/compare.html" | tee "$OUT/compare.txt"
echo
echo "Report:     $OUT/run-a/analysis/report.html"
echo "Comparison: $OUT/compare.html"
echo "Explore:    .venv/bin/hark explore $OUT/run-a"
echo
# The last word is the comparison's verdict: whether the fix helped beyond run-to-run noise.
sed -n '/^Verdict:/,/^$/p' "$OUT/compare.txt"
