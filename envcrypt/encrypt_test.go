package envcrypt_test

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
)

// dstack.md §4.5: the dh_decrypt vector from dstack-util's tests.
const (
	vectorSecret = "7c282bf94b35dc47801dc953bfa0896fc2bd313381d3e8eca4e42f6536d2a96f"
	vectorPublic = "b5ee2e67280ef8c9540850e90e6b7ee1b5e7ef011301bde95a2e6f953d04d201"
	vectorData   = "0bd18749612f4c8b9dd583c7d6a646b90abd34e3c731a7708d0caf9039095641e1f0948e775f0b7351788db7f246d51806954626dcccb6a60d64665ca3715c6bef75616cab476d27bba04080361200d6a58cec"
)

func TestDecryptSpecVector(t *testing.T) {
	secret := mustHex(t, vectorSecret)
	k, err := ecdh.X25519().NewPrivateKey(secret)
	require.NoError(t, err)
	require.Equal(t, vectorPublic, hex.EncodeToString(k.PublicKey().Bytes()), "the vector's key pair")

	for _, blob := range []string{vectorData, "0x" + vectorData, strings.ToUpper(vectorData)} {
		pt, err := envcrypt.Decrypt(secret, blob)
		require.NoError(t, err)
		assert.Equal(t, `[{"key":"","value":""}]`, string(pt))
	}

	// The plaintext is a bare array: a CVM decrypts it and then fails to parse it.
	_, err = envcrypt.DecryptEnv(secret, vectorData, []string{""})
	require.ErrorIs(t, err, envcrypt.ErrInvalidPlaintext)
}

func TestEncryptRoundTrip(t *testing.T) {
	priv, pub := testKey(t, 1)
	cases := []struct {
		name string
		env  []envcrypt.EnvVar
		want string // exact plaintext
	}{
		{"empty", nil, `{"env":[]}`},
		{"one", []envcrypt.EnvVar{{Key: "A", Value: "1"}}, `{"env":[{"key":"A","value":"1"}]}`},
		{"order kept", []envcrypt.EnvVar{{Key: "Z", Value: "z"}, {Key: "A", Value: ""}},
			`{"env":[{"key":"Z","value":"z"},{"key":"A","value":""}]}`},
		{"no HTML escaping", []envcrypt.EnvVar{{Key: "H", Value: "<a href='x'>&</a>"}},
			`{"env":[{"key":"H","value":"<a href='x'>&</a>"}]}`},
		{"escapes", []envcrypt.EnvVar{{Key: "E", Value: "q\"b\\n\nr\rt\tb\bf\fz\x00u\x1f\x7f"}},
			`{"env":[{"key":"E","value":"q\"b\\n\nr\rt\tb\bf\fz\u0000u\u001f` + "\x7f" + `"}]}`},
		{"unicode kept", []envcrypt.EnvVar{{Key: "U", Value: "héllo ✓ \u2028 😀"}},
			`{"env":[{"key":"U","value":"héllo ✓ ` + "\u2028" + ` 😀"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			blob, err := envcrypt.Encrypt(pub, tc.env)
			require.NoError(t, err)
			assert.Equal(t, strings.ToLower(blob), blob, "lowercase hex")
			assert.False(t, strings.HasPrefix(blob, "0x"))
			assert.Len(t, blob, 2*(envcrypt.BlobOverhead+len(tc.want)))

			pt, err := envcrypt.Decrypt(priv, blob)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(pt))

			// Any JSON decoder reads back the same variables.
			var doc struct {
				Env []envcrypt.EnvVar `json:"env"`
			}
			require.NoError(t, json.Unmarshal(pt, &doc))
			if len(tc.env) == 0 {
				assert.Empty(t, doc.Env)
			} else {
				assert.Equal(t, tc.env, doc.Env)
			}
		})
	}
}

func TestEncryptFreshRandomness(t *testing.T) {
	priv, pub := testKey(t, 1)
	env := []envcrypt.EnvVar{{Key: "A", Value: "1"}}
	a, err := envcrypt.Encrypt(pub, env)
	require.NoError(t, err)
	b, err := envcrypt.Encrypt(pub, env)
	require.NoError(t, err)
	assert.NotEqual(t, a[:64], b[:64], "ephemeral key must differ per call")
	assert.NotEqual(t, a[64:88], b[64:88], "IV must differ per call")
	for _, blob := range []string{a, b} {
		pt, err := envcrypt.Decrypt(priv, blob)
		require.NoError(t, err)
		assert.Equal(t, `{"env":[{"key":"A","value":"1"}]}`, string(pt))
	}
}

func TestEncryptWithRandIsDeterministic(t *testing.T) {
	_, pub := testKey(t, 1)
	env := []envcrypt.EnvVar{{Key: "A", Value: "1"}}
	a, err := envcrypt.Encrypt(pub, env, envcrypt.WithRand(detRand(9)))
	require.NoError(t, err)
	b, err := envcrypt.Encrypt(pub, env, envcrypt.WithRand(detRand(9)))
	require.NoError(t, err)
	assert.Equal(t, a, b)

	// The blob starts with the public half of the first 32 random bytes, then the
	// next 12 bytes as IV.
	stream := make([]byte, 44)
	_, _ = detRand(9).Read(stream)
	eph, err := ecdh.X25519().NewPrivateKey(stream[:32])
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(eph.PublicKey().Bytes()), a[:64])
	assert.Equal(t, hex.EncodeToString(stream[32:44]), a[64:88])
}

// TestEncryptKnownAnswer pins one blob that an independent implementation (Node's
// crypto, i.e. OpenSSL: X25519, AES-256-GCM) decrypted with the spec vector's private
// key, and whose first 32 bytes it derived as the public half of 32 bytes of 0x07.
func TestEncryptKnownAnswer(t *testing.T) {
	const want = "13be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6d" + // X25519(0x07…07)
		"070707070707070707070707" + // IV
		"7b8e0da883a63b70f5cedeaba2201f74054212b7b457b181e896dd78d13a65beca22fa4a015fb635bfee163e462c1b5502a7c6bf34af1172fde33cc99810edd590a210019b9feaba740435069d291a6b81834f608e8861daebd44e9efbc40e82fc94"
	env := []envcrypt.EnvVar{{Key: "DB_URL", Value: "postgres://db"}, {Key: "TOKEN", Value: "t0k3n"}}
	blob, err := envcrypt.Encrypt(vectorPublic, env, envcrypt.WithRand(bytes.NewReader(bytes.Repeat([]byte{7}, 44))))
	require.NoError(t, err)
	assert.Equal(t, want, blob)
}

func TestEncryptRandFailure(t *testing.T) {
	_, pub := testKey(t, 1)
	boom := errors.New("entropy gone")
	_, err := envcrypt.Encrypt(pub, nil, envcrypt.WithRand(iotest.ErrReader(boom)))
	require.ErrorIs(t, err, boom)
	_, err = envcrypt.Encrypt(pub, nil, envcrypt.WithRand(bytes.NewReader(make([]byte, 40))))
	require.Error(t, err, "a reader that runs out before the IV")

	_, err = envcrypt.Encrypt(pub, nil, envcrypt.WithRand(nil))
	require.ErrorIs(t, err, envcrypt.ErrInvalidOption)
}

func TestEncryptRecipientKey(t *testing.T) {
	priv, pub := testKey(t, 2)
	env := []envcrypt.EnvVar{{Key: "A", Value: "secret-value"}}
	for _, key := range []string{pub, "0x" + pub, "0X" + pub, strings.ToUpper(pub)} {
		blob, err := envcrypt.Encrypt(key, env)
		require.NoError(t, err, key)
		_, err = envcrypt.Decrypt(priv, blob)
		require.NoError(t, err)
	}

	bad := []struct {
		name, key string
		lowOrder  bool
	}{
		{"empty", "", false},
		{"0x only", "0x", false},
		{"short", pub[:62], false},
		{"long", pub + "00", false},
		{"not hex", "zz" + pub[2:], false},
		{"spaces", " " + pub[1:], false},
		{"33-byte secp256k1 key", "02" + pub, false},
		{"zero", strings.Repeat("00", 32), true},
		{"one", "01" + strings.Repeat("00", 31), true},
		{"order 8 (a)", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", true},
		{"order 8 (b)", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", true},
		{"p-1", "ec" + strings.Repeat("ff", 30) + "7f", true},
		{"p", "ed" + strings.Repeat("ff", 30) + "7f", true},
		{"p+1", "ee" + strings.Repeat("ff", 30) + "7f", true},
		{"zero with high bit", strings.Repeat("00", 31) + "80", true},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envcrypt.Encrypt(tc.key, env)
			require.ErrorIs(t, err, envcrypt.ErrInvalidPublicKey)
			assert.Equal(t, tc.lowOrder, errors.Is(err, envcrypt.ErrLowOrderPoint), err.Error())
			assert.NotContains(t, err.Error(), "secret-value")
			assert.Equal(t, 1, strings.Count(err.Error(), "envcrypt:"), err.Error())
		})
	}
}

func TestEncryptValidatesFirst(t *testing.T) {
	_, pub := testKey(t, 1)
	_, err := envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "1BAD", Value: "v"}})
	require.ErrorIs(t, err, envcrypt.ErrInvalidName)
	_, err = envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "A", Value: "v"}}, envcrypt.WithAllowedEnvs([]string{"B"}))
	require.ErrorIs(t, err, envcrypt.ErrNotAllowed)
}

func TestDecryptErrors(t *testing.T) {
	priv, pub := testKey(t, 3)
	otherPriv, _ := testKey(t, 4)
	blob, err := envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "A", Value: "1"}})
	require.NoError(t, err)

	flip := func(i int) string {
		b := mustHex(t, blob)
		b[i] ^= 1
		return hex.EncodeToString(b)
	}
	n := len(blob) / 2
	cases := []struct {
		name string
		key  []byte
		blob string
		want error
	}{
		{"wrong key", otherPriv, blob, envcrypt.ErrDecrypt},
		{"tampered ephemeral key", priv, flip(0), envcrypt.ErrDecrypt},
		{"tampered IV", priv, flip(33), envcrypt.ErrDecrypt},
		{"tampered ciphertext", priv, flip(50), envcrypt.ErrDecrypt},
		{"tampered tag", priv, flip(n - 1), envcrypt.ErrDecrypt},
		{"truncated", priv, blob[:len(blob)-2], envcrypt.ErrDecrypt},
		{"shorter than overhead", priv, blob[:2*59], envcrypt.ErrMalformedBlob},
		{"empty", priv, "", envcrypt.ErrMalformedBlob},
		{"odd length", priv, blob[:len(blob)-1], envcrypt.ErrMalformedBlob},
		{"not hex", priv, "zz" + blob[2:], envcrypt.ErrMalformedBlob},
		{"low-order ephemeral key", priv, strings.Repeat("00", 32) + blob[64:], envcrypt.ErrLowOrderPoint},
		{"short private key", priv[:31], blob, envcrypt.ErrInvalidPrivateKey},
		{"nil private key", nil, blob, envcrypt.ErrInvalidPrivateKey},
		{"too large", priv, strings.Repeat("00", envcrypt.MaxBlobSize+1), envcrypt.ErrLimitExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := envcrypt.Decrypt(tc.key, tc.blob)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, pt)
			assert.Equal(t, 1, strings.Count(err.Error(), "envcrypt:"), err.Error())
		})
	}
}

// TestDecryptEphemeralKeyTopBit pins down the one malleable bit of the format
// (found by FuzzDecrypt): X25519 ignores bit 7 of the ephemeral key's last byte
// (RFC 7748 §5), so flipping it decrypts to the same plaintext, while flipping
// any other bit of that byte fails.
func TestDecryptEphemeralKeyTopBit(t *testing.T) {
	priv, pub := testKey(t, 6)
	blob, err := envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "A", Value: "1"}})
	require.NoError(t, err)
	raw := mustHex(t, blob)
	require.Zero(t, raw[31]&0x80, "Encrypt writes the canonical encoding")
	want, err := envcrypt.Decrypt(priv, blob)
	require.NoError(t, err)

	for bit := range 8 {
		b := bytes.Clone(raw)
		b[31] ^= 1 << bit
		got, err := envcrypt.Decrypt(priv, hex.EncodeToString(b))
		if bit == 7 {
			require.NoError(t, err)
			assert.Equal(t, want, got)
			continue
		}
		require.ErrorIs(t, err, envcrypt.ErrDecrypt, "bit %d", bit)
	}
}

func TestDecryptAcceptsMaxBlobSize(t *testing.T) {
	priv, pub := testKey(t, 5)
	pubBytes := mustHex(t, pub)
	pt := bytes.Repeat([]byte("x"), envcrypt.MaxBlobSize-envcrypt.BlobOverhead)
	blob := envcrypt.SealRaw(pubBytes, pt, detRand(1))
	require.Len(t, blob, 2*envcrypt.MaxBlobSize)
	got, err := envcrypt.Decrypt(priv, blob)
	require.NoError(t, err)
	assert.Equal(t, pt, got)

	over := envcrypt.SealRaw(pubBytes, append(pt, 'x'), detRand(1))
	_, err = envcrypt.Decrypt(priv, over)
	var le *envcrypt.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, envcrypt.LimitBlobSize, le.Limit)
	assert.Equal(t, envcrypt.MaxBlobSize+1, le.Size)
}
