#!/bin/sh
# fetch-cuda-stub.sh [DEST]  (default $DS3D_CUDA_STUB or $HOME/.cache/ds3d-cuda-stub)
#
# Puts what a CPU-only Debian 12 box needs to *build* the cuda-tagged code of
# package gpu (gorgonia.org/cu) and to *check PTX*, without the 2.8 GB CUDA
# toolkit:
#   DEST/include/cuda.h                   CUDA 11.8 driver-API header (nvidia-cuda-dev)
#   DEST/lib/libcuda.so                   link stub, SONAME libcuda.so.1 (nvidia-cuda-dev)
#   DEST/bin/ptxas                        PTX -> cubin assembler 11.8 (nvidia-cuda-toolkit)
#   DEST/nvvm/libdevice/libdevice.10.bc   math library for clang PTX builds
# Keep the 11.8 header: cu v0.9.6 does not compile against CUDA 13 headers.
# Debian's non-free component is read through a private apt state dir, so the
# machine's apt sources and lists are not touched. About 860 MB is downloaded
# to a temp dir and deleted; about 21 MB stays. Idempotent: a complete DEST is
# left alone. The stub is written to DEST.tmp and renamed, so an interrupted
# fetch never leaves a half stub behind.
# Exit status: 0 stub present; 3 it could not be fetched (network, apt
# refused); other non-zero: a real error.
set -eu
DEST=${1:-${DS3D_CUDA_STUB:-$HOME/.cache/ds3d-cuda-stub}}
if [ -f "$DEST/include/cuda.h" ] && [ -f "$DEST/lib/libcuda.so" ] && [ -x "$DEST/bin/ptxas" ] &&
   [ -f "$DEST/nvvm/libdevice/libdevice.10.bc" ]; then
  echo "cuda stub already in $DEST"
  exit 0
fi
for t in apt-get dpkg-deb tar; do
  command -v $t >/dev/null || { echo "fetch-cuda-stub: $t missing (Debian/Ubuntu only)" >&2; exit 3; }
done
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] ||
  { echo "fetch-cuda-stub: no Debian archive keyring (not a Debian machine?)" >&2; exit 3; }
W=$(mktemp -d)
trap 'rm -rf "$W" "$DEST.tmp"' EXIT
mkdir -p "$W/lists/partial" "$W/parts"
cat >"$W/parts/nonfree.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
O="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$W/parts -o Dir::State::Lists=$W/lists -o APT::Sandbox::User=root"
apt-get $O -qq update || { echo "fetch-cuda-stub: apt-get update failed (network?)" >&2; exit 3; }
(cd "$W" && apt-get $O -qq download nvidia-cuda-dev nvidia-cuda-toolkit) ||
  { echo "fetch-cuda-stub: download of nvidia-cuda-dev/nvidia-cuda-toolkit failed (network?)" >&2; exit 3; }
dpkg-deb --fsys-tarfile "$W"/nvidia-cuda-dev_*.deb | tar -x -C "$W" \
  ./usr/include/cuda.h ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so
dpkg-deb --fsys-tarfile "$W"/nvidia-cuda-toolkit_*.deb | tar -x -C "$W" \
  ./usr/bin/ptxas ./usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc
T="$DEST.tmp"
rm -rf "$T"
mkdir -p "$T/include" "$T/lib" "$T/bin" "$T/nvvm/libdevice"
cp "$W/usr/include/cuda.h" "$T/include/"
cp "$W/usr/lib/x86_64-linux-gnu/stubs/libcuda.so" "$T/lib/"
cp "$W/usr/bin/ptxas" "$T/bin/"
cp "$W/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc" "$T/nvvm/libdevice/"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$T" "$DEST"
echo "cuda stub in $DEST:"; du -sh "$DEST"
echo "export CGO_CFLAGS=-I$DEST/include CGO_LDFLAGS=-L$DEST/lib"
