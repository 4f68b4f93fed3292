#!/usr/bin/env python
"""Measure a peer: the classifier bundled with the `fer` package (a mini-Xception), on FER2013 and on this CPU.

`nbs/06_predict.ipynb` reads what this writes, `nbs/results/fer_peer.json`, to put the peer next to our model.
`fer` needs TensorFlow, which fer_course does not use, so run this with a virtual environment of its own,
never the project's `.venv`:

    python3 -m venv /tmp/fervenv
    /tmp/fervenv/bin/pip install fer==25.10.3 --no-deps     # its other deps (torch, moviepy, ...) are for video and MTCNN
    /tmp/fervenv/bin/pip install tensorflow-cpu opencv-python-headless==4.14.0.94 pandas pillow requests tqdm "setuptools<81"
    /tmp/fervenv/bin/python .ci/bench_fer_peer.py --data /path/to/fer2013.csv.gz

(opencv-python-headless 5 has no `CascadeClassifier`, which `fer` calls; `fer` imports `pkg_resources`, gone from
setuptools 81.) Run it on an otherwise idle machine: it times things.

What it measures, for both of fer's backends (`tflite`, its default: a quantized TensorFlow Lite model; `keras`: the
float model, `FER(use_tflite=False)`):
- accuracy and macro-F1 on PublicTest and PrivateTest. Each 48x48 FER2013 face goes straight to the classifier, with
  the preprocessing `FER.detect_emotions` applies to a face crop (fer 25.10.3, fer/fer.py): `cv2.resize` to the
  model's 64x64 input, then `x / 255`, then `(x - 0.5) * 2`. The face detector is skipped: the faces are already crops.
- ms per face for `FER._classify_emotions` (the call `detect_emotions` makes) on one face and on a batch of 256
  (the tflite backend loops over the faces one at a time; that is the package's own code, timed as it is).
- ms per 640x480 photo end to end (`FER.detect_emotions`: Haar detection, crop, classification) on the same photo
  the notebook times: matplotlib's `grace_hopper.jpg` resized to 400x469 and pasted at (120, 5) on a grey canvas.
Medians over `--repeats` runs after a warm-up. The JSON is written atomically.
"""
import argparse, datetime, glob, json, os, platform, sys, time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']


def read_fer(path):
    "FER2013 faces (N, 48, 48) uint8, labels and usage from the Kaggle CSV, plus whether its first 80% are the Training rows."
    df = pd.read_csv(path)
    x = np.stack([np.array(s.split(), dtype=np.uint8) for s in df.pixels]).reshape(-1, 48, 48)
    n_train = int(0.8 * len(df))   # oarriaga/face_classification's split_data: the first 80% of the rows, unshuffled
    return x, df.emotion.to_numpy(), df.Usage.to_numpy(), bool((df.Usage[:n_train] == 'Training').all() and (df.Usage[n_train:] != 'Training').all())


def preprocess(faces, size):
    "What `FER.detect_emotions` does to each face crop: resize to the model's input, scale to 0-1, then to -1..1."
    x = np.stack([cv2.resize(f, size) for f in faces]).astype('float32')
    return (x / 255.0 - 0.5) * 2.0


def macro_f1(y, p, n=7):
    "Mean over classes of the F1 score."
    cm = np.bincount(y * n + p, minlength=n * n).reshape(n, n)
    tp = np.diag(cm)
    return float(np.mean(2 * tp / np.maximum(cm.sum(0) + cm.sum(1), 1)))


def median_ms(f, repeats, warmup=3):
    "Median wall time of `f()` in ms."
    for _ in range(warmup): f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return 1000 * float(np.median(ts))


def test_photo(photo):
    "The notebook's 640x480 benchmark photo, as a BGR array (what `fer` expects)."
    canvas = Image.new('RGB', (640, 480), (128, 128, 128))
    canvas.paste(Image.open(photo).convert('RGB').resize((400, 469), Image.BILINEAR), (120, 5))
    return cv2.cvtColor(np.array(canvas), cv2.COLOR_RGB2BGR)


def measure(backend, x, y, usage, photo, repeats, bs):
    "Accuracy per split and speeds of fer's classifier with `backend`."
    from fer.fer import FER
    det = FER(use_tflite=backend == 'tflite')
    size = tuple(det._FER__emotion_target_size)   # (64, 64): the model's input size, as fer reads it
    classify = det._classify_emotions
    feed = (lambda xb: xb) if backend == 'tflite' else (lambda xb: xb[..., None])   # the keras model wants (B, 64, 64, 1)
    out = {'input_size': list(size), 'metrics': {}}
    for split in ('PublicTest', 'PrivateTest'):
        m = usage == split
        xs = preprocess(x[m], size)
        p = np.concatenate([np.asarray(classify(feed(xs[i:i + 512]))) for i in range(0, len(xs), 512)]).argmax(1)
        out['metrics'][split] = {'accuracy': float((p == y[m]).mean()), 'macro_f1': macro_f1(y[m], p), 'faces': int(m.sum())}
        print(f"{backend:6s} {split:11s} accuracy {out['metrics'][split]['accuracy']:.4f}  macro-F1 {out['metrics'][split]['macro_f1']:.4f}", flush=True)
    one, batch = feed(preprocess(x[:1], size)), feed(preprocess(x[:bs], size))
    out['ms_per_face_batch1'] = median_ms(lambda: classify(one), repeats)
    out['ms_per_face_batched'] = median_ms(lambda: classify(batch), max(3, repeats // 20)) / bs
    faces = det.detect_emotions(photo)
    out['photo_faces'] = [{'box': [int(v) for v in f['box']], 'emotions': {k: float(v) for k, v in f['emotions'].items()}} for f in faces]
    out['ms_per_photo'] = median_ms(lambda: det.detect_emotions(photo), max(3, repeats // 10))
    print(f"{backend:6s} ms/face batch 1 {out['ms_per_face_batch1']:.3f}  batched ({bs}) {out['ms_per_face_batched']:.3f}  "
          f"ms/photo {out['ms_per_photo']:.1f} ({len(faces)} face(s))", flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=os.environ.get('FER2013_PATH'), help='fer2013.csv(.gz) (default: FER2013_PATH)')
    p.add_argument('--photo', default=None, help="grace_hopper.jpg (default: matplotlib's copy in the project's .venv)")
    p.add_argument('--out', default=str(ROOT/'nbs'/'results'/'fer_peer.json'))
    p.add_argument('--repeats', type=int, default=200, help='timed runs at batch 1 (fewer for the batch and the photo)')
    p.add_argument('--bs', type=int, default=256)
    args = p.parse_args()
    if not args.data: sys.exit('give --data or set FER2013_PATH')
    photo = args.photo or next(iter(sorted(glob.glob(str(ROOT/'.venv/lib/python*/site-packages/matplotlib/mpl-data/sample_data/grace_hopper.jpg')))), None)
    if not photo: sys.exit('give --photo: the path of grace_hopper.jpg (matplotlib sample data)')
    t0 = time.perf_counter()
    import fer, tensorflow as tf
    x, y, usage, split_is_training = read_fer(args.data)
    photo_bgr = test_photo(photo)
    res = {'name': 'fer_peer', 'package': f'fer {fer.__version__}', 'model': 'mini-Xception (fer/data/emotion_model.hdf5; the tflite file is its quantized copy)',
           'backends': {b: measure(b, x, y, usage, photo_bgr, args.repeats, args.bs) for b in ('tflite', 'keras')}}
    from fer.fer import FER
    res['params'] = int(FER(use_tflite=False)._FER__emotion_classifier.count_params())
    res |= {'default_backend': 'tflite', 'batch': args.bs, 'repeats': args.repeats, 'tensorflow': tf.__version__, 'opencv': cv2.__version__,
            'device': f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
            'load_average_at_start': os.getloadavg()[0] if hasattr(os, 'getloadavg') else None,
            'date': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
            'command': ' '.join([Path(sys.executable).name, os.path.relpath(__file__, ROOT)] + [Path(a).name if a.startswith('/') else a for a in sys.argv[1:]]),
            'data': {'file': Path(args.data).name, 'first_80pct_rows_are_training': split_is_training},
            'note': ("fer credits oarriaga/face_classification. That repo's train_emotion_classifier.py trains on the first 80% of "
                     "fer2013.csv, unshuffled (here exactly the Training rows), and keeps the checkpoint with the lowest loss on the "
                     "remaining 20%, PublicTest + PrivateTest. If fer's model is that checkpoint, it was chosen on the test split."),
            'wall_seconds': round(time.perf_counter() - t0, 1)}
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f'.{out.name}.{os.getpid()}.tmp')
    try: tmp.write_text(json.dumps(res, indent=1)); os.replace(tmp, out)
    finally: tmp.unlink(missing_ok=True)
    print(f"wrote {out} in {res['wall_seconds']} s")


if __name__ == '__main__':
    main()
