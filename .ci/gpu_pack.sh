#!/usr/bin/env bash
# Prepare .devdata/ (git-ignored) to carry to the GPU machine, which has python3.12 + torch + pandas + matplotlib
# but none of our other packages and no FER2013: FER2013 packed losslessly (51 MiB; the CSV does not fit the
# 64 MiB carry), its unpacker, and the pure-Python / abi3 wheels fer_course and execnb need there.
#   bash .ci/gpu_pack.sh            (needs ../shared/data/fer2013 and ../shared/tools/fer_pack.py, as on our machines)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .devdata/wheels; mkdir -p .devdata/wheels   # afresh: two versions of one package stop the install there
[ -f .devdata/fer2013.xz ] || .venv/bin/python ../shared/tools/fer_pack.py pack ../shared/data/fer2013/fer2013.csv.gz .devdata/fer2013.xz
cp ../shared/tools/fer_pack.py .devdata/
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .devdata/wheels \
  fastcore==1.14.5 fastprogress==1.0.5 execnb==0.1.18 \
  ipython ipython-pygments-lexers decorator matplotlib-inline pexpect ptyprocess prompt_toolkit wcwidth \
  stack_data executing asttokens pure_eval traitlets \
  ipywidgets widgetsnbextension jupyterlab_widgets comm 2>&1 | grep -v '^WARNING: Location' || true
# fastprogress 1.0.5, not 1.1.x: 1.1 imports python-fasthtml (a web framework, a dozen more packages, some compiled), which
# the GPU machine lacks; 1.0.5 has the same master_bar/progress_bar and needs nothing (a CPU smoke test under Python 3.12
# with only the GPU machine's packages found this: ModuleNotFoundError: No module named 'fasthtml').
# not carried: safetensors, tabulate, packaging, pygments and opencv are on the GPU machine's image (KINDS.md's list);
# jedi and parso: IPython runs without them (completion only). Each MB counts: the carry's limit is 64 MiB.
rm -f .devdata/wheels/jedi-* .devdata/wheels/parso-* .devdata/wheels/safetensors-* .devdata/wheels/tabulate-* .devdata/wheels/packaging-* .devdata/wheels/pygments-*
# what else the call carries, as arguments (files the run reads that git does not hold); by default nothing.
# (Weights in nbs/models/ are not committed, so a new checkout has none: a call must train what it learns from.)
extra=("$@")
for f in "${extra[@]}"; do [ -f "$f" ] || { echo "$f is missing" >&2; exit 1; }; done
du -sh .devdata .devdata/wheels "${extra[@]}"
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
carry=$(du -sb .devdata "${extra[@]}" | awk '{s += $1} END {print s}')
echo "carry: .devdata ${extra[*]:++ ${extra[*]} }$((carry / 1048576)) MiB + working tree $((tree / 1048576)) MiB of the 64 MiB limit"
[ $((carry + tree)) -lt $((64 * 1048576)) ] || { echo "too big to carry" >&2; exit 1; }
