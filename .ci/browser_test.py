"""Open every page of the local site in headless Chromium, check it, and take a screenshot.

    python .ci/browser_test.py [--site _site] [--shots .screenshots]    (relative paths: from the repo root)

Build the site first with `python .ci/site.py`. The browser: $CHROMIUM if set (a path or a command), else the first of
chromium, chromium-browser, google-chrome, google-chrome-stable on PATH (`--find-browser` prints it). Per page: an H1
title; a <nav> linking every page; local links and images resolve (data: URIs decode; nothing is fetched from the
network); no stderr/error output, Traceback or printed `<Figure size ...>`; no local paths or user names; the
expectations in EXPECT. Prints `N passed, M failed`.
"""
import argparse, base64, binascii, getpass, http.server, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

# Page-specific expectations, keyed by page (`logistic` for logistic.html) or by its notebook (`01_logistic`).
# min_images: <img> inside cell outputs; min_tables: <table> anywhere; contains: strings the page text must hold.
EXPECT = {
    'index': {'min_tables': 2, 'contains': ['PrivateTest', 'bash .ci/test', 'resnet_fast_distilled']},
    '00_data': {'min_images': 4, 'min_tables': 2, 'contains': ['ResidentLoader', 'A gallery of faces']},
    '01_logistic': {'min_images': 2, 'min_tables': 1, 'contains': ['How much is luck?', 'on PrivateTest']},
    '02_feedforward': {'min_images': 3, 'min_tables': 2, 'contains': ['Dropout', 'underfit']},
    '03_cnn': {'min_images': 5, 'min_tables': 2, 'contains': ['Weight sharing', 'receptive field', 'Is it the convolutions?']},
    '04_resnet': {'min_images': 2, 'min_tables': 2, 'contains': ['ResBlock', 'Without the skips', '73.5']},
    '05_compare': {'min_images': 4, 'min_tables': 2, 'contains': ['Grad-CAM', 'One table']},
    '06_predict': {'min_images': 2, 'min_tables': 1, 'contains': ['Haar', 'ms per face']},
    '07_cli': {'min_images': 1, 'contains': ['fer-course data', 'fer-course webcam']},
    '08_video': {'min_images': 1, 'min_tables': 2, 'contains': ['Smoothing', 'frames per second']},
    '80_tricks': {'min_images': 1, 'min_tables': 2, 'contains': ['Why the EMA lost']},
    '81_ship': {'min_tables': 1, 'contains': ['Distillation', 'temperature']},
    '82_robust': {'min_images': 2, 'min_tables': 1, 'contains': ['half the resolution', 'OffFraming']},
    '90_fer2013': {'contains': ['load_fer2013']},
    '91_records': {'contains': ['safetensors']},
    '92_predict_internals': {'contains': ['MAX_IMAGE_PIXELS']},
    '93_cli_errors': {'contains': ['error:']},
}
CHROMIUM = None  # the browser's path: main() sets it from find_chromium()
BROWSERS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']  # looked up on PATH after $CHROMIUM
INSTALL_HINT = ('install one (Debian: apt-get install chromium; Ubuntu: Google Chrome from google.com/chrome or the chromium snap; '
                'bash .ci/setup does it on Debian as root) or set CHROMIUM=/path/to/chrome-or-chromium')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--virtual-time-budget=5000']
PRIVATE = ['/work/', '/root/', '/home/', '/tmp/', '/Users/', 'C:\\', 'file://']  # local paths
GENERIC_USERS = {'root', 'user', 'runner', 'admin', 'jovyan', 'ubuntu', 'debian', 'localhost'}
USERS = {o for o in (getpass.getuser(), socket.gethostname()) if len(o) > 2 and o.lower() not in GENERIC_USERS}
RESOURCE = {'script': 'src', 'img': 'src', 'iframe': 'src', 'source': 'src', 'video': 'src', 'audio': 'src', 'embed': 'src', 'link': 'href'}


class Page(HTMLParser):
    "Collects what the checks need from a dumped DOM."
    def __init__(self, dom):
        super().__init__()
        self.h1, self.nav_links, self.links, self.resources, self.out_imgs, self.tables, self.meta = [], [], [], [], 0, 0, {}
        self.text, self.out_text, self.stderr, self.stack = [], [], [], []  # stack: (tag, output, stderr, h1, script/style)
        self.feed(dom)

    def flag(self, i): return any(o[i] for o in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs); cls = a.get('class') or ''
        if tag == 'a' and a.get('href') is not None: (self.nav_links if any(o[0] == 'nav' for o in self.stack) else self.links).append(a['href'])
        if tag == 'img' or tag in RESOURCE and a.get(RESOURCE[tag]) and (tag != 'link' or re.search('stylesheet|icon|preload', a.get('rel') or '')):
            self.resources.append((tag, a.get(RESOURCE[tag])))  # what the browser loads (inline scripts have no src)
        if tag == 'img' and self.flag(1): self.out_imgs += 1
        if tag == 'table': self.tables += 1
        if tag == 'meta' and a.get('name'): self.meta[a['name']] = a.get('content')
        if tag in ('img', 'br', 'hr', 'meta', 'link', 'input', 'source', 'col', 'wbr', 'area', 'base', 'embed'): return
        is_out = 'jp-OutputArea-output' in cls or any(c.startswith('cell-output') for c in cls.split())  # nbconvert or Quarto
        is_err = a.get('data-mime-type') == 'application/vnd.jupyter.stderr' or 'cell-output-stderr' in cls or 'cell-output-error' in cls
        self.stack.append((tag, is_out, is_err, tag == 'h1', tag in ('script', 'style')))
        if is_err: self.stderr.append([])

    def handle_endtag(self, tag):
        if any(o[0] == tag for o in self.stack):
            while self.stack.pop()[0] != tag: pass

    def handle_data(self, data):
        if self.flag(4): return
        self.text.append(data)
        if self.flag(1): self.out_text.append(data)
        if self.flag(2): self.stderr[-1].append(data)
        if self.flag(3): self.h1.append(data)


def check_data_uri(src):
    m = re.match(r'data:([^;,]*)((?:;[^;,]*)*),(.*)', src, re.S)
    if not m: return 'malformed data: URI'
    try: data = base64.b64decode(m[3], validate=True) if ';base64' in m[2] else unquote(m[3]).encode()
    except (binascii.Error, ValueError) as e: return f'data: URI does not decode ({e})'
    if not data: return 'empty data: URI'
    if m[1] == 'image/png' and not data.startswith(b'\x89PNG'): return 'data: URI is not a PNG'


def check_page(name, url, dom, site, pages, missing):
    p, errs = Page(dom), []
    if not ''.join(p.h1).strip(): errs.append('no H1 title')
    local = lambda h: (site/unquote(urlparse(urljoin(url, h)).path).lstrip('/')) if urlparse(urljoin(url, h)).hostname == '127.0.0.1' else None
    in_nav = {f.name for f in map(local, p.nav_links) if f}
    if (lacking := [f'{o}.html' for o in pages if f'{o}.html' not in in_nav]): errs.append('the <nav> does not link to ' + ', '.join(lacking))
    for h in p.nav_links + p.links:
        f = local(h)
        if f is not None and not (f/'index.html' if f.is_dir() else f).is_file(): errs.append(f'broken link href="{h}"')
    for tag, src in p.resources:
        if not src: errs.append(f'<{tag}> without a source')
        elif src.startswith('data:'):
            if (e := check_data_uri(src)): errs.append(f'<{tag}> {src[:40]}...: {e}')
        elif (f := local(src)) is None: errs.append(f'<{tag}> fetches an external resource: {src[:100]}')
        elif not f.is_file(): errs.append(f'<{tag}> source does not exist: {src[:100]}')
    errs += [f'browser got 404 for {o}' for o in missing if o != '/favicon.ico']
    for s in p.stderr: errs.append('stderr/error output: ' + next((l.strip() for l in ''.join(s).splitlines() if re.search(r'[A-Za-z]', l)), '')[:120])
    out, text = ''.join(p.out_text), ''.join(p.text)
    if 'Traceback' in out: errs.append('a Traceback in the outputs')
    errs += [f'error in the outputs: {m[0][:120]}' for m in re.finditer(r'^[ \t]*\w*(?:Error|Exception): .*$', out, re.M)][:3]
    errs += [f'object repr with a memory address in the outputs: {m[0][:80]}' for m in re.finditer(r'<[\w.]+ (?:object )?at 0x[0-9a-fA-F]+>', out)][:3]
    if '<Figure size' in out: errs.append('a matplotlib figure was printed (<Figure size ...>) instead of drawn')
    bare = re.sub(r'data:[^"\'\s)]*', 'data:', dom)
    for pat in PRIVATE:  # quote the page text where possible, else the markup (attributes)
        if (m := re.search(re.escape(pat), hay := text) or re.search(re.escape(pat), hay := bare)):
            errs.append(f'local path {pat!r} in: {" ".join(hay[max(0, m.start()-40):m.end()+40].split())!r}')
    for u in USERS:
        if (m := re.search(rf'\b{re.escape(u)}\b', text)): errs.append(f'user/host name {u!r} in: {" ".join(text[max(0, m.start()-40):m.end()+40].split())!r}')
    exp = EXPECT.get(name) or EXPECT.get(Path(p.meta.get('notebook') or '-').stem) or {}
    if p.out_imgs < exp.get('min_images', 0): errs.append(f'{p.out_imgs} images in outputs, expected at least {exp["min_images"]}')
    if p.tables < exp.get('min_tables', 0): errs.append(f'{p.tables} tables, expected at least {exp["min_tables"]}')
    errs += [f'text {s!r} not found' for s in exp.get('contains', []) if s not in text]
    return errs, p.meta.get('notebook')


def find_chromium():
    "The browser to run: $CHROMIUM if set (a path or a name on PATH), else the first of BROWSERS on PATH; None if none."
    if (env := os.environ.get('CHROMIUM')): return shutil.which(env)  # which() takes a path too (checks it is executable)
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def no_chromium():
    env = os.environ.get('CHROMIUM')
    looked = f'$CHROMIUM={env!r} (not an executable file nor a command on PATH)' if env else f'$CHROMIUM (unset), then {", ".join(BROWSERS)} on PATH'
    return f'browser_test.py: error: no Chromium/Chrome found; looked for {looked}; {INSTALL_HINT}'


def chromium(*args, timeout=60):
    "Run headless Chromium with a fresh profile; on timeout kill its whole process group (it forks helpers)."
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.Popen([CHROMIUM, *FLAGS, f'--user-data-dir={profile}', *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try: out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL); p.communicate(); raise
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def main():
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default='_site', help='site folder (from .ci/site.py); relative to the repo root')
    ap.add_argument('--shots', default='.screenshots', help='screenshot folder; relative to the repo root')
    ap.add_argument('--find-browser', action='store_true', help='print the browser the test would run and exit (status 1 if none); .ci/setup uses it')
    args = ap.parse_args()
    global CHROMIUM  # chromium() runs it
    CHROMIUM = find_chromium()
    if args.find_browser:
        if CHROMIUM: print(CHROMIUM); sys.exit(0)
        sys.exit(no_chromium())
    site, shots = (root/args.site).resolve(), root/args.shots
    pages = sorted(f.stem for f in site.glob('*.html'))
    if not pages: sys.exit(f'browser_test.py: error: no pages in {site}; run python .ci/site.py first')
    if not CHROMIUM: sys.exit(no_chromium())
    shots.mkdir(parents=True, exist_ok=True)
    missing = []
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
        def send_error(self, code, *a, **kw):
            if code == 404: missing.append(self.path)
            super().send_error(code, *a, **kw)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    failed, notebooks = [], set()
    try:
        for name in pages:
            url, errs = f'http://127.0.0.1:{server.server_port}/{name}.html', []
            missing.clear()
            try:
                r = chromium('--dump-dom', url)
                if r.returncode or '<html' not in r.stdout: errs.append(f'chromium --dump-dom failed (rc {r.returncode}): {r.stderr.strip()[-300:]}')
                else:
                    e, nb = check_page(name, url, r.stdout, site, pages, list(missing)); errs += e; notebooks.add(nb)
                shot = shots/f'{name}.png'; shot.unlink(missing_ok=True)
                r = chromium(f'--screenshot={shot}', '--window-size=1280,2000', url)
                if not shot.is_file() or shot.stat().st_size < 1000: errs.append(f'no screenshot (rc {r.returncode}): {r.stderr.strip()[-300:]}')
            except subprocess.TimeoutExpired as e: errs.append(f'chromium timed out after {e.timeout} s')
            print(f'{"FAIL" if errs else "ok  "} {name}.html' + ''.join(f'\n     {name}: {e}' for e in errs))
            if errs: failed.append(name)
    finally: server.shutdown()
    for k in EXPECT:  # an expectation for a page that was not built is a failure too
        if k not in pages and f'{k}.ipynb' not in notebooks:
            print(f'FAIL {k}: EXPECT names it but there is no such page in {args.site}'); failed.append(k)
    print(f'screenshots in {shots}/')
    print(f'{len(pages) - len(set(failed) & set(pages))} passed, {len(failed)} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
