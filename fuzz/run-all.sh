#!/usr/bin/env bash
# fuzz/run-all.sh SECONDS: runs every cargo-fuzz target of this crate for
# SECONDS each (one after another, at low priority), then prints one line per
# target: executions, executions per second, corpus size and findings.
#
#   fuzz/run-all.sh 3600     # an hour per target
#   fuzz/run-all.sh 30       # what .ci/run does
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# A finding (crash, leak, timeout, out-of-memory) is saved by libFuzzer under
# fuzz/artifacts/TARGET/; reproduce it with `cargo +nightly fuzz run TARGET
# FILE`, minimize it with `cargo +nightly fuzz tmin TARGET FILE`, and keep it
# as a regression test. Exits 1 if any target found something, 2 on a usage
# or build error.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

seconds=${1:-}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: fuzz/run-all.sh SECONDS" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run-all.sh: needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz)" >&2
    exit 2
fi

echo "building the fuzz targets (cargo +nightly fuzz build)"
if ! nice -n 10 cargo +nightly fuzz build >/dev/null 2>build.log; then
    cat build.log >&2
    rm -f build.log
    exit 2
fi
rm -f build.log

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
found=0
printf '%-16s %14s %10s %8s  %s\n' target executions exec/s corpus findings
for target in $(cargo +nightly fuzz list); do
    mkdir -p "artifacts/$target" "corpus/$target"
    marker="$logs/$target.start"
    touch "$marker"
    # -timeout: an input that takes 10 s is a finding (a hang), not patience.
    nice -n 19 cargo +nightly fuzz run "$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$logs/$target.log" 2>&1
    status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$target.log" | tail -1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    findings=$(find "artifacts/$target" -type f -newer "$marker" | sort)
    if [[ $status -ne 0 || -n $findings ]]; then
        found=1
        [[ -z $findings ]] && findings="exit status $status (see the log below)"
        printf '%-16s %14s %10s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "$corpus" \
            "$(tr '\n' ' ' <<<"$findings")"
        echo "---- last lines of the $target log ----"
        tail -n 40 "$logs/$target.log"
        echo "----"
    else
        printf '%-16s %14s %10s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "$corpus" none
    fi
done
exit "$found"
