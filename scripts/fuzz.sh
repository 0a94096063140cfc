#!/usr/bin/env bash
# Runs every `func Fuzz…` target of the module (discovered in *_test.go files, so a new
# target needs no edit here) with one budget each, and fails on the first target that
# finds a failing input.
#
#   scripts/fuzz.sh 20000x   # a count of executions per target (what CI uses)
#   scripts/fuzz.sh 1m       # a duration per target (`make fuzz-long`)
#
# Why CI uses a count: with a duration, Go 1.26's fuzzing coordinator can report
# "context deadline exceeded" as a test failure when the deadline fires while a worker
# is mid-call (golang/go#75804, fixed in Go 1.27). No input is at fault and none is
# written to testdata/fuzz. A count has no deadline, so that race cannot happen. With a
# duration, a run that fails only with that message and writes no new failing input is
# reported as the toolchain race and does not fail the script; anything else does.
set -euo pipefail

cd "$(dirname "$0")/.."

budget="${1:?usage: scripts/fuzz.sh <count>x|<duration>}"

targets="$(grep -rn '^func Fuzz' --include='*_test.go' . | sort || true)"
if [ -z "$targets" ]; then
	echo "no fuzz targets"
	exit 0
fi

# count_inputs DIR: how many files DIR holds (0 when it does not exist).
count_inputs() {
	if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

passed=0
raced=0
while IFS= read -r line; do
	[ -n "$line" ] || continue
	file="${line%%:*}"
	name="$(printf '%s\n' "$line" | sed -E 's/^[^:]+:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*/\1/')"
	dir="$(dirname "$file")"
	pkg="./${dir#./}"
	if [ "$dir" = "." ]; then pkg="."; fi
	corpus="$dir/testdata/fuzz/$name"
	before="$(count_inputs "$corpus")"

	printf '\n==> fuzz %s in %s (%s)\n' "$name" "$pkg" "$budget"
	rc=0
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$budget" "$pkg" 2>&1 | tee "$log" || rc=$?
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		continue
	fi
	after="$(count_inputs "$corpus")"
	case "$budget" in
	*x) ;;
	*)
		if [ "$after" = "$before" ] &&
			grep -q '^    context deadline exceeded$' "$log" &&
			[ "$(grep -c -- '--- FAIL' "$log")" = 1 ]; then
			echo "note: $name stopped by the fuzzing coordinator's deadline race (golang/go#75804); no failing input was found or written"
			raced=$((raced + 1))
			continue
		fi
		;;
	esac
	echo "fuzz target $name failed (new inputs in $corpus: $((after - before)))" >&2
	exit 1
done <<< "$targets"

printf '\nfuzz: %d targets passed, %d stopped by the toolchain deadline race\n' "$passed" "$raced"
