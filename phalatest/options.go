package phalatest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// ChainBackend is what the server needs from a chain to serve apps on an
// on-chain KMS: contract calls and the latest header (to read a DstackApp's
// allow-lists) and receipts (to verify the transaction_hash of a commit).
// *ethclient.Client and the simulated backend's client satisfy it, so the
// server can read an in-process simulated chain or any RPC endpoint.
type ChainBackend interface {
	bind.ContractCaller
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	TransactionReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error)
}

// Option configures a Server. Invalid options make NewServer panic.
type Option func(*config) error

type config struct {
	clock            func() time.Time
	apiKey           string
	logger           *slog.Logger
	chains           map[uint64]ChainBackend
	rpcURLs          map[uint64]string
	kmsRoot          *ecdsa.PrivateKey
	signatureV1      bool
	cloudPrepare465  bool
	creating         time.Duration
	starting         time.Duration
	chainReadTimeout time.Duration
}

// Default provisioning delays of a replica: StatusCreating for
// DefaultCreatingDelay, then StatusStarting for DefaultStartingDelay, then
// StatusRunning (or StatusError).
const (
	DefaultCreatingDelay = 1 * time.Second
	DefaultStartingDelay = 1 * time.Second
)

// WithClock sets the clock the server reads (default time.Now). Token expiry
// and replica status progression follow it, so a test can move time by
// returning later instants; see also Server.Advance.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}

// WithAPIKey sets the API key of the default workspace (default: a random
// key, see Server.APIKey).
func WithAPIKey(key string) Option {
	return func(c *config) error {
		if key == "" {
			return errors.New("WithAPIKey: empty key")
		}
		c.apiKey = key
		return nil
	}
}

// WithLogger makes the server log one line per request (method, path,
// status, error code) to l. The default discards logs. Bodies, headers, API
// keys, commit tokens and env values are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithChain makes the server read the DstackApp contracts of apps whose
// ChainID is chainID through backend: onchain_status in the 465 payload,
// whether a replica can be created without approval, and the checks of a
// commit. It may be given once per chain id. Without a backend for its
// chain, an on-chain app's 465 has no onchain_status and every commit
// fails with 467 (the transaction cannot be verified).
func WithChain(backend ChainBackend, chainID uint64) Option {
	return func(c *config) error {
		if backend == nil {
			return errors.New("WithChain: nil backend")
		}
		if chainID == 0 {
			return errors.New("WithChain: chain id 0")
		}
		if c.chains == nil {
			c.chains = map[uint64]ChainBackend{}
		}
		c.chains[chainID] = backend
		return nil
	}
}

// WithChainRPC is WithChain with a JSON-RPC endpoint (http, https, ws or
// an IPC path) instead of a backend: NewServer dials it (panicking if it
// cannot) and Close closes the connection. Use it for a dev node such as
// anvil or for a public chain.
func WithChainRPC(rawURL string, chainID uint64) Option {
	return func(c *config) error {
		if rawURL == "" {
			return errors.New("WithChainRPC: empty URL")
		}
		if chainID == 0 {
			return errors.New("WithChainRPC: chain id 0")
		}
		if c.rpcURLs == nil {
			c.rpcURLs = map[uint64]string{}
		}
		c.rpcURLs[chainID] = rawURL
		return nil
	}
}

// WithKMSRootKey sets the KMS root secp256k1 key that signs env encryption
// public keys (default: a random key). Give the same key's compressed
// public key to a DstackKms contract (onchaintest) to let a client verify
// signatures against the chain.
func WithKMSRootKey(key *ecdsa.PrivateKey) Option {
	return func(c *config) error {
		if key == nil || key.D == nil || key.Curve != crypto.S256() {
			return errors.New("WithKMSRootKey: not a secp256k1 private key")
		}
		c.kmsRoot = key
		return nil
	}
}

// WithTimestampedSignatures makes GET /kms/{kms}/pubkey/{app_id} also send
// timestamp (the server's clock, Unix seconds) and signature_v1, as a newer
// dstack KMS does. By default only the legacy {public_key, signature} is
// sent, like Phala Cloud today.
//
// The answer then no longer fits the official TypeScript SDK and CLI
// (0.2.9 and 1.1.18): they validate it with a strict schema of exactly
// public_key and signature, so these two extra keys make their call fail.
// Use this option to test a client that verifies timestamped signatures,
// not to run the official tools against the emulator.
func WithTimestampedSignatures() Option {
	return func(c *config) error {
		c.signatureV1 = true
		return nil
	}
}

// WithPrepareOnlyCommitToken changes how X-Prepare-Only is answered for a
// source on Cloud KMS or without KMS. Phala Cloud's behaviour there is not
// documented; by default the emulator creates the replica and answers 2xx
// (there is nothing to approve on chain). With this option it answers 465
// with a commit token instead (no onchain_status), and the commit creates
// the replica without any chain check.
func WithPrepareOnlyCommitToken() Option {
	return func(c *config) error {
		c.cloudPrepare465 = true
		return nil
	}
}

// WithProvisioningDelays sets how long a new replica stays in
// StatusCreating and then StatusStarting on the server's clock (defaults
// DefaultCreatingDelay, DefaultStartingDelay). Zero for both makes replicas
// running as soon as they are created.
func WithProvisioningDelays(creating, starting time.Duration) Option {
	return func(c *config) error {
		if creating < 0 || starting < 0 {
			return fmt.Errorf("WithProvisioningDelays: negative delay")
		}
		c.creating, c.starting = creating, starting
		return nil
	}
}
