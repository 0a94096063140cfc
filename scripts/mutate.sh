#!/usr/bin/env bash
# Mutation testing of the safety-critical lines. Each mutation in scripts/mutations.txt
# replaces one exact piece of code by a wrong one; the tests that guard that line must
# then fail. A mutation the tests do not notice ("survived") is a missing test, and the
# script fails.
#
#   scripts/mutate.sh                 # every mutation
#   scripts/mutate.sh retry           # only mutations whose id contains "retry"
#
# The mutations run in a copy of the tree (a temporary directory), never in the checkout,
# so the working tree is never left mutated, even when the script is interrupted.
#
# scripts/mutations.txt: one mutation per block of four lines, blocks separated by a line
# holding only "---"; lines starting with # are comments:
#   id:      <short name>  <package>  <go test -run regexp>
#   file:    <path relative to the module root>
#   from:    <exact text, must occur exactly once in file>
#   to:      <replacement>
# "\n" in from/to stands for a newline and "\t" for a tab; leading and trailing blanks
# of from/to are dropped, so a text is matched wherever it is indented.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
filter="${1:-}"
list="$root/scripts/mutations.txt"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy of the module without .git; the module cache and build cache are shared.
tar -C "$root" --exclude=.git -cf - . | tar -C "$work" -xf -
cd "$work"

# The unmutated copy must build and pass the packages the list names; otherwise every
# mutant "fails" for the wrong reason.
if ! go build ./... >"$work/.baseline.log" 2>&1; then
	echo "the tree does not build without mutations:" >&2
	cat "$work/.baseline.log" >&2
	exit 1
fi

python3 - "$list" "$filter" <<'PY' >"$work/.mutations.tsv"
import sys
path, flt = sys.argv[1], sys.argv[2]
blocks, cur = [], {}
for raw in open(path, encoding="utf-8"):
    line = raw.rstrip("\n")
    if line.startswith("#"):
        continue
    if line.strip() == "---":
        if cur:
            blocks.append(cur)
        cur = {}
        continue
    if not line.strip():
        continue
    key, _, val = line.partition(":")
    cur[key.strip()] = val.strip()
if cur:
    blocks.append(cur)
for b in blocks:
    for k in ("id", "file", "from", "to"):
        if k not in b:
            sys.exit(f"mutations.txt: a block lacks {k}: {b}")
    mid, pkg, run = b["id"].split(None, 2)
    if flt and flt not in mid:
        continue
    # Tabs inside the code would split the TSV line: carry them as \t.
    esc = lambda v: v.replace("\t", "\\t")
    print("\t".join([mid, pkg, run, b["file"], esc(b["from"]), esc(b["to"])]))
PY

total=0
survived=()
broken=()
while IFS=$'\t' read -r id pkg run file from to; do
	total=$((total + 1))
	cp "$file" "$file.orig"
	if ! python3 - "$file" "$from" "$to" <<'PY'; then
import sys
unesc = lambda v: v.replace("\\n", "\n").replace("\\t", "\t")
path, frm, to = sys.argv[1], unesc(sys.argv[2]), unesc(sys.argv[3])
src = open(path, encoding="utf-8").read()
n = src.count(frm)
if n != 1:
    sys.stderr.write(f"  'from' occurs {n} times in {path} (must be exactly once)\n")
    sys.exit(1)
open(path, "w", encoding="utf-8").write(src.replace(frm, to))
PY
		broken+=("$id (stale: its text is not in $file once)")
		mv "$file.orig" "$file"
		printf '%-40s STALE\n' "$id"
		continue
	fi
	start=$(date +%s)
	if out="$(go test -count=1 -run "$run" "$pkg" 2>&1)"; then
		survived+=("$id")
		printf '%-40s SURVIVED (%ss)\n' "$id" "$(($(date +%s) - start))"
	elif grep -q -e '\[build failed\]' -e '\[setup failed\]' <<<"$out"; then
		broken+=("$id (the mutant does not compile)")
		printf '%-40s DOES NOT COMPILE\n' "$id"
	else
		printf '%-40s killed (%ss)\n' "$id" "$(($(date +%s) - start))"
	fi
	mv "$file.orig" "$file"
done <"$work/.mutations.tsv"

echo
echo "$total mutations: $((total - ${#survived[@]} - ${#broken[@]})) killed, ${#survived[@]} survived, ${#broken[@]} unusable"
for s in "${survived[@]}"; do echo "  survived: $s"; done
for b in "${broken[@]}"; do echo "  unusable: $b"; done
[ "$total" -gt 0 ] || { echo "no mutations selected" >&2; exit 1; }
[ ${#survived[@]} -eq 0 ] && [ ${#broken[@]} -eq 0 ]
