#!/usr/bin/env bash
# Prepares bench/gpu_check.sh on a CPU machine: the project and the dependencies a CUDA machine with torch lacks
# as wheels in .whl/, the real annotation files in .devdata/data/ (../shared is not beside the checkout there) and
# the original TIM's recognition code in .devdata/TIM/ (from a git dir of JacobChalk/TIM: TIM_ORIGINAL_GIT, or a
# ../.mirror/JacobChalk+TIM/repo beside a folder above the checkout). Both folders are listed in .git/info/exclude,
# so they travel only when carried.
set -euo pipefail
cd "$(dirname "$0")/.."
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
grep -qx '/.devdata/' "$exclude" 2>/dev/null || echo '/.devdata/' >> "$exclude"
annotations="${TIM_ANNOTATIONS:-../shared/data}"
git_dir="${TIM_ORIGINAL_GIT:-}"
if [[ -z "$git_dir" ]]; then
  for up in .. ../.. ../../..; do
    [[ -d "$up/.mirror/JacobChalk+TIM/repo/objects" ]] && git_dir="$up/.mirror/JacobChalk+TIM/repo" && break
  done
fi
rm -rf .whl .devdata && mkdir -p .whl .devdata/TIM
python3 -m pip wheel -q --no-deps -w .whl .
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  mmengine-lite==0.10.7 addict yapf termcolor rich markdown-it-py mdurl pygments platformdirs tomli
cp -r "$annotations" .devdata/data
if [[ -n "$git_dir" ]]; then
  git --git-dir "$git_dir" archive HEAD recognition/time_interval_machine | tar -x -C .devdata/TIM
else
  echo "no JacobChalk/TIM git dir found (set TIM_ORIGINAL_GIT): the check will not time the original code" >&2
fi
du -sh .whl .devdata
