package onchain

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// ErrNoKMSRootKey is returned by [KMSRootKey] when the DstackKms contract
// has no usable k256 public key.
var ErrNoKMSRootKey = errors.New("onchain: DstackKms has no valid root key")

// KMSRootKey reads the KMS root secp256k1 public key from the DstackKms
// contract at kms (kmsInfo().k256Pubkey): the key that signs the env
// encryption public keys the KMS hands out. It returns the key as 33-byte
// compressed SEC1, validated to be a point on the curve; a 65-byte
// uncompressed key is accepted and compressed. An unset or malformed key
// gives an error matching [ErrNoKMSRootKey]. No error names an RPC URL's
// path or query.
func KMSRootKey(ctx context.Context, caller bind.ContractCaller, kms common.Address) (_ []byte, err error) {
	defer func() { err = redactURLs(err) }()
	if caller == nil {
		return nil, errors.New("onchain: KMSRootKey: nil caller")
	}
	k := NewDstackKms()
	out, err := caller.CallContract(ctx, ethereum.CallMsg{To: &kms, Data: k.PackKmsInfo()}, nil)
	if err != nil {
		if data, ok := revertData(err); ok {
			re := DecodeRevert(data)
			re.Method = "kmsInfo"
			return nil, fmt.Errorf("onchain: reading kmsInfo() of %s: %w", kms, re)
		}
		return nil, fmt.Errorf("onchain: reading kmsInfo() of %s: %w", kms, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s returned nothing for kmsInfo() (not a DstackKms contract?)", ErrNoKMSRootKey, kms)
	}
	info, err := k.UnpackKmsInfo(out)
	if err != nil {
		return nil, fmt.Errorf("%w: kmsInfo() of %s does not decode: %v", ErrNoKMSRootKey, kms, err)
	}
	return normalizeK256(info.K256Pubkey)
}

// normalizeK256 validates a secp256k1 public key and returns it compressed.
func normalizeK256(key []byte) ([]byte, error) {
	switch {
	case len(key) == 0:
		return nil, fmt.Errorf("%w: k256Pubkey is empty", ErrNoKMSRootKey)
	case len(key) == 33 && (key[0] == 2 || key[0] == 3):
		if _, err := crypto.DecompressPubkey(key); err != nil {
			return nil, fmt.Errorf("%w: k256Pubkey 0x%x is not a curve point", ErrNoKMSRootKey, key)
		}
		return append([]byte(nil), key...), nil
	case len(key) == 65 && key[0] == 4:
		pub, err := crypto.UnmarshalPubkey(key)
		if err != nil {
			return nil, fmt.Errorf("%w: k256Pubkey 0x%x is not a curve point", ErrNoKMSRootKey, key)
		}
		return crypto.CompressPubkey(pub), nil
	default:
		return nil, fmt.Errorf("%w: k256Pubkey has %d bytes, want 33 (compressed SEC1)", ErrNoKMSRootKey, len(key))
	}
}
