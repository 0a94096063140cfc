//go:build anvil

package anvilcheck

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// sendTrips counts round trips carrying eth_sendRawTransaction and their
// entries.
func sendTrips(trips [][]string) (rounds, sends int) {
	for _, trip := range trips {
		if k := countOf(trip, "eth_sendRawTransaction"); k > 0 {
			rounds++
			sends += k
		}
	}
	return rounds, sends
}

func countOf(trip []string, method string) int {
	n := 0
	for _, m := range trip {
		if m == method {
			n++
		}
	}
	return n
}

// Point 5: a replica set (several devices, one already listed, and the
// compose hash) is registered with one batch of sends, then two devices are
// removed; running either again sends nothing.
func TestSetRegistrationOnAnvil(t *testing.T) {
	n := Start(t)
	ctx := Ctx(t)
	owner := n.NewKey(t, Ether(10))
	devices := []common.Hash{Hash(0xd1, 1), Hash(0xd1, 2), Hash(0xd1, 3), Hash(0xd1, 4)}
	app := n.Deploy(t, owner, onchaintest.AppConfig{DeviceID: devices[1]})
	p := NewProxy(t, n.URL)
	ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: p.URL})
	require.NoError(t, err)
	defer ec.Close()
	r, err := onchain.NewRegistrar(ec, owner.Signer(), onchain.WithRPCClient(rc), onchain.WithCheckedChainID(ChainID))
	require.NoError(t, err)
	req := onchain.SetPrerequisite{App: app, ChainID: ChainID, ComposeHash: compose, DeviceIDs: devices}
	p.Trips()

	reg, err := r.EnsureRegisteredSet(ctx, req)
	require.NoError(t, err)
	rounds, sends := sendTrips(p.Trips())
	assert.Equal(t, 1, rounds, "one round trip of sends")
	assert.Equal(t, 4, sends)
	var methods []string
	for _, tx := range reg.Txs {
		methods = append(methods, tx.Method+":"+tx.Arg.Hex()[2:4]+tx.Arg.Hex()[64:])
		requireMined(t, n, tx.TxHash)
	}
	assert.Equal(t, []string{"addDevice:d101", "addDevice:d103", "addDevice:d104", "addComposeHash:c001"}, methods)
	assert.Equal(t, reg.Txs[3].TxHash.Hex(), reg.CommitTransactionHash())
	st, err := onchain.ReadSetStatus(ctx, ec, app, compose, devices, onchain.WithRPCClient(rc))
	require.NoError(t, err)
	assert.True(t, st.ComposeHashAllowed)
	assert.Empty(t, st.MissingDevices(devices))

	again, err := r.EnsureRegisteredSet(ctx, req)
	require.NoError(t, err)
	assert.Empty(t, again.Txs)

	removal := onchain.DeviceRemoval{App: app, ChainID: ChainID, DeviceIDs: []common.Hash{devices[0], devices[2], devices[0]}}
	out, err := r.RemoveDevices(ctx, removal)
	require.NoError(t, err)
	require.Len(t, out.Txs, 2)
	for _, tx := range out.Txs {
		assert.Equal(t, "removeDevice", tx.Method)
		requireMined(t, n, tx.TxHash)
	}
	st, err = onchain.ReadSetStatus(ctx, ec, app, compose, devices)
	require.NoError(t, err)
	assert.Equal(t, map[common.Hash]bool{devices[0]: false, devices[1]: true, devices[2]: false, devices[3]: true}, st.DevicesListed)
	out, err = r.RemoveDevices(ctx, removal)
	require.NoError(t, err)
	assert.Empty(t, out.Txs)
}

// execute sends every transaction of a Safe batch, read back from its JSON
// as the Transaction Builder would, from k (standing in for the Safe).
func execute(t *testing.T, n *Node, k Key, b *onchain.SafeBatch) {
	t.Helper()
	raw, err := json.Marshal(b)
	require.NoError(t, err)
	var back onchain.SafeBatch
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, "31337", back.ChainID)
	for _, tx := range back.Transactions {
		require.Equal(t, "0", tx.Value)
		data, err := hexutil.Decode(tx.Data)
		require.NoError(t, err)
		n.Transact(t, k, common.HexToAddress(tx.To), data)
	}
}

// Point 5: the calldata of every batch builder, executed by the owner's key
// on a real EVM, does what the batch says.
func TestSafeBatchesOnAnvil(t *testing.T) {
	n := Start(t)
	ctx := Ctx(t)
	owner := n.NewKey(t, Ether(10))
	devices := []common.Hash{Hash(0xd1, 1), Hash(0xd1, 2), Hash(0xd1, 3)}
	at := time.Unix(1_800_000_000, 0)

	t.Run("one replica", func(t *testing.T) {
		for _, cfg := range []onchaintest.AppConfig{{}, {ComposeHash: compose}, {DeviceID: device}} {
			app := n.Deploy(t, owner, cfg)
			st, err := onchain.Status(ctx, n.Client, app, device, compose)
			require.NoError(t, err)
			b, err := onchain.SafeTransactions(Prereq(app, device, compose), 0, onchain.WithStatus(st.OnchainStatus()), onchain.WithCreatedAt(at))
			require.NoError(t, err)
			execute(t, n, owner, b)
			st, err = onchain.Status(ctx, n.Client, app, device, compose)
			require.NoError(t, err)
			assert.True(t, st.IsAllowed, "%+v", cfg)

			calls, err := onchain.RegistrationCalls(Prereq(app, device, compose), onchain.WithStatus(st.OnchainStatus()))
			assert.ErrorIs(t, err, onchain.ErrNothingToRegister)
			assert.Empty(t, calls)
		}
	})
	t.Run("replica set and removal", func(t *testing.T) {
		app := n.Deploy(t, owner, onchaintest.AppConfig{DeviceID: devices[0]})
		req := onchain.SetPrerequisite{App: app, ChainID: ChainID, ComposeHash: compose, DeviceIDs: devices}
		st, err := onchain.ReadSetStatus(ctx, n.Client, app, compose, devices)
		require.NoError(t, err)
		b, err := onchain.SafeSetTransactions(req, st, 0, onchain.WithCreatedAt(at))
		require.NoError(t, err)
		assert.Len(t, b.Transactions, 3)
		execute(t, n, owner, b)
		st, err = onchain.ReadSetStatus(ctx, n.Client, app, compose, devices)
		require.NoError(t, err)
		assert.True(t, st.ComposeHashAllowed)
		assert.Empty(t, st.MissingDevices(devices))

		removal := onchain.DeviceRemoval{App: app, ChainID: ChainID, DeviceIDs: devices[1:]}
		b, err = onchain.SafeDeviceRemovalTransactions(removal, st, 0, onchain.WithCreatedAt(at))
		require.NoError(t, err)
		execute(t, n, owner, b)
		st, err = onchain.ReadSetStatus(ctx, n.Client, app, compose, devices)
		require.NoError(t, err)
		listed := []common.Hash{}
		for _, d := range devices {
			if st.DevicesListed[d] {
				listed = append(listed, d)
			}
		}
		assert.Equal(t, devices[:1], listed)
		assert.True(t, st.ComposeHashAllowed, "removal leaves the compose hash")
		calls, err := onchain.DeviceRemovalCalls(removal, st)
		assert.ErrorIs(t, err, onchain.ErrNothingToRemove)
		assert.Empty(t, calls)
	})
}
