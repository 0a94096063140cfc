package onchain

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// nodeError is a JSON-RPC error as ethclient returns it.
type nodeError struct {
	code int
	msg  string
}

func (e *nodeError) Error() string  { return e.msg }
func (e *nodeError) ErrorCode() int { return e.code }

// pooledAnswer is the simulated chain's client answering a transaction that
// is already in the pool with a node's own wording instead of sending it.
type pooledAnswer struct {
	*hiddenTx
	answer error
}

func (b *pooledAnswer) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if _, pending, err := b.Backend.TransactionByHash(ctx, tx.Hash()); err == nil && pending {
		b.sent.Add(1)
		return b.answer
	}
	return b.hiddenTx.SendTransaction(ctx, tx)
}

// A transaction broadcast again that the node already holds is waited for,
// whatever words the node uses to say so: anvil answers "transaction already
// imported" (code -32003) where go-ethereum says "already known".
func TestEnsureRegisteredRebroadcastNodeAlreadyHasIt(t *testing.T) {
	tests := []struct {
		name   string
		answer error
	}{
		{"go-ethereum", &nodeError{-32000, "already known"}},
		{"older nodes", &nodeError{-32000, "known transaction: 0xab"}},
		{"anvil", &nodeError{-32003, "transaction already imported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := newChain(t)
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{DeviceID: regDevice})
			backend := &pooledAnswer{hiddenTx: &hiddenTx{Backend: chain.Client, hide: map[common.Hash]bool{}}, answer: tt.answer}
			r, err := NewRegistrar(backend, chain.Transactor(0), WithPollInterval(5*time.Millisecond), WithReceiptTimeout(100*time.Millisecond))
			require.NoError(t, err)
			prereq := prereqFor(t, app, regDevice, regCompose)

			first, err := r.EnsureRegistered(ctx, prereq)
			var rte *ReceiptTimeoutError
			require.ErrorAs(t, err, &rte)
			// The node lost track of the transaction by hash (as one behind
			// a load balancer may), yet still holds it in its pool.
			backend.hide[first.ComposeHashTx] = true
			backend.sent.Store(0)

			again, err := r.EnsureRegistered(ctx, prereq)
			require.ErrorAs(t, err, &rte, "the earlier transaction is waited for, not reported as a failed broadcast")
			assert.Equal(t, first.ComposeHashTx, again.ComposeHashTx)
			assert.Equal(t, int64(1), backend.sent.Load())
			assert.Equal(t, 1, chain.Pending())
		})
	}
}
