package onchaintest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// The proxy relays answers unchanged, records one trip per HTTP request
// (a batch is one, its methods in order) and calls the hook after each answer.
func TestRPCProxy(t *testing.T) {
	chain := onchaintest.NewChain(onchaintest.WithHTTP())
	defer chain.Close()
	var answered [][]string
	p := onchaintest.NewRPCProxy(chain.URL(), func(m []string) { answered = append(answered, m) })
	defer p.Close()
	rc, err := rpc.Dial(p.URL)
	require.NoError(t, err)
	defer rc.Close()
	ctx := context.Background()

	var id, block string
	require.NoError(t, rc.CallContext(ctx, &id, "eth_chainId"))
	assert.Equal(t, "0x539", id, "chain 1337, relayed as is")
	var n1, n2 string
	require.NoError(t, rc.BatchCallContext(ctx, []rpc.BatchElem{
		{Method: "eth_blockNumber", Result: &n1}, {Method: "eth_chainId", Result: &block}, {Method: "eth_blockNumber", Result: &n2}}))
	want := [][]string{{"eth_chainId"}, {"eth_blockNumber", "eth_chainId", "eth_blockNumber"}}
	assert.Equal(t, want, p.Trips())
	assert.Equal(t, want, answered)
	assert.Equal(t, 2, p.Count("eth_chainId"))
	assert.Equal(t, 2, p.Count("eth_blockNumber"))

	p.Reset()
	assert.Empty(t, p.Trips())
	assert.Zero(t, p.Count("eth_chainId"))
}

// The websocket proxy relays both ways (answers and subscription
// notifications), records one trip per message the client sends (a batch
// is one, its methods in order), and Close returns while a client still holds its connection.
func TestWSProxy(t *testing.T) {
	chain := onchaintest.NewChain(onchaintest.WithWebSocket())
	defer chain.Close()
	p := onchaintest.NewWSProxy(chain.WSURL())
	rc, err := rpc.Dial(p.URL)
	require.NoError(t, err)
	defer rc.Close()
	ctx := context.Background()

	var id, n1, n2 string
	require.NoError(t, rc.CallContext(ctx, &id, "eth_chainId"))
	assert.Equal(t, "0x539", id, "chain 1337, relayed as is")
	require.NoError(t, rc.BatchCallContext(ctx, []rpc.BatchElem{
		{Method: "eth_blockNumber", Result: &n1}, {Method: "eth_blockNumber", Result: &n2}}))
	heads := make(chan map[string]any, 1)
	sub, err := rc.EthSubscribe(ctx, heads, "newHeads")
	require.NoError(t, err)
	chain.Commit()
	select {
	case h := <-heads:
		assert.Equal(t, "0x1", h["number"], "the notification of the commit, relayed")
	case err := <-sub.Err():
		t.Fatal(err)
	}
	sub.Unsubscribe()

	trips := p.Trips()
	require.Len(t, trips, 4)
	assert.Equal(t, [][]string{{"eth_chainId"}, {"eth_blockNumber", "eth_blockNumber"}, {"eth_subscribe"}, {"eth_unsubscribe"}}, trips)
	assert.Equal(t, 2, p.Count("eth_blockNumber"))

	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the relayed connection")
	}
}
