package onchain

import (
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// EnsureRegisteredSet sends addDevice for each device the contract does
// not allow (once, in the order given) and addComposeHash last when it is
// missing, in one batch of sends; a second call sends nothing.
func TestEnsureRegisteredSetSendsWhatIsMissing(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP())
	counter, url := newRPCCounter(t, chain.URL())
	counter.answered = func(methods []string) {
		if slices.Contains(methods, "eth_sendRawTransaction") {
			chain.Commit()
		}
	}
	d1, d2, d3 := regDevice, common.HexToHash("0x"+"e2"+regDevice.Hex()[4:]), common.HexToHash("0x"+"e3"+regDevice.Hex()[4:])

	tests := []struct {
		name    string
		cfg     onchaintest.AppConfig
		devices []common.Hash
		want    []SetTx // methods and args
	}{
		{name: "one device listed, a duplicate, compose missing", cfg: onchaintest.AppConfig{DeviceID: d2},
			devices: []common.Hash{d1, d2, d3, d1},
			want:    []SetTx{{Method: "addDevice", Arg: d1}, {Method: "addDevice", Arg: d3}, {Method: "addComposeHash", Arg: regCompose}}},
		{name: "any device allowed", cfg: onchaintest.AppConfig{AllowAnyDevice: true},
			devices: []common.Hash{d1, d2},
			want:    []SetTx{{Method: "addComposeHash", Arg: regCompose}}},
		{name: "compose allowed", cfg: onchaintest.AppConfig{ComposeHash: regCompose},
			devices: []common.Hash{d3},
			want:    []SetTx{{Method: "addDevice", Arg: d3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			app := deployApp(t, chain, tt.cfg)
			ec, rc, err := Dial(ctx, ChainConfig{ID: onchaintest.ChainID, RPCURL: url})
			require.NoError(t, err)
			defer ec.Close()
			r, err := NewRegistrar(ec, chain.Transactor(0), WithRPCClient(rc), WithCheckedChainID(onchaintest.ChainID))
			require.NoError(t, err)
			req := SetPrerequisite{App: app, ChainID: onchaintest.ChainID, ComposeHash: regCompose, DeviceIDs: tt.devices}

			counter.reset()
			reg, err := r.EnsureRegisteredSet(ctx, req)
			require.NoError(t, err)
			got := make([]SetTx, len(reg.Txs))
			for i, tx := range reg.Txs {
				assert.NotZero(t, tx.TxHash)
				got[i] = SetTx{Method: tx.Method, Arg: tx.Arg}
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.want), counter.Count("eth_sendRawTransaction"))
			sendTrips := 0
			for _, trip := range counter.Trips() {
				if slices.Contains(trip, "eth_sendRawTransaction") {
					sendTrips++
				}
			}
			assert.Equal(t, 1, sendTrips, "one batch of sends")

			counter.reset()
			again, err := r.EnsureRegisteredSet(ctx, req)
			require.NoError(t, err)
			assert.Empty(t, again.Txs)
			assert.Zero(t, counter.Count("eth_sendRawTransaction"))
		})
	}
}
