#!/usr/bin/env bash
# Builds every example as a user gets it after copying it into a module of
# their own: the files of examples/<name>/ except tests (an embedded
# example.env is kept) go to <tmp>/<name>/ of one fresh module that requires
# this module through a replace line; then `go mod tidy` and `go build ./...`.
# Any error fails, e.g. an import of one of this module's internal packages
# ("use of internal package ... not allowed").
#
# Offline-capable: the module cache and this module's go.sum are reused, so
# nothing is downloaded when the cache already holds this module's
# dependencies (as after `go mod download`); otherwise the configured proxy
# is asked.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
module="$(cd "$repo" && go list -m)"
goversion="$(cd "$repo" && go mod edit -json | sed -n 's/^[[:space:]]*"Go": "\(.*\)",*$/\1/p')"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

names=()
for dir in "$repo"/examples/*/; do
	name="$(basename "$dir")"
	[ "$name" = internal ] && continue
	mkdir "$tmp/$name"
	for f in "$dir"*; do
		[ -f "$f" ] || continue
		case "$f" in *_test.go) continue ;; esac
		cp "$f" "$tmp/$name/"
	done
	names+=("$name")
done
if [ "${#names[@]}" -eq 0 ]; then
	echo "examples-copy: no example found under $repo/examples" >&2
	exit 1
fi

cat >"$tmp/go.mod" <<EOF
module example.com/copied

go ${goversion}

require ${module} v0.0.0

replace ${module} => ${repo}
EOF
# Checksums already verified for this module: no checksum-database lookup.
cp "$repo/go.sum" "$tmp/go.sum"

cd "$tmp"
export GOFLAGS=-mod=mod
# Offline first: what the cache holds was verified when it was downloaded.
if ! GOPROXY=off GOSUMDB=off go mod tidy 2>"$tmp/tidy-offline.log"; then
	echo "examples-copy: the module cache lacks something; asking the proxy" >&2
	go mod tidy
fi
go build ./...
go vet ./...
echo "examples-copy: ${#names[@]} examples build in a fresh module: ${names[*]}"
