# Proof targets (issue 7). `make bench` runs the whole benchmark in a few
# minutes on 2 cores; `make fuzz-long` runs every fuzz target (scripts/fuzz.sh) for
# FUZZTIME each (default 1m).

PHALA_CLI_DIR ?= /tmp/phala-cli-1.1.18
PHALA_CLI     ?= $(PHALA_CLI_DIR)/node_modules/.bin/phala
FUZZTIME      ?= 1m

.PHONY: mutate bench bench-cli bench-go fuzz-long

# The official CLI, installed once into PHALA_CLI_DIR (needs node and npm).
$(PHALA_CLI):
	mkdir -p $(PHALA_CLI_DIR)
	cd $(PHALA_CLI_DIR) && npm i --no-audit --no-fund phala@1.1.18

bench: $(PHALA_CLI) bench-go
	go run ./bench -cli $(PHALA_CLI) -runs 5 -latency 50ms

# The CLI-vs-CLI tables alone: our built binary and the official CLI as whole
# processes, in alternating pairs against the same emulator (about a minute).
bench-cli: $(PHALA_CLI)
	go run ./bench -only cli -cli $(PHALA_CLI) -runs 5 -latency 50ms

bench-go:
	go test -run '^$$' -bench . -benchmem -count 1 ./envcrypt ./onchain .

fuzz-long:
	scripts/fuzz.sh $(FUZZTIME)

# Issue 12 point 4: the installed CLI against the demo build (-tags demo), each
# built cold (empty build cache): build time, binary size, and start-up wall time
# and peak memory (max RSS) of --help. Needs GNU time (/usr/bin/time).
.PHONY: bench-binary
bench-binary:
	@for tags in "" demo; do \
	  cache=$$(mktemp -d); out=$$(mktemp -d)/phala-replicate; \
	  start=$$(date +%s.%N); GOCACHE=$$cache go build -tags "$$tags" -o $$out ./cmd/phala-replicate || exit 1; end=$$(date +%s.%N); \
	  size=$$(stat -c %s $$out); \
	  rss=$$(/usr/bin/time -f %M $$out --help 2>&1 >/dev/null | tail -1); \
	  wall=$$( { /usr/bin/time -f %e $$out --help >/dev/null; } 2>&1 | tail -1); \
	  printf '| %-12s | %5.1f s | %5.1f MB | %s s | %5.1f MiB |\n' "$${tags:-installed}" $$(echo "$$end - $$start" | bc) $$(echo "$$size / 1000000" | bc -l) $$wall $$(echo "$$rss / 1024" | bc -l); \
	  rm -rf $$cache $$(dirname $$out); \
	done

# Mutation testing of the safety-critical lines (scripts/mutations.txt): every listed
# wrong version of a line must make its tests fail. About 10 minutes on 2 cores, so it
# is run before stopping rather than in CI.
mutate:
	scripts/mutate.sh

# package onchain against Foundry's anvil, a real EVM node (internal/anvilcheck,
# build tag anvil; installs anvil with npm on first use). ANVIL_BENCH=-bench adds
# the auto-registration benchmark. Not part of CI, which has only Go.
.PHONY: anvil-check
anvil-check:
	scripts/anvil-check.sh $(ANVIL_BENCH)
