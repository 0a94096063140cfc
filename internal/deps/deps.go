// Package deps pins the module's dependencies while the packages that use them are being written.
package deps

import (
	_ "github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	_ "github.com/ethereum/go-ethereum/ethclient"
	_ "github.com/ethereum/go-ethereum/ethclient/simulated"
	_ "github.com/ethereum/go-ethereum/rpc"
	_ "github.com/ethereum/go-ethereum/crypto"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/crypto/curve25519"
)
