package envcrypt_test

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// detRand returns a deterministic byte stream for reproducible encryption.
func detRand(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// testKey returns a deterministic X25519 key pair: private bytes and public hex.
func testKey(t testing.TB, seed byte) ([]byte, string) {
	t.Helper()
	priv := make([]byte, 32)
	_, _ = detRand(seed).Read(priv)
	k, err := ecdh.X25519().NewPrivateKey(priv)
	require.NoError(t, err)
	return priv, hex.EncodeToString(k.PublicKey().Bytes())
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func elliptic256() elliptic.Curve { return elliptic.P256() }
