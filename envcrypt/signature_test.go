package envcrypt_test

import (
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
)

// dstack.md §5.5: the legacy signature vector.
const (
	sigVectorPub    = "e33a1832c6562067ff8f844a61e51ad051f1180b66ec2551fb0251735f3ee90a"
	sigVectorSig    = "8542c49081fbf4e03f62034f13fbf70630bdf256a53032e38465a27c36fd6bed7a5e7111652004aef37f7fd92fbfc1285212c4ae6a6154203a48f5e16cad2cef00"
	sigVectorSigner = "0217610d74cbd39b6143842c6d8bc310d79da1d82cc9d17f8876376221eda0c38f"
	sigVectorAddr   = "0x3aFAb89666FCb63572C0A06EB9571e2ecf074F2c"
	zeroAppID       = "0000000000000000000000000000000000000000"
)

func TestRecoverSignerSpecVector(t *testing.T) {
	var pub [32]byte
	copy(pub[:], mustHex(t, sigVectorPub))
	signer, err := envcrypt.RecoverSigner([20]byte{}, pub, nil, mustHex(t, sigVectorSig))
	require.NoError(t, err)
	assert.Equal(t, sigVectorSigner, hex.EncodeToString(signer))
	key, err := crypto.DecompressPubkey(signer)
	require.NoError(t, err)
	assert.Equal(t, sigVectorAddr, crypto.PubkeyToAddress(*key).Hex())

	// The same vector through VerifyPublicKey, with every app id spelling.
	resp := envcrypt.PublicKeyResponse{PublicKey: sigVectorPub, Signature: sigVectorSig}
	for _, id := range []string{zeroAppID, "0x" + zeroAppID, "0X" + zeroAppID, "app_" + zeroAppID} {
		got, err := envcrypt.VerifyPublicKey(resp, id, [][]byte{mustHex(t, sigVectorSigner)}, time.Now())
		require.NoError(t, err, id)
		assert.Equal(t, sigVectorSigner, hex.EncodeToString(got))
	}
}

type kms struct {
	root  *ecdsa.PrivateKey
	appID [20]byte
	app   string
	pub   [32]byte
}

func newKMS(t *testing.T, seed byte) kms {
	t.Helper()
	d := make([]byte, 32)
	_, _ = detRand(100 + seed).Read(d)
	root, err := crypto.ToECDSA(d)
	require.NoError(t, err)
	k := kms{root: root}
	_, _ = detRand(200 + seed).Read(k.appID[:])
	k.app = hex.EncodeToString(k.appID[:])
	_, pubHex := testKey(t, seed)
	copy(k.pub[:], mustHex(t, pubHex))
	return k
}

func (k kms) trusted() [][]byte { return [][]byte{crypto.CompressPubkey(&k.root.PublicKey)} }

func (k kms) sign(t *testing.T, ts *uint64) string {
	t.Helper()
	sig, err := envcrypt.SignPublicKey(k.root, k.appID, k.pub, ts)
	require.NoError(t, err)
	require.Len(t, sig, 65)
	require.LessOrEqual(t, sig[64], byte(1))
	return hex.EncodeToString(sig)
}

// response builds what a KMS returns: both signatures when ts is given, else legacy only.
func (k kms) response(t *testing.T, ts *uint64) envcrypt.PublicKeyResponse {
	r := envcrypt.PublicKeyResponse{PublicKey: hex.EncodeToString(k.pub[:]), Signature: k.sign(t, nil)}
	if ts != nil {
		r.Timestamp = ts
		r.SignatureV1 = k.sign(t, ts)
	}
	return r
}

// errRejected stands for either way a tampered signature fails: it recovers to
// another key, or to none.
var errRejected = errors.New("rejected")

func u64(v int64) *uint64 { u := uint64(v); return &u }

func TestSignRecoverRoundTrip(t *testing.T) {
	k := newKMS(t, 1)
	want := crypto.CompressPubkey(&k.root.PublicKey)
	for _, ts := range []*uint64{nil, u64(0), u64(1_700_000_000)} {
		sig := mustHex(t, k.sign(t, ts))
		got, err := envcrypt.RecoverSigner(k.appID, k.pub, ts, sig)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	// The legacy and timestamped schemes sign different digests.
	legacy := mustHex(t, k.sign(t, nil))
	got, err := envcrypt.RecoverSigner(k.appID, k.pub, u64(0), legacy)
	if err == nil {
		assert.NotEqual(t, want, got)
	}

	_, err = envcrypt.SignPublicKey(nil, k.appID, k.pub, nil)
	require.ErrorIs(t, err, envcrypt.ErrInvalidOption)
	p256, err := ecdsa.GenerateKey(elliptic256(), strings.NewReader(strings.Repeat("x", 100)))
	require.NoError(t, err)
	_, err = envcrypt.SignPublicKey(p256, k.appID, k.pub, nil)
	require.ErrorIs(t, err, envcrypt.ErrInvalidOption, "a P-256 key is not a KMS root key")
}

func TestVerifyPublicKey(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k := newKMS(t, 1)
	forger := newKMS(t, 2)
	forger.appID, forger.app, forger.pub = k.appID, k.app, k.pub

	tamper := func(sigHex string, i int) string {
		b := mustHex(t, sigHex)
		b[i] ^= 0x01
		return hex.EncodeToString(b)
	}
	withV := func(sigHex string, v byte) string {
		b := mustHex(t, sigHex)
		b[64] = v
		return hex.EncodeToString(b)
	}
	legacy := k.response(t, nil)
	fresh := k.response(t, u64(now.Unix()))
	otherPub := newKMS(t, 3).pub

	cases := []struct {
		name    string
		resp    envcrypt.PublicKeyResponse
		app     string
		trusted [][]byte
		want    error // nil = verified; errRejected = mismatch or unrecoverable
	}{
		{"legacy", legacy, k.app, k.trusted(), nil},
		{"legacy with 0x fields", envcrypt.PublicKeyResponse{PublicKey: "0x" + legacy.PublicKey, Signature: "0x" + legacy.Signature}, "0x" + k.app, k.trusted(), nil},
		{"v1", fresh, "app_" + k.app, k.trusted(), nil},
		{"trusted key uncompressed", legacy, k.app, [][]byte{crypto.FromECDSAPub(&k.root.PublicKey)}, nil},
		{"one of several trusted keys", legacy, k.app, append(forger.trusted(), k.trusted()...), nil},

		{"forged: signed by another key", forger.response(t, nil), k.app, k.trusted(), envcrypt.ErrSignatureMismatch},
		{"forged v1", forger.response(t, u64(now.Unix())), k.app, k.trusted(), envcrypt.ErrSignatureMismatch},
		{"tampered r", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: tamper(legacy.Signature, 5)}, k.app, k.trusted(), errRejected},
		{"tampered s", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: tamper(legacy.Signature, 40)}, k.app, k.trusted(), errRejected},
		{"flipped recovery id", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: withV(legacy.Signature, 1-mustHex(t, legacy.Signature)[64])}, k.app, k.trusted(), envcrypt.ErrSignatureMismatch},
		{"swapped public key", envcrypt.PublicKeyResponse{PublicKey: hex.EncodeToString(otherPub[:]), Signature: legacy.Signature}, k.app, k.trusted(), envcrypt.ErrSignatureMismatch},
		{"other app id", legacy, strings.Repeat("ab", 20), k.trusted(), envcrypt.ErrSignatureMismatch},
		{"tampered v1 timestamp", envcrypt.PublicKeyResponse{PublicKey: fresh.PublicKey, Signature: fresh.Signature, Timestamp: u64(now.Unix() - 1), SignatureV1: fresh.SignatureV1}, k.app, k.trusted(), envcrypt.ErrSignatureMismatch},

		{"v 27 is not converted", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: withV(legacy.Signature, 27)}, k.app, k.trusted(), envcrypt.ErrSignatureInvalid},
		{"short signature", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: legacy.Signature[:128]}, k.app, k.trusted(), envcrypt.ErrSignatureInvalid},
		{"signature not hex", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: "zz" + legacy.Signature[2:]}, k.app, k.trusted(), envcrypt.ErrSignatureInvalid},
		{"zero signature", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey, Signature: strings.Repeat("00", 65)}, k.app, k.trusted(), envcrypt.ErrSignatureInvalid},
		{"no signature", envcrypt.PublicKeyResponse{PublicKey: legacy.PublicKey}, k.app, k.trusted(), envcrypt.ErrSignatureInvalid},
		{"v1 without timestamp", envcrypt.PublicKeyResponse{PublicKey: fresh.PublicKey, Signature: fresh.Signature, SignatureV1: fresh.SignatureV1}, k.app, k.trusted(), envcrypt.ErrSignatureInvalid},

		{"no trusted key", legacy, k.app, nil, envcrypt.ErrNoTrustedKey},
		{"empty trusted list", legacy, k.app, [][]byte{}, envcrypt.ErrNoTrustedKey},
		{"trusted key of wrong size", legacy, k.app, [][]byte{make([]byte, 20)}, envcrypt.ErrInvalidTrustedKey},
		{"trusted key off the curve", legacy, k.app, [][]byte{append([]byte{0x02}, make([]byte, 32)...)}, envcrypt.ErrInvalidTrustedKey},
		{"bad app id", legacy, "0x1234", k.trusted(), envcrypt.ErrInvalidAppID},
		{"app id not hex", legacy, strings.Repeat("zz", 20), k.trusted(), envcrypt.ErrInvalidAppID},
		{"bad public key", envcrypt.PublicKeyResponse{PublicKey: "abcd", Signature: legacy.Signature}, k.app, k.trusted(), envcrypt.ErrInvalidPublicKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signer, err := envcrypt.VerifyPublicKey(tc.resp, tc.app, tc.trusted, now)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, k.trusted()[0], signer)
				return
			}
			if tc.want == errRejected {
				require.True(t, errors.Is(err, envcrypt.ErrSignatureMismatch) || errors.Is(err, envcrypt.ErrSignatureInvalid), "%v", err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			assert.Nil(t, signer)
		})
	}
}

func TestVerifyPublicKeyFreshness(t *testing.T) {
	now := time.Unix(1_800_000_000, 500_000_000)
	k := newKMS(t, 4)
	cases := []struct {
		name string
		ts   int64
		want error
	}{
		{"now", now.Unix(), nil},
		{"300 s old", now.Unix() - 300, nil},
		{"301 s old", now.Unix() - 301, envcrypt.ErrSignatureStale},
		{"a day old", now.Unix() - 86400, envcrypt.ErrSignatureStale},
		{"zero", 0, envcrypt.ErrSignatureStale},
		{"60 s ahead", now.Unix() + 60, nil},
		{"61 s ahead", now.Unix() + 61, envcrypt.ErrSignatureFromFuture},
		{"max uint64", -1, envcrypt.ErrSignatureFromFuture},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := k.response(t, u64(tc.ts))
			_, err := envcrypt.VerifyPublicKey(resp, k.app, k.trusted(), now)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			var fe *envcrypt.FreshnessError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, uint64(tc.ts), fe.Timestamp)
			other := envcrypt.ErrSignatureStale
			if tc.want == envcrypt.ErrSignatureStale {
				other = envcrypt.ErrSignatureFromFuture
			}
			assert.False(t, errors.Is(err, other))
		})
	}
	// A clock before 1970 cannot vouch for any timestamp far from it.
	_, err := envcrypt.VerifyPublicKey(k.response(t, u64(1000)), k.app, k.trusted(), time.Unix(-1000, 0))
	require.ErrorIs(t, err, envcrypt.ErrSignatureFromFuture)
	_, err = envcrypt.VerifyPublicKey(k.response(t, u64(10)), k.app, k.trusted(), time.Unix(-20, 0))
	require.NoError(t, err)
}

func TestVerifyPublicKeyPrefersV1(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k := newKMS(t, 5)
	forger := newKMS(t, 6)

	// A valid v1 wins over a broken legacy signature.
	resp := k.response(t, u64(now.Unix()))
	resp.Signature = strings.Repeat("00", 65)
	_, err := envcrypt.VerifyPublicKey(resp, k.app, k.trusted(), now)
	require.NoError(t, err)

	// A stale v1 is not rescued by a valid legacy signature.
	resp = k.response(t, u64(now.Unix()-3600))
	_, err = envcrypt.VerifyPublicKey(resp, k.app, k.trusted(), now)
	require.ErrorIs(t, err, envcrypt.ErrSignatureStale)

	// A forged v1 is not rescued by a valid legacy signature either.
	resp = k.response(t, u64(now.Unix()))
	forger.appID, forger.pub = k.appID, k.pub
	resp.SignatureV1 = forger.sign(t, resp.Timestamp)
	_, err = envcrypt.VerifyPublicKey(resp, k.app, k.trusted(), now)
	require.ErrorIs(t, err, envcrypt.ErrSignatureMismatch)

	// A timestamp without signature_v1 leaves the legacy check.
	resp = k.response(t, nil)
	resp.Timestamp = u64(0)
	_, err = envcrypt.VerifyPublicKey(resp, k.app, k.trusted(), now)
	require.NoError(t, err)
}

func TestPublicKeyResponseJSON(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want envcrypt.PublicKeyResponse
		bad  bool
	}{
		{"Phala Cloud form", `{"public_key":"aa","signature":"bb"}`, envcrypt.PublicKeyResponse{PublicKey: "aa", Signature: "bb"}, false},
		{"KMS form", `{"public_key":"aa","signature":"bb","timestamp":1700000000,"signature_v1":"cc"}`,
			envcrypt.PublicKeyResponse{PublicKey: "aa", Signature: "bb", Timestamp: u64(1700000000), SignatureV1: "cc"}, false},
		{"timestamp as string", `{"public_key":"aa","timestamp":"18446744073709551615"}`,
			envcrypt.PublicKeyResponse{PublicKey: "aa", Timestamp: u64(-1)}, false},
		{"nulls", `{"public_key":"aa","signature":null,"timestamp":null,"signature_v1":null}`, envcrypt.PublicKeyResponse{PublicKey: "aa"}, false},
		{"negative timestamp", `{"timestamp":-1}`, envcrypt.PublicKeyResponse{}, true},
		{"fractional timestamp", `{"timestamp":1.5}`, envcrypt.PublicKeyResponse{}, true},
		{"wrong type", `{"public_key":1}`, envcrypt.PublicKeyResponse{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got envcrypt.PublicKeyResponse
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	// Encoding uses the wire names and leaves absent v1 fields out.
	b, err := json.Marshal(envcrypt.PublicKeyResponse{PublicKey: "aa", Signature: "bb"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"public_key":"aa","signature":"bb"}`, string(b))
}

func TestParseAppID(t *testing.T) {
	want := [20]byte{0xab, 0xcd}
	for _, s := range []string{
		"abcd" + strings.Repeat("0", 36), "0xABCD" + strings.Repeat("0", 36), "app_abcd" + strings.Repeat("0", 36),
		" app_abcd" + strings.Repeat("0", 36) + "\n", // pasted with white space, as onchain.ParseAppAddress allows
	} {
		got, err := envcrypt.ParseAppID(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got)
	}
	for _, s := range []string{"", "0x", "app_", "abcd", strings.Repeat("0", 42), "app_0x" + strings.Repeat("0", 40), "0xapp_" + strings.Repeat("0", 40)} {
		_, err := envcrypt.ParseAppID(s)
		require.ErrorIs(t, err, envcrypt.ErrInvalidAppID, s)
	}
}
