package envcrypt

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

// Freshness bounds for timestamped (signature_v1) signatures, as in dstack's SDKs.
const (
	MaxSignatureAge        = 300 * time.Second // oldest accepted signature
	MaxSignatureFutureSkew = 60 * time.Second  // furthest accepted clock skew ahead
)

// signaturePrefix starts every signed message.
const signaturePrefix = "dstack-env-encrypt-pubkey:"

// signatureSize is r(32) ‖ s(32) ‖ v(1), with v the recovery id 0 or 1.
const signatureSize = 65

// PublicKeyResponse is a KMS's answer for an app's env encryption public key
// (GetAppEnvEncryptPubKey, or Phala Cloud's GET /kms/{kms}/pubkey/{app_id}). Byte
// fields are hex, with or without 0x.
type PublicKeyResponse struct {
	PublicKey   string  `json:"public_key"`             // X25519 key, 32 bytes
	Signature   string  `json:"signature"`              // legacy signature, 65 bytes
	Timestamp   *uint64 `json:"timestamp,omitempty"`    // Unix seconds signed in SignatureV1 (nil = absent)
	SignatureV1 string  `json:"signature_v1,omitempty"` // timestamped signature, 65 bytes ("" = absent)
}

// UnmarshalJSON accepts timestamp as a JSON number or a decimal string, and null or
// absent fields.
func (r *PublicKeyResponse) UnmarshalJSON(data []byte) error {
	var raw struct {
		PublicKey   *string         `json:"public_key"`
		Signature   *string         `json:"signature"`
		Timestamp   json.RawMessage `json:"timestamp"`
		SignatureV1 *string         `json:"signature_v1"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("envcrypt: public key response: %w", err)
	}
	out := PublicKeyResponse{}
	if raw.PublicKey != nil {
		out.PublicKey = *raw.PublicKey
	}
	if raw.Signature != nil {
		out.Signature = *raw.Signature
	}
	if raw.SignatureV1 != nil {
		out.SignatureV1 = *raw.SignatureV1
	}
	if ts := bytes.TrimSpace(raw.Timestamp); len(ts) > 0 && !bytes.Equal(ts, []byte("null")) {
		if ts[0] == '"' {
			var s string
			if err := json.Unmarshal(ts, &s); err != nil {
				return fmt.Errorf("envcrypt: public key response: timestamp: %w", err)
			}
			ts = []byte(s)
		}
		v, err := strconv.ParseUint(string(ts), 10, 64)
		if err != nil {
			return fmt.Errorf("envcrypt: public key response: timestamp %q is not an unsigned integer", ts)
		}
		out.Timestamp = &v
	}
	*r = out
	return nil
}

// ParseAppID parses an app id: 40 hex digits, optionally prefixed with 0x, 0X or
// app_, with surrounding white space ignored (as onchain.ParseAppAddress does: the
// two accept the same inputs and read the same 20 bytes from them).
func ParseAppID(s string) ([20]byte, error) {
	var id [20]byte
	s = strings.TrimSpace(s)
	h := strings.TrimPrefix(s, "app_")
	if len(h) == len(s) {
		h = trim0x(s)
	}
	if len(h) != 40 {
		return id, fmt.Errorf("%w: want 40 hex digits, got %d characters", ErrInvalidAppID, len(h))
	}
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, fmt.Errorf("%w: not hex", ErrInvalidAppID)
	}
	return id, nil
}

// signedDigest is keccak256(prefix ‖ ":" ‖ app_id ‖ [timestamp big-endian u64] ‖ pub).
func signedDigest(appID [20]byte, pub [32]byte, ts *uint64) []byte {
	msg := make([]byte, 0, len(signaturePrefix)+20+8+32)
	msg = append(msg, signaturePrefix...)
	msg = append(msg, appID[:]...)
	if ts != nil {
		msg = binary.BigEndian.AppendUint64(msg, *ts)
	}
	msg = append(msg, pub[:]...)
	return crypto.Keccak256(msg)
}

// SignPublicKey signs an env encryption public key the way a dstack KMS does with its
// root secp256k1 key: the legacy scheme when ts is nil, the timestamped signature_v1
// scheme otherwise. The result is 65 bytes r ‖ s ‖ v with v = 0 or 1, over the plain
// Keccak-256 digest (no Ethereum message prefix). It serves emulators and tests.
func SignPublicKey(root *ecdsa.PrivateKey, appID [20]byte, pub [32]byte, ts *uint64) ([]byte, error) {
	if root == nil || root.D == nil || root.Curve != crypto.S256() {
		return nil, fmt.Errorf("%w: signing key must be a secp256k1 private key", ErrInvalidOption)
	}
	sig, err := crypto.Sign(signedDigest(appID, pub, ts), root)
	if err != nil {
		return nil, fmt.Errorf("envcrypt: signing public key: %w", err)
	}
	return sig, nil
}

// RecoverSigner returns the 33-byte compressed secp256k1 public key that produced sig
// over pub for appID (legacy scheme when ts is nil, signature_v1 otherwise). It does
// not say whether that key is trusted: see [VerifyPublicKey].
func RecoverSigner(appID [20]byte, pub [32]byte, ts *uint64, sig []byte) ([]byte, error) {
	if len(sig) != signatureSize {
		return nil, fmt.Errorf("%w: want %d bytes, got %d", ErrSignatureInvalid, signatureSize, len(sig))
	}
	if sig[64] > 1 {
		return nil, fmt.Errorf("%w: recovery id %d is not 0 or 1", ErrSignatureInvalid, sig[64])
	}
	key, err := crypto.SigToPub(signedDigest(appID, pub, ts), sig)
	if err != nil {
		return nil, fmt.Errorf("%w: no key recovers from it", ErrSignatureInvalid)
	}
	return crypto.CompressPubkey(key), nil
}

// VerifyPublicKey checks that resp.PublicKey was signed for appID by one of the
// trusted KMS root keys and returns the signer's 33-byte compressed key. Only then may
// the key be given to [Encrypt].
//
// trusted must come from a source the API cannot forge: the DstackKms contract's
// kmsInfo().k256Pubkey or a pinned key, never a key reported by the same service. Keys
// may be 33-byte compressed or 65-byte uncompressed. appID is 40 hex digits, optionally
// prefixed with 0x or app_.
//
// When resp carries the timestamped signature_v1, it is the one checked, and its
// timestamp must be at most [MaxSignatureAge] old and at most [MaxSignatureFutureSkew]
// ahead of now; it never falls back to the legacy signature, which carries no time.
// Otherwise the legacy signature is checked.
//
// Errors match [ErrNoTrustedKey], [ErrInvalidTrustedKey], [ErrInvalidAppID],
// [ErrInvalidPublicKey], [ErrSignatureInvalid], [ErrSignatureMismatch],
// [ErrSignatureStale] or [ErrSignatureFromFuture].
func VerifyPublicKey(resp PublicKeyResponse, appID string, trusted [][]byte, now time.Time) ([]byte, error) {
	if len(trusted) == 0 {
		return nil, ErrNoTrustedKey
	}
	anchors := make([][]byte, len(trusted))
	for i, k := range trusted {
		c, err := normalizeRootKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted key %d: %v", ErrInvalidTrustedKey, i, err)
		}
		anchors[i] = c
	}
	id, err := ParseAppID(appID)
	if err != nil {
		return nil, err
	}
	pk, err := parsePublicKey(resp.PublicKey)
	if err != nil {
		return nil, err
	}
	var pub [32]byte
	copy(pub[:], pk.Bytes())

	sigHex, ts, scheme := resp.Signature, (*uint64)(nil), "signature"
	if resp.SignatureV1 != "" {
		if resp.Timestamp == nil {
			return nil, fmt.Errorf("%w: signature_v1 without timestamp", ErrSignatureInvalid)
		}
		sigHex, ts, scheme = resp.SignatureV1, resp.Timestamp, "signature_v1"
	}
	if sigHex == "" {
		return nil, fmt.Errorf("%w: the response has no signature", ErrSignatureInvalid)
	}
	sig, err := hex.DecodeString(trim0x(sigHex))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrSignatureInvalid, scheme)
	}
	signer, err := RecoverSigner(id, pub, ts, sig)
	if err != nil {
		return nil, err
	}
	trustedSigner := false
	for _, a := range anchors {
		trustedSigner = trustedSigner || bytes.Equal(a, signer)
	}
	if !trustedSigner {
		return nil, fmt.Errorf("%w: %s recovers to 0x%x, which is none of the %d trusted key(s)",
			ErrSignatureMismatch, scheme, signer, len(anchors))
	}
	if ts != nil {
		if err := checkFreshness(*ts, now); err != nil {
			return nil, err
		}
	}
	return signer, nil
}

// checkFreshness applies the SDKs' rule: reject now-ts > 300 s and ts-now > 60 s.
func checkFreshness(ts uint64, now time.Time) error {
	n := now.Unix()
	maxAge := uint64(MaxSignatureAge / time.Second)
	skew := uint64(MaxSignatureFutureSkew / time.Second)
	if n < 0 {
		// The clock is before 1970: every timestamp is ahead of it.
		behind := uint64(-(n + 1)) + 1
		if behind > skew || ts > skew-behind {
			return &FreshnessError{Timestamp: ts, Now: now}
		}
		return nil
	}
	un := uint64(n)
	switch {
	case ts > un && ts-un > skew:
		return &FreshnessError{Timestamp: ts, Now: now}
	case un > ts && un-ts > maxAge:
		return &FreshnessError{Timestamp: ts, Now: now}
	}
	return nil
}

// normalizeRootKey returns the 33-byte compressed form of a secp256k1 public key given
// compressed or uncompressed (with the 0x04 prefix).
func normalizeRootKey(k []byte) ([]byte, error) {
	switch len(k) {
	case 33:
		pub, err := crypto.DecompressPubkey(k)
		if err != nil {
			return nil, fmt.Errorf("not a point on secp256k1")
		}
		return crypto.CompressPubkey(pub), nil
	case 65:
		pub, err := crypto.UnmarshalPubkey(k)
		if err != nil {
			return nil, fmt.Errorf("not a point on secp256k1")
		}
		return crypto.CompressPubkey(pub), nil
	default:
		return nil, fmt.Errorf("want 33 or 65 bytes, got %d", len(k))
	}
}
