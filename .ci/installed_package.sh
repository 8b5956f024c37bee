#!/usr/bin/env bash
# CI, the installed package: build the sdist and, from it, the wheel; install the wheel in a fresh venv in an empty
# folder (no repository file reachable) and run there the README's main job by recipe name, `tim-bench zoo`, and
# `download` from a local HTTP server on 127.0.0.1 serving a checkpoint of a released layout (accepted, cached, used
# by `test`) and a corrupted one (refused, removed). Prints the sizes and the time of each step.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
t0=$(date +%s)
step() { echo "--- [$(( $(date +%s) - t0 )) s] $*"; }

step "build: sdist, then the wheel from the sdist (proves the sdist is complete)"
python -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
ls -l "$work/dist"
python - "$work/dist" <<'PY'
import sys, tarfile, zipfile
from pathlib import Path
for f in sorted(Path(sys.argv[1]).iterdir()):
    names = zipfile.ZipFile(f).namelist() if f.suffix == ".whl" else tarfile.open(f).getnames()
    print(f"{f.name}: {f.stat().st_size / 1024:.0f} KiB, {len(names)} files")
PY

step "fresh venv in an empty folder: torch, then the wheel"
mkdir "$work/empty" && cd "$work/empty"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q torch==2.13.0
"$work/venv/bin/pip" install -q "$work/dist/"*.whl
export PATH="$work/venv/bin:$PATH"
site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "installed: $(du -sm "$site" | cut -f1) MiB in site-packages (torch $(du -sm "$site/torch" | cut -f1) MiB)"
python -c "import tim_bench, sys; assert 'torch' not in sys.modules; print('tim_bench', tim_bench.__version__)"

step "the README's main job, by recipe name"
tim-bench make-synthetic ave d
tim-bench run ave_vgg --work-dir run --cfg-options data_root=d train_cfg.max_epochs=1
test -s run/result.json

step "tim-bench zoo lists every recipe, with published numbers and checkpoints"
tim-bench zoo > zoo.txt
for recipe in ave_vgg ave_omnivore_asf epic_av epic_av_omnivore_videomae epic_sounds epic_visual perception_av; do
  grep -q "^$recipe " zoo.txt || { echo "zoo does not list $recipe"; exit 1; }
done
for ckpt in tim_ave tim_epic_av tim_epic_visual tim_perception_av; do grep -q "$ckpt (" zoo.txt; done
grep -q "acc_visual 79.851" zoo.txt

step "download from a local server: a released layout is verified, cached and used; a corrupted one is refused"
mkdir served corrupted
python - <<'PY'
import torch
from tim_bench.modelzoo.download import read_manifest, weights
shapes = read_manifest(weights("tim_ave"))
state = {k: torch.randn(shape) for k, (shape, _) in shapes.items()}
torch.save({"epoch": 30, "state_dict": state}, "served/ave.pth.tar")
data = open("served/ave.pth.tar", "rb").read()
open("corrupted/ave.pth.tar", "wb").write(data[: len(data) * 2 // 3])
PY
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python -m http.server --bind 127.0.0.1 --directory . "$port" >server.log 2>&1 &
server_pid=$!
python - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close(); break
    except OSError:
        time.sleep(0.1)
PY
TIM_BENCH_ZOO="$PWD/cache" TIM_BENCH_ZOO_MIRROR="http://127.0.0.1:$port/served" tim-bench download tim_ave
test -f cache/ave.pth.tar
tim-bench make-synthetic ave d2 --videos 40 --omnivore-asf
TIM_BENCH_ZOO="$PWD/cache" TIM_BENCH_ZOO_MIRROR="http://127.0.0.1:$port/nothing-here" \
  tim-bench test ave_omnivore_asf tim_ave --work-dir scored --cfg-options data_root=d2
python -c "import json, hashlib; r = json.load(open('scored/test_val.json')); \
assert r['zoo'] == 'tim_ave' and r['checkpoint_sha256'] == hashlib.sha256(open('cache/ave.pth.tar', 'rb').read()).hexdigest()"
if TIM_BENCH_ZOO="$PWD/cache2" TIM_BENCH_ZOO_MIRROR="http://127.0.0.1:$port/corrupted" \
    tim-bench download tim_ave 2>refused.txt; then
  echo "a corrupted checkpoint was accepted"; exit 1
fi
cat refused.txt
grep -q "removed" refused.txt
test -z "$(ls -A cache2 2>/dev/null)"
step "installed-package checks passed"
