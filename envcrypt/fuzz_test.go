package envcrypt_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
)

func FuzzDecrypt(f *testing.F) {
	priv, pub := testKey(f, 11)
	authentic := map[string]bool{}
	for i, env := range [][]envcrypt.EnvVar{nil, {{Key: "A", Value: "1"}}, {{Key: "B", Value: strings.Repeat("x", 300)}}} {
		blob, err := envcrypt.Encrypt(pub, env, envcrypt.WithRand(detRand(byte(i))))
		require.NoError(f, err)
		authentic[blob] = true
		f.Add(blob)
		f.Add("0x" + blob)
	}
	f.Add(vectorData)
	f.Add("")
	f.Add(strings.Repeat("00", 60))
	f.Fuzz(func(t *testing.T, blob string) {
		pt, err := envcrypt.Decrypt(priv, blob)
		if err != nil {
			require.Nil(t, pt)
			require.True(t, errors.Is(err, envcrypt.ErrMalformedBlob) || errors.Is(err, envcrypt.ErrDecrypt) ||
				errors.Is(err, envcrypt.ErrLimitExceeded), "untyped error %v", err)
			return
		}
		// Only a blob this test encrypted can open: GCM authenticates the IV and
		// ciphertext, and X25519 reads the ephemeral key with its top bit cleared
		// (RFC 7748), so that bit is the only one that may differ.
		raw, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(blob, "0x"), "0X"))
		require.NoError(t, err, "a blob that is not hex decrypted")
		require.Greater(t, len(raw), 31)
		raw[31] &= 0x7f
		require.True(t, authentic[hex.EncodeToString(raw)], "a forged blob decrypted")
	})
}

func FuzzDecryptEnv(f *testing.F) {
	priv, pub := testKey(f, 12)
	pubBytes := mustHex(f, pub)
	for _, s := range []string{
		`{"env":[{"key":"A","value":"1"}]}`, `[[["A","1"]]]`, `{"env":[{"key":"bad-name","value":""}]}`,
		`{"env":[{"key":"B","value":"\ud83d\ude00"},{"key":"B","value":"2"}],"x":{"y":[1,2.5e3,null,true]}}`,
		`{"env":[{"key":"_","value":1}]}`, `{"env":[]} `,
	} {
		f.Add([]byte(s))
	}
	allowed := []string{"A", "B", "_", "bad-name", ""}
	f.Fuzz(func(t *testing.T, doc []byte) {
		blob := envcrypt.SealRaw(pubBytes, doc, detRand(1))
		got, err := envcrypt.DecryptEnv(priv, blob, allowed)
		if err != nil {
			require.Nil(t, got)
			require.True(t, errors.Is(err, envcrypt.ErrInvalidPlaintext) || errors.Is(err, envcrypt.ErrLimitExceeded) ||
				errors.Is(err, envcrypt.ErrInvalidName), "untyped error %v", err)
			return
		}
		require.True(t, json.Valid(doc), "accepted invalid JSON %q", doc)
		names := got.Names()
		require.True(t, slices.IsSorted(names))
		require.Equal(t, len(names), len(slices.Compact(slices.Clone(names))), "names unique")
		for _, n := range names {
			require.True(t, envcrypt.ValidName(n))
			require.Contains(t, allowed, n)
		}
		for _, n := range got.Skipped {
			require.NotContains(t, allowed, n)
		}
	})
}
