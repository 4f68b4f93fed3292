"""Local stand-in for the Quarto site (no Quarto here), NOT a second site generator: python .ci/site.py [--out _site]

nbdev's `proc_nbs()` writes `_proc/` (what `nbdev_docs` gives Quarto); nbconvert (lab template, plots as base64 PNG, no
CDN scripts) writes each notebook to `<out>/<output-file>`, the name Quarto publishes (01_logistic.ipynb -> logistic.html),
with its title as H1, a sidebar in the order of nbs/_quarto.yml, `xx.ipynb` links rewritten. Check: .ci/browser_test.py
"""
import argparse, html, os, re, shutil, sys
import yaml
from pathlib import Path

TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block html_head_js %}{% endblock %}{% block jupyter_widgets %}{% endblock %}
{% block html_head_js_mathjax %}{% endblock %}{% block html_head_js_mermaidjs %}{% endblock %}
{% block extra_css %}<meta name="notebook" content="{{ resources.metadata.name }}.ipynb">
<style>body.jp-Notebook {margin-left: 250px; max-width: 1000px}
nav#site-nav {position: fixed; top: 0; left: 0; bottom: 0; width: 230px; overflow-y: auto; padding: 1.5rem 1rem;
  background: #f7f7f9; border-right: 1px solid #ddd; font: 15px/1.4 sans-serif}
nav#site-nav a {display: block; padding: .35rem 0; color: #2c3e50; text-decoration: none}
nav#site-nav a[aria-current] {font-weight: bold; color: #2780e3}
nav#site-nav p.nav-section {margin: 1rem 0 .2rem; font-size: .8rem; text-transform: uppercase; color: #6c757d}
main > h1.title, main > p.description {font-family: var(--jp-content-font-family); padding-left: 12px}
main > p.description {font-style: italic; font-size: 125%; opacity: .7; margin-top: 0}</style>{% endblock %}
{% block body_header %}<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.site_nav }}<main>{{ resources.site_head }}{% endblock %}
"""
OPTION = re.compile(r'^#\|\s*([\w-]+)\s*(?::\s*(.*?))?\s*$')  # Quarto/nbdev cell option lines
PANDOC = re.compile(r'(?<=\))\{[^{}\n]*\}|^:::.*\n?', re.M)  # Pandoc-only markdown: [a](b){target=..}, ::: fences

def find_root():
    for d in [Path(__file__).resolve().parents[1], Path.cwd(), *Path.cwd().parents]:
        if (d/'settings.ini').is_file(): return d
    raise RuntimeError('no settings.ini next to .ci/ nor in the current folder or its parents')

def sidebar_order(quarto_yml, names):
    "Notebook names in the order of `website.sidebar.contents`, else sorted; unknown entries are reported."
    cfg = yaml.safe_load(quarto_yml.read_text()) if quarto_yml.exists() else {}
    sidebar = ((cfg or {}).get('website') or {}).get('sidebar') or {}
    if isinstance(sidebar, list): sidebar = sidebar[0] if sidebar else {}
    def flat(items):
        for o in items if isinstance(items, list) else []:
            if isinstance(o, str): yield o
            elif isinstance(o, dict): yield from ([o['href']] if 'href' in o else flat(o.get('contents')))
    listed = [Path(o).name for o in flat(sidebar.get('contents'))]
    if not listed: return sorted(names, key=lambda n: (n != 'index.ipynb', n))
    for o in [f'sidebar entry {o} has no notebook' for o in listed if o not in names] + \
             [f'{o} is not in the sidebar of {quarto_yml.name}' for o in sorted(set(names) - set(listed))]:
        print(f'site.py: warning: {o}', file=sys.stderr)
    return [o for o in listed if o in names]

def sidebar_sections(quarto_yml)->dict:
    "The sidebar section each notebook is listed under (`- section: ...` entries of `website.sidebar.contents`)."
    cfg = yaml.safe_load(quarto_yml.read_text()) if quarto_yml.exists() else {}
    sidebar = ((cfg or {}).get('website') or {}).get('sidebar') or {}
    if isinstance(sidebar, list): sidebar = sidebar[0] if sidebar else {}
    found = {}
    for o in sidebar.get('contents') or []:
        if isinstance(o, dict) and 'section' in o:
            for c in o.get('contents') or []:
                if isinstance(c, str): found[Path(c).name] = str(o['section'])
    return found

def nav_links(in_nav, current, pages, href, sections)->str:
    "The sidebar: a link per page, with a heading where a section starts."
    parts, last = [], None
    for o in in_nav:
        if sections.get(o) and sections[o] != last:
            parts.append(f'<p class="nav-section">{html.escape(sections[o])}</p>')
        last = sections.get(o)
        title = html.escape(str(pages[o][0]["title"] or o))
        parts.append(f'<a href="{href[o]}"{" aria-current=page" * (o == current)}>{title}</a>')
    return ''.join(parts)

def prepare(nb, name):
    "Apply what Quarto does with `_proc` notebooks: front matter -> title, cell options echo/output/include."
    fm = {}
    if nb.cells and nb.cells[0].cell_type == 'raw' and (m := re.match(r'\s*---\n(.*?)\n---', nb.cells[0].source, re.S)):
        fm = yaml.safe_load(m.group(1)) or {}
        nb.cells.pop(0)
    cells = []
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = PANDOC.sub('', c.source)
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): o.data['text/markdown'] = PANDOC.sub('', o.data['text/markdown'])
        if c.cell_type == 'code':
            lines, opts = c.source.splitlines(), {}
            while lines and (m := OPTION.match(lines[0])): opts[m[1]] = str(m[2]).lower(); lines.pop(0)
            c.source = '\n'.join(lines)
            if opts.get('include') == 'false': continue
            if opts.get('echo') == 'false': c.metadata.setdefault('transient', {})['remove_source'] = True
            if opts.get('output') == 'false': c.outputs = []
            if not c.source.strip() and not c.outputs: continue  # e.g. only `#| eval: false` and a stripped magic
        cells.append(c)
    nb.cells = cells
    return {'title': None, 'output-file': Path(name).stem + '.html', **fm}  # proc_nbs made the first H1 the title

def lost_title_lines(nb):
    "Lines nbdev drops: it turns the first markdown cell with an H1 into title/description and removes that cell."
    for c in nb.cells:
        if c.cell_type == 'markdown' and re.search(r'^#\s+\S', c.source, re.M):
            kept = [re.search(r'^#\s+\S.*$', c.source, re.M)[0], (re.search(r'^>\s+\S.*$', c.source, re.M) or [''])[0]]
            return [l for l in c.source.splitlines() if l.strip() and l not in kept and not re.match(r'-\s+\S.*:', l)]
    return []

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='_site', help='output folder; a relative path is taken from the repo root')
    ap.add_argument('--force', action='store_true', help='ignore the _proc cache (proc_nbs(force=True))')
    args = ap.parse_args()
    root = find_root()
    os.chdir(root)  # nbdev's get_config() looks for settings.ini from the current folder
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    cfg = get_config()
    nbs, out, site_url = cfg.nbs_path, root/args.out, (cfg.doc_host + cfg.doc_baseurl).rstrip('/')
    names = [p.name for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.'))]
    if not names: raise RuntimeError(f'no notebooks in {nbs}')
    if out.resolve() in (root, nbs.resolve()): raise RuntimeError(f'--out {args.out} would overwrite project files')
    for n in names:
        try: src = nbformat.read(nbs/n, as_version=4)
        except Exception as e: raise RuntimeError(f'cannot read {n}: {e}') from e
        if (lost := lost_title_lines(src)):
            print(f'site.py: warning: {n}: nbdev drops the rest of the title cell, move it to its own cell: {lost[0][:60]!r}', file=sys.stderr)
    proc = Path(proc_nbs(force=args.force))
    in_nav = sidebar_order(nbs/'_quarto.yml', names)
    pages = {}  # notebook name -> (front matter, notebook), sidebar pages first
    for n in in_nav + sorted(set(names) - set(in_nav)):
        if not (proc/n).is_file(): raise RuntimeError(f'proc_nbs wrote no {proc.name}/{n}')
        nb = nbformat.read(proc/n, as_version=4)
        pages[n] = (prepare(nb, n), nb)
    href = {n: fm['output-file'] for n, (fm, _) in pages.items()}
    sections = sidebar_sections(nbs/'_quarto.yml')
    exporter = HTMLExporter(extra_loaders=[DictLoader({'site.html.j2': TEMPLATE})], template_file='site.html.j2',
                            embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True)  # Quarto shows no In/Out
    out.mkdir(parents=True, exist_ok=True)
    for n, (fm, nb) in pages.items():
        links = nav_links(in_nav, n, pages, href, sections)
        head = (f'<h1 class="title">{html.escape(str(fm["title"]))}</h1>' if fm['title'] else '') + \
               (f'<p class="description">{html.escape(str(fm["description"]))}</p>' if fm.get('description') else '')
        nb.metadata['title'] = str(fm['title'] or Path(n).stem)
        body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'name': Path(n).stem, 'path': str(proc)},
                                                             'site_nav': f'<nav id="site-nav">{links}</nav>', 'site_head': head})
        body = body.replace(f'href="{site_url}/', 'href="')  # nbdev's links to symbols (`add_links`): keep them local
        body = re.sub(r'href="([^"#?/:]+\.ipynb)(?=[#"?])', lambda m: f'href="{href.get(m[1], m[1])}', body)
        body = re.sub(r'<h([1-6]) id="([^"]+)"', lambda m: f'<h{m[1]} id="{m[2].lower()}"', body)  # Pandoc ids are lowercase
        for ref in set(re.findall(r'(?:src|href)="(?![a-z]+:|/|#)([^"#?]+)', body)):  # local files the page uses
            if (proc/ref).is_file() and (proc/ref).resolve().is_relative_to(proc.resolve()) and not ref.endswith('.ipynb'):
                (out/ref).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(proc/ref, out/ref)
        (out/fm['output-file']).write_text(body, encoding='utf-8')
    for f in out.glob('*.html'):  # pages of deleted notebooks
        if f.name not in href.values(): f.unlink()
    print(f'site.py: wrote {len(pages)} pages to {out}: ' + ', '.join(href.values()))

if __name__ == '__main__':  # proc_nbs starts worker processes with 'spawn': keep this guard
    try: main()
    except Exception as e:
        sys.exit(f'site.py: error: {type(e).__name__}: {e}')
