#!/usr/bin/env python
"""Run notebooks top to bottom in a fresh Jupyter kernel and save their outputs (a clean Restart & Run All).

    .venv/bin/python .ci/execute.py nbs/00_data.ipynb --flags data          # what you commit: outputs from one run
    .venv/bin/python .ci/execute.py nbs/01_logistic.ipynb --flags "data slow"

nbclient alone knows nothing of nbdev's flags, so this script applies them the way `nbdev_test` does:
cells marked `#| eval: false` never run, and cells marked with a flag from settings.ini's `tst_flags`
(notest slow gpu data cpu) run only when that flag is passed. Cells that do not run lose their old outputs, so
nothing stale is saved, except those named with `--keep` (a GPU run's training cells, when the notebook is
re-executed on a CPU: their outputs are that run's, and its record is what the other cells read). `--exclude "slow cpu"` also leaves out the cells that carry all of those flags (the GPU
run shows the CPU variants from their saved weights but does not retrain them). The kernel starts in the
notebook's folder; the notebook is saved (also when a cell fails or the run is interrupted: what ran keeps its
outputs, the error included, and the exit status is non-zero), then cleaned with `nbdev_clean`. Set FER2013_PATH
so the `data` cells find the real FER2013.

`--engine execnb` runs the notebook in-process with execnb's IPython shell instead of a Jupyter kernel (what
`nbdev_test` uses; for machines without Jupyter, such as the GPU machine: see .ci/gpu_run.sh). It skips
`nbdev_clean` when nbdev is not installed. There fastprogress draws console bars, whose updates are carriage returns
in one stream output; both engines save a stream as a terminal or Jupyter shows it (`terminal_text`), so the saved
notebook holds each bar's last state, not its thousands of updates.
"""
import argparse, re, signal, subprocess, sys, time
from configparser import ConfigParser
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent

def directives(src):
    "The `#| ...` directive words at the top of a cell's source."
    words = []
    for line in src.splitlines():
        if not line.startswith('#|'): break
        words += re.split(r'[\s:]+', line[2:].strip())
    return words

def should_run(src, skip_flags, flags, skip_texts=(), exclude=()):
    d = directives(src)
    if 'eval' in d and 'false' in d: return False
    if any(t in src for t in skip_texts): return False
    if exclude and all(f in d for f in exclude): return False
    return not any(f in d and f not in flags for f in skip_flags)

def plan(cells, skip, flags, skip_texts=(), exclude=(), until=None):
    "Which code cells run (a list of bools, one per cell): `should_run`, and none after the first cell whose source contains `until`."
    runs, stopped = [], False
    for cell in cells:
        runs.append(cell.cell_type == 'code' and not stopped and should_run(cell.source, skip, flags, skip_texts, exclude)
                    and 'nbdev_export(' not in cell.source)
        stopped = stopped or (until is not None and until in cell.source)
    return runs

def clear(cells, runs, keep=()):
    "Clear the outputs of the code cells, except those of a cell that does not run and contains a text of `keep`."
    for cell, run in zip(cells, runs):
        if cell.cell_type == 'code' and (run or not any(t in cell.source for t in keep)): cell.outputs, cell.execution_count = [], None

def skip_flags():
    cfg = ConfigParser(); cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT']['tst_flags'].split()

def clean(path):
    "nbdev_clean the notebook, when nbdev is installed."
    exe = Path(sys.executable).parent/'nbdev_clean'
    if exe.exists(): subprocess.run([exe, '--fname', str(path)], check=True, cwd=ROOT)
    else: print(f"nbdev_clean not found: {path.name} is not cleaned (run nbdev_clean before committing)")

def terminal_text(text:str)->str:
    "What a terminal or Jupyter shows of `text`: a carriage return sends the cursor back to the line's start, and what follows overwrites it."
    lines = []
    for line in text.replace('\r\n', '\n').split('\n'):
        shown = ''
        for part in line.split('\r'): shown = part + shown[len(part):]
        lines.append(shown.rstrip(' ') if '\r' in line else line)   # (trailing blanks of an overwritten bar show as nothing)
    return '\n'.join(lines)

def show_streams(nb):
    "Save stream outputs as they are displayed: a console progress bar (fastprogress without Jupyter, as under execnb) leaves its last state, not every update."
    for cell in nb['cells']:
        for o in cell.get('outputs', []):
            if o.get('output_type') == 'stream' and '\r' in (text := ''.join(o['text']) if isinstance(o['text'], list) else o['text']):
                o['text'] = terminal_text(text)

def execute_execnb(path, flags, skip_texts=(), exclude=(), keep=(), until=None):
    "Run in-process with execnb (no Jupyter kernel needed); stop at the first error, saving what ran."
    import os
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)
    runs = plan(nb.cells, skip_flags(), flags, skip_texts, exclude, until)
    clear(nb.cells, runs, keep)
    todo, ran = {id(c) for c, r in zip(nb.cells, runs) if r}, 0
    def preproc(cell):
        nonlocal ran
        run = id(cell) in todo
        ran += run
        return not run
    t0, cwd = time.time(), os.getcwd()
    os.chdir(path.parent)
    try:
        shell = CaptureShell(path)
        shell.run_all(nb, exc_stop=True, preproc=preproc)
    finally:
        os.chdir(cwd)
        show_streams(nb)
        write_nb(nb, path)     # also after an error or an interrupt: the cells that ran keep their outputs
        clean(path)
        print(f"{path.name}: ran {ran} code cells with flags {sorted(flags) or 'none'} in {time.time() - t0:.0f} s (execnb)")

def execute(path, flags, timeout, skip_texts=(), exclude=(), keep=(), until=None):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    runs = plan(nb.cells, skip_flags(), flags, skip_texts, exclude, until)
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}})
    t0, ran = time.time(), 0
    clear(nb.cells, runs, keep)
    try:
        with client.setup_kernel():
            for i, (cell, run) in enumerate(zip(nb.cells, runs)):
                if run: client.execute_cell(cell, i); ran += 1
    finally:
        show_streams(nb)
        nbformat.write(nb, path)   # also after an error or an interrupt: the cells that ran keep their outputs
        clean(path)
        print(f"{path.name}: ran {ran} code cells with flags {sorted(flags) or 'none'} in {time.time() - t0:.0f} s")

def _interrupted(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # only the first TERM stops the run: a second one (timeout and gpu_run.sh both send one) must not cut short the save
    raise KeyboardInterrupt(f"stopped by signal {signum}")

if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _interrupted)   # a TERM (a time limit: timeout, gpu_run.sh) stops the run as Ctrl-C does: the notebook is saved
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+', type=Path)
    ap.add_argument('--flags', default='', help='space-separated test flags to run, e.g. "data slow gpu"')
    ap.add_argument('--timeout', type=int, default=4 * 3600,
                    help='seconds allowed for one cell (a guard against a hung kernel; a CPU training cell of 04 takes over half an hour on 2 cores)')
    ap.add_argument('--engine', choices=('jupyter', 'execnb'), default='jupyter', help='a Jupyter kernel (default) or execnb in-process')
    ap.add_argument('--skip', action='append', default=[], metavar='TEXT',
                    help='do not run the code cells whose source contains TEXT (they lose their outputs, like a cell whose flag is not given); '
                         'repeatable. For one new slow cell among others, e.g. --skip "run_small = train_resnet"')
    ap.add_argument('--exclude', default='', metavar='FLAGS',
                    help='do not run the cells that carry all of these space-separated flags, e.g. "slow cpu" (the CPU variants\' training)')
    ap.add_argument('--keep', action='append', default=[], metavar='TEXT',
                    help='a code cell that does not run and whose source contains TEXT keeps its saved outputs (those of a GPU run, '
                         'when a notebook is re-executed on a CPU), instead of losing them; repeatable')
    ap.add_argument('--until', metavar='TEXT', help='run no cell after the first one whose source contains TEXT')
    ap.add_argument('--all', action='store_true',
                    help="run every cell but '#| eval: false', whatever its flags: what a learner's Run All does")
    ap.add_argument('--record', action='store_true',
                    help="the course's own run: the notebook's folder gets runs/ -> results/ for the run, so the records a "
                         "lesson saves to runs/ (a learner's own, never committed) land in results/ (committed)")
    a = ap.parse_args()
    if a.all: a.flags = ' '.join(skip_flags())
    links = []   # (link, the learner's own runs/ moved aside for the run, or None)
    if a.record:
        import os
        for d in sorted({nb.resolve().parent for nb in a.notebooks}):
            runs, aside = d/'runs', None
            if runs.is_symlink(): runs.unlink()
            if runs.exists():
                aside = d/f'runs.aside-{os.getpid()}'
                runs.rename(aside)
                print(f"execute.py: {runs} moved aside to {aside.name} for the run (put back after it)")
            runs.symlink_to('results', target_is_directory=True)
            links.append((runs, aside))
    def restore():
        for link, aside in links:
            if link.is_symlink(): link.unlink()
            if aside is not None and aside.exists(): aside.rename(link)
    import atexit
    atexit.register(restore)
    for nb in a.notebooks:
        if a.engine == 'execnb': execute_execnb(nb.resolve(), set(a.flags.split()), a.skip, a.exclude.split(), a.keep, a.until)
        else: execute(nb.resolve(), set(a.flags.split()), a.timeout, a.skip, a.exclude.split(), a.keep, a.until)
