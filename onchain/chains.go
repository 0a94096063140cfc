package onchain

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Chain ids with built-in defaults.
const (
	ChainIDEthereum uint64 = 1
	ChainIDBase     uint64 = 8453
	// ChainIDAnvil is the chain id of a local development node (Foundry's
	// anvil, Hardhat): the phala CLI supports it beside Ethereum and Base.
	ChainIDAnvil uint64 = 31337
)

// Public JSON-RPC endpoints used by default (viem's defaults, which the phala
// CLI uses). They are rate-limited; production users should set their own.
const (
	DefaultEthereumRPC = "https://ethereum.reth.rs/rpc"
	DefaultBaseRPC     = "https://mainnet.base.org"
	// DefaultAnvilRPC is where a local development node listens by default.
	DefaultAnvilRPC = "http://127.0.0.1:8545"
)

// BlockTime returns the block time of a chain this package knows
// (Ethereum: 12 s, Base: 2 s), or 0. The [Registrar] paces its receipt
// polls with it.
func BlockTime(chainID uint64) time.Duration {
	switch chainID {
	case ChainIDEthereum:
		return 12 * time.Second
	case ChainIDBase:
		return 2 * time.Second
	}
	return 0
}

// The block time measured from two headers (see [WithBlockTime]) is taken
// over up to blockTimeSpan blocks and kept within [minBlockTime,
// maxBlockTime]: a chain that mines only when a transaction arrives shows
// long gaps between its blocks, and one that mines several blocks a second
// shows the same timestamp for them.
const (
	blockTimeSpan = 16
	minBlockTime  = 100 * time.Millisecond
	maxBlockTime  = 30 * time.Second
)

// estimateBlockTime returns the mean time between the blocks of one chain
// from two of its headers, newer above older, clamped to [minBlockTime,
// maxBlockTime]. ok is false when the headers cannot tell: one is missing,
// they are not in order, or the newer is not later than the older.
func estimateBlockTime(newer, older *blockRef) (d time.Duration, ok bool) {
	if newer == nil || older == nil || newer.Number == nil || older.Number == nil {
		return 0, false
	}
	n, o := newer.Number.ToInt(), older.Number.ToInt()
	if !n.IsUint64() || !o.IsUint64() || n.Uint64() <= o.Uint64() || newer.Time <= older.Time {
		return 0, false
	}
	blocks := float64(n.Uint64() - o.Uint64())
	secs := float64(newer.Time - older.Time)
	mean := secs / blocks * float64(time.Second)
	if mean >= float64(maxBlockTime) {
		return maxBlockTime, true
	}
	return max(time.Duration(mean), minBlockTime), true
}

// ChainConfig names a chain and the JSON-RPC endpoint used to reach it.
type ChainConfig struct {
	ID     uint64
	Name   string
	RPCURL string
}

// UnknownChainError means no RPC endpoint is known for a chain id: it is
// neither a built-in chain nor one given with [Chains.Set].
type UnknownChainError struct {
	ChainID uint64
	// SuggestedRPC is the kms_info.rpc_endpoint the server suggested, if any.
	// It is not used automatically: the RPC endpoint decides what state the
	// registration reads, so it should be chosen by the user.
	SuggestedRPC string
}

// Error implements error.
func (e *UnknownChainError) Error() string {
	if e.ChainID == 0 {
		return "onchain: the KMS info has no chain_id, so the app's chain is unknown; give the chain id and an RPC URL explicitly"
	}
	msg := fmt.Sprintf("onchain: no RPC URL for chain %d: only Ethereum (1), Base (8453) and a local node (31337) have defaults; "+
		"give one with Chains.Set(ChainConfig{ID: %d, RPCURL: ...})", e.ChainID, e.ChainID)
	if e.SuggestedRPC != "" {
		msg += fmt.Sprintf(" (the server suggests %s; use it only if you trust it)", e.SuggestedRPC)
	}
	return msg
}

// Chains is a registry of chains by id. It is safe for concurrent use.
// Create it with [NewChains].
type Chains struct {
	mu sync.RWMutex
	m  map[uint64]ChainConfig
}

// NewChains returns a registry holding Ethereum (1) and Base (8453) with
// their public default endpoints and a local development chain (31337, anvil
// or Hardhat) at [DefaultAnvilRPC], as the phala CLI does, then applies each
// config with Set (to override a default or add a chain). An invalid config
// is an error.
func NewChains(configs ...ChainConfig) (*Chains, error) {
	c := &Chains{m: map[uint64]ChainConfig{
		ChainIDEthereum: {ID: ChainIDEthereum, Name: "Ethereum", RPCURL: DefaultEthereumRPC},
		ChainIDBase:     {ID: ChainIDBase, Name: "Base", RPCURL: DefaultBaseRPC},
		ChainIDAnvil:    {ID: ChainIDAnvil, Name: "Anvil (local)", RPCURL: DefaultAnvilRPC},
	}}
	for _, cfg := range configs {
		if err := c.Set(cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Set adds a chain or replaces the RPC URL (and the name, if given) of a
// known one. The URL must be http(s) or ws(s).
func (c *Chains) Set(cfg ChainConfig) error {
	if cfg.ID == 0 {
		return errors.New("onchain: chain id must not be 0")
	}
	u, err := url.Parse(cfg.RPCURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("onchain: chain %d: RPC URL %q is not an absolute URL", cfg.ID, redactURL(cfg.RPCURL))
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("onchain: chain %d: RPC URL scheme %q is not http(s) or ws(s)", cfg.ID, u.Scheme)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64]ChainConfig{}
	}
	if cfg.Name == "" {
		cfg.Name = c.m[cfg.ID].Name
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("chain %d", cfg.ID)
	}
	c.m[cfg.ID] = cfg
	return nil
}

// Lookup returns the config of chain id, or an [*UnknownChainError].
func (c *Chains) Lookup(id uint64) (ChainConfig, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cfg, ok := c.m[id]
	if !ok || id == 0 {
		return ChainConfig{}, &UnknownChainError{ChainID: id}
	}
	return cfg, nil
}

// ForKMS returns the config of the chain the KMS info names (chain_id). The
// server's rpc_endpoint is never used on its own; it is only mentioned in
// the [*UnknownChainError] when the chain is unknown.
func (c *Chains) ForKMS(info *KMSInfo) (ChainConfig, error) {
	if info == nil {
		return ChainConfig{}, &UnknownChainError{}
	}
	cfg, err := c.Lookup(info.ChainID)
	if err != nil {
		var uce *UnknownChainError
		if errors.As(err, &uce) {
			uce.SuggestedRPC = info.RPCEndpoint
		}
		return ChainConfig{}, err
	}
	return cfg, nil
}

// IDs returns the ids of the known chains, sorted.
func (c *Chains) IDs() []uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids := make([]uint64, 0, len(c.m))
	for id := range c.m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Dial connects to cfg's RPC endpoint and checks it serves chain cfg.ID
// (a [*WrongChainError] otherwise). Pass [WithCheckedChainID](cfg.ID) to a
// Registrar on this client so it does not read the chain id again. It returns the go-ethereum client (a
// [Backend]) and the raw JSON-RPC client behind it, for [WithRPCClient].
// Close the ethclient when done.
func Dial(ctx context.Context, cfg ChainConfig) (*ethclient.Client, *rpc.Client, error) {
	rc, err := rpc.DialContext(ctx, cfg.RPCURL)
	if err != nil {
		return nil, nil, fmt.Errorf("onchain: connecting to %s: %w", redactURL(cfg.RPCURL), redactErr(err, cfg.RPCURL))
	}
	ec := ethclient.NewClient(rc)
	id, err := ec.ChainID(ctx)
	if err != nil {
		ec.Close()
		return nil, nil, fmt.Errorf("onchain: reading the chain id from %s: %w", redactURL(cfg.RPCURL), redactErr(err, cfg.RPCURL))
	}
	if !id.IsUint64() || id.Uint64() != cfg.ID {
		ec.Close()
		return nil, nil, &WrongChainError{Want: cfg.ID, Got: id.Uint64()}
	}
	return ec, rc, nil
}

// redactURL drops credentials, query and path from an RPC URL for error
// messages: provider URLs often embed API keys there.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		out += "/…"
	}
	return strings.TrimSuffix(out, "/")
}

// redactedError hides an RPC URL (which may embed an API key) in the text
// of an error while keeping it in the chain for errors.Is/As.
type redactedError struct {
	msg string
	err error
}

// Error returns the redacted message.
func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *redactedError) Unwrap() error { return e.err }

// redactErr hides rawURL, and any other http(s) or ws(s) URL, in the text
// of err (see [redactURLs]).
func redactErr(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, redactURL(rawURL))
	}
	msg = redactURLsIn(msg)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactURLs hides the credentials, path and query of every http(s) or
// ws(s) URL in the text of err, such as the one net/http quotes when a
// JSON-RPC request fails. Errors without a URL are returned as they are.
func redactURLs(err error) error { return redactErr(err, "") }

// redactURLsIn applies redactURL to every http(s):// and ws(s):// URL in s.
// A URL ends at white space, a quote or an angle bracket.
func redactURLsIn(s string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i
		for start > 0 && isSchemeChar(rest[start-1]) {
			start--
		}
		end := i + 3
		for end < len(rest) && !isURLEnd(rest[end]) {
			end++
		}
		switch strings.ToLower(rest[start:i]) {
		case "http", "https", "ws", "wss":
			b.WriteString(rest[:start])
			b.WriteString(redactURL(rest[start:end]))
		default:
			b.WriteString(rest[:end])
		}
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isURLEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}
