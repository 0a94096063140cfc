package envcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"encoding/hex"
	"fmt"
	"io"
)

const (
	keySize   = 32 // X25519 keys and the AES-256 key
	nonceSize = 12
	tagSize   = 16
)

// Encrypt seals env for the CVM whose X25519 public key is recipientPublicKey (64 hex
// digits, with or without a 0x prefix) and returns the hex blob to send as
// encrypted_env.
//
// It first runs every check of [Validate], so nothing is encrypted that a CVM would
// refuse or silently drop. It then generates an ephemeral X25519 key, uses the raw
// shared secret as the AES-256-GCM key with a random 12-byte IV and no associated data,
// and returns lowercase hex of ephemeral public key ‖ IV ‖ ciphertext ‖ tag.
//
// A key that is not 32 bytes of hex, or a low-order point, gives an error matching
// [ErrInvalidPublicKey] (and [ErrLowOrderPoint] for the latter). Only give Encrypt a key
// you trust: for an on-chain KMS, check it first with [VerifyPublicKey].
func Encrypt(recipientPublicKey string, env []EnvVar, opts ...Option) (string, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return "", err
	}
	pub, err := parsePublicKey(recipientPublicKey)
	if err != nil {
		return "", err
	}
	n, err := validate(env, o)
	if err != nil {
		return "", err
	}

	var seed [keySize]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(o.rand, seed[:]); err != nil {
		return "", fmt.Errorf("envcrypt: reading random bytes: %w", err)
	}
	// NewPrivateKey rather than GenerateKey: since Go 1.26 GenerateKey ignores its
	// reader, and WithRand must make the output reproducible.
	eph, err := ecdh.X25519().NewPrivateKey(seed[:])
	if err != nil {
		return "", fmt.Errorf("envcrypt: ephemeral key: %w", err)
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		return "", lowOrder(ErrInvalidPublicKey, "the recipient key")
	}
	gcm, err := newGCM(shared)
	if err != nil {
		return "", err
	}

	// One buffer holds the whole blob; the plaintext is written where the ciphertext
	// goes and sealed in place, so no copy of it outlives this call.
	buf := make([]byte, keySize+nonceSize+n+tagSize)
	copy(buf, eph.PublicKey().Bytes())
	nonce := buf[keySize : keySize+nonceSize]
	if _, err := io.ReadFull(o.rand, nonce); err != nil {
		return "", fmt.Errorf("envcrypt: reading random bytes: %w", err)
	}
	pt := appendPlaintext(buf[keySize+nonceSize:keySize+nonceSize], env)
	if len(pt) != n {
		clear(pt)
		return "", fmt.Errorf("envcrypt: internal error: plaintext is %d bytes, expected %d", len(pt), n)
	}
	gcm.Seal(pt[:0], nonce, pt, nil)
	return hex.EncodeToString(buf), nil
}

// Decrypt opens a blob produced by [Encrypt] with the recipient's 32-byte X25519
// private key, as dstack-util does inside the CVM, and returns the raw plaintext (the
// JSON document). A 0x prefix on blob is accepted. Blobs above [MaxBlobSize] bytes are
// refused as a CVM refuses them.
//
// AES-GCM authenticates the IV and the ciphertext; the ephemeral public key is
// authenticated only through the shared secret it yields. X25519 ignores the top bit
// of a public key's last byte (RFC 7748 §5), so a blob and its copy with that bit
// flipped decrypt alike, in a CVM as here. Nothing else can be changed without the
// decryption failing. [Encrypt] always writes the bit clear.
//
// The plaintext holds secrets: clear it when done.
func Decrypt(privateKey []byte, blob string) ([]byte, error) {
	if len(privateKey) != keySize {
		return nil, fmt.Errorf("%w: got %d bytes, want %d", ErrInvalidPrivateKey, len(privateKey), keySize)
	}
	priv, err := ecdh.X25519().NewPrivateKey(privateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPrivateKey, err)
	}
	h := trim0x(blob)
	if len(h)%2 != 0 {
		return nil, fmt.Errorf("%w: odd number of hex digits", ErrMalformedBlob)
	}
	if len(h)/2 > MaxBlobSize {
		return nil, &LimitError{Limit: LimitBlobSize, Size: len(h) / 2, Max: MaxBlobSize}
	}
	if len(h)/2 < BlobOverhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte minimum", ErrMalformedBlob, len(h)/2, BlobOverhead)
	}
	data, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrMalformedBlob)
	}
	eph, err := ecdh.X25519().NewPublicKey(data[:keySize])
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %v", ErrMalformedBlob, err)
	}
	shared, err := priv.ECDH(eph)
	if err != nil {
		return nil, lowOrder(ErrMalformedBlob, "the ephemeral key")
	}
	gcm, err := newGCM(shared)
	if err != nil {
		return nil, err
	}
	ct := data[keySize+nonceSize:]
	pt, err := gcm.Open(ct[:0], data[keySize:keySize+nonceSize], ct, nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// newGCM makes the AES-256-GCM AEAD keyed with the raw shared secret, then clears it.
func newGCM(shared []byte) (cipher.AEAD, error) {
	defer clear(shared)
	block, err := aes.NewCipher(shared)
	if err != nil {
		return nil, fmt.Errorf("envcrypt: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("envcrypt: %w", err)
	}
	return gcm, nil
}

func parsePublicKey(s string) (*ecdh.PublicKey, error) {
	h := trim0x(s)
	if len(h) != 2*keySize {
		return nil, fmt.Errorf("%w: want %d hex digits, got %d", ErrInvalidPublicKey, 2*keySize, len(h))
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrInvalidPublicKey)
	}
	pub, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return pub, nil
}

func trim0x(s string) string {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}

// The plaintext is {"env":[{"key":"K","value":"V"},...]} in the exact compact form
// JSON.stringify gives: no HTML escaping, control characters escaped, everything else
// (valid UTF-8, checked by validate) written as is. It is built by hand so that the
// only buffer holding it is one this package controls.

const (
	jsonHead  = `{"env":[`
	jsonTail  = `]}`
	jsonKey   = `{"key":`
	jsonValue = `,"value":`
)

func plaintextLen(env []EnvVar) int {
	n := len(jsonHead) + len(jsonTail)
	for i, v := range env {
		if i > 0 {
			n++ // comma
		}
		n += len(jsonKey) + jsonStringLen(v.Key) + len(jsonValue) + jsonStringLen(v.Value) + 1
	}
	return n
}

func appendPlaintext(dst []byte, env []EnvVar) []byte {
	dst = append(dst, jsonHead...)
	for i, v := range env {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, jsonKey...)
		dst = appendJSONString(dst, v.Key)
		dst = append(dst, jsonValue...)
		dst = appendJSONString(dst, v.Value)
		dst = append(dst, '}')
	}
	return append(dst, jsonTail...)
}

func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			n += 2
		case c < 0x20:
			n += 6
		default:
			n++
		}
	}
	return n
}

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}
