#!/bin/sh
# Runs every libFuzzer target of a build directory for a set time, a few at
# a time, and prints one line per target: runs, coverage, result.
#
#     fuzz/run.sh [--fresh] BUILD_DIR SECONDS [JOBS]
#
# Each target starts from its seeds (fuzz/corpus/<name>/) and its
# regressions (fuzz/regressions/<name>/), copied into BUILD_DIR/corpus/<name>/
# where new inputs accumulate from run to run. With --fresh that working
# corpus starts again from the seeds, so that a short run spends its time
# fuzzing rather than replaying what earlier runs found. A target's log
# goes to BUILD_DIR/logs/<name>.log and an input that makes it fail to
# BUILD_DIR/artifacts/<name>/. Nothing is written in the repository.
# Exit status 1 when any target failed.
set -eu

usage="usage: fuzz/run.sh [--fresh] BUILD_DIR SECONDS [JOBS]"
fresh=no
if [ "${1:-}" = --fresh ]; then
    fresh=yes
    shift
fi
build=${1:?$usage}
seconds=${2:?$usage}
jobs=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)

targets=$(find "$build" -maxdepth 1 -name 'fuzz_*' -type f -perm -u+x | sort)
[ -n "$targets" ] || { echo "fuzz: no targets in $build" >&2; exit 1; }

for target in $targets; do
    name=$(basename "$target"); name=${name#fuzz_}
    if [ "$fresh" = yes ]; then
        rm -rf "$build/corpus/$name"
    fi
    mkdir -p "$build/corpus/$name" "$build/artifacts/$name" "$build/logs"
    for seeds in "$here/corpus/$name" "$here/regressions/$name"; do
        if [ -d "$seeds" ]; then
            find "$seeds" -maxdepth 1 -type f -exec cp -n {} "$build/corpus/$name/" \;
        fi
    done
    rm -f "$build/logs/$name.rc"
done

# One target per job. -timeout: an input slower than this is a hang, which
# fails the run like a crash does.
echo "$targets" | xargs -P "$jobs" -I{} sh -c '
    target=$1; build=$2; seconds=$3
    name=$(basename "$target"); name=${name#fuzz_}
    rc=0
    "$target" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$name/" "$build/corpus/$name" \
        > "$build/logs/$name.log" 2>&1 || rc=$?
    echo "$rc" > "$build/logs/$name.rc"
' sh {} "$build" "$seconds"

failed=0
for target in $targets; do
    name=$(basename "$target"); name=${name#fuzz_}
    log=$build/logs/$name.log
    rc=$(cat "$build/logs/$name.rc" 2>/dev/null || echo 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" = 0 ]; then
        result=ok
    else
        failed=1
        input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
        why=$(grep -m 1 -E "^fuzz_[a-z_]+: |ERROR: " "$log" || true)
        result="FAILED: ${why:-exit status $rc} (input: ${input:-none}; log: $log)"
    fi
    printf '%-20s runs %-9s %-32s %s\n' "fuzz_$name" "${runs:-?}" "${cov:-cov: ?}" "$result"
done
if [ "$failed" != 0 ]; then
    echo "fuzz: a target failed; keep its input as fuzz/regressions/<target>/<name>" \
         "(ctest replays it in the test build) and fix the cause" >&2
fi
exit "$failed"
