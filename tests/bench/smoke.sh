#!/usr/bin/env bash
# CI smoke of the benchmark (.ci/run stage bench-smoke): the whole of ./dev bench at tiny rates
# for a second or so each, on its own Postgres; fails if any tool breaks or any call fails.
# Writes nothing into the tree. Needs the build (./dev build); installs pgbench/h2load if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${LOYALTY_BUILD_DIR:-$ROOT/build}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
[ -x /usr/lib/postgresql/15/bin/pgbench ] || missing+=(postgresql-15)
command -v h2load >/dev/null || missing+=(nghttp2-client)
[ -x /usr/bin/python3 ] || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -x "$BUILD_DIR/bin/loyalty-bench" ] || [ ! -x "$BUILD_DIR/bin/loyalty-bench-echo" ] ||
   [ ! -x "$BUILD_DIR/bin/loyalty-bench-minimal" ]; then
  cmake --build "$BUILD_DIR" --target loyalty-bench loyalty-bench-echo loyalty-bench-minimal loyalty-health \
    loyalty-customers loyalty-orders loyalty-points loyalty-recommendations loyalty-checkout \
    loyalty-gateway
fi
out="$(mktemp /tmp/loyalty-bench-smoke.XXXXXX.md)"
trap 'rm -f "$out"' EXIT
LOYALTY_BUILD_DIR="$BUILD_DIR" bash "$ROOT/tests/bench/run.sh" --smoke --out "$out" >/dev/null
grep -q '^| P3 PlaceOrder' "$out" || { echo "bench smoke: no figures written" >&2; exit 1; }
grep -qE '^\| B1 .*\*\*[0-9.]+\*\*' "$out" || { echo "bench smoke: B1 (bulk codes) has no ratio" >&2; exit 1; }
grep -qE '^\| D1 .*\*\*[0-9.]+\*\*' "$out" || { echo "bench smoke: D1 (dry run) has no ratio" >&2; exit 1; }
grep -qE '^\| R1 .*\*\*[0-9.]+\*\*' "$out" || { echo "bench smoke: R1 (campaign run) has no ratio" >&2; exit 1; }
# Every per-call CPU figure was measured (a missing one prints as an empty cell).
if grep -E '^\| (L1|L2|C1|C2|P8) ' "$out" | grep -q '( µs)'; then
  echo "bench smoke: a CPU-per-call figure is missing" >&2; exit 1
fi
echo "bench smoke: ok"
