package onchain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/crypto"
)

// ErrInvalidPrivateKey is returned by [SignerFromHex] for a malformed key.
// The error never contains the key or any part of it.
var ErrInvalidPrivateKey = errors.New("onchain: invalid private key")

// SignerFromHex builds transaction options that sign with a secp256k1
// private key given as 64 hex digits, with or without 0x (unlike viem,
// which silently drops the first two characters of an unprefixed key).
// chainID is the chain the signatures are for, for example [ChainIDBase].
// Errors wrap [ErrInvalidPrivateKey] and never include the key.
//
// A key in an environment variable is the simplest setup; [SignerFromKeystore]
// keeps it encrypted at rest and [SignerFromClef] keeps it out of the process.
func SignerFromHex(hexKey string, chainID uint64) (*bind.TransactOpts, error) {
	if chainID == 0 {
		return nil, errors.New("onchain: SignerFromHex: chain id must not be 0")
	}
	k := strings.TrimSpace(hexKey)
	if has0x(k) {
		k = k[2:]
	}
	if len(k) != 64 {
		return nil, fmt.Errorf("%w: want 64 hex digits (32 bytes), got %d characters", ErrInvalidPrivateKey, len(k))
	}
	for i := 0; i < len(k); i++ {
		if !isHexDigit(k[i]) {
			return nil, fmt.Errorf("%w: not hexadecimal", ErrInvalidPrivateKey)
		}
	}
	key, err := crypto.HexToECDSA(k)
	if err != nil {
		// The key is valid hex of the right size, so this is a range
		// problem (zero or not below the curve order); do not echo err in
		// case a future version quotes its input.
		return nil, fmt.Errorf("%w: not a valid secp256k1 scalar", ErrInvalidPrivateKey)
	}
	return bind.NewKeyedTransactor(key, new(big.Int).SetUint64(chainID)), nil
}
