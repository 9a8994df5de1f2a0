#!/usr/bin/env bash
# measure-idle.sh: resident memory and CPU of `aimsvault serve` sitting idle
# with 10 connectors configured (10 files connectors, @every 1h, on
# examples/). Linux only (reads /proc). Offline.
#
#   scripts/measure-idle.sh [IDLE_SECONDS]    (default 60)
#
# It builds the binary, starts serve in a temp folder, waits for the 10
# start-up runs to finish, lets it idle, then prints VmRSS/VmHWM and the CPU
# time used while idle.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-60}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -trimpath -o "$work/aimsvault" ./cmd/aimsvault
cp -r examples "$work/docs"
{
	printf 'vault:\n  dir: data\n  name: measure.example/aims\nserver:\n  listen: 127.0.0.1:0\nconnectors:\n'
	for i in $(seq 1 10); do
		printf '  - name: docs-%02d\n    type: files\n    path: ./docs\n    schedule: "@every 1h"\n' "$i"
	done
} >"$work/aimsvault.yaml"
"$work/aimsvault" --config "$work/aimsvault.yaml" init >/dev/null
"$work/aimsvault" --config "$work/aimsvault.yaml" serve 2>"$work/serve.log" &
pid=$!

for _ in $(seq 1 300); do
	[ "$(grep -c '"msg":"run finished"' "$work/serve.log" || true)" -ge 10 ] && break
	sleep 0.1
done
sleep 2 # let the last run's writes settle

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu)
sleep "$idle"
c1=$(cpu)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
runs=$(grep -c '"msg":"run finished"' "$work/serve.log" || true)
echo "connectors: 10 (files, @every 1h); runs finished: $runs"
echo "idle RSS:   $((rss / 1024)) MiB (VmRSS ${rss} kB); peak ${hwm} kB"
awk -v t="$((c1 - c0))" -v hz="$ticks" -v s="$idle" \
	'BEGIN { printf "idle CPU:   %.3f s over %d s (%.3f%% of one core)\n", t / hz, s, 100 * t / hz / s }'
