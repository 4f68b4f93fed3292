#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which these machines cannot install).

    .venv/bin/python .ci/readme.py           # regenerate README.md
    .venv/bin/python .ci/readme.py --check   # exit 1 if README.md differs from what index.ipynb gives (CI runs this)

Markdown cells are copied as they are. Code cells follow nbdev's directives: `#| hide` cells are dropped,
`#| echo: false` cells show only their saved outputs (Markdown outputs as Markdown, plain text in a code block),
other cells show their code (directive lines removed) and then their outputs.
"""
import sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parent.parent
HEADER = '<!-- Generated from nbs/index.ipynb by .ci/readme.py: edit the notebook, not this file. -->\n\n'

def directives(src): return [l[2:].strip().replace(' ', '') for l in src.splitlines() if l.startswith('#|')]

def outputs_md(cell):
    out = []
    for o in cell.get('outputs', []):
        data = o.get('data', {})
        if 'text/markdown' in data: out.append(''.join(data['text/markdown']))
        elif o.get('output_type') == 'stream': out.append('```\n' + ''.join(o['text']).rstrip() + '\n```')
        elif 'text/plain' in data: out.append('```\n' + ''.join(data['text/plain']).rstrip() + '\n```')
    return out

def readme(nb_path=ROOT/'nbs'/'index.ipynb')->str:
    parts = []
    for c in nbformat.read(nb_path, as_version=4).cells:
        if c.cell_type == 'markdown': parts.append(c.source.strip()); continue
        if c.cell_type != 'code': continue
        d = directives(c.source)
        if 'hide' in d or 'include:false' in d: continue
        if 'echo:false' not in d:
            code = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
            if code: parts.append(f'```python\n{code}\n```')
        parts += outputs_md(c)
    return HEADER + '\n\n'.join(p for p in parts if p) + '\n'

if __name__ == '__main__':
    text, target = readme(), ROOT/'README.md'
    if '--check' in sys.argv:
        if target.read_text() != text: sys.exit('README.md is out of date: run .venv/bin/python .ci/readme.py and commit it')
        print('README.md matches nbs/index.ipynb')
    else: target.write_text(text); print(f'wrote {target.name}')
