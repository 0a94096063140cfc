package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
)

// plan/apply --prune-devices: scaling a set down so that node-b no longer
// hosts a replica takes node-b's device (and only it) off the DstackApp
// allow-list: with the owner key in one send, without it as ONE Safe batch
// holding that removeDevice call. plan lists it and writes nothing.
func TestCLIApplyPruneDevices(t *testing.T) {
	tests := []struct {
		name  string
		owner int  // chain account owning the DstackApp
		key   bool // --private-key (else --safe-file)
	}{
		{"owner key", 0, true},
		{"safe file", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sb := newTestSandbox(t)
			app := sb.autoApp
			if !tt.key {
				app = sb.safeApp
			}
			contract := common.HexToAddress(app.ID)
			nodeC := sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
			dev := func(n phalatest.Node) common.Hash { return common.HexToHash(n.DeviceID) }
			d := onchain.NewDstackApp()
			for _, n := range []phalatest.Node{sb.nodeB, nodeC} { // node-a is allowed already
				tx, err := sb.chain.Transact(ctx, sb.chain.Transactor(tt.owner), contract, d.PackAddDevice(dev(n)))
				require.NoError(t, err)
				_, err = sb.chain.Mine(ctx, tx)
				require.NoError(t, err)
			}
			onB := sb.srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: sb.nodeB.ID})
			sb.srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: nodeC.ID})
			listed := func() map[common.Hash]bool {
				st, err := onchain.ReadSetStatus(ctx, sb.chain.Client, contract, common.Hash{}, []common.Hash{dev(sb.nodeA), dev(sb.nodeB), dev(nodeC)})
				require.NoError(t, err)
				return st.DevicesListed
			}
			allListed := map[common.Hash]bool{dev(sb.nodeA): true, dev(sb.nodeB): true, dev(nodeC): true}
			require.Equal(t, allListed, listed())

			// node-b loses its replica; node-a and node-c keep theirs.
			set := writeSet(t, setDocFor("app_"+app.ID, `{"node": "node-a", "count": 1}, {"node": "node-c", "count": 1}`))
			rpc := map[string]string{envRPCURL: sb.chain.URL()}
			wantDev := dev(sb.nodeB).Hex()

			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, rpc), "plan", "-f", set, "--prune-devices", "--json")
			require.Equal(t, exitOK, res.code, res.stderr)
			doc := oneJSON(t, res.stdout)
			plan := doc["plan"].(map[string]any)
			assert.Equal(t, []any{wantDev}, plan["onchain"].(map[string]any)["remove_devices"])
			assert.Empty(t, writesTo(sb.srv), "plan is read-only")
			assert.Equal(t, allListed, listed(), "plan sends no transaction")

			// Without a key nor --safe-file the pruning cannot be done: nothing is removed.
			res = runBin(t, envFor(sb, rpc), "apply", "-f", set, "--prune-devices", "--auto-approve")
			assert.Equal(t, exitOnchain, res.code, res.stderr)
			assert.Contains(t, res.stderr, "--prune-devices")
			assert.Empty(t, writesTo(sb.srv))

			// Pruning is confirmed like a removal.
			args := []string{"apply", "-f", set, "--prune-devices", "--json"}
			env := envFor(sb, rpc)
			safe := filepath.Join(t.TempDir(), "prune.safe.json")
			if tt.key {
				env[envPrivateKey] = keyHex(sb.owner)
			} else {
				args = append(args, "--safe-file", safe)
			}
			res = runBin(t, env, args...)
			assert.Equal(t, exitNotConfirmed, res.code, res.stderr)
			assert.Empty(t, writesTo(sb.srv))

			res = runBin(t, env, append(args, "--auto-approve")...)
			require.Equal(t, exitOK, res.code, res.stderr)
			doc = oneJSON(t, res.stdout)
			assert.Equal(t, true, doc["success"])
			assert.Equal(t, "applied", doc["status"])
			assert.Equal(t, []string{"DELETE /cvms/" + onB.VMUUID}, writesTo(sb.srv))
			prune := doc["prune"].(map[string]any)
			assert.Equal(t, []any{wantDev}, prune["devices"], "the JSON document names the pruned device")
			assert.NotContains(t, res.stdout+res.stderr, keyHex(sb.owner))

			if tt.key {
				assert.Len(t, prune["registration"].(map[string]any)["txs"], 1, "one removeDevice, one send")
				assert.NoFileExists(t, safe)
			} else {
				assert.Nil(t, prune["registration"])
				assert.Equal(t, allListed, listed(), "nothing changes before the Safe executes the batch")
				var batch onchain.SafeBatch
				b, err := os.ReadFile(safe)
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(b, &batch))
				require.Len(t, batch.Transactions, 1, "exactly node-b's removeDevice")
				tx := batch.Transactions[0]
				assert.Equal(t, contract, common.HexToAddress(tx.To))
				assert.Equal(t, "removeDevice", tx.ContractMethod.Name)
				assert.Equal(t, hexutil.Encode(d.PackRemoveDevice(dev(sb.nodeB))), tx.Data)
				sendBatch(t, sb, safe)
			}
			assert.Equal(t, map[common.Hash]bool{dev(sb.nodeA): true, dev(sb.nodeB): false, dev(nodeC): true}, listed(),
				"only the device that hosts nothing any more is removed")
			assert.Equal(t, map[string]int{"node-a": 1, "node-c": 1}, liveOn(t, sb, app.ID))

			// A rerun has nothing left to prune.
			res = runBin(t, env, "apply", "-f", set, "--prune-devices")
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Contains(t, res.stdout, "Nothing to do")
		})
	}
}

func TestCLIHelpPruneDevices(t *testing.T) {
	res := runBin(t, nil, "--help")
	require.Equal(t, exitOK, res.code)
	for _, want := range []string{"--prune-devices", "removeDevice batch"} {
		assert.Contains(t, res.stdout, want)
	}
}
