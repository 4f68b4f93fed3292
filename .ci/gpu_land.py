"""Land the course's own GPU run (what `bash .ci/gpu_run.sh NB ...` brought back), from the repository root:

    .venv/bin/python .ci/gpu_land.py <files_at>      # the folder holding fer_out_*.tar.part*, log.txt and gpu.txt

Reads every <files_at>/fer_out_<notebook>.tar.part* (one tar per notebook), refuses a member that is not an executed
notebook (nbs/*.ipynb), a run record (nbs/results/**/*.json) or weights (nbs/models/*.safetensors), and checks every
record before unpacking anything: a run on the whole FER2013 with every epoch (`check_fer2013_run`), on a CUDA GPU.
Then unpacks the tars over the tree and cleans the notebooks (nbdev_clean). Learner-path runs (`--learner`) are
never landed: they measure, and their timings are in learner_path.tsv.
"""
import io, json, subprocess, sys, tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def die(msg): sys.exit(f"gpu_land: {msg}")


def allowed(name:str)->bool:
    "Only what a course run writes may come back into the tree."
    p = Path(name)
    if p.is_absolute() or '..' in p.parts or not p.parts or p.parts[0] != 'nbs': return False
    if len(p.parts) == 2: return p.suffix == '.ipynb'
    if p.parts[1] == 'results': return p.suffix == '.json'
    return p.parts[1] == 'models' and len(p.parts) == 3 and p.suffix == '.safetensors'


def read_tars(folder:Path)->dict:
    "One tarfile per notebook tag, from its parts."
    tags = sorted({p.name.split('.tar.part')[0] for p in folder.glob('fer_out_*.tar.part*')})
    if not tags: die(f"no fer_out_*.tar.part* in {folder}")
    tars = {}
    for tag in tags:
        data = b''.join(p.read_bytes() for p in sorted(folder.glob(f'{tag}.tar.part*')))
        tars[tag] = tarfile.open(fileobj=io.BytesIO(data))
    return tars


def check(tars:dict):
    "Refuse the whole landing if one member or one record is wrong."
    from fer_course.records import check_fer2013_run
    for tag, tar in tars.items():
        for m in tar.getmembers():
            if not m.isfile() or not allowed(m.name): die(f"{tag}: refusing {m.name!r} (not a notebook, record or weights file)")
            if m.name.endswith('.json') and '/results/' in m.name and 'calibration' not in m.name:
                rec = json.load(tar.extractfile(m))
                if 'history' not in rec: continue          # not a training run (a speed table, a peer's numbers)
                try: check_fer2013_run(rec)
                except AssertionError as e: die(f"{m.name}: {e}")
                if 'cpu' in str(rec.get('device', '')).lower(): die(f"{m.name}: trained on {rec['device']}, not a GPU")
                acc = rec['metrics']['PrivateTest']['accuracy']
                print(f"{m.name}: {rec['device']}, {rec['train_seconds']:.0f} s, PrivateTest {acc:.2%}")


if __name__ == '__main__':
    if len(sys.argv) != 2: die("usage: gpu_land.py <files_at>")
    tars = read_tars(Path(sys.argv[1]))
    check(tars)
    for tag, tar in tars.items():
        tar.extractall(ROOT, filter='data')
        print(f"{tag}: unpacked {len(tar.getmembers())} files")
    nbs = [str(ROOT/m.name) for t in tars.values() for m in t.getmembers() if m.name.endswith('.ipynb')]
    for nb in nbs: subprocess.run([str(ROOT/'.venv/bin/nbdev_clean'), '--fname', nb], check=True, cwd=ROOT)
    print("landed. Left to do (CONTRIBUTING.md): re-execute on a CPU the notebooks that show these records, "
          "regenerate README.md (.ci/readme.py), run bash .ci/test.")
