#!/usr/bin/env bash
# Run notebooks' full training on the GPU machine and bring back what they made. After `bash .ci/gpu_pack.sh` here,
# on the device tool (a session has 15 minutes of device time, the machine's start included; it stays warm 30 s
# after a call), either two calls back to back:
#   run(command="FER_COURSE_COMMIT=<sha> FER_COURSE_LIMIT_S=200 bash .ci/gpu_run.sh nbs/03_cnn.ipynb", carry=[".devdata"], timeout_s=230)
#   run(command="FER_COURSE_COMMIT=<sha> FER_COURSE_LIMIT_S=<L> bash .ci/gpu_run.sh nbs/04_resnet.ipynb", carry=[".devdata"], timeout_s=<L+30>)
#   with L = min(540, budget_left_s of the first call's reply - 60): a machine gone cold restarts, out of the same budget;
# or, safer and shorter, one call for both:
#   run(command="FER_COURSE_COMMIT=<sha> FER_COURSE_LIMIT_S=570 bash .ci/gpu_run.sh nbs/03_cnn.ipynb nbs/04_resnet.ipynb", carry=[".devdata"], timeout_s=600)
# It installs the carried wheels, unpacks FER2013, executes each notebook top to bottom with the flags
# "data slow gpu" (execnb, in-process: there is no Jupyter there), and packs the executed notebooks and the run
# records and weights this run wrote into one tar in parts of 15 MiB, $OUT/fer_out.tar.partNN (the device tool
# brings back at most 8 files of at most 16 MiB each; the full ResNet9's weights alone are 26 MB), next to log.txt
# and gpu.txt. Back here, from the repository root:  cat <files_at>/fer_out.tar.part* | tar -xv
# On a CPU (to test this script) it runs the same cells on whatever FER2013_PATH points to.
# FER_COURSE_LIMIT_S=N stops the notebooks after N seconds (set it below the device call's timeout_s), so that the
# records and weights the finished cells saved still reach $OUT when a run takes longer than planned. Each notebook
# also gets FER_COURSE_DEADLINE (Unix time) with what is left of N: 04 fits its ablation, its seeds and its distilled
# model into it, in that order of sacrifice (the ablation's steps go first, the first seed's run never).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/fer_out}; mkdir -p "$OUT"
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
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
status=0
limit=()
start=$SECONDS
for nb in "$@"; do
  if [ -n "${FER_COURSE_LIMIT_S:-}" ]; then
    left=$((FER_COURSE_LIMIT_S - (SECONDS - start)))
    limit=(timeout --signal=INT --kill-after=15 "$left"); export FER_COURSE_DEADLINE=$(( $(date +%s) + left ))
  fi
  "${limit[@]}" python3 .ci/execute.py "$nb" --flags "data slow gpu" --engine execnb 2>&1 | tee -a "$OUT/log.txt" || status=1
done
files=("$@")
while IFS= read -r -d '' f; do files+=("$f"); done < <(find nbs/results nbs/models -type f -newer "$marker" -print0 2>/dev/null)
tar -cf - "${files[@]}" | split -b 15M -d - "$OUT/fer_out.tar.part"
cat "$OUT"/fer_out.tar.part* | tar -tv | tee -a "$OUT/log.txt"
ls -la "$OUT"
exit $status
