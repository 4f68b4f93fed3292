"""Put a trained model into the package, so that `pip install fer_course` predicts offline with it.

    .venv/bin/python .ci/ship_model.py resnet_distilled    # nbs/results/<name>.json + nbs/models/<name>.safetensors

Copies the run record and the weights (as float16 if float32 would exceed 15 MB) to fer_course/weights/,
atomically, then loads them back with `load_pretrained` and checks they give the same outputs as the originals.
Then it writes the model's ONNX graph, <name>.onnx (needs the `onnx` package: `pip install -e ".[dev]"`), which
`fer-course predict` runs through OpenCV without loading PyTorch (`OpenCVPredictor`, 92_predict_internals): the
pixel standardisation, the network and the softmax with the record's temperature. The record's `onnx` entry says
what the graph was made from (hashes of graph and weights, `graph_settings`); the graph ships only if OpenCV's
answers on real crops and random ones equal the PyTorch predictor's within 1e-5.
The record says how the model was trained and what it scored; the weights never leave its side. The record is shipped
as it is, plus the `calibration` that 81_ship fitted for this run of the model (nbs/results/calibration.json), if it is for it:
re-execute 05 after shipping a new model, then ship it again (06 tests that the two agree).
"""
import hashlib, io, json, sys
from pathlib import Path

import numpy as np
import onnx
import torch
from matplotlib.cbook import get_sample_data
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fer_course.compare import build_model
from fer_course.data import FER_CLASSES, IMG_SIZE
from fer_course.images import OpenCVPredictor, crop_face, detect_faces, graph_settings, read_image
from fer_course.predict import WEIGHTS_DIR, FacePredictor, load_pretrained
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
        old.unlink(); old.with_suffix('.json').unlink(missing_ok=True); old.with_suffix('.onnx').unlink(missing_ok=True)
        print(f"removed {old.stem} from {WEIGHTS_DIR.name}/: set DEFAULT_MODEL = {name!r} in 92_predict_internals and re-export")

class Deployed(torch.nn.Module):
    "What the ONNX graph computes: pixels 0-255 (N, 1, 48, 48) -> calibrated probabilities of one view."
    def __init__(self, model, settings):
        super().__init__()
        self.model, self.mean, self.std, self.t = model, settings['norm']['mean'], settings['norm']['std'], settings['temperature']
    def forward(self, pixels): return (self.model((pixels / 255 - self.mean) / self.std) / self.t).softmax(1)

settings = graph_settings(shipped_rec)
assert settings['tta_shift'] == 0, "OpenCVPredictor makes mirror views only: no graph for shifted TTA"
buffer = io.BytesIO()
torch.onnx.export(Deployed(back.float(), settings).eval(), torch.rand(2, 1, IMG_SIZE, IMG_SIZE) * 255, buffer,
                  dynamo=False, input_names=['pixels'], output_names=['probs'], opset_version=17,
                  dynamic_axes={'pixels': {0: 'faces'}, 'probs': {0: 'faces'}})
graph = buffer.getvalue()
onnx.checker.check_model(onnx.load_from_string(graph))
sha256 = lambda content: hashlib.sha256(content).hexdigest()
atomic_write(WEIGHTS_DIR/f'{name}.onnx', lambda p: p.write_bytes(graph))
shipped_rec['onnx'] = {'sha256': sha256(graph),
                       'weights_sha256': sha256((WEIGHTS_DIR/f'{name}.safetensors').read_bytes()),
                       **settings, 'classes': FER_CLASSES, 'size': IMG_SIZE, 'input': 'grey pixels 0-255, (N, 1, 48, 48)',
                       'opset': 17, 'made_with': f'torch {torch.__version__}, onnx {onnx.__version__}'}
atomic_write(WEIGHTS_DIR/f'{name}.json', lambda p: p.write_text(json.dumps(shipped_rec, indent=1)))
lite, reference = OpenCVPredictor(name), FacePredictor(*load_pretrained(name))
gray = read_image(get_sample_data('grace_hopper.jpg', asfileobj=False))
real = np.stack([crop_face(gray, box) for box in detect_faces(gray)])
crops = np.concatenate([real, np.random.default_rng(0).integers(0, 256, (63, IMG_SIZE, IMG_SIZE), dtype=np.uint8)])
standardised = (torch.from_numpy(crops).float().unsqueeze(1) / 255 - settings['norm']['mean']) / settings['norm']['std']
graph_diff = float(np.abs(lite.classify(crops) - reference.classify(standardised).numpy()).max())
print(f"graph {name}.onnx: {len(graph) / 1e6:.1f} MB; largest difference from the PyTorch predictor's probabilities: {graph_diff:.1e}")
assert graph_diff < 1e-5
