"""Check that a fer_course wheel holds the library, its metadata and the shipped weights, and no data:
no CSV, no images, nothing large. The shipped weights (fer_course/weights/<name>.safetensors, with the run
record <name>.json that says how they were trained, and the ONNX graph <name>.onnx that `fer-course predict` runs
through OpenCV) must be there, exactly one model, complete, at most 15 MB each. Its
requirements keep OpenCV below 5: OpenCV 5's packages carry no Haar cascade, which predict finds faces with."""
import sys, zipfile
whl = sys.argv[1]
infos = zipfile.ZipFile(whl).infolist()
names = [i.filename for i in infos]
size = {i.filename: i.file_size for i in infos}
bad = [n for n in names if not (n.startswith('fer_course/') or '.dist-info/' in n)]
bad += [n for n in names if n.lower().endswith(('.csv', '.csv.gz', '.jpg', '.png', '.npz', '.pt', '.pth'))]
weights = sorted(n for n in names if n.startswith('fer_course/weights/') and n.endswith('.safetensors'))
bad += [n for n in names if n.endswith('.safetensors') and n not in weights]
bad += [f'{w} without its {end}' for w in weights for end in ('.json', '.onnx')
        if w.replace('.safetensors', end) not in names]
graphs = [w.replace('.safetensors', '.onnx') for w in weights]
bad += [n for n in names if n.endswith('.onnx') and n not in graphs]
big = [f'{n} ({s:,} bytes)' for n, s in size.items() if s > (15_000_000 if n in weights + graphs else 1_000_000)]
mods = sorted(n for n in names if n.startswith('fer_course/') and n.endswith('.py'))
shipped = ', '.join(f"{w.split('/')[-1]} ({size[w] / 1e6:.1f} MB)" for w in weights) or 'none'
print(f"{whl.split('/')[-1]}: {len(names)} files; modules: {', '.join(m.split('/')[-1] for m in mods)}; weights: {shipped}")
if not weights: sys.exit("the wheel ships no weights (fer_course/weights/*.safetensors): `pip install fer_course` could not predict offline")
if len(weights) != 1: sys.exit(f"the wheel must ship exactly one model, the default; it ships {len(weights)}: {weights}")
if bad or big: sys.exit(f"unexpected files in the wheel: {bad + big}")
meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
cv = [l for l in meta.splitlines() if l.startswith('Requires-Dist: opencv-python-headless')]
if len(cv) != 1 or '<5' not in cv[0]: sys.exit(f"the wheel must require opencv-python-headless below 5 (OpenCV 5 has no Haar cascade); it says {cv}")
