"Check that a fer_course wheel holds the library (and its metadata) and no data: no CSV, no images, nothing large."
import sys, zipfile
whl = sys.argv[1]
names = zipfile.ZipFile(whl).namelist()
infos = zipfile.ZipFile(whl).infolist()
bad = [n for n in names if not (n.startswith('fer_course/') or '.dist-info/' in n)]
bad += [n for n in names if n.lower().endswith(('.csv', '.csv.gz', '.jpg', '.npz', '.pt'))]
big = [f'{i.filename} ({i.file_size:,} bytes)' for i in infos if i.file_size > 20_000_000]
mods = sorted(n for n in names if n.startswith('fer_course/') and n.endswith('.py'))
print(f"{whl.split('/')[-1]}: {len(names)} files; modules: {', '.join(m.split('/')[-1] for m in mods)}")
if bad or big: sys.exit(f"unexpected files in the wheel: {bad + big}")
