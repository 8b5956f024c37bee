#!/usr/bin/env bash
# The one prepared device check for the GPU speed work (issue 23): run from the repo root on a CUDA machine, with
# the project and its dependencies as wheels in .whl/ and the annotations and the original TIM's code in .devdata/
# (bench/prepare_gpu_check.sh writes both, on a CPU machine). Prints issue 23's table for the EPIC AV recipe at
# real dims and for AVE VGG: original code / bench rendering / default eager / default fast path / Trainer epoch /
# inference, windows/s and ratios, all from one run; every figure also as JSON under ${OUT:-gpu_check}/.
# Each part has its own time limit, about 8 minutes in all (device time is scarce: leave room for a rerun).
#
#   bash bench/prepare_gpu_check.sh    # here: .whl/ (wheels) and .devdata/ (annotations, TIM code), git-ignored
#   bash bench/gpu_check.sh            # there, with carry=[".whl", ".devdata"]
#   bash bench/gpu_check.sh --tiny     # any machine: the same script at tiny sizes (a CPU check of the script)
#
# TIM_ANNOTATIONS and TIM_ORIGINAL override .devdata/data and .devdata/TIM. COMPILE_MODES (default:
# default,reduce-overhead) are the EPIC compile modes: each gets its step, Trainer epoch and compiled inference, and
# its first steps' losses are checked against the eager step's and reduce-overhead's against default's (the script
# exits non-zero when they disagree), so one run tells whether CUDA graphs can become the CUDA default.
set -uo pipefail
out="${OUT:-gpu_check}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
repo="$(pwd)"
annotations="${TIM_ANNOTATIONS:-$repo/.devdata/data}"
original="${TIM_ORIGINAL:-$repo/.devdata/TIM}"
if [[ "${1:-}" == "--tiny" ]]; then  # sizes a CPU runs in a minute or two; aot_eager stands in for inductor
  sizes=(--dims tiny --videos 3 --steps 2 --warmup 1 --threads 1 --backend aot_eager)
  ops=(--dims tiny)
  limit=(120 60 300 300)
  tests=(-k cuda)  # the CUDA tests skip here; the CPU ones run in the test suite
else
  sizes=(--dims real --videos 24 --steps 20)
  ops=()
  limit=(40 25 310 110)
  tests=(-k "cuda or compiled or recompile")
fi
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
with_original=()
if [[ -d "$original" ]]; then
  with_original=(--original "$original")
else
  echo "no original TIM code at $original: the (original code) rows are not measured" | tee "$out/original_missing.txt"
fi
cd "$(mktemp -d)"  # the installed package, not the checkout's folders, is what runs
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')" \
  | tee "$out/device.txt"
status=0
# 1. the CUDA-only tests (fp16 + GradScaler default, recorded bf16), compiled == eager, static shapes, host syncs
timeout "${limit[0]}" python3 -m pytest -q -p no:cacheprovider -m "slow or not slow" "$repo/tests/test_cuda_precision.py" \
  "$repo/tests/test_compile_option.py" "$repo/tests/test_static_shapes.py" "${tests[@]}" 2>&1 \
  | tee "$out/tests.txt" || status=1
# 2. kernel launches and host syncs per step: the CPU proxy, same model and batches
timeout "${limit[1]}" python3 "$repo/bench/op_count.py" "${ops[@]}" --annotations "$annotations" \
  --json "$out/op_count.json" || status=1
# 3. EPIC AV: the original code, its rendering, default eager, compiled (the CUDA default) and with CUDA graphs,
#    Trainer epochs and inference per compile mode, the first-steps loss check
timeout "${limit[2]}" python3 "$repo/bench/throughput.py" --recipe epic_av "${sizes[@]}" "${with_original[@]}" \
  --compile "${COMPILE_MODES:-default,reduce-overhead}" --annotations "$annotations" --out "$out/epic_av.json" || status=1
# 4. AVE VGG: the same table
timeout "${limit[3]}" python3 "$repo/bench/throughput.py" --recipe ave_vgg "${sizes[@]}" "${with_original[@]}" \
  --compile default --annotations "$annotations" --out "$out/ave_vgg.json" || status=1
exit $status
