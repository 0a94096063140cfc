package onchain

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// rpcCounter is a JSON-RPC proxy (onchaintest.RPCProxy) that records every
// HTTP request (one round trip) and the methods of its entries.
type rpcCounter struct {
	*onchaintest.RPCProxy
	mu sync.Mutex
	// answered, when set, is called with each round trip's methods once
	// its answer has come back from the chain, before it is relayed.
	answered func(methods []string)
}

func newRPCCounter(t *testing.T, target string) (*rpcCounter, string) {
	t.Helper()
	c := &rpcCounter{}
	c.RPCProxy = onchaintest.NewRPCProxy(target, func(methods []string) {
		c.mu.Lock()
		hook := c.answered
		c.mu.Unlock()
		if hook != nil {
			hook(methods)
		}
	})
	t.Cleanup(c.Close)
	return c, c.URL
}

// split returns the round trips that are receipt polls (eth_getTransactionReceipt
// entries, and the header read that measures the block time) and the
// others, counts the entries of the others by method, and lists the header
// reads of each poll.
func (c *rpcCounter) split() (polls int, other [][]string, byMethod map[string]int, pollHeaders []int) {
	byMethod = map[string]int{}
	for _, trip := range c.Trips() {
		receipts, headers := 0, 0
		for _, m := range trip {
			switch m {
			case "eth_getTransactionReceipt":
				receipts++
			case "eth_getBlockByNumber":
				headers++
			}
		}
		if receipts > 0 && receipts+headers == len(trip) {
			polls++
			pollHeaders = append(pollHeaders, headers)
			continue
		}
		other = append(other, trip)
		for _, m := range trip {
			byMethod[m]++
		}
	}
	return polls, other, byMethod, pollHeaders
}

func (c *rpcCounter) reset() { c.Reset() }

// TestEnsureRegisteredRoundTrips holds auto-registration through Dial to
// the protocol minimum: Dial's chain id, one batch for the state and every
// read sending needs, one batch of sends, receipt polls (each one batch) and
// the re-read; no entry read twice.
func TestEnsureRegisteredRoundTrips(t *testing.T) {
	// Blocks are mined when transactions are sent, never during a read: a
	// block mined between the two head reads of the state batch makes the
	// Registrar re-read at the new head (one more round trip, by design),
	// which an interval-mining chain did now and then under load.
	chain := newChain(t, onchaintest.WithHTTP())
	chain.Commit() // a block besides genesis to measure the block time against
	counter, url := newRPCCounter(t, chain.URL())
	counter.answered = func(methods []string) {
		if slices.Contains(methods, "eth_sendRawTransaction") {
			chain.Commit()
		}
	}
	device2 := common.HexToHash("0x" + "e2" + regDevice.Hex()[4:])

	tests := []struct {
		name      string
		checked   bool // WithCheckedChainID, as after Dial
		cfg       onchaintest.AppConfig
		device    common.Hash
		status    *OnchainStatus // the 465's onchain_status
		trips     int            // round trips besides receipt polls, Dial's included
		entries   map[string]int
		sentCount int
	}{
		{name: "both missing", checked: true, device: regDevice, trips: 4, sentCount: 2, entries: map[string]int{
			"eth_chainId": 1, "eth_getBlockByNumber": 2, "eth_call": 3 + 1 + 3, "eth_getBalance": 1,
			"eth_getTransactionCount": 2, "eth_maxPriorityFeePerGas": 1, "eth_estimateGas": 2, "eth_sendRawTransaction": 2}},
		{name: "compose hash missing", checked: true, cfg: onchaintest.AppConfig{AllowAnyDevice: true}, device: device2, status: &OnchainStatus{DeviceIDAllowed: true}, trips: 4, sentCount: 1, entries: map[string]int{
			"eth_chainId": 1, "eth_getBlockByNumber": 2, "eth_call": 3 + 1 + 3, "eth_getBalance": 1,
			"eth_getTransactionCount": 2, "eth_maxPriorityFeePerGas": 1, "eth_estimateGas": 1, "eth_sendRawTransaction": 1}},
		{name: "both missing, chain id read by the Registrar", device: regDevice, trips: 4, sentCount: 2, entries: map[string]int{
			"eth_chainId": 2, "eth_getBlockByNumber": 2, "eth_call": 3 + 1 + 3, "eth_getBalance": 1,
			"eth_getTransactionCount": 2, "eth_maxPriorityFeePerGas": 1, "eth_estimateGas": 2, "eth_sendRawTransaction": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			app := deployApp(t, chain, tt.cfg)
			counter.reset()
			ec, rc, err := Dial(ctx, ChainConfig{ID: onchaintest.ChainID, RPCURL: url})
			require.NoError(t, err)
			defer ec.Close()
			opts := []Option{WithRPCClient(rc)}
			if tt.checked {
				opts = append(opts, WithCheckedChainID(onchaintest.ChainID))
			}
			r, err := NewRegistrar(ec, chain.Transactor(0), opts...)
			require.NoError(t, err)
			prereq := prereqFor(t, app, tt.device, regCompose)
			prereq.OnchainStatus = tt.status
			reg, err := r.EnsureRegistered(ctx, prereq)
			require.NoError(t, err)
			sent := 0
			for _, h := range []common.Hash{reg.DeviceTx, reg.ComposeHashTx} {
				if h != (common.Hash{}) {
					sent++
				}
			}
			assert.Equal(t, tt.sentCount, sent)

			polls, other, byMethod, pollHeaders := counter.split()
			assert.Equal(t, tt.trips, len(other), "round trips besides receipt polls: %v", other)
			assert.LessOrEqual(t, len(other), 5)
			assert.GreaterOrEqual(t, polls, 1)
			assert.Equal(t, tt.entries, byMethod)
			// The chain's block time is not known: the first poll (and
			// only it) reads one more header to measure it.
			assert.Equal(t, 1, pollHeaders[0], "header reads per poll: %v", pollHeaders)
			assert.Equal(t, 1, sum(pollHeaders), "header reads per poll: %v", pollHeaders)
		})
	}
}

// TestReceiptPollPacing: the first poll goes out 25 ms after sending (a
// chain that mines at once answers it), later ones back off to a sixteenth
// of the chain's block time; WithPollInterval caps every wait.
func TestReceiptPollPacing(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		chain uint64
		opts  []Option
		want  []time.Duration
	}{
		{name: "Base, 2 s blocks", chain: ChainIDBase, want: []time.Duration{25 * ms, 50 * ms, 100 * ms, 125 * ms, 125 * ms}},
		{name: "Ethereum, 12 s blocks", chain: ChainIDEthereum, want: []time.Duration{25 * ms, 50 * ms, 100 * ms, 200 * ms, 400 * ms, 750 * ms, 750 * ms}},
		{name: "unknown chain: 2 s default", chain: 1337, want: []time.Duration{25 * ms, 50 * ms, 100 * ms, 125 * ms}},
		{name: "WithBlockTime", chain: 1337, opts: []Option{WithBlockTime(400 * ms)}, want: []time.Duration{25 * ms, 25 * ms, 25 * ms}},
		{name: "WithPollInterval caps", chain: ChainIDBase, opts: []Option{WithPollInterval(5 * ms)}, want: []time.Duration{5 * ms, 5 * ms, 5 * ms}},
	}
	chain := newChain(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistrar(chain.Client, chain.Transactor(0), append(tt.opts, WithCheckedChainID(tt.chain))...)
			require.NoError(t, err)
			p := r.newPacer()
			var got []time.Duration
			for range tt.want {
				got = append(got, p.wait())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
