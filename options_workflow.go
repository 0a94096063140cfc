package phala

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/phalaforge/phala-go/onchain"
)

// Defaults of the workflow options.
const (
	// DefaultCommitRetries is how many times a commit that follows an automatic
	// on-chain registration is resent after ERR-01-007 or ERR-01-008, which the
	// server answers when its chain node lags behind the one that mined the
	// registration. See WithCommitRetry.
	DefaultCommitRetries = 3
	// DefaultCommitRetryInterval is the wait before each such resend.
	DefaultCommitRetryInterval = 3 * time.Second
)

// workflowConfig holds the options of the replication workflows and EncryptEnv. Its
// zero value is the default.
type workflowConfig struct {
	trustedRoots  [][]byte                       // compressed secp256k1 KMS root keys
	chainCallers  map[uint64]bind.ContractCaller // per chain id, for kmsInfo()
	kmsContracts  map[uint64]common.Address      // pinned DstackKms address per chain id
	chainRPCs     map[uint64]string              // per chain id, dialled per use
	chains        *onchain.Chains                // fallback registry of RPC URLs
	skipKMSVerify bool                           // use unverifiable keys instead of failing
	now           func() time.Time               // nil: time.Now
	commitRetry   *retrySetting                  // nil: defaults
}

// retrySetting is a number of retries and the wait before each.
type retrySetting struct {
	n int
	d time.Duration
}

func (c *Client) now() time.Time {
	if c.cfg.wf.now != nil {
		return c.cfg.wf.now()
	}
	return time.Now()
}

func (c *Client) commitRetry() (int, time.Duration) {
	if r := c.cfg.wf.commitRetry; r != nil {
		return r.n, r.d
	}
	return DefaultCommitRetries, DefaultCommitRetryInterval
}

// WithTrustedKMSRootKeys pins KMS root keys: secp256k1 public keys, hex encoded
// (0x optional), 33-byte compressed or 65-byte uncompressed. An on-chain KMS's env
// encryption key is used only when its signature recovers to a trusted root key:
// these, plus the one read from the DstackKms contract when a chain backend is
// configured (WithKMSChainBackend, WithKMSChainRPC, WithKMSChains). Get the key
// from a source the API cannot forge, such as the KMS contract's kmsInfo() or the
// KMS operator. Repeated use adds keys.
func WithTrustedKMSRootKeys(keys ...string) Option {
	return func(c *config) error {
		if len(keys) == 0 {
			return optionError("WithTrustedKMSRootKeys", "no key given")
		}
		for i, k := range keys {
			raw, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(k), "0x"), "0X"))
			if err != nil {
				return optionError("WithTrustedKMSRootKeys", "key %d is not hex", i)
			}
			var compressed []byte
			switch len(raw) {
			case 33:
				if _, err := crypto.DecompressPubkey(raw); err != nil {
					return optionError("WithTrustedKMSRootKeys", "key %d is not a secp256k1 point", i)
				}
				compressed = raw
			case 65:
				pub, err := crypto.UnmarshalPubkey(raw)
				if err != nil {
					return optionError("WithTrustedKMSRootKeys", "key %d is not a secp256k1 point", i)
				}
				compressed = crypto.CompressPubkey(pub)
			default:
				return optionError("WithTrustedKMSRootKeys", "key %d has %d bytes, want 33 (compressed) or 65", i, len(raw))
			}
			c.wf.trustedRoots = append(c.wf.trustedRoots, compressed)
		}
		return nil
	}
}

// WithKMSChainBackend gives the client a contract caller for chain chainID (for
// example an *ethclient.Client, or a simulated backend's client). EncryptEnv reads
// the KMS root key from the DstackKms contract named by kms_info.dstack_kms_address
// through it, for apps whose kms_info.chain_id is chainID (pin that address with
// WithKMSContract). When caller also has a ChainID method, the chain id is checked
// before reading. The API's
// kms_info.rpc_endpoint is never used for this: the API cannot choose the chain
// that vouches for its keys.
func WithKMSChainBackend(chainID uint64, caller bind.ContractCaller) Option {
	return func(c *config) error {
		if chainID == 0 {
			return optionError("WithKMSChainBackend", "chain id must not be 0")
		}
		if caller == nil {
			return optionError("WithKMSChainBackend", "caller must not be nil")
		}
		if c.wf.chainCallers == nil {
			c.wf.chainCallers = map[uint64]bind.ContractCaller{}
		}
		c.wf.chainCallers[chainID] = caller
		return nil
	}
}

// WithKMSContract pins the DstackKms contract of chain chainID. Without it,
// EncryptEnv reads the KMS root key from the contract that the API names in
// kms_info.dstack_kms_address, and a compromised API could name a contract of its
// own holding its own key. With it, a CVM on chain chainID whose kms_info names
// another contract fails with an error matching [ErrKMSContractMismatch] before
// anything is read or encrypted. address is 40 hex digits, 0x optional.
func WithKMSContract(chainID uint64, address string) Option {
	return func(c *config) error {
		if chainID == 0 {
			return optionError("WithKMSContract", "chain id must not be 0")
		}
		addr, err := onchain.ParseAppAddress(address)
		if err != nil || addr == (common.Address{}) || strings.HasPrefix(strings.TrimSpace(address), "app_") {
			return optionError("WithKMSContract", "address must be 40 hex digits (0x optional)")
		}
		if c.wf.kmsContracts == nil {
			c.wf.kmsContracts = map[uint64]common.Address{}
		}
		c.wf.kmsContracts[chainID] = addr
		return nil
	}
}

// WithKMSChainRPC is like WithKMSChainBackend with a JSON-RPC URL (http, https, ws
// or wss), dialled for each read; the node must serve chain chainID.
func WithKMSChainRPC(chainID uint64, rpcURL string) Option {
	return func(c *config) error {
		reg, err := onchain.NewChains()
		if err == nil {
			err = reg.Set(onchain.ChainConfig{ID: chainID, RPCURL: rpcURL})
		}
		if err != nil {
			return optionError("WithKMSChainRPC", "%v", err)
		}
		if c.wf.chainRPCs == nil {
			c.wf.chainRPCs = map[uint64]string{}
		}
		c.wf.chainRPCs[chainID] = rpcURL
		return nil
	}
}

// WithKMSChains uses a registry of chain RPC URLs for the chains not given with
// WithKMSChainBackend or WithKMSChainRPC. onchain.NewChains() holds public
// endpoints for Ethereum and Base, so WithKMSChains(chains) with it verifies keys of
// the Phala on-chain KMSs without further setup.
func WithKMSChains(chains *onchain.Chains) Option {
	return func(c *config) error {
		if chains == nil {
			return optionError("WithKMSChains", "chains must not be nil")
		}
		c.wf.chains = chains
		return nil
	}
}

// WithoutKMSSignatureVerification lets EncryptEnv (and Replicate with Env) use an
// on-chain KMS's env encryption key whose signature cannot be checked because no
// trusted root key is available for that KMS, instead of failing with
// ErrNoKMSTrustRoot. The key then comes from the API alone, as with the phala CLI:
// whoever controls the API, or impersonates it, can read the variables. When a root
// key is available the signature is still checked, and a bad signature is always an
// error.
func WithoutKMSSignatureVerification() Option {
	return func(c *config) error {
		c.wf.skipKMSVerify = true
		return nil
	}
}

// WithClock sets the clock used for PreparedReplica times, the commit token expiry
// check and KMS signature freshness (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return optionError("WithClock", "clock must not be nil")
		}
		c.wf.now = now
		return nil
	}
}

// WithCommitRetry sets how often, and how far apart, the commit that follows an
// automatic on-chain registration (Replicate with a Registrar) is resent when the
// server answers ERR-01-007 (transaction not verified) or ERR-01-008 (hash not
// allowed): the server's chain node may lag behind the registration just mined. These
// answers create nothing, so resending is safe. Retries 0 disables it. The defaults
// are DefaultCommitRetries and DefaultCommitRetryInterval.
func WithCommitRetry(retries int, interval time.Duration) Option {
	return func(c *config) error {
		if retries < 0 || retries > 100 {
			return optionError("WithCommitRetry", "retries must be between 0 and 100, got %d", retries)
		}
		if interval < 0 {
			return optionError("WithCommitRetry", "interval must not be negative")
		}
		c.wf.commitRetry = &retrySetting{n: retries, d: interval}
		return nil
	}
}

// chainIDer is implemented by backends that can tell their chain id.
type chainIDer interface {
	ChainID(ctx context.Context) (*big.Int, error)
}

// kmsRootFromChain reads the DstackKms root key for the KMS described by ki. It
// returns ok=false when no backend is configured for ki's chain.
func (c *Client) kmsRootFromChain(ctx context.Context, ki *onchain.KMSInfo) (key []byte, ok bool, err error) {
	if ki == nil || ki.ChainID == 0 {
		return nil, false, nil
	}
	caller := c.cfg.wf.chainCallers[ki.ChainID]
	rpcURL := c.cfg.wf.chainRPCs[ki.ChainID]
	if caller == nil && rpcURL == "" && c.cfg.wf.chains != nil {
		if cfg, err := c.cfg.wf.chains.Lookup(ki.ChainID); err == nil {
			rpcURL = cfg.RPCURL
		}
	}
	if caller == nil && rpcURL == "" {
		return nil, false, nil
	}
	kms, err := ki.KMSContract()
	if err != nil {
		return nil, true, fmt.Errorf("phala: kms_info names no valid DstackKms contract: %w", err)
	}
	if pinned, ok := c.cfg.wf.kmsContracts[ki.ChainID]; ok && pinned != kms {
		return nil, true, fmt.Errorf("%w: chain %d: kms_info names %s, pinned %s", ErrKMSContractMismatch, ki.ChainID, kms, pinned)
	}
	if caller == nil {
		// Dial checks that the node serves chain ki.ChainID.
		ec, _, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ki.ChainID, RPCURL: rpcURL})
		if err != nil {
			return nil, true, fmt.Errorf("phala: reading the KMS root key on chain %d: %w", ki.ChainID, err)
		}
		defer ec.Close()
		caller = ec
	} else if idc, isIDer := caller.(chainIDer); isIDer {
		id, err := idc.ChainID(ctx)
		if err != nil {
			return nil, true, fmt.Errorf("phala: reading the chain id of the backend for chain %d: %w", ki.ChainID, err)
		}
		if !id.IsUint64() || id.Uint64() != ki.ChainID {
			return nil, true, &onchain.WrongChainError{Want: ki.ChainID, Got: id.Uint64()}
		}
	}
	key, err = onchain.KMSRootKey(ctx, caller, kms)
	if err != nil {
		return nil, true, fmt.Errorf("phala: reading the KMS root key of chain %d: %w", ki.ChainID, err)
	}
	return key, true, nil
}
