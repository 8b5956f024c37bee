#!/usr/bin/env bash
# The one prepared device check for the GPU speed work (issue 23): run from the repo root on a CUDA machine, with
# the project and its dependencies as wheels in .whl/ (bench/prepare_gpu_check.sh writes them, on a CPU machine). Writes every figure as JSON under ${OUT:-gpu_check}/ and prints the tables; about 6 minutes on an H100.
#
#   bash bench/prepare_gpu_check.sh    # here: .whl/ (wheels) and .devdata/ (annotations), both git-ignored
#   bash bench/gpu_check.sh            # there, with carry=[".whl", ".devdata"]
set -uo pipefail
out="${OUT:-gpu_check}"
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
cd "$(mktemp -d)"  # the installed package, not the checkout's folders, is what runs
repo="$OLDPWD"
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"
status=0
# 1. the CUDA-only tests: fp16 + GradScaler default, recorded bf16 option, compiled == eager on the device
python3 -m pytest -q -p no:cacheprovider "$repo/tests/test_compile_option.py" "$repo/tests/test_training_procedure.py" \
  -k "cuda or compiled" 2>&1 | tee "$out/tests.txt" || status=1
# 2. kernel launches per step: the CPU proxy, same model and batches
python3 "$repo/bench/op_count.py" --json "$out/op_count.json" || status=1
# 3. EPIC AV at real dims: original formulation, default eager, compiled (the CUDA default), Trainer epochs, inference
python3 "$repo/bench/throughput.py" --dims real --videos 24 --steps 20 --compile default,reduce-overhead \
  --annotations "$repo/.devdata" --out "$out/epic_real.json" || status=1
exit $status
