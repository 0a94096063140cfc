package envcrypt

import (
	"crypto/ecdh"
	"encoding/hex"
	"io"
)

// SealRaw encrypts arbitrary plaintext in the blob format without any validation, so
// tests can build blobs that Encrypt refuses to produce.
func SealRaw(recipientPub []byte, plaintext []byte, rnd io.Reader) string {
	var seed [32]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		panic(err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(seed[:])
	if err != nil {
		panic(err)
	}
	pub, err := ecdh.X25519().NewPublicKey(recipientPub)
	if err != nil {
		panic(err)
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		panic(err)
	}
	gcm, err := newGCM(shared)
	if err != nil {
		panic(err)
	}
	out := append([]byte{}, eph.PublicKey().Bytes()...)
	nonce := make([]byte, 12)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		panic(err)
	}
	out = append(out, nonce...)
	out = gcm.Seal(out, nonce, plaintext, nil)
	return hex.EncodeToString(out)
}

// ApplyCVMRules exposes the parse_env rule engine, for limits no blob of legal size
// can reach (the 1 MiB total).
var ApplyCVMRules = applyCVMRules

// ParsePlaintext exposes the serde-compatible plaintext decoder.
var ParsePlaintext = parsePlaintext
