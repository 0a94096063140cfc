package onchain

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// EnsureRegisteredChecked overlaps the caller's check with the first chain
// read, and signs nothing unless the check passes: a check that fails before,
// during or after the read sends no transaction, and its error comes back as
// it is, without a Registration.
func TestEnsureRegisteredChecked(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP(), onchaintest.WithAutoCommit(5*time.Millisecond))
	counter, url := newRPCCounter(t, chain.URL())
	errLie := errors.New("the payload names a device the caller did not choose")

	// stateRead is closed once the state batch (the one holding eth_call and
	// eth_estimateGas) has its answer from the chain.
	var (
		mu        sync.Mutex
		stateRead chan struct{}
	)
	counter.answered = func(methods []string) {
		if slices.Contains(methods, "eth_estimateGas") {
			mu.Lock()
			defer mu.Unlock()
			select {
			case <-stateRead:
			default:
				close(stateRead)
			}
		}
	}
	waitRead := func(ctx context.Context) error {
		mu.Lock()
		ch := stateRead
		mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("the chain was not read while the check ran")
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	tests := []struct {
		name  string
		check func(context.Context) error
		want  error // nil: registered
	}{
		{name: "check passes once the read is answered", check: waitRead},
		{name: "check fails at once", check: func(context.Context) error { return errLie }, want: errLie},
		{name: "check fails after the read", check: func(ctx context.Context) error {
			if err := waitRead(ctx); err != nil {
				return err
			}
			// Long after the Registrar has the read's answer: a Registrar
			// that went on without the check would have sent by now.
			time.Sleep(300 * time.Millisecond)
			return errLie
		}, want: errLie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{})
			mu.Lock()
			stateRead = make(chan struct{})
			mu.Unlock()
			ec, rc, err := Dial(ctx, ChainConfig{ID: onchaintest.ChainID, RPCURL: url})
			require.NoError(t, err)
			defer ec.Close()
			r, err := NewRegistrar(ec, chain.Transactor(0), WithRPCClient(rc), WithCheckedChainID(onchaintest.ChainID))
			require.NoError(t, err)
			nonce, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
			require.NoError(t, err)
			counter.reset()

			reg, err := r.EnsureRegisteredChecked(ctx, prereqFor(t, app, regDevice, regCompose), tt.check)

			_, _, byMethod, _ := counter.split()
			after, nerr := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
			require.NoError(t, nerr)
			if tt.want != nil {
				assert.Same(t, tt.want, err, "the check's error, as it is")
				assert.Nil(t, reg)
				assert.Equal(t, nonce, after, "no transaction was sent")
				assert.Zero(t, byMethod["eth_sendRawTransaction"])
				return
			}
			require.NoError(t, err)
			assert.NotEqual(t, [32]byte{}, reg.DeviceTx)
			assert.Equal(t, nonce+2, after)
			assert.Equal(t, 2, byMethod["eth_sendRawTransaction"])
		})
	}
}

// A check that fails wins over a failed read, and a nil check is
// EnsureRegistered.
func TestEnsureRegisteredCheckedErrors(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	errLie := errors.New("lie")

	// The Registrar is on the simulated chain; the payload names another one.
	r, err := NewRegistrar(chain.Client, chain.Transactor(0))
	require.NoError(t, err)
	pre := prereqFor(t, app, regDevice, regCompose)
	pre.KMSInfo.ChainID = ChainIDBase
	_, err = r.EnsureRegisteredChecked(ctx, pre, func(context.Context) error { return errLie })
	assert.Same(t, errLie, err)
	_, err = r.EnsureRegisteredChecked(ctx, pre, func(context.Context) error { return nil })
	var wc *WrongChainError
	assert.ErrorAs(t, err, &wc, "a passed check leaves the read's error")

	reg, err := r.EnsureRegisteredChecked(ctx, prereqFor(t, app, regDevice, regCompose), nil)
	require.NoError(t, err)
	assert.NotEqual(t, [32]byte{}, reg.ComposeHashTx)
}
