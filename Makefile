# Proof targets (issue 7). `make bench` runs the whole benchmark in a few
# minutes on 2 cores; `make fuzz-long` runs every fuzz target (scripts/fuzz.sh) for
# FUZZTIME each (default 1m).

PHALA_CLI_DIR ?= /tmp/phala-cli-1.1.18
PHALA_CLI     ?= $(PHALA_CLI_DIR)/node_modules/.bin/phala
FUZZTIME      ?= 1m

.PHONY: bench bench-cli bench-go fuzz-long

# The official CLI, installed once into PHALA_CLI_DIR (needs node and npm).
$(PHALA_CLI):
	mkdir -p $(PHALA_CLI_DIR)
	cd $(PHALA_CLI_DIR) && npm i --no-audit --no-fund phala@1.1.18

bench: $(PHALA_CLI) bench-go
	go run ./bench -cli $(PHALA_CLI) -runs 5 -latency 50ms

bench-go:
	go test -run '^$$' -bench . -benchmem -count 1 ./envcrypt ./onchain .

fuzz-long:
	scripts/fuzz.sh $(FUZZTIME)
