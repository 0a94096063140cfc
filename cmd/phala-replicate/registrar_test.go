package main

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// The CLI's registrar dials the RPC endpoint (a round trip: its chain id)
// while the SDK checks the 465, and signs nothing unless the check passes;
// after a failed check it keeps no connection, so the run is not pinned to
// the chain a lying payload named.
func TestLazyRegistrarOverlapsTheCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	chain := onchaintest.NewChain(onchaintest.WithHTTP(), onchaintest.WithAutoCommit(5*time.Millisecond))
	t.Cleanup(func() { chain.Close() })

	var (
		mu      sync.Mutex
		dialled chan struct{} // closed at the first eth_chainId answer
		sent    int
	)
	proxy := onchaintest.NewRPCProxy(chain.URL(), func(methods []string) {
		mu.Lock()
		defer mu.Unlock()
		if slices.Contains(methods, "eth_chainId") {
			select {
			case <-dialled:
			default:
				close(dialled)
			}
		}
		if slices.Contains(methods, "eth_sendRawTransaction") {
			sent++
		}
	})
	t.Cleanup(proxy.Close)

	errLie := errors.New("the payload is not the source's")
	tests := []struct {
		name string
		fail bool
	}{
		{"check fails: nothing sent, nothing kept", true},
		{"check passes: registered", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
			require.NoError(t, err)
			mu.Lock()
			dialled, sent = make(chan struct{}), 0
			seen := dialled
			mu.Unlock()
			l := &lazyRegistrar{key: secret(keyHex(chain.Accounts[0])), rpcURL: proxy.URL,
				opts: []onchain.Option{onchain.WithPollInterval(10 * time.Millisecond)}}
			defer l.Close()
			check := func(ctx context.Context) error {
				select {
				case <-seen:
				case <-time.After(5 * time.Second):
					return errors.New("the endpoint was not dialled while the check ran")
				}
				if tt.fail {
					return errLie
				}
				return nil
			}
			pre := &onchain.ErrOnchainPrerequisite{AppID: app.Hex()[2:], ComposeHash: common.Hash{0xc0}.Hex()[2:],
				DeviceID: common.Hash{0xd0}.Hex()[2:], CommitToken: "tok", KMSInfo: &onchain.KMSInfo{ChainID: onchaintest.ChainID}}

			reg, err := l.EnsureRegisteredChecked(ctx, pre, check)

			mu.Lock()
			n := sent
			mu.Unlock()
			if tt.fail {
				assert.Same(t, errLie, err)
				assert.Nil(t, reg)
				assert.Zero(t, n, "nothing sent")
				assert.Nil(t, l.dialled(), "no registrar kept for the payload's chain")
				return
			}
			require.NoError(t, err)
			assert.NotEqual(t, common.Hash{}, reg.DeviceTx)
			assert.Equal(t, 1, n, "one batch of both sends")
		})
	}
}
