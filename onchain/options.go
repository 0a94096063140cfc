package onchain

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
)

// Option configures [Status], [NewRegistrar] and [SafeTransactions]. Each
// option says which of them use it; the others ignore it. An option given
// an invalid value makes the call return an error.
type Option func(*options) error

type options struct {
	// Status
	rpcClient *rpc.Client
	block     *uint64

	// Registrar
	chainID        uint64
	confirmations  uint64
	receiptTimeout time.Duration
	pollInterval   time.Duration // 0: adaptive, up to the block time
	blockTime      time.Duration // 0: known for the chain, else measured
	checkedChainID uint64
	progress       func(Event)
	logger         *slog.Logger

	// SafeTransactions
	status      *OnchainStatus
	createdAt   time.Time
	safeAddress *common.Address
	batchName   string
	description string
}

const (
	defaultConfirmations  = 1
	defaultReceiptTimeout = 2 * time.Minute
	defaultPollInterval   = 2 * time.Second
	// firstPoll is how soon after sending the first receipt poll goes out.
	firstPoll = 25 * time.Millisecond
)

func applyOptions(opts []Option) (*options, error) {
	o := &options{
		confirmations:  defaultConfirmations,
		receiptTimeout: defaultReceiptTimeout,
		logger:         slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithRPCClient gives [Status] (and the Registrar's status reads) the raw
// JSON-RPC client behind the backend, so the contract reads go to the node
// in one JSON-RPC batch (one round trip) instead of one request each. It
// must talk to the same node as the backend, e.g. the client passed to
// ethclient.NewClient.
func WithRPCClient(c *rpc.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("onchain: WithRPCClient: nil client")
		}
		o.rpcClient = c
		return nil
	}
}

// AtBlock makes [Status] read at block n instead of the latest block. Without
// [WithRPCClient] this also saves the round trip that fetches the latest
// header.
func AtBlock(n uint64) Option {
	return func(o *options) error {
		o.block = &n
		return nil
	}
}

// WithChainID sets the chain id the Registrar expects the app, and the
// backend, to be on. It does not override the prerequisite's
// kms_info.chain_id: when the prerequisite names a chain and id differs, the
// Registrar signs nothing and returns a [*WrongChainError] (with
// Configured set). It decides the chain when the prerequisite names none.
func WithChainID(id uint64) Option {
	return func(o *options) error {
		if id == 0 {
			return errors.New("onchain: WithChainID: chain id must not be 0")
		}
		o.chainID = id
		return nil
	}
}

// WithConfirmations sets how many blocks, counting the one that includes the
// transactions, the Registrar waits for (default 1: included).
func WithConfirmations(n uint64) Option {
	return func(o *options) error {
		if n == 0 {
			return errors.New("onchain: WithConfirmations: need at least 1")
		}
		o.confirmations = n
		return nil
	}
}

// WithReceiptTimeout bounds how long the Registrar waits for its
// transactions to be mined and confirmed (default 2 minutes). On expiry it
// returns a [*ReceiptTimeoutError].
func WithReceiptTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("onchain: WithReceiptTimeout: %v is not positive", d)
		}
		o.receiptTimeout = d
		return nil
	}
}

// WithPollInterval sets the longest wait between two receipt polls (and
// between re-reads of a node that lacks a block). Without it the Registrar
// adapts: it polls 25 ms after sending, then more and more rarely, up to a
// sixteenth of the chain's block time for two blocks and up to the block
// time after that (see [WithBlockTime]); 2 seconds on a chain whose block
// time is unknown and not measured yet. With it, the waits grow from min(25 ms, d) to d at most.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("onchain: WithPollInterval: %v is not positive", d)
		}
		o.pollInterval = d
		return nil
	}
}

// WithBlockTime tells the Registrar how often its chain makes a block, which
// paces its receipt polls. Without it the Registrar uses the block time of
// the chains it knows (Ethereum 12 s, Base 2 s; see [BlockTime]) and, on
// other chains with a JSON-RPC client ([WithRPCClient]), measures it once:
// from the latest block its state read saw and the header 16 blocks below,
// read in the first receipt poll's batch (no round trip of its own), kept
// within 100 ms..30 s, and 2 seconds when the headers cannot tell (same or
// backwards timestamps, header missing).
func WithBlockTime(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("onchain: WithBlockTime: %v is not positive", d)
		}
		o.blockTime = d
		return nil
	}
}

// WithCheckedChainID tells the Registrar that its backend was already
// checked to serve chain id, as [Dial] does, so it does not read
// eth_chainId again. The Registrar still checks id against the
// prerequisite's chain (and [WithChainID]). Without it, the Registrar reads
// the chain id once, in the same round trip as its first contract read,
// and remembers it.
func WithCheckedChainID(id uint64) Option {
	return func(o *options) error {
		if id == 0 {
			return errors.New("onchain: WithCheckedChainID: chain id must not be 0")
		}
		o.checkedChainID = id
		return nil
	}
}

// WithProgress makes the Registrar report each transaction as it is
// submitted, mined and confirmed. fn is called synchronously from
// EnsureRegistered's goroutine.
func WithProgress(fn func(Event)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// WithLogger sets the Registrar's logger (default: discard). Log lines carry
// addresses, hashes and nonces, never keys.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("onchain: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithStatus makes [SafeTransactions] decide what is missing from s (for
// example a fresh [Status] reading) instead of the prerequisite's
// onchain_status.
func WithStatus(s OnchainStatus) Option {
	return func(o *options) error {
		o.status = &s
		return nil
	}
}

// WithCreatedAt sets the createdAt time of a Safe batch (default: now).
func WithCreatedAt(t time.Time) Option {
	return func(o *options) error {
		o.createdAt = t
		return nil
	}
}

// WithSafeAddress records the Safe that will execute the batch
// (meta.createdFromSafeAddress).
func WithSafeAddress(a common.Address) Option {
	return func(o *options) error {
		o.safeAddress = &a
		return nil
	}
}

// WithBatchName sets the Safe batch's meta.name and meta.description.
func WithBatchName(name, description string) Option {
	return func(o *options) error {
		o.batchName = name
		o.description = description
		return nil
	}
}
