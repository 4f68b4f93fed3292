"""Put a trained model into the package, so that `pip install fer_course` predicts offline with it.

    .venv/bin/python .ci/ship_model.py resnet_distilled    # nbs/results/<name>.json + nbs/models/<name>.safetensors

Copies the run record and the weights (as float16 if float32 would exceed 15 MB) to fer_course/weights/,
atomically, then loads them back with `load_pretrained` and checks they give the same outputs as the originals.
The record says how the model was trained and what it scored; the weights never leave its side. The record is shipped
as it is, plus the `calibration` that 81_ship fitted for this run of the model (nbs/results/calibration.json), if it is for it:
re-execute 05 after shipping a new model, then ship it again (06 tests that the two agree).
"""
import json, sys
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fer_course.compare import build_model
from fer_course.predict import WEIGHTS_DIR, load_pretrained
from fer_course.fer2013 import atomic_write
from fer_course.records import load_weights, save_weights

name = sys.argv[1]
rec_path, w_path = ROOT/'nbs/results'/f'{name}.json', ROOT/'nbs/models'/f'{name}.safetensors'
rec = json.loads(rec_path.read_text())
assert rec['data']['kind'] == 'fer2013' and {'mean', 'std'} <= set(rec.get('norm') or {}), "ship only models trained on FER2013 whose record has its 'norm'"
model = load_weights(build_model(rec), w_path).eval()
half = w_path.stat().st_size > 15_000_000
shipped = build_model(rec)
shipped.load_state_dict({k: v.half() if half and v.is_floating_point() else v for k, v in load_file(str(w_path)).items()})
save_weights(shipped.half() if half else shipped, WEIGHTS_DIR/f'{name}.safetensors')
cal_path = ROOT/'nbs/results/calibration.json'
cal = json.loads(cal_path.read_text()) if cal_path.exists() else None
fits = cal is not None and (cal['model'], cal.get('run_date')) == (name, rec['date'])   # fitted for this very run, not an older one of the same name
if cal and not fits: print(f"not shipping a calibration: {cal_path.name} is for {cal['model']} trained {cal.get('run_date')}; re-execute 81_ship, then ship {name} again")
shipped_rec = rec | ({'calibration': cal} if fits else {})
atomic_write(WEIGHTS_DIR/f'{name}.json', lambda p: p.write_text(json.dumps(shipped_rec, indent=1)))
back, _ = load_pretrained(name)
x = torch.randn(16, 1, 48, 48)
with torch.no_grad(): diff = (back(x).float() - model(x)).abs().max().item()
print(f"shipped {name}: {(WEIGHTS_DIR/f'{name}.safetensors').stat().st_size / 1e6:.1f} MB ({'float16' if half else 'float32'}), "
      f"PrivateTest {rec['metrics']['PrivateTest']['accuracy']:.2%}, temperature {shipped_rec.get('calibration', {}).get('temperature', 1.):.3f}; largest output difference after reloading: {diff:.2e}")
assert diff < (5e-2 if half else 1e-5)
for old in sorted(WEIGHTS_DIR.glob('*.safetensors')):   # exactly one model ships: the one just put in
    if old.stem != name:
        old.unlink(); old.with_suffix('.json').unlink(missing_ok=True)
        print(f"removed {old.stem} from {WEIGHTS_DIR.name}/: set DEFAULT_MODEL = {name!r} in 06_predict and re-export")
