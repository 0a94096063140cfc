#!/usr/bin/env bash
# Runs package onchain against Foundry's anvil, a real EVM node
# (internal/anvilcheck, build tag anvil). CI does not run it: a fresh CI machine
# has only Go. Needs node and npm the first time, to install anvil.
#
#   scripts/anvil-check.sh            # the tests
#   scripts/anvil-check.sh -bench     # the tests, then the auto-registration benchmark
#
# The anvil binary is $ANVIL, else anvil on $PATH, else the one npm installs into
# $ANVIL_DIR (default /tmp/anvil) from @foundry-rs/anvil (the binary ships inside the
# package for the platform).
set -euo pipefail

cd "$(dirname "$0")/.."

ANVIL_VERSION="${ANVIL_VERSION:-1.7.1}"
ANVIL_DIR="${ANVIL_DIR:-/tmp/anvil}"

find_installed() {
	[ -d "$ANVIL_DIR/node_modules/@foundry-rs" ] || return 0
	find "$ANVIL_DIR/node_modules/@foundry-rs" -path '*/bin/anvil' -type f 2>/dev/null | head -n 1
}

if [ -z "${ANVIL:-}" ]; then
	if command -v anvil >/dev/null 2>&1; then
		ANVIL="$(command -v anvil)"
	else
		ANVIL="$(find_installed)"
		if [ -z "$ANVIL" ]; then
			echo "installing @foundry-rs/anvil@$ANVIL_VERSION into $ANVIL_DIR" >&2
			mkdir -p "$ANVIL_DIR"
			npm i --no-audit --no-fund --prefix "$ANVIL_DIR" "@foundry-rs/anvil@$ANVIL_VERSION" >&2
			ANVIL="$(find_installed)"
		fi
	fi
fi
if [ -z "$ANVIL" ] || [ ! -x "$ANVIL" ]; then
	echo "anvil-check: no anvil binary found (set ANVIL)" >&2
	exit 1
fi
export ANVIL
"$ANVIL" --version | head -n 1 >&2

go test -race -tags anvil -count=1 ./internal/anvilcheck/
if [ "${1:-}" = "-bench" ]; then
	go test -tags anvil -count=1 -run '^$' -bench AutoRegisterAnvil -benchtime 20x ./internal/anvilcheck/
fi
