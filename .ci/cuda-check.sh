#!/usr/bin/env bash
# .ci/cuda-check.sh — CI check of the GPU path on a machine without a GPU:
#   1. fetch the CUDA 11.8 header, link stub and ptxas once (gpu/fetch-cuda-stub.sh,
#      cached in $CUDA_STUB); if that fails for want of network, SKIP with a message
#   2. go vet -tags cuda ./gpu/... and go build -tags cuda ./... against the stub
#   3. ptxas (from the stub) assembles every committed gpu/kernels/*.ptx for sm_80 and sm_90
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
echo "cuda-check: go vet -tags cuda ./gpu/..."
$GO vet -tags cuda ./gpu/...
echo "cuda-check: go build -tags cuda ./..."
$GO build -tags cuda ./...
echo "cuda-check: go test -tags cuda -c ./gpu (link against the stub)"
$GO test -tags cuda -c -o /dev/null ./gpu

shopt -s nullglob
ptx=(gpu/kernels/*.ptx)
[ ${#ptx[@]} -gt 0 ] || { echo "cuda-check: FAIL — no gpu/kernels/*.ptx" >&2; exit 1; }
for f in "${ptx[@]}"; do
  for a in sm_80 sm_90; do
    "$CUDA_STUB/bin/ptxas" -arch=$a "$f" -o /dev/null
  done
  echo "cuda-check: ptxas ok: $f (sm_80, sm_90)"
done

if command -v clang-16 >/dev/null; then
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  cp gpu/kernels/*.cu gpu/kernels/gen-ptx.sh "$t/"
  sh "$t/gen-ptx.sh" "$CUDA_STUB" >/dev/null
  for f in "${ptx[@]}"; do
    if ! cmp -s "$f" "$t/$(basename "$f")"; then
      echo "cuda-check: FAIL — $f is stale: run make gpu-ptx and commit it" >&2
      exit 1
    fi
  done
  echo "cuda-check: committed PTX matches the .cu (clang-16)"
else
  echo "cuda-check: clang-16 not installed: PTX freshness not checked"
fi
echo "cuda-check: ok"
