package onchain

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/internal/secrettest"
)

// Marker secrets: a commit token and a private key (a valid secp256k1 scalar).
const (
	tokenMark = "TOKMARK-commit-8a4b0c71"
	privMark  = "c0ffee11c0ffee22c0ffee33c0ffee44c0ffee55c0ffee66c0ffee77c0ffee88"
)

// nopBackend satisfies Backend without a node; the tests only print the Registrar.
type nopBackend struct{ Backend }

// TestSecretsNeverPrinted renders every exported type of the package that can hold
// a commit token or a private key with every fmt verb, json.Marshal and both slog
// handlers, alone and wrapped in errors, and finds neither secret in any encoding.
func TestSecretsNeverPrinted(t *testing.T) {
	key, err := crypto.HexToECDSA(privMark)
	require.NoError(t, err)
	signer := bind.NewKeyedTransactor(key, big.NewInt(8453))
	reg, err := NewRegistrar(nopBackend{}, signer)
	require.NoError(t, err)

	pre := &ErrOnchainPrerequisite{
		CommitToken: tokenMark, ComposeHash: "0x" + testCompose, AppID: "0x" + testApp, DeviceID: "0x" + testDevice,
		CommitURL:     "https://cloud.example/commit?token=" + tokenMark,
		APICommitURL:  "https://cloud-api.example/api/v1/cvms/x/commit-replica",
		OnchainStatus: &OnchainStatus{ComposeHashAllowed: false, DeviceIDAllowed: true},
		KMSInfo: &KMSInfo{ChainID: 8453, DstackAppAddress: "0x" + testApp, RPCEndpoint: "https://rpc.example/v2/" + tokenMark,
			Extra: map[string]json.RawMessage{"echo": json.RawMessage(`"` + tokenMark + `"`)}},
		Cause: errors.New("phala: ERR-01-005 (HTTP 465): registration required"),
	}
	cases := []secrettest.Case{
		{Name: "*ErrOnchainPrerequisite", Value: pre},
		{Name: "ErrOnchainPrerequisite without status", Value: &ErrOnchainPrerequisite{CommitToken: tokenMark, ComposeHash: testCompose}},
		{Name: "*Registrar", Value: reg},
		{Name: "struct holding them", Value: struct {
			Pre *ErrOnchainPrerequisite
			Err error
			Reg *Registrar
		}{pre, pre, reg}},
	}
	for _, c := range cases {
		for _, c := range secrettest.Wrapped(c) {
			t.Run(c.Name, func(t *testing.T) {
				assert.Empty(t, secrettest.Leaks(c, tokenMark, privMark))
			})
		}
	}
}

// TestPrerequisiteJSON pins the JSON form of the 465 error: its message, the
// payload under its wire names, the token redacted, the cause as its message.
func TestPrerequisiteJSON(t *testing.T) {
	pre := &ErrOnchainPrerequisite{
		CommitToken: tokenMark, ComposeHash: testCompose, AppID: testApp,
		OnchainStatus: &OnchainStatus{ComposeHashAllowed: false, DeviceIDAllowed: true},
		KMSInfo:       &KMSInfo{ChainID: 8453},
		Cause:         errors.New("boom"),
	}
	b, err := json.Marshal(pre)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, pre.Error(), got["error"])
	assert.Equal(t, "[REDACTED]", got["commit_token"])
	assert.Equal(t, testCompose, got["compose_hash"])
	assert.Equal(t, testApp, got["app_id"])
	assert.Equal(t, "boom", got["cause"])
	assert.Equal(t, map[string]any{"compose_hash_allowed": false, "device_id_allowed": true, "is_allowed": false}, got["onchain_status"])
	assert.Equal(t, map[string]any{"chain_id": float64(8453)}, got["kms_info"])
	assert.NotContains(t, got, "device_id", "an absent device is left out")
}
