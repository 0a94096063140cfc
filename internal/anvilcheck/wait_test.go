//go:build anvil

package anvilcheck

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// receiptPolls counts the round trips that poll for receipts.
func receiptPolls(trips [][]string) int {
	n := 0
	for _, trip := range trips {
		if slices.Contains(trip, "eth_getTransactionReceipt") {
			n++
		}
	}
	return n
}

// Point 2: on automine the receipts are there at the first poll, whatever
// block time the Registrar measures from the chain's headers: equal
// timestamps (several blocks in one second) or a long gap (an hour without
// a transaction) among the last 16 blocks.
func TestReceiptWaitAutomine(t *testing.T) {
	tests := []struct {
		name string
		gap  time.Duration // between the two blocks mined before the app
	}{
		{"blocks in the same second", 0},
		{"an hour between blocks", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Start(t)
			ctx := Ctx(t)
			owner := n.NewKey(t, Ether(10))
			n.Mine(t)
			if tt.gap > 0 {
				var head *types.Header
				head, err := n.Client.HeaderByNumber(ctx, nil)
				require.NoError(t, err)
				n.call(t, nil, "evm_setNextBlockTimestamp", hexutil.Uint64(head.Time+uint64(tt.gap/time.Second)))
			}
			app := n.Deploy(t, owner, onchaintest.AppConfig{})
			p := NewProxy(t, n.URL)
			ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: p.URL})
			require.NoError(t, err)
			defer ec.Close()
			r, err := onchain.NewRegistrar(ec, owner.Signer(), onchain.WithRPCClient(rc), onchain.WithCheckedChainID(ChainID))
			require.NoError(t, err)
			p.Trips()

			reg, err := r.EnsureRegistered(ctx, Prereq(app, device, compose))
			require.NoError(t, err)
			requireMined(t, n, reg.ComposeHashTx)
			assert.Equal(t, 1, receiptPolls(p.Trips()), "one receipt poll on automine")

			// The same Registrar, with the block time it measured, on the
			// next registration.
			reg, err = r.EnsureRegistered(ctx, Prereq(app, Hash(0xd1, 2), Hash(0xc0, 2)))
			require.NoError(t, err)
			requireMined(t, n, reg.ComposeHashTx)
			assert.Equal(t, 1, receiptPolls(p.Trips()))
		})
	}
}

// registerAndWatch registers on a node mining a block every second and
// returns the block the writes were mined in, the head when the Registrar
// returned, and the head when it sent.
func registerAndWatch(t *testing.T, n *Node, url string, opts ...onchain.Option) (mined, atReturn, atSend uint64) {
	t.Helper()
	ctx := Ctx(t)
	owner := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{})
	ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: url})
	require.NoError(t, err)
	defer ec.Close()
	var once sync.Once
	opts = append(opts, onchain.WithRPCClient(rc), onchain.WithCheckedChainID(ChainID),
		onchain.WithProgress(func(e onchain.Event) {
			if e.Kind == onchain.EventSubmitted {
				once.Do(func() { atSend = head(t, n) })
			}
		}))
	r, err := onchain.NewRegistrar(ec, owner.Signer(), opts...)
	require.NoError(t, err)
	reg, err := r.EnsureRegistered(ctx, Prereq(app, device, compose))
	require.NoError(t, err)
	atReturn = head(t, n)
	return requireMined(t, n, reg.ComposeHashTx).BlockNumber.Uint64(), atReturn, atSend
}

func head(t *testing.T, n *Node) uint64 {
	t.Helper()
	h, err := n.Client.BlockNumber(context.Background())
	require.NoError(t, err)
	return h
}

// Point 2: with a block every second (a block time the Registrar does not
// know for chain 31337 and measures from two headers), the writes go into
// the next block and the Registrar notices it before the block after.
func TestReceiptWaitOneSecondBlocks(t *testing.T) {
	n := Start(t, "--block-time", "1")
	p := NewProxy(t, n.URL)
	mined, atReturn, atSend := registerAndWatch(t, n, p.URL)
	assert.LessOrEqual(t, mined, atSend+1, "mined in the block after sending")
	assert.LessOrEqual(t, atReturn, mined+1, "the Registrar returned within a block of the receipt")
	polls := receiptPolls(p.Trips())
	assert.GreaterOrEqual(t, polls, 1)
	assert.LessOrEqual(t, polls, 30, "receipt polls spaced by the measured block time, not a busy loop")
}

// logRecorder keeps every log message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

// Point 3: over a websocket the receipt wait rides anvil's newHeads
// subscription, on automine and on one-second blocks.
func TestReceiptWaitWebsocket(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"automine", nil},
		{"one-second blocks", []string{"--block-time", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Start(t, tt.args...)
			p := onchaintest.NewWSProxy(n.WSURL)
			t.Cleanup(p.Close)
			logs := &logRecorder{}
			mined, atReturn, atSend := registerAndWatch(t, n, p.URL, onchain.WithLogger(slog.New(logs)))
			assert.LessOrEqual(t, atReturn, mined+1)
			t.Logf("receipt entries %d, blocks %d..%d", p.Count("eth_getTransactionReceipt"), atSend, mined)
			assert.Equal(t, 1, p.Count("eth_subscribe"), "the receipt wait subscribed to newHeads")
			// One poll at once, then one per new head: polling on a timer
			// would take a poll every 1/16 block time.
			assert.LessOrEqual(t, p.Count("eth_getTransactionReceipt"), 2*(int(mined-atSend)+1),
				"receipt polls (2 per batch) follow the heads")
			text := logs.text()
			assert.Contains(t, text, "onchain: mined")
			assert.NotContains(t, text, "no newHeads subscription", "anvil serves eth_subscribe on its websocket")
			assert.NotContains(t, text, "subscription ended")
		})
	}
}

// Point 3: anvil's newHeads notifications are headers go-ethereum decodes.
func TestAnvilNewHeads(t *testing.T) {
	n := Start(t, "--block-time", "1")
	ctx := Ctx(t)
	ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: n.WSURL})
	require.NoError(t, err)
	defer ec.Close()
	require.True(t, rc.SupportsSubscriptions())
	ch := make(chan json.RawMessage, 4)
	sub, err := rc.EthSubscribe(ctx, ch, "newHeads")
	require.NoError(t, err)
	defer sub.Unsubscribe()
	select {
	case raw := <-ch:
		var h types.Header
		require.NoError(t, json.Unmarshal(raw, &h))
		assert.NotNil(t, h.BaseFee)
		assert.Positive(t, h.Number.Uint64())
	case err := <-sub.Err():
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatal("no new head")
	}
}
