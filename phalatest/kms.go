package phalatest

import (
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/phalaforge/phala-go/envcrypt"
)

// KMSRootPublicKey returns the 33-byte compressed secp256k1 public key of
// the KMS root key that signs env encryption public keys: pin it, or store
// it in a DstackKms contract's kmsInfo, to verify them.
func (s *Server) KMSRootPublicKey() []byte {
	return crypto.CompressPubkey(&s.kmsRoot.PublicKey)
}

// envPrivateKey derives the X25519 env key of appID under the KMS kms. As in
// dstack, it depends only on the KMS (its root secret) and the app id, so
// every replica of an app shares it and another KMS has another key.
func (s *Server) envPrivateKey(kms, appID string) []byte {
	h := sha256.New()
	h.Write([]byte("phalatest env-encrypt-key\x00"))
	h.Write(s.kmsSecret)
	h.Write([]byte("\x00" + strings.ToLower(kms) + "\x00"))
	id, _ := hex.DecodeString(appID)
	h.Write(id)
	return h.Sum(nil)
}

func envPublicKeyHex(priv []byte) string {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil { // 32 bytes always: unreachable
		panic("phalatest: deriving an X25519 key: " + err.Error())
	}
	return hex.EncodeToString(k.PublicKey().Bytes())
}

// knownKMSLocked reports whether slug (or a kms_list id "kms-<slug>") names a
// KMS the server serves, and returns the slug.
func (s *Server) knownKMSLocked(name string) (string, bool) {
	slug := strings.ToLower(strings.TrimPrefix(name, "kms-"))
	switch KMSType(slug) {
	case KMSCloud, KMSBase, KMSEthereum:
		return slug, true
	}
	for _, a := range s.apps {
		if a.KMS != KMSNone && a.kmsSlug() == slug {
			return slug, true
		}
	}
	return "", false
}

// getPubkey serves GET /kms/{kms}/pubkey/{app_id}: the app's X25519 env key
// signed by the KMS root key (dstack.md §5).
func (s *Server) getPubkey(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	slug, ok := s.knownKMSLocked(req.segs[1])
	now := s.nowLocked()
	s.mu.Unlock()
	if !ok {
		return 0, nil, newError(http.StatusNotFound, CodeKMSNotFound, "KMS %q not found", truncateForMessage(req.segs[1])).
			with("kms", truncateForMessage(req.segs[1]))
	}
	appID, ok := normAppID(req.segs[3])
	if !ok {
		return 0, nil, newError(http.StatusUnprocessableEntity, CodeInvalidRequest, "app_id must be 40 hex digits, optionally prefixed with 0x").
			with("app_id", truncateForMessage(req.segs[3]))
	}
	priv := s.envPrivateKey(slug, appID)
	pubHex := envPublicKeyHex(priv)
	var pub [32]byte
	var id [20]byte
	_, _ = hex.Decode(pub[:], []byte(pubHex))
	_, _ = hex.Decode(id[:], []byte(appID))
	sig, err := envcrypt.SignPublicKey(s.kmsRoot, id, pub, nil)
	if err != nil {
		return 0, nil, err
	}
	resp := envcrypt.PublicKeyResponse{PublicKey: pubHex, Signature: hex.EncodeToString(sig)}
	if s.cfg.signatureV1 {
		ts := uint64(max(now.Unix(), 0))
		sig1, err := envcrypt.SignPublicKey(s.kmsRoot, id, pub, &ts)
		if err != nil {
			return 0, nil, err
		}
		resp.Timestamp = &ts
		resp.SignatureV1 = hex.EncodeToString(sig1)
	}
	return http.StatusOK, resp, nil
}

// decryptEnv applies what a CVM of app with that compose revision does to
// blob at boot.
func decryptEnv(a *app, c Compose, blob string) (*envcrypt.CVMEnv, error) {
	return envcrypt.DecryptEnv(a.envKey, blob, c.AllowedEnvs)
}
