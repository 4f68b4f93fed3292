#!/usr/bin/env bash
# Prepare .devdata/ (git-ignored) to carry to the GPU machine, which has python3.12 + torch + pandas + matplotlib
# but none of our other packages and no FER2013: FER2013 packed losslessly (51 MiB; the CSV does not fit the
# 64 MiB carry), its unpacker, and the pure-Python / abi3 wheels fer_course and execnb need there.
#   bash .ci/gpu_pack.sh            (needs ../shared/data/fer2013 and ../shared/tools/fer_pack.py, as on our machines)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .devdata/wheels
[ -f .devdata/fer2013.xz ] || .venv/bin/python ../shared/tools/fer_pack.py pack ../shared/data/fer2013/fer2013.csv.gz .devdata/fer2013.xz
cp ../shared/tools/fer_pack.py .devdata/
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .devdata/wheels \
  fastcore==1.14.5 fastprogress==1.1.6 safetensors==0.8.0 tabulate==0.10.0 execnb==0.1.18 packaging \
  ipython ipython-pygments-lexers decorator matplotlib-inline pexpect ptyprocess prompt_toolkit wcwidth \
  pygments stack_data executing asttokens pure_eval traitlets 2>&1 | grep -v '^WARNING: Location' || true
rm -f .devdata/wheels/jedi-* .devdata/wheels/parso-*   # IPython runs without them (completion only); they cost 5 MB of the carry
du -sh .devdata .devdata/wheels
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
carry=$(du -sb .devdata | cut -f1)
echo "carry: .devdata $((carry / 1048576)) MiB + working tree $((tree / 1048576)) MiB of the 64 MiB limit"
[ $((carry + tree)) -lt $((64 * 1048576)) ] || { echo "too big to carry" >&2; exit 1; }
