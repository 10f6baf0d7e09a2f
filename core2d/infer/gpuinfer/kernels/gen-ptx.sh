#!/bin/sh
# gen-ptx.sh [CUDA_STUB_DIR]: core2d/infer/gpuinfer/kernels/*.cu -> *.ptx
# (sm_80 PTX, PTX ISA 7.0; the driver JIT-compiles it for sm_90 and newer).
# Needs clang-16. Unlike gpu/kernels, FMA contraction is left on: the
# inference kernels need no bit-identity with Go, only the golden tolerance.
# If ptxas from gpu/fetch-cuda-stub.sh is in CUDA_STUB_DIR, the PTX is also
# assembled for sm_80 and sm_90 and the resource usage printed.
set -eu
cd "$(dirname "$0")"
S=${1:-${DS3D_CUDA_STUB:-$HOME/.cache/ds3d-cuda-stub}}
for cu in *.cu; do
  ptx=${cu%.cu}.ptx
  clang-16 -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_80 -O3 -S \
    -fno-fast-math -Xclang -target-feature -Xclang +ptx70 \
    "$cu" -o "$ptx"
  echo "$cu -> $ptx"
  if [ -x "$S/bin/ptxas" ]; then
    for a in sm_80 sm_90; do "$S/bin/ptxas" -arch=$a "$ptx" -o /dev/null; done
    echo "ptxas ok (sm_80, sm_90)"
  fi
done
