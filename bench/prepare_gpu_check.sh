#!/usr/bin/env bash
# Prepares bench/gpu_check.sh on a CPU machine: the project and the dependencies a CUDA machine with torch lacks
# as wheels in .whl/, the real annotation files in .devdata/ (../shared is not beside the checkout there). Both
# folders are listed in .git/info/exclude, so they travel only when carried.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo '/.devdata/' >> .git/info/exclude
rm -rf .whl .devdata && mkdir -p .whl
python3 -m pip wheel -q --no-deps -w .whl .
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  mmengine-lite==0.10.7 addict yapf termcolor rich markdown-it-py mdurl pygments platformdirs tomli
cp -r ../shared/data .devdata
du -sh .whl .devdata
