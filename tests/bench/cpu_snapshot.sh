#!/usr/bin/env bash
# cpu_snapshot.sh OUT PG_PID [PID...]: writes to OUT the CPU time (user + system, in µs) used so
# far by the PIDs and by Postgres (PG_PID and its backends). Two snapshots around a run at a fixed
# rate give the CPU per call of every process that served it (tests/bench/run.sh).
set -euo pipefail
out="$1" pg="$2"
shift 2
ticks=0
for pid in "$@" "$pg" $(pgrep -P "$pg"); do
  ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
done
echo $((ticks * 1000000 / $(getconf CLK_TCK))) >"$out"
