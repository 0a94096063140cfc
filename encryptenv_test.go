package phala

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kmsFixture is an on-chain KMS: its root key, an impostor's key, and the env key
// pair of the test app.
type kmsFixture struct {
	root, forger *ecdsa.PrivateKey
	env          envKey
	app20        [20]byte
}

func newKMSFixture(t *testing.T) kmsFixture {
	t.Helper()
	root, err := crypto.GenerateKey()
	require.NoError(t, err)
	forger, err := crypto.GenerateKey()
	require.NoError(t, err)
	f := kmsFixture{root: root, forger: forger, env: newEnvKey(t)}
	b, err := hex.DecodeString(appHexID)
	require.NoError(t, err)
	copy(f.app20[:], b)
	return f
}

// pubkeyBody is the answer of GET /kms/{kms}/pubkey/{app}: the env key signed by
// signer (legacy scheme, or v1 when ts is set). tamper flips a bit of the signature.
func (f kmsFixture) pubkeyBody(t *testing.T, signer *ecdsa.PrivateKey, ts *uint64, tamper bool) string {
	t.Helper()
	var pub [32]byte
	b, err := hex.DecodeString(f.env.pub)
	require.NoError(t, err)
	copy(pub[:], b)
	sig, err := envcrypt.SignPublicKey(signer, f.app20, pub, ts)
	require.NoError(t, err)
	if tamper {
		sig[10] ^= 0x01
	}
	if ts != nil {
		return mustJSONString(map[string]any{"public_key": f.env.pub, "signature": "", "timestamp": *ts, "signature_v1": hex.EncodeToString(sig)})
	}
	return mustJSONString(map[string]any{"public_key": f.env.pub, "signature": hex.EncodeToString(sig)})
}

func rootHex(k *ecdsa.PrivateKey) string {
	return "0x" + hex.EncodeToString(crypto.CompressPubkey(&k.PublicKey))
}

func TestEncryptEnvOnchainKMS(t *testing.T) {
	t.Parallel()
	f := newKMSFixture(t)
	env := []envcrypt.EnvVar{{Key: "DB_PASSWORD", Value: "p@ss w0rd"}, {Key: "TOKEN", Value: "t-1"}}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fresh, stale := uint64(now.Unix()-10), uint64(now.Unix()-301)
	kmsAddr := "0x" + strings.Repeat("5", 40)

	tests := []struct {
		name    string
		opts    []Option
		signer  *ecdsa.PrivateKey
		ts      *uint64
		tamper  bool
		apiRoot *ecdsa.PrivateKey // k256_pubkey the API reports in kms_info
		wantErr error
	}{
		{name: "pinned root, legacy signature", opts: []Option{WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.root},
		{name: "pinned root, timestamped signature", opts: []Option{WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.root, ts: &fresh},
		{name: "pinned uncompressed root", opts: []Option{WithTrustedKMSRootKeys(hex.EncodeToString(crypto.FromECDSAPub(&f.root.PublicKey)))}, signer: f.root},
		{name: "forged key signed by another key", opts: []Option{WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.forger, wantErr: envcrypt.ErrSignatureMismatch},
		{name: "forged key vouched for by the API's own k256_pubkey", opts: []Option{WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.forger, apiRoot: f.forger, wantErr: envcrypt.ErrSignatureMismatch},
		{name: "tampered signature", opts: []Option{WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.root, tamper: true, wantErr: errSignatureRejected},
		{name: "stale timestamped signature", opts: []Option{WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.root, ts: &stale, wantErr: envcrypt.ErrSignatureStale},
		{name: "no trust root", signer: f.root, apiRoot: f.root, wantErr: ErrNoKMSTrustRoot},
		{name: "opt-out uses the unverifiable key", opts: []Option{WithoutKMSSignatureVerification()}, signer: f.forger},
		{name: "opt-out still checks a configured root", opts: []Option{WithoutKMSSignatureVerification(), WithTrustedKMSRootKeys(rootHex(f.root))}, signer: f.forger, wantErr: envcrypt.ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			opts := append([]Option{WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tt.opts...)
			c, mux, rec := setupRec(t, opts...)
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kmsAddr), func(o map[string]any) {
					if tt.apiRoot != nil {
						o["kms_info"].(map[string]any)["k256_pubkey"] = rootHex(tt.apiRoot)
					}
				})))
			})
			rec.handle(mux, "GET /kms/{kms}/pubkey/{app}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, f.pubkeyBody(t, tt.signer, tt.ts, tt.tamper))
			})

			blob, err := c.EncryptEnv(context.Background(), srcUUID, env)
			assert.Equal(t, []string{"GET /cvms/" + srcUUID, "GET /kms/base/pubkey/" + appHexID}, rec.lines())
			assert.NotContains(t, logs.String(), "p@ss w0rd")
			if tt.wantErr != nil {
				if tt.wantErr == errSignatureRejected {
					assert.True(t, errors.Is(err, envcrypt.ErrSignatureMismatch) || errors.Is(err, envcrypt.ErrSignatureInvalid), "%v", err)
				} else {
					require.ErrorIs(t, err, tt.wantErr)
				}
				assert.Empty(t, blob, "nothing is encrypted to an unverified key")
				return
			}
			require.NoError(t, err)
			got, err := envcrypt.DecryptEnv(f.env.priv, blob, []string{"DB_PASSWORD", "TOKEN"})
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"DB_PASSWORD": "p@ss w0rd", "TOKEN": "t-1"}, got.Map())
		})
	}
}

// errSignatureRejected marks a case where either signature sentinel is right: a
// flipped bit may make the signature unrecoverable or recover another key.
var errSignatureRejected = errors.New("signature rejected")

func TestEncryptEnvNoTrustRootError(t *testing.T) {
	t.Parallel()
	f := newKMSFixture(t)
	c, mux, rec := setupRec(t)
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, "0x"+strings.Repeat("5", 40)))))
	})
	rec.handle(mux, "GET /kms/{kms}/pubkey/{app}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, f.pubkeyBody(t, f.root, nil, false))
	})
	_, err := c.EncryptEnv(context.Background(), srcUUID, []envcrypt.EnvVar{{Key: "A", Value: "1"}})
	var nr *NoKMSTrustRootError
	require.ErrorAs(t, err, &nr)
	assert.Equal(t, uint64(8453), nr.ChainID)
	assert.Equal(t, appHexID, nr.AppID)
	assert.Contains(t, err.Error(), "WithKMSChainBackend")
}

func TestEncryptEnvRootFromDstackKmsContract(t *testing.T) {
	t.Parallel()
	f := newKMSFixture(t)
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithHTTP())
	t.Cleanup(func() { chain.Close() })
	kms, err := chain.DeployDstackKms(ctx, chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&f.root.PublicKey)})
	require.NoError(t, err)

	env := []envcrypt.EnvVar{{Key: "SECRET", Value: "from-chain"}}
	tests := []struct {
		name    string
		opt     Option
		chainID int
		signer  *ecdsa.PrivateKey
		wantErr error
	}{
		{"backend, genuine key", WithKMSChainBackend(onchaintest.ChainID, chain.Client), onchaintest.ChainID, f.root, nil},
		{"backend, forged key", WithKMSChainBackend(onchaintest.ChainID, chain.Client), onchaintest.ChainID, f.forger, envcrypt.ErrSignatureMismatch},
		{"RPC URL, genuine key", WithKMSChainRPC(onchaintest.ChainID, chain.URL()), onchaintest.ChainID, f.root, nil},
		{"chain registry", WithKMSChains(mustChains(t, onchain.ChainConfig{ID: onchaintest.ChainID, RPCURL: chain.URL()})), onchaintest.ChainID, f.root, nil},
		{"backend on another chain", WithKMSChainBackend(8453, chain.Client), 8453, f.root, errWrongChain},
		{"backend for another chain is not used", WithKMSChainBackend(8453, chain.Client), onchaintest.ChainID, f.root, ErrNoKMSTrustRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, rec := setupRec(t, tt.opt)
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(tt.chainID, kms.Hex()))))
			})
			rec.handle(mux, "GET /kms/{kms}/pubkey/{app}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, f.pubkeyBody(t, tt.signer, nil, false))
			})
			blob, err := c.EncryptEnv(ctx, "app_"+appHexID, env)
			assert.Equal(t, []string{"GET /cvms/app_" + appHexID, "GET /kms/base/pubkey/" + appHexID}, rec.lines())
			switch {
			case tt.wantErr == errWrongChain:
				var wc *onchain.WrongChainError
				require.ErrorAs(t, err, &wc)
				assert.Equal(t, uint64(8453), wc.Want)
				assert.Equal(t, uint64(onchaintest.ChainID), wc.Got)
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, blob)
			default:
				require.NoError(t, err)
				got, err := envcrypt.DecryptEnv(f.env.priv, blob, []string{"SECRET"})
				require.NoError(t, err)
				assert.Equal(t, "from-chain", got.Map()["SECRET"])
			}
		})
	}
}

var errWrongChain = errors.New("wrong chain")

func TestEncryptEnvCloudKMS(t *testing.T) {
	t.Parallel()
	key := newEnvKey(t)
	env := []envcrypt.EnvVar{{Key: "A", Value: "x"}}
	tests := []struct {
		name    string
		mod     func(map[string]any)
		wantErr error
	}{
		{"kms_info key", func(o map[string]any) { o["kms_info"] = map[string]any{"encrypted_env_pubkey": key.pub} }, nil},
		{"top-level key", func(o map[string]any) { o["kms_info"] = nil; o["encrypted_env_pubkey"] = "0x" + key.pub }, nil},
		{"no key", func(o map[string]any) { o["kms_info"] = nil; o["kms_type"] = nil }, ErrNoEnvEncryptionKey},
		{"name outside allowed_envs", func(o map[string]any) {
			o["kms_info"] = map[string]any{"encrypted_env_pubkey": key.pub}
			o["compose_file"] = `{"allowed_envs":["B"]}`
		}, envcrypt.ErrNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, tt.mod)))
			})
			blob, err := c.EncryptEnv(context.Background(), "web-app", env)
			assert.Equal(t, []string{"GET /cvms/web-app"}, rec.lines(), "Cloud KMS needs no pubkey call")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			got, err := envcrypt.DecryptEnv(key.priv, blob, []string{"A"})
			require.NoError(t, err)
			assert.Equal(t, "x", got.Map()["A"])
		})
	}
}

func TestEncryptEnvRejectsBadInputFirst(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
	})
	_, err := c.EncryptEnv(context.Background(), "x/y", nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = c.EncryptEnv(context.Background(), srcUUID, []envcrypt.EnvVar{{Key: "A", Value: "1"}, {Key: "A", Value: "2"}})
	require.ErrorIs(t, err, envcrypt.ErrDuplicateName)
	assert.Empty(t, rec.lines())
}

func TestWorkflowOptionsValidate(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"no key":                 WithTrustedKMSRootKeys(),
		"not hex":                WithTrustedKMSRootKeys("zz"),
		"wrong length":           WithTrustedKMSRootKeys("0x0102"),
		"not on curve":           WithTrustedKMSRootKeys("02" + strings.Repeat("ff", 32)),
		"chain 0":                WithKMSChainBackend(0, nopCaller{}),
		"nil caller":             WithKMSChainBackend(1, nil),
		"bad RPC scheme":         WithKMSChainRPC(1, "ftp://x"),
		"relative RPC":           WithKMSChainRPC(1, "/rpc"),
		"nil chains":             WithKMSChains(nil),
		"KMS contract chain 0":   WithKMSContract(0, "0x"+strings.Repeat("1", 40)),
		"KMS contract not hex":   WithKMSContract(1, "0x"+strings.Repeat("z", 40)),
		"KMS contract short":     WithKMSContract(1, "0x1234"),
		"KMS contract zero":      WithKMSContract(1, "0x"+strings.Repeat("0", 40)),
		"KMS contract app_ form": WithKMSContract(1, "app_"+strings.Repeat("1", 40)),
		"nil clock":              WithClock(nil),
		"negative retries":       WithCommitRetry(-1, time.Second),
		"negative interval":      WithCommitRetry(1, -time.Second),
	} {
		_, err := NewClient(WithAPIKey(testKey), opt)
		assert.ErrorIs(t, err, ErrInvalidOption, name)
	}
}

// nopCaller is a bind.ContractCaller that is never called.
type nopCaller struct{}

func (nopCaller) CodeAt(context.Context, common.Address, *big.Int) ([]byte, error) { return nil, nil }
func (nopCaller) CallContract(context.Context, ethereum.CallMsg, *big.Int) ([]byte, error) {
	return nil, nil
}

func mustChains(t *testing.T, cfgs ...onchain.ChainConfig) *onchain.Chains {
	t.Helper()
	c, err := onchain.NewChains(cfgs...)
	require.NoError(t, err)
	return c
}

// EncryptEnv for an app on an on-chain KMS: the env key the API hands out is used
// only if its signature recovers to a KMS root key the caller trusts, here pinned
// with WithTrustedKMSRootKeys (WithKMSChainBackend or WithKMSChainRPC read it from
// the DstackKms contract instead). The stand-in API below plays Phala Cloud and the
// KMS; it prints each request.
func ExampleClient_EncryptEnv() {
	const app = "7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d"
	kmsRoot, _ := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	envKey, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32)) // held by the CVM
	srv := exampleKMSAPI(app, kmsRoot, envKey.PublicKey().Bytes())
	defer srv.Close()

	trusted := "0x" + hex.EncodeToString(crypto.CompressPubkey(&kmsRoot.PublicKey))
	c, err := NewClient(WithBaseURL(srv.URL+"/api/v1"), WithAPIKey("sk-example"), WithTrustedKMSRootKeys(trusted))
	if err != nil {
		log.Fatal(err)
	}
	env, err := envcrypt.ParseDotenv(strings.NewReader("DB_PASSWORD='s3cret'\nexport TOKEN=abc # api token\n"))
	if err != nil {
		log.Fatal(err)
	}
	blob, err := c.EncryptEnv(context.Background(), "app_"+app, env)
	if err != nil {
		log.Fatal(err)
	}
	// Inside the CVM, dstack-util decrypts the blob with the app's env key.
	got, err := envcrypt.DecryptEnv(envKey.Bytes(), blob, []string{"DB_PASSWORD", "TOKEN"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the CVM reads:", got.Map()["DB_PASSWORD"], got.Map()["TOKEN"])

	// Without a trusted root key nothing is encrypted.
	c2, _ := NewClient(WithBaseURL(srv.URL+"/api/v1"), WithAPIKey("sk-example"))
	_, err = c2.EncryptEnv(context.Background(), "app_"+app, env)
	fmt.Println(errors.Is(err, ErrNoKMSTrustRoot))
	// Output:
	// API: GET /api/v1/cvms/app_7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d
	// API: GET /api/v1/kms/base/pubkey/7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d
	// the CVM reads: s3cret abc
	// API: GET /api/v1/cvms/app_7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d
	// API: GET /api/v1/kms/base/pubkey/7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d
	// true
}

// exampleKMSAPI answers GET /cvms/{id} with a CVM of app on Base's on-chain KMS,
// and GET /kms/base/pubkey/{app} with envPub signed by kmsRoot (legacy scheme).
func exampleKMSAPI(app string, kmsRoot *ecdsa.PrivateKey, envPub []byte) *httptest.Server {
	var app20 [20]byte
	var pub [32]byte
	b, _ := hex.DecodeString(app)
	copy(app20[:], b)
	copy(pub[:], envPub)
	sig, err := envcrypt.SignPublicKey(kmsRoot, app20, pub, nil)
	if err != nil {
		log.Fatal(err)
	}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cvms/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("API:", r.Method, r.URL.Path)
		reply(w, map[string]any{
			"id": "cvm_1", "name": "web", "app_id": app, "vm_uuid": "0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a",
			"status": "running", "kms_type": "base",
			"kms_info": map[string]any{"chain_id": 8453, "dstack_kms_address": "0x2f83172a49584c017f2b256f0fb2dca14126ba9c",
				"dstack_app_address": "0x" + app, "rpc_endpoint": "https://mainnet.base.org"},
		})
	})
	mux.HandleFunc("GET /api/v1/kms/base/pubkey/{app}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("API:", r.Method, r.URL.Path)
		reply(w, map[string]any{"public_key": hex.EncodeToString(envPub), "signature": hex.EncodeToString(sig)})
	})
	return httptest.NewServer(mux)
}

// A compromised API can name a DstackKms contract of its own, holding its own
// root key. WithKMSContract pins the real one.
func TestEncryptEnvPinnedKMSContract(t *testing.T) {
	t.Parallel()
	f := newKMSFixture(t)
	ctx := context.Background()
	chain := onchaintest.NewChain()
	t.Cleanup(func() { chain.Close() })
	real, err := chain.DeployDstackKms(ctx, chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&f.root.PublicKey)})
	require.NoError(t, err)
	impostor, err := chain.DeployDstackKms(ctx, chain.Transactor(1), onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&f.forger.PublicKey)})
	require.NoError(t, err)

	env := []envcrypt.EnvVar{{Key: "SECRET", Value: "pinned"}}
	tests := []struct {
		name    string
		named   common.Address    // kms_info.dstack_kms_address
		signer  *ecdsa.PrivateKey // of the env key
		pin     string
		wantErr error
	}{
		{"pinned contract named", real, f.root, real.Hex(), nil},
		{"pin without 0x, lower case", real, f.root, strings.ToLower(real.Hex()[2:]), nil},
		{"impostor contract named", impostor, f.forger, real.Hex(), ErrKMSContractMismatch},
		{"pin for another chain does not apply", real, f.root, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []Option{WithKMSChainBackend(onchaintest.ChainID, chain.Client)}
			if tt.pin != "" {
				opts = append(opts, WithKMSContract(onchaintest.ChainID, tt.pin))
			} else {
				opts = append(opts, WithKMSContract(8453, impostor.Hex()))
			}
			c, mux, rec := setupRec(t, opts...)
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(onchaintest.ChainID, tt.named.Hex()))))
			})
			rec.handle(mux, "GET /kms/{kms}/pubkey/{app}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, f.pubkeyBody(t, tt.signer, nil, false))
			})
			blob, err := c.EncryptEnv(ctx, srcUUID, env)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), impostor.Hex())
				assert.Empty(t, blob, "nothing is encrypted")
				return
			}
			require.NoError(t, err)
			got, err := envcrypt.DecryptEnv(f.env.priv, blob, []string{"SECRET"})
			require.NoError(t, err)
			assert.Equal(t, "pinned", got.Map()["SECRET"])
		})
	}
}
