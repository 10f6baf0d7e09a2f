#!/usr/bin/env bash
# .ci/cuda-check.sh — CI check of the GPU path on a machine without a GPU:
#   1. fetch the CUDA 11.8 header, link stub and ptxas once (gpu/fetch-cuda-stub.sh,
#      cached in $CUDA_STUB); if that fails for want of network, SKIP with a message
#   2. go vet -tags cuda ./gpu/... ./core2d/infer/gpuinfer/... and go build -tags cuda ./... against the stub
#   3. ptxas (from the stub) assembles every committed PTX (gpu/kernels, core2d/infer/gpuinfer/kernels)
#      for sm_80 and sm_90
#   4. if clang-16 is installed: the committed PTX is what gen-ptx.sh makes from the .cu
# Any error other than an unreachable download fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
CUDA_STUB=${CUDA_STUB:-$HOME/.cache/ds3d-cuda-stub}
GO=${GO:-go}

set +e
sh gpu/fetch-cuda-stub.sh "$CUDA_STUB"
rc=$?
set -e
if [ $rc -eq 3 ]; then
  echo "cuda-check: SKIP — the CUDA stub could not be fetched (no network?); nothing was checked"
  exit 0
elif [ $rc -ne 0 ]; then
  echo "cuda-check: FAIL — gpu/fetch-cuda-stub.sh exited $rc" >&2
  exit 1
fi

export CGO_ENABLED=1 CGO_CFLAGS="-I$CUDA_STUB/include" CGO_LDFLAGS="-L$CUDA_STUB/lib"
echo "cuda-check: go vet -tags cuda ./gpu/... ./core2d/infer/gpuinfer/..."
$GO vet -tags cuda ./gpu/... ./core2d/infer/gpuinfer/...
echo "cuda-check: go build -tags cuda ./..."
$GO build -tags cuda ./...
echo "cuda-check: go test -tags cuda -c ./gpu (link against the stub)"
$GO test -tags cuda -c -o /dev/null ./gpu
$GO test -tags cuda -c -o /dev/null ./core2d/infer/gpuinfer

shopt -s nullglob
# Each kernel folder has its own gen-ptx.sh (gpu/kernels keeps FMA
# contraction off for bit-identity with Go; gpuinfer leaves it on).
kdirs=(gpu/kernels core2d/infer/gpuinfer/kernels)
ptx=()
for d in "${kdirs[@]}"; do
  k=("$d"/*.ptx)
  [ ${#k[@]} -gt 0 ] || { echo "cuda-check: FAIL — no $d/*.ptx" >&2; exit 1; }
  ptx+=("${k[@]}")
done
for f in "${ptx[@]}"; do
  for a in sm_80 sm_90; do
    "$CUDA_STUB/bin/ptxas" -arch=$a "$f" -o /dev/null
  done
  echo "cuda-check: ptxas ok: $f (sm_80, sm_90)"
done

if command -v clang-16 >/dev/null; then
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  for d in "${kdirs[@]}"; do
    mkdir -p "$t/$d"
    cp "$d"/*.cu "$d"/gen-ptx.sh "$t/$d/"
    sh "$t/$d/gen-ptx.sh" "$CUDA_STUB" >/dev/null
    for f in "$d"/*.ptx; do
      if ! cmp -s "$f" "$t/$f"; then
        echo "cuda-check: FAIL — $f is stale: run make gpu-ptx and commit it" >&2
        exit 1
      fi
    done
  done
  echo "cuda-check: committed PTX matches the .cu (clang-16)"
else
  echo "cuda-check: clang-16 not installed: PTX freshness not checked"
fi
echo "cuda-check: ok"
