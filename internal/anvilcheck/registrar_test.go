//go:build anvil

package anvilcheck

import (
	"context"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

var (
	device  = Hash(0xd1, 1)
	compose = Hash(0xc0, 1)
)

// requireMined checks that h names a mined, successful transaction.
func requireMined(t *testing.T, n *Node, h common.Hash) *types.Receipt {
	t.Helper()
	require.NotEqual(t, common.Hash{}, h)
	rc, err := n.Client.TransactionReceipt(Ctx(t), h)
	require.NoError(t, err, "transaction %s not mined", h)
	require.Equal(t, types.ReceiptStatusSuccessful, rc.Status)
	return rc
}

// Point 1: the four cases of what the contract lacks, through Dial with and
// without the JSON-RPC client (batched and one call each).
func TestEnsureRegisteredOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	tests := []struct {
		name                 string
		cfg                  onchaintest.AppConfig
		wantDevice, wantHash bool
	}{
		{"both missing", onchaintest.AppConfig{}, true, true},
		{"device missing", onchaintest.AppConfig{ComposeHash: compose}, true, false},
		{"hash missing", onchaintest.AppConfig{DeviceID: device}, false, true},
		{"nothing missing", onchaintest.AppConfig{DeviceID: device, ComposeHash: compose}, false, false},
		{"any device allowed", onchaintest.AppConfig{AllowAnyDevice: true}, false, true},
		{"legacy contract", onchaintest.AppConfig{Legacy: true}, true, true},
	}
	for _, batched := range []bool{true, false} {
		for _, tt := range tests {
			name := tt.name + "/one call each"
			if batched {
				name = tt.name + "/batched"
			}
			t.Run(name, func(t *testing.T) {
				ctx := Ctx(t)
				app := n.Deploy(t, owner, tt.cfg)
				ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: n.URL})
				require.NoError(t, err)
				defer ec.Close()
				opts := []onchain.Option{onchain.WithCheckedChainID(ChainID)}
				if batched {
					opts = append(opts, onchain.WithRPCClient(rc))
				}
				r, err := onchain.NewRegistrar(ec, owner.Signer(), opts...)
				require.NoError(t, err)
				before, err := n.Client.NonceAt(ctx, owner.Address, nil)
				require.NoError(t, err)

				reg, err := r.EnsureRegistered(ctx, Prereq(app, device, compose))
				require.NoError(t, err)
				assert.Equal(t, tt.wantDevice, reg.DeviceTx != (common.Hash{}), "device tx")
				assert.Equal(t, tt.wantHash, reg.ComposeHashTx != (common.Hash{}), "compose hash tx")
				var last uint64
				for _, h := range []common.Hash{reg.DeviceTx, reg.ComposeHashTx} {
					if h != (common.Hash{}) {
						last = max(last, requireMined(t, n, h).BlockNumber.Uint64())
					}
				}
				after, err := n.Client.NonceAt(ctx, owner.Address, nil)
				require.NoError(t, err)
				sent := 0
				if tt.wantDevice {
					sent++
				}
				if tt.wantHash {
					sent++
				}
				assert.Equal(t, before+uint64(sent), after, "exactly the missing writes were sent")
				switch {
				case sent == 0:
					assert.Equal(t, onchain.AlreadyRegistered, reg.CommitTransactionHash())
				case tt.wantHash:
					assert.Equal(t, reg.ComposeHashTx.Hex(), reg.CommitTransactionHash())
					assert.Equal(t, last, reg.Block)
				default:
					assert.Equal(t, reg.DeviceTx.Hex(), reg.CommitTransactionHash())
					assert.Equal(t, last, reg.Block)
				}

				st, err := onchain.Status(ctx, ec, app, device, compose, onchain.WithRPCClient(rc), onchain.AtBlock(reg.Block))
				require.NoError(t, err)
				assert.True(t, st.IsAllowed, "%+v", st)
				set, err := onchain.ReadSetStatus(ctx, ec, app, compose, []common.Hash{device})
				require.NoError(t, err)
				assert.True(t, set.ComposeHashAllowed)
				assert.True(t, set.DeviceAllowed(device))

				again, err := r.EnsureRegistered(ctx, Prereq(app, device, compose))
				require.NoError(t, err)
				assert.Equal(t, onchain.AlreadyRegistered, again.CommitTransactionHash(), "a second run sends nothing")
			})
		}
	}
}

// Point 1: the caller's check runs beside the first read; nothing is sent
// until it has passed, and nothing at all when it fails.
func TestEnsureRegisteredCheckedOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	errMismatch := errors.New("the 465 names another app")
	tests := []struct {
		name    string
		check   error
		wantErr error
	}{
		{"check passes", nil, nil},
		{"check fails", errMismatch, errMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := Ctx(t)
			app := n.Deploy(t, owner, onchaintest.AppConfig{})
			ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: n.URL})
			require.NoError(t, err)
			defer ec.Close()
			r, err := onchain.NewRegistrar(ec, owner.Signer(), onchain.WithRPCClient(rc), onchain.WithCheckedChainID(ChainID))
			require.NoError(t, err)
			before, err := n.Client.PendingNonceAt(ctx, owner.Address)
			require.NoError(t, err)

			reg, err := r.EnsureRegisteredChecked(ctx, Prereq(app, device, compose), func(context.Context) error { return tt.check })
			st, serr := onchain.Status(ctx, ec, app, device, compose)
			require.NoError(t, serr)
			pending, nerr := n.Client.PendingNonceAt(ctx, owner.Address)
			require.NoError(t, nerr)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, reg)
				assert.Equal(t, before, pending, "no transaction sent")
				assert.False(t, st.ComposeHashAllowed || st.DeviceIDAllowed)
				return
			}
			require.NoError(t, err)
			requireMined(t, n, reg.DeviceTx)
			requireMined(t, n, reg.ComposeHashTx)
			assert.Equal(t, before+2, pending)
			assert.True(t, st.IsAllowed)
		})
	}
}
