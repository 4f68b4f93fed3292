#!/usr/bin/env bash
# Run notebooks on the GPU machine (bare: python3, torch, torchvision, pandas, matplotlib, opencv, safetensors; no
# Jupyter, no nbdev) and bring back what they made. Prepare the carry here first: `bash .ci/gpu_pack.sh` (.devdata/:
# FER2013 packed, the wheels of execnb, fastcore, fastprogress, IPython, ipywidgets). See CONTRIBUTING.md.
#
#   bash .ci/gpu_run.sh [--learner] NB[:S] [NB[:S] ...]
#
# Default: the course's own run. Each notebook runs top to bottom, every cell (execute.py --all, as Run All does),
# with runs/ linked to results/ (execute.py --record): the records it saves become the committed ones, its weights go
# to nbs/models/. The executed notebook, the records and the weights it wrote are packed into $OUT/fer_out_<nb>.tar.partNN
# (15 MiB parts: the device tool brings back at most 8 files of 16 MiB). Land them with `.ci/gpu_land.py <files_at>`.
# --learner: a learner's Run All instead, in a fresh copy of the tracked files (no nbs/models/, no runs/), without
# --record, so nothing committed can change; each notebook's status and wall time go to $OUT/learner_path.tsv and the
# executed notebooks to $OUT/learner/. Nothing is landed from it: it measures the learner's path.
# NB:S gives a notebook at most S seconds; FER_COURSE_LIMIT_S=N ends everything within N seconds of the start (set it
# below the device call's timeout_s). A notebook stopped by its limit is saved with what ran and reported as failed.
# On a CPU this runs the same way on whatever FER2013_PATH points to (how the script is tested; see CONTRIBUTING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
learner=0
if [ "${1:-}" = "--learner" ]; then learner=1; shift; fi
[ $# -gt 0 ] || { echo "usage: bash .ci/gpu_run.sh [--learner] NB[:S] ..." >&2; exit 2; }
OUT=${OUT:-/tmp/fer_out}; mkdir -p "$OUT"
KEEP_S=25                           # kept at the end, for packing what came out
PY=python3; [ -x .venv/bin/python ] && PY=$PWD/.venv/bin/python
if [ -d .devdata/wheels ] && [ ! -x .venv/bin/python ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .devdata/wheels/*.whl
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if [ -z "${FER2013_PATH:-}" ]; then
  [ -f /tmp/fer2013.csv ] || $PY .devdata/fer_pack.py unpack .devdata/fer2013.xz /tmp/fer2013.csv
  export FER2013_PATH=/tmp/fer2013.csv
fi
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no GPU") | tee "$OUT/gpu.txt"
engine=(--engine execnb); $PY -c "import nbclient, ipykernel" 2>/dev/null && engine=()
root=$PWD
if [ $learner = 1 ]; then            # a fresh copy of what a clone holds: the tracked files only
  root=$(mktemp -d)/fer_course
  mkdir -p "$root"
  if git rev-parse --git-dir >/dev/null 2>&1; then git ls-files -z | xargs -0 cp --parents -t "$root"
  else tar --exclude=./nbs/models --exclude=./nbs/runs --exclude=./.devdata --exclude=./.venv -cf - . | tar -xf - -C "$root"; fi
  export PYTHONPATH=$root${PYTHONPATH:+:$PYTHONPATH}   # the copy's fer_course, not an editable install's
  mkdir -p "$OUT/learner"; printf 'notebook\tstatus\tseconds\n' > "$OUT/learner_path.tsv"
fi
# everything the notebooks import, before any training: a missing package fails here in seconds, not after a run
(cd "$root" && $PY -c "import torch, execnb, fastprogress, safetensors, cv2, fer_course.resnet; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())") | tee -a "$OUT/gpu.txt"
marker=$(mktemp); touch "$marker"   # what the notebooks write from now on goes back
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
  echo "gpu_run.sh: TERM received: stopping ${running:-nothing}" | tee -a "$OUT/log.txt"
  pkill -TERM -f '[.]ci/execute[.]py' 2>/dev/null; wait
  [ $learner = 0 ] && [ -n "$running" ] && pack "$(basename "$running" .ipynb)" "$running"
  exit 143
}
trap on_term TERM
status=0
for arg in "$@"; do
  nb=${arg%%:*}; cap=""; [ "$nb" != "$arg" ] && cap=${arg#*:}
  limit=()
  if [ -n "${FER_COURSE_LIMIT_S:-}" ]; then
    left=$((FER_COURSE_LIMIT_S - SECONDS - KEEP_S))           # SECONDS: since this script started
    [ -n "$cap" ] && [ "$cap" -lt "$left" ] && left=$cap
    if [ "$left" -lt 60 ]; then echo "$nb: not run, ${left} s left" | tee -a "$OUT/log.txt"; status=1; continue; fi
    limit=(timeout --signal=TERM --kill-after=10 "$left")
  elif [ -n "$cap" ]; then limit=(timeout --signal=TERM --kill-after=10 "$cap"); fi
  echo "$nb: $( [ ${#limit[@]} -gt 0 ] && echo "at most ${limit[3]} s" || echo "no time limit")" | tee -a "$OUT/log.txt"
  running=$nb; t0=$SECONDS; rcf=$(mktemp); echo 1 > "$rcf"
  if [ $learner = 1 ]; then   # (in the background, so that a TERM to this script is handled at once)
    { (cd "$root" && "${limit[@]}" $PY .ci/execute.py "$nb" --all "${engine[@]}") 2>&1; echo $? > "$rcf"; } | tee -a "$OUT/log.txt" &
    wait $! || true; rc=$(cat "$rcf")
    printf '%s\t%s\t%s\n' "$(basename "$nb")" "$([ $rc = 0 ] && echo ok || echo "failed ($rc)")" $((SECONDS - t0)) | tee -a "$OUT/learner_path.tsv"
    cp "$root/$nb" "$OUT/learner/"
  else
    { "${limit[@]}" $PY .ci/execute.py "$nb" --all --record "${engine[@]}" 2>&1; echo $? > "$rcf"; } | tee -a "$OUT/log.txt" &
    wait $! || true; rc=$(cat "$rcf")
    pack "$(basename "$nb" .ipynb)" "$nb"
  fi
  [ $rc = 0 ] || status=1
  running=""
done
ls -la "$OUT"
echo "gpu_run.sh: done in $SECONDS s, status $status" | tee -a "$OUT/log.txt"
exit $status
