package onchain

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// newChain starts a simulated chain closed at the end of the test.
func newChain(t testing.TB, opts ...onchaintest.Option) *onchaintest.Chain {
	t.Helper()
	c := onchaintest.NewChain(opts...)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deployApp deploys a DstackApp test double owned by account 0.
func deployApp(t testing.TB, chain *onchaintest.Chain, cfg onchaintest.AppConfig) common.Address {
	t.Helper()
	app, err := chain.DeployDstackApp(testCtx(t), chain.Transactor(0), cfg)
	require.NoError(t, err)
	return app
}

// transact sends calldata to app from account i and mines it.
func transact(t testing.TB, chain *onchaintest.Chain, i int, app common.Address, data []byte) {
	t.Helper()
	ctx := testCtx(t)
	tx, err := chain.Transact(ctx, chain.Transactor(i), app, data)
	require.NoError(t, err)
	_, err = chain.Mine(ctx, tx)
	require.NoError(t, err)
}

// mineEvery commits a block every d (empty or not) until the test ends, for
// tests that wait for confirmations or for transactions on a manual chain.
func mineEvery(t testing.TB, chain *onchaintest.Chain, d time.Duration) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				chain.Commit()
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
}

// prereqFor builds the 465 payload for app on the simulated chain the way
// the server sends it (bare hex, kms_info with chain 1337).
func prereqFor(t testing.TB, app common.Address, device, compose common.Hash) *ErrOnchainPrerequisite {
	t.Helper()
	m := map[string]json.RawMessage{
		"compose_hash": mustJSON(t, compose.Hex()[2:]),
		"app_id":       mustJSON(t, app.Hex()[2:]),
		"commit_token": mustJSON(t, "tok"),
		"kms_info":     json.RawMessage(`{"chain_id": ` + strconv.Itoa(onchaintest.ChainID) + `}`),
	}
	if device != (common.Hash{}) {
		m["device_id"] = mustJSON(t, device.Hex()[2:])
	}
	p, err := PrerequisiteFromDetails(m)
	require.NoError(t, err)
	return p
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
