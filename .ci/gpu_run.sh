#!/usr/bin/env bash
# Run notebooks' full training on the GPU machine and bring back what they made. After `bash .ci/gpu_pack.sh` here
# (which checks that the CPU CNN's weights, shown by the `cpu` cells, are in nbs/models/), one device call for 03 and 04:
#   run(command="FER_COURSE_COMMIT=<sha> FER_COURSE_LIMIT_S=575 bash .ci/gpu_run.sh nbs/03_cnn.ipynb:150 nbs/04_resnet.ipynb",
#       carry=[".devdata", "nbs/models/cnn_small.safetensors"], timeout_s=600)
# (a session has 15 minutes of device time, the machine's start included; one call avoids a second start).
# NB[:S] executes notebook NB, for at most S seconds if given, top to bottom with the flags "data slow gpu cpu" but
# without the cells flagged both `slow` and `cpu` (the CPU variants' training: their records come from CPU runs),
# with execnb, in-process (there is no Jupyter there). After each notebook it packs the executed notebook and the run
# records and weights it wrote into a tar in parts of 15 MiB, $OUT/fer_out_<notebook>.tar.partNN (the device tool
# brings back at most 8 files of at most 16 MiB each; the full CNN's weights are 19 MB, the ResNet9's 26 MB: 03 and 04
# make two parts each), next to log.txt and gpu.txt.
# One new GPU cell, later (as 04's longer schedule was run on 2026-11-29, in a second call after the first had landed):
# FER_COURSE_SKIP (texts, one per line: the training cells not to rerun) and FER_COURSE_UNTIL (the new cell's text) are
# passed to execute.py as --skip and --until; e.g. FER_COURSE_SKIP=$'text 1\ntext 2' FER_COURSE_UNTIL='LONG = 3 '.
# Owed since 2026-11-30 (issues 5 and 6): 04's speed table with its compile row, the seeds of the longer schedule and the wide
# student for 120 epochs, in one call that needs no weights (the wide student learns from the best seed the call trains):
#   bash .ci/gpu_pack.sh        (the shipped weights moved aside if the carry is too big: gpu_pack.sh says how), then
#   run(command="FER_COURSE_COMMIT=<sha> FER_COURSE_LIMIT_S=575 FER_COURSE_SKIP=$'best = BASE; best_model, best_run = ablation_run(BASE)\ntest_eq(best.seed,
#       SEEDS[0])\nSTUDENT = dict(widths=(8, 16, 16, 32)\nLONG = 3 ' FER_COURSE_UNTIL='WIDE_ARGS = dict(' bash .ci/gpu_run.sh nbs/04_resnet.ipynb",
#       carry=[".devdata"], timeout_s=600)
#   It trains seed 43; seed 44 only if the wide student still has its time after it (04 reserves it); then the wide student,
#   taught by the best on PublicTest of the seeds it trained (and 42, were its weights here). Tested on a CPU, 2026-11-30: the same with FER_COURSE_SMOKE=1 (one epoch each).
# Only that cell's output and the records and weights it wrote are landed by hand: the notebook that comes back has lost
# the skipped cells' outputs. Back here, re-execute the notebook with those cells skipped and kept (execute.py --keep).
# Back here, from the repository root:  .venv/bin/python .ci/gpu_land.py <files_at>  (checks the records, unpacks the tars
# over the tree, edits what waited for the run; its docstring says what is left to do by hand).
# FER_COURSE_LIMIT_S=N: everything, set-up included, ends within N seconds of this script's start (set N below the
# device call's timeout_s): each notebook is interrupted when its time is up, and what its finished cells saved
# (04 saves its record after every run), and the notebook with the outputs of the cells that ran, still reach $OUT.
# The device call may stop sooner: its limit is timeout_s or the device time left after the machine's start, whichever
# is less: with less than the full budget left (`status`: budget_left_s), set N to that less the start (~240 s) and 30 s. Then the notebooks already done are in $OUT, and a TERM stops the running one and packs what it saved
# (tested on a CPU: `timeout -s TERM 100 bash .ci/gpu_run.sh ...`); gpu_land.py refuses a notebook that was stopped.
# Each notebook also gets FER_COURSE_DEADLINE (Unix time) with the time it has: 04 fits its ablation, its seeds, its
# distilled model and its speed table into it, in that order of sacrifice (the ablation's steps go first, the base run never).
# On a CPU (to test this script) it runs the same cells on whatever FER2013_PATH points to; FER_COURSE_SMOKE=1 makes
# the GPU cells' models narrow and their runs one epoch long, and marks their records as smoke tests (never results).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/fer_out}; mkdir -p "$OUT"
KEEP_S=25                           # kept at the end, for packing what came out
marker=$(mktemp); touch "$marker"   # what the notebooks write from now on goes back
if [ -d .devdata/wheels ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .devdata/wheels/*.whl
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if [ -z "${FER2013_PATH:-}" ]; then
  [ -f /tmp/fer2013.csv ] || python3 .devdata/fer_pack.py unpack .devdata/fer2013.xz /tmp/fer2013.csv
  export FER2013_PATH=/tmp/fer2013.csv
fi
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no GPU") | tee "$OUT/gpu.txt"
# everything the notebooks import, before any training: a missing package fails here in seconds, not after a run
python3 -c "import torch, execnb, fastprogress, safetensors, cv2, fer_course.cnn, fer_course.resnet, fer_course.compare; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
pack() {   # pack TAG [NOTEBOOK]: NOTEBOOK and the files nbs/results and nbs/models gained since the last pack
  local tag=$1 files=() f next; shift; files=("$@"); next=$(mktemp); touch "$next"
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find nbs/results nbs/models -type f -newer "$marker" -print0 2>/dev/null)
  mv "$next" "$marker"
  [ ${#files[@]} -gt 0 ] || return 0
  tar -cf - "${files[@]}" | split -b 15M -d - "$OUT/fer_out_$tag.tar.part"
  cat "$OUT/fer_out_$tag.tar.part"* | tar -tv | tee -a "$OUT/log.txt"
}
running=""
on_term() {   # stop the running notebook as its own time limit does (execute.py saves it on TERM), then pack what it saved
  echo "gpu_run.sh: TERM received: stopping ${running:-nothing} and packing what it saved" | tee -a "$OUT/log.txt"
  pkill -TERM -f '[.]ci/execute[.]py' 2>/dev/null; wait
  [ -n "$running" ] && pack "$(basename "$running" .ipynb)" "$running"
  exit 143
}
trap on_term TERM
extra=()   # FER_COURSE_SKIP (texts, one per line) and FER_COURSE_UNTIL: execute.py's --skip and --until, for a later call that runs one new cell
while IFS= read -r t; do [ -n "$t" ] && extra+=(--skip "$t"); done <<< "${FER_COURSE_SKIP:-}"
[ -n "${FER_COURSE_UNTIL:-}" ] && extra+=(--until "$FER_COURSE_UNTIL")
status=0
for arg in "$@"; do
  nb=${arg%%:*}; cap=""; [ "$nb" != "$arg" ] && cap=${arg#*:}
  limit=(); unset FER_COURSE_DEADLINE                             # (a notebook without a limit must not inherit the last one's)
  if [ -n "${FER_COURSE_LIMIT_S:-}" ]; then
    left=$((FER_COURSE_LIMIT_S - SECONDS - KEEP_S))           # SECONDS: since this script started
    [ -n "$cap" ] && [ "$cap" -lt "$left" ] && left=$cap
    if [ "$left" -lt 60 ]; then echo "$nb: not run, ${left} s left" | tee -a "$OUT/log.txt"; status=1; continue; fi
    limit=(timeout --signal=TERM --kill-after=10 "$left"); export FER_COURSE_DEADLINE=$(( $(date +%s) + left ))
  elif [ -n "$cap" ]; then
    limit=(timeout --signal=TERM --kill-after=10 "$cap"); export FER_COURSE_DEADLINE=$(( $(date +%s) + cap ))
  fi
  echo "$nb: $( [ ${#limit[@]} -gt 0 ] && echo "at most ${limit[3]} s" || echo "no time limit")" | tee -a "$OUT/log.txt"
  running=$nb   # (in the background, so that a TERM to this script is handled at once, not when the notebook ends)
  "${limit[@]}" python3 .ci/execute.py "$nb" --flags "data slow gpu cpu" --exclude "slow cpu" --engine execnb "${extra[@]}" 2>&1 | tee -a "$OUT/log.txt" &
  wait $! || status=1
  running=""; pack "$(basename "$nb" .ipynb)" "$nb"
done
ls -la "$OUT"
echo "gpu_run.sh: done in $SECONDS s, status $status" | tee -a "$OUT/log.txt"
exit $status
