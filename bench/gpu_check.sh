#!/bin/bash
# One GPU lease's checks (session 35, bench/README.md "Runs 12-13"): the GPU tests, then bench/gpu.py
# (arc orders at 10^7 and 10^8, end to end at 10^6 with CPU peers in background processes).
# The device image lacks highspy and OR-Tools: carry their wheels in .whl/ (see
# ../.library/device/README.md: highspy, ortools, immutabledict, protobuf for cp312 manylinux).
# Environment: OUT (the output folder the device tool gives), TEST_S (pytest timeout, s), BUDGET
# (bench/gpu.py budget, s), ORDERS, LARGE.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nproc; free -g | head -2
T=$(date +%s)
timeout ${TEST_S:-170} python3 -m pytest -m "not slow" -k "cupy or jax" -n 8 -q -p no:cacheprovider > $OUT/tests.log 2>&1
echo "tests rc=$? in $(( $(date +%s) - T )) s"; tail -8 $OUT/tests.log
python3 bench/gpu.py run --out $OUT --budget ${BUDGET:-290} --sections periter,e2e,peers --network-sizes 1e7 \
  --inventory-sizes --arc-orders ${ORDERS:-given,blocked,tiled} --large-sizes ${LARGE:-1e8} --min-extra 1024 \
  --backends cupy,jax --peers highs-simplex,pdlp,mincostflow --peer-time-limit 120 > $OUT/gpu.log 2>&1
echo "gpu.py rc=$?"; grep -E "\] \{|done in|Error" $OUT/gpu.log | cut -c1-420
