#!/bin/sh
# gen-ptx.sh [CUDA_STUB_DIR]: gpu/kernels/*.cu -> *.ptx (sm_80 PTX; the driver
# JIT-compiles it for sm_90 and newer). Needs clang-16 (apt-get install clang-16).
# -ffp-contract=off keeps every float op rounded on its own, as Go's are (the
# GPU results are bit-identical to filters/pointcloud); no fast-math, no ftz.
# If ptxas from fetch-cuda-stub.sh is in CUDA_STUB_DIR, the PTX is also
# assembled for sm_80 and sm_90 and the resource usage printed.
set -eu
cd "$(dirname "$0")"
S=${1:-${DS3D_CUDA_STUB:-$HOME/.cache/ds3d-cuda-stub}}
for cu in *.cu; do
  ptx=${cu%.cu}.ptx
  clang-16 -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_80 -O3 -S \
    -ffp-contract=off -fno-fast-math -Xclang -target-feature -Xclang +ptx70 \
    "$cu" -o "$ptx"
  echo "$cu -> $ptx"
  if [ -x "$S/bin/ptxas" ]; then
    for a in sm_80 sm_90; do "$S/bin/ptxas" -arch=$a "$ptx" -o /dev/null; done
    echo "ptxas ok (sm_80, sm_90)"
  fi
done
