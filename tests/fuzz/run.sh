#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in build-fuzz/; installs clang
# if missing) and runs each for a bounded time on a temporary copy of its seed corpus
# (tests/fuzz/corpus/<target>/, left untouched). Exits non-zero when any target crashes, leaks,
# times out or breaks an invariant; the input that did is kept in build-fuzz/artifacts/<target>/
# (add it to the corpus as a regression seed once fixed).
# Environment: LOYALTY_FUZZ_SECONDS (per target, default 60), LOYALTY_FUZZ_TARGETS (default all),
# LOYALTY_FUZZ_BUILD_DIR, LOYALTY_CMAKE_ARGS (extra cmake flags), LOYALTY_JOBS (2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${LOYALTY_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${LOYALTY_FUZZ_SECONDS:-60}"
read -r -a TARGETS <<<"${LOYALTY_FUZZ_TARGETS:-cart_pricing earn_rules page_token rule_file}"

# clang and its libFuzzer/sanitizer runtimes (not in ./dev's package list: only this needs them).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null |
  grep -q "install ok installed"; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    clang libclang-rt-14-dev >/dev/null
fi

# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DLOYALTY_SANITIZE=address,undefined -DLOYALTY_FUZZ=ON ${LOYALTY_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"${LOYALTY_JOBS:-2}" --target fuzz_targets

work="$(mktemp -d /tmp/loyalty-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# halt_on_error: the first finding stops the target with its input saved; UBSan is fatal too
# (-fno-sanitize-recover at compile time), with its stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$work/$t" "$BUILD_DIR/artifacts/$t"
  cp "$ROOT/tests/fuzz/corpus/$t/"* "$work/$t/"
  log="$BUILD_DIR/artifacts/$t/last-run.log"
  echo "==> $t: ${SECONDS_EACH} s"
  # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: over 2 GB is a memory blow-up.
  if "$BUILD_DIR/bin/${t}_fuzz" "$work/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$t/" \
    >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' \
      "$log" | sed 's/^/    /'
    echo "    corpus: $(find "$work/$t" -type f | wc -l) inputs"
  else
    status=1
    echo "    FAILED; the last lines of $log:"
    tail -n 60 "$log" | sed 's/^/    /'
  fi
done
exit $status
