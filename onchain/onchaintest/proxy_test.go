package onchaintest_test

import (
	"context"
	"testing"

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
