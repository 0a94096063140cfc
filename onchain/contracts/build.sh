#!/bin/sh
# build.sh rebuilds everything generated from the contracts, so CI needs
# neither solc nor abigen (the outputs are committed):
#
#   build/<Name>.abi.json, build/<Name>.bin   our test doubles, compiled by
#       solc-js 0.8.37 (pinned in package.json/package-lock.json) for the
#       cancun EVM, optimizer on, 200 runs (build.js)
#   ../dstackapp_bindings.go   abigen --v2 from abi/DstackApp.abi.json, the
#       real DstackApp interface: the spec's DstackApp.abi.json plus one
#       internalType ("struct IAppAuth.AppBootInfo") so the tuple type gets a
#       name instead of Struct0; no selector, topic or type changes
#   ../dstackkms_bindings.go   abigen --v2 from abi/DstackKms.abi.json, the
#       DstackKms subset we use (kmsInfo, setKmsInfo, owner)
#   ../internal/testcontracts/*.go   abigen --v2 with bytecode, used by
#       onchaintest to deploy the test doubles
#
# Needs node/npm and abigen v1.17.10 (go install
# github.com/ethereum/go-ethereum/cmd/abigen@v1.17.10); set ABIGEN to use
# another path. Run from anywhere: sh onchain/contracts/build.sh, or
# go generate ./onchain.
set -eu
cd "$(dirname "$0")"
ABIGEN=${ABIGEN:-abigen}

want="abigen version 1.17.10"
case "$("$ABIGEN" --version)" in
"$want"*) ;;
*) echo "build.sh: need $want, have: $("$ABIGEN" --version)" >&2; exit 1 ;;
esac

if [ ! -d node_modules/solc ]; then
	npm ci --no-audit --no-fund
fi
node build.js

"$ABIGEN" --v2 --abi abi/DstackApp.abi.json --pkg onchain --type DstackApp --out ../dstackapp_bindings.go
"$ABIGEN" --v2 --abi abi/DstackKms.abi.json --pkg onchain --type DstackKms --out ../dstackkms_bindings.go

mkdir -p ../internal/testcontracts
"$ABIGEN" --v2 --abi build/DstackApp.abi.json --bin build/DstackApp.bin --pkg testcontracts --type DstackApp --out ../internal/testcontracts/dstackapp.go
"$ABIGEN" --v2 --abi build/DstackKms.abi.json --bin build/DstackKms.bin --pkg testcontracts --type DstackKms --out ../internal/testcontracts/dstackkms.go
