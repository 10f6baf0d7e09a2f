#!/bin/sh
# gpu/run-device.sh — what one device call runs on the GPU machine (repo root,
# gpubin/ and .gpudata/ carried; no Go there). Build first, here:
#   make gpu-test && go build -tags cuda -o gpubin/ds3d ./apps/ds3d   (with the CUDA_ENV of gpu/Makefile.inc)
# Writes the logs to $OUT (or ./out/gpu).
set -u
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
export LD_BIND_NOW=1 DS3D_GPU_DATA=.gpudata
# the ds3d binary links libGL/libX11 (render/gl): make gpu-app copies them into gpubin/lib
export LD_LIBRARY_PATH=$PWD/gpubin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/card.txt"
cat /proc/loadavg
./gpubin/gpu.test -test.v -test.run "${TESTS:-.}" > "$OUT/test.log" 2>&1
echo "tests: rc $?"
grep -E '^(--- |PASS|FAIL|ok|gpu:)|panic|bit-identical|kept|equal|Error|error' "$OUT/test.log" | head -80
if [ -n "${BENCH:-.}" ]; then
  ./gpubin/gpu.test -test.run XXX -test.bench "${BENCH:-.}" -test.benchtime "${BENCHTIME:-1s}" > "$OUT/bench.log" 2>&1
  echo "bench: rc $?"
  grep -E 'Benchmark|stage|FAIL|panic' "$OUT/bench.log"
fi
if [ -z "${NOAPP:-}" ]; then
  for c in bench config_cuda; do
    t0=$(date +%s%N)
    ./gpubin/ds3d run "apps/lidar-inference/$c.toml" > "$OUT/app_$c.log" 2>&1
    rc=$?
    echo "app $c: rc $rc, $(( ($(date +%s%N) - t0) / 1000000 )) ms wall"
    tail -n 25 "$OUT/app_$c.log"
  done
  if cmp out/lidar-inference/label_2/000000.txt out/lidar-inference-cuda/label_2/000000.txt; then
    echo "labels: CPU and GPU pipelines wrote the same 000000.txt"
  fi
  ls out/lidar-inference-cuda/label_2 | wc -l
fi
