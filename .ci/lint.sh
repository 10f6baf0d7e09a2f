#!/usr/bin/env bash
# .ci/lint.sh — the hygiene checks `make test` runs before the tests:
#   1. gofmt: every tracked Go file is formatted
#   2. staticcheck (honnef.co/go/tools, pinned below, fetched through the Go
#      module proxy) is clean on the shipped build (GOEXPERIMENT=simd, tag
#      turbojpeg) and on the portable build (no experiment, no tag)
#   3. generated files equal what their generator prints now
#      (core2d/infer/kernels/gen_asm.py → gemm8_amd64.s)
#   4. no code or doc refers to a notes file (NOTES.md, *_NOTES.md, NOTES_*.md)
#      that is not in the repository
#   5. no test makes its own skip-or-fail decision (internal/testenv does)
# Each failure names the file and what to run to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
fail=0

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "lint: FAIL — not gofmt-formatted (run make fmt):" >&2
  echo "$unformatted" >&2
  fail=1
else
  echo "lint: gofmt ok"
fi

sc="$($GO env GOPATH)/bin/staticcheck-$STATICCHECK_VERSION"
if [ ! -x "$sc" ]; then
  echo "lint: installing staticcheck $STATICCHECK_VERSION"
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOEXPERIMENT= GOFLAGS= $GO install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  mkdir -p "$(dirname "$sc")"
  mv "$tmp/staticcheck" "$sc"
  rm -rf "$tmp"
fi
if GOEXPERIMENT=simd "$sc" -tags turbojpeg ./... && GOEXPERIMENT= "$sc" ./...; then
  echo "lint: staticcheck ok (simd+turbojpeg, portable)"
else
  echo "lint: FAIL — staticcheck findings above" >&2
  fail=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp core2d/infer/kernels/gen_asm.py "$tmp/"
python3 "$tmp/gen_asm.py"
if cmp -s "$tmp/gemm8_amd64.s" core2d/infer/kernels/gemm8_amd64.s; then
  echo "lint: gemm8_amd64.s matches gen_asm.py"
else
  echo "lint: FAIL — core2d/infer/kernels/gemm8_amd64.s is stale: run make gen-asm and commit it" >&2
  fail=1
fi

tracked=$(git ls-files)
refs=$(git grep -n -o -I -E '[A-Za-z0-9_./-]*NOTES[A-Za-z0-9_]*\.md' -- . ':!.ci/lint.sh' || true)
bad=""
while IFS= read -r line; do
  [ -n "$line" ] || continue
  name=${line##*:}
  base=$(basename "$name")
  if ! grep -q -E "(^|/)${base//./\\.}\$" <<<"$tracked"; then
    bad+="$line"$'\n'
  fi
done <<<"$refs"
if [ -n "$bad" ]; then
  echo "lint: FAIL — references to notes files that are not in the repository:" >&2
  printf '%s' "$bad" >&2
  fail=1
else
  echo "lint: no references to missing notes files"
fi
# Skip decisions live in internal/testenv (docs/TESTING.md): no test keeps
# its own race constant, CI check or interpreter path.
stray=$(git grep -n -E 'const raceEnabled|func skipOrFail|Getenv\("CI"\)|"/usr/bin/python3"' -- '*_test.go' ':!internal/testenv' || true)
if [ -n "$stray" ]; then
  echo "lint: FAIL — skip decisions outside internal/testenv (use testenv.SkipOrFail, SkipUnderRace, Python):" >&2
  echo "$stray" >&2
  fail=1
else
  echo "lint: skip decisions all in internal/testenv"
fi
exit $fail
