package onchain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// TestReceiptWaitFollowsNewHeads: over a websocket the receipt wait polls
// once right after sending and then only when a block arrives (a newHeads
// subscription, ended when done), so registration completes with the
// commit that mines the transactions and no poll in between; over HTTP it
// keeps polling on its own.
func TestReceiptWaitFollowsNewHeads(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP(), onchaintest.WithWebSocket())
	ws := onchaintest.NewWSProxy(chain.WSURL())
	t.Cleanup(ws.Close)
	hc, httpURL := newRPCCounter(t, chain.URL())
	httpCount := hc.Count
	// A receipt poll asks for both transactions: count batches, not entries.
	const entriesPerPoll = 2

	tests := []struct {
		name      string
		url       string
		count     func(method string) int
		subscribe bool
	}{
		{name: "websocket", url: ws.URL, count: ws.Count, subscribe: true},
		{name: "http", url: httpURL, count: httpCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{})
			ec, rc, err := Dial(ctx, ChainConfig{ID: onchaintest.ChainID, RPCURL: tt.url})
			require.NoError(t, err)
			defer ec.Close()
			// A long block time: the fallback poll of a subscription (and
			// the pacer's backoff cap) stay out of the test's way.
			r, err := NewRegistrar(ec, chain.Transactor(0), WithRPCClient(rc),
				WithCheckedChainID(onchaintest.ChainID), WithBlockTime(time.Minute))
			require.NoError(t, err)
			polls := func() int { return tt.count("eth_getTransactionReceipt") / entriesPerPoll }
			base := polls()

			type result struct {
				reg *Registration
				err error
			}
			done := make(chan result, 1)
			go func() {
				reg, err := r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
				done <- result{reg, err}
			}()
			require.Eventually(t, func() bool { return polls() > base }, 10*time.Second, time.Millisecond,
				"a receipt poll right after sending")
			// Nothing is mined until the test commits: a poller on a timer
			// polls again meanwhile (25 ms, then 50 ms later), one following
			// new heads does not.
			time.Sleep(300 * time.Millisecond)
			before := polls() - base
			select {
			case res := <-done:
				t.Fatalf("registration finished before its transactions were mined: %+v", res)
			default:
			}
			chain.Commit()
			var res result
			select {
			case res = <-done:
			case <-ctx.Done():
				t.Fatal("registration did not finish after the commit")
			}
			require.NoError(t, res.err)
			assert.NotZero(t, res.reg.DeviceTx)
			assert.NotZero(t, res.reg.ComposeHashTx)

			if tt.subscribe {
				assert.Equal(t, 1, before, "receipt polls before the block")
				assert.Equal(t, 2, polls()-base, "receipt polls in all")
				assert.Equal(t, 1, tt.count("eth_subscribe"))
				require.Eventually(t, func() bool { return tt.count("eth_unsubscribe") == 1 }, 10*time.Second, time.Millisecond,
					"the subscription ends with the wait")
			} else {
				assert.GreaterOrEqual(t, before, 2, "receipt polls before the block")
				assert.Zero(t, tt.count("eth_subscribe"))
			}
		})
	}
}
