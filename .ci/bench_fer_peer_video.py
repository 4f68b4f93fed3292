#!/usr/bin/env python
"""Measure a peer on video: the `fer` package's `Video.analyze`, on the benchmark clip of `nbs/08_video.ipynb`.

`nbs/08_video.ipynb` reads what this writes, `nbs/results/fer_peer_video.json`, to put the peer's frames per second
beside ours. `fer` needs TensorFlow, which fer_course does not use, so run this with a virtual environment of its
own, never the project's `.venv`. `Video.analyze` calls `cv2.waitKey` on every frame, which opencv-python-headless
does not implement, so this environment needs fer's own OpenCV dependency, opencv-contrib-python:

    python3 -m venv /tmp/fervenv
    /tmp/fervenv/bin/pip install fer==25.10.3 --no-deps     # its other deps (torch, moviepy, ...) are for MTCNN and audio
    /tmp/fervenv/bin/pip install tensorflow-cpu opencv-contrib-python==4.14.0.94 pandas pillow requests tqdm "setuptools<81"
    .venv/bin/python -c "from fer_course.video import make_demo_clip; make_demo_clip('/tmp/bench.mp4', seconds=6, fps=15)"
    QT_QPA_PLATFORM=offscreen /tmp/fervenv/bin/python .ci/bench_fer_peer_video.py --clip /tmp/bench.mp4

The clip is the one the notebook's speed section makes: 6 s at 15 frames per second, 90 frames of 640x480.
What it measures: the wall time of `Video(clip).analyze(FER(), frequency=every, display=False, save_frames=False,
save_video=False, annotate_frames=False, output='pandas')` with fer's defaults (Haar cascade, the tflite
classifier), for every = 1 and 3, the median of `--repeats` runs after a warm-up; video fps = the clip's frames /
seconds, processed fps = the frames it classified / seconds (fer seeks to each processed frame when every > 1).
Run it on an otherwise idle machine (the load average is recorded). The JSON is written atomically.
"""
import argparse, datetime, json, os, platform, statistics, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('TQDM_DISABLE', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import cv2

ROOT = Path(__file__).resolve().parent.parent


def clip_info(path):
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened(): sys.exit(f"cannot read {path} as a video")
    info = {'frames': int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 'fps': cap.get(cv2.CAP_PROP_FPS),
            'size': [int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))]}
    cap.release()
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--clip', required=True, help="make_demo_clip(path, seconds=6, fps=15)")
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--out', default=str(ROOT/'nbs'/'results'/'fer_peer_video.json'))
    a = ap.parse_args()
    import logging
    import fer, tensorflow as tf
    from fer.fer import FER
    from fer.classes import Video
    logging.getLogger('fer').setLevel(logging.WARNING)
    info = clip_info(a.clip)
    detector = FER()                       # fer's defaults: Haar cascade, the quantized tflite classifier
    outdir = tempfile.mkdtemp()
    def run(every):
        video = Video(a.clip, outdir=outdir)
        start = time.perf_counter()
        frames = video.analyze(detector, display=False, frequency=every, save_frames=False, save_video=False,
                               annotate_frames=False, output='pandas')
        return time.perf_counter() - start, len(frames)
    run(1)                                 # warm-up
    runs = []
    for every in (1, 3):
        timed = [run(every) for _ in range(a.repeats)]
        seconds = statistics.median(t for t, _ in timed)
        processed = -(-info['frames'] // every)
        runs.append({'every': every, 'seconds': round(seconds, 3), 'video_fps': info['frames'] / seconds,
                     'processed_fps': processed / seconds, 'frames_with_faces': timed[0][1],
                     'all_seconds': [round(t, 3) for t, _ in timed]})
        print(runs[-1])
    rec = {'name': 'fer_peer_video', 'package': f'fer {fer.__version__}', 'backend': 'tflite (its default)',
           'detector': 'Haar cascade (its default, mtcnn=False)', 'tensorflow': tf.__version__,
           'opencv': cv2.__version__, 'python': platform.python_version(), 'cores': os.cpu_count(),
           'load_average': os.getloadavg()[0], 'clip': {**info, 'made_with': 'make_demo_clip(path, seconds=6, fps=15)'},
           'repeats': a.repeats, 'runs': runs, 'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}
    out = Path(a.out)
    tmp = out.with_name(f'.{out.name}.tmp')
    tmp.write_text(json.dumps(rec, indent=1) + '\n')
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == '__main__': main()
