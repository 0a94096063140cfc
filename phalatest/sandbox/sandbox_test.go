package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

func start(t *testing.T, opts ...sandbox.Option) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx, opts...)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	return sb
}

func TestStartSeedsNodesAndTheKMSRootKey(t *testing.T) {
	sb := start(t)
	assert.Equal(t, "node-a", sb.NodeA.Name)
	assert.Equal(t, "node-b", sb.NodeB.Name)
	assert.NotEqual(t, sb.NodeA.DeviceID, sb.NodeB.DeviceID)

	// The DstackKms holds the emulator's root key: a client verifies env
	// encryption keys of an on-chain app against it.
	ctx := context.Background()
	root, err := onchain.KMSRootKey(ctx, sb.Chain.Client, sb.KMS)
	require.NoError(t, err)
	assert.Equal(t, sb.Server.KMSRootPublicKey(), root)
}

func TestAddCloudAppReplicatesWithoutApproval(t *testing.T) {
	sb := start(t, sandbox.WithServerOptions(phalatest.WithProvisioningDelays(0, 0)))
	app, cvm := sb.AddCloudApp(phalatest.App{Name: "web", KMS: phalatest.KMSBase, Compose: phalatest.Compose{AllowedEnvs: []string{"GREETING"}}},
		envcrypt.EnvVar{Key: "GREETING", Value: "hello"})
	assert.Equal(t, phalatest.KMSCloud, app.KMS, "a cloud app is on Cloud KMS whatever the template says")
	assert.Equal(t, sb.NodeA.ID, cvm.NodeID)

	client, err := sb.Client()
	require.NoError(t, err)
	vm, err := client.Replicate(context.Background(), cvm.VMUUID, phala.ReplicateRequest{Node: sb.NodeB.Name})
	require.NoError(t, err)
	assert.Equal(t, "node-b", vm.TeepodName)
	assert.Equal(t, phalatest.StatusRunning, vm.Status, "WithServerOptions overrides the sandbox's delays")

	rep, ok := sb.Server.Replica(vm.VMUUID)
	require.True(t, ok)
	require.NotNil(t, rep.DecryptedEnv, "the replica inherits the source's env")
	assert.Equal(t, []envcrypt.EnvVar{{Key: "GREETING", Value: "hello"}}, rep.DecryptedEnv.Vars)
}

func TestAddOnchainAppNeedsApprovalForNodeB(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 2)
	require.NoError(t, err)
	assert.Equal(t, phalatest.KMSBase, app.App.KMS)
	assert.Equal(t, uint64(onchaintest.ChainID), app.App.ChainID)
	assert.Equal(t, sb.Chain.Accounts[2].Address, app.Owner.Address)
	assert.Equal(t, sb.PrivateKey(2), app.OwnerKey())
	key, err := crypto.HexToECDSA(app.OwnerKey())
	require.NoError(t, err)
	assert.Equal(t, app.Owner.Address, crypto.PubkeyToAddress(key.PublicKey), "the owner key signs for the owner")

	// node-a is allowed, node-b is not, and the compose hash is allowed nowhere.
	ch, err := onchain.ParseHash32(app.CVM.ComposeHash)
	require.NoError(t, err)
	for _, tt := range []struct {
		node   phalatest.Node
		device bool
	}{{sb.NodeA, true}, {sb.NodeB, false}} {
		dev, err := onchain.ParseHash32(tt.node.DeviceID)
		require.NoError(t, err)
		st, err := onchain.Status(ctx, sb.Chain.Client, app.Contract, dev, ch)
		require.NoError(t, err)
		assert.Equal(t, tt.device, st.DeviceIDAllowed, tt.node.Name)
		assert.False(t, st.ComposeHashAllowed, tt.node.Name)
	}

	client, err := sb.Client()
	require.NoError(t, err)
	_, err = client.Replicate(ctx, app.CVM.VMUUID, phala.ReplicateRequest{Node: sb.NodeB.Name})
	var pre *phala.ErrOnchainPrerequisite
	require.ErrorAs(t, err, &pre)
	assert.Empty(t, sb.Server.Replicas())
}

// The multisig flow: prepare, the Safe executes the batch (ExecuteBatch
// from the owner account), commit with the last transaction.
func TestExecuteBatchApprovesAPreparedReplica(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, 1)
	require.NoError(t, err)
	client, err := sb.Client()
	require.NoError(t, err)

	p, err := client.PrepareReplica(ctx, app.CVM.VMUUID, phala.ReplicateRequest{Node: sb.NodeB.Name})
	require.NoError(t, err)
	batch, err := onchain.SafeTransactions(p.Prerequisite(), 0)
	require.NoError(t, err)
	require.Len(t, batch.Transactions, 2, "addDevice and addComposeHash")

	receipts, err := sb.ExecuteBatch(ctx, 1, batch)
	require.NoError(t, err)
	require.Len(t, receipts, 2)
	vm, err := client.CommitPrepared(ctx, p, receipts[len(receipts)-1].TxHash.Hex())
	require.NoError(t, err)
	assert.Equal(t, "node-b", vm.TeepodName)
	assert.Len(t, sb.Server.Replicas(), 1)
}

func TestExecuteBatchRejects(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, 1)
	require.NoError(t, err)
	call := onchain.SafeTransaction{To: app.Contract.Hex(), Value: "0", Data: "0x"}
	tests := []struct {
		name    string
		account int
		batch   *onchain.SafeBatch
		want    string
	}{
		{"account out of range", 4, &onchain.SafeBatch{Transactions: []onchain.SafeTransaction{call}}, "account 4"},
		{"negative account", -1, &onchain.SafeBatch{Transactions: []onchain.SafeTransaction{call}}, "account -1"},
		{"nil batch", 1, nil, "no transaction"},
		{"empty batch", 1, &onchain.SafeBatch{}, "no transaction"},
		{"bad address", 1, &onchain.SafeBatch{Transactions: []onchain.SafeTransaction{{To: "0x12", Data: "0x"}}}, "not an address"},
		{"bad calldata", 1, &onchain.SafeBatch{Transactions: []onchain.SafeTransaction{{To: app.Contract.Hex(), Data: "zz"}}}, "calldata"},
		{"reverting call", 1, &onchain.SafeBatch{Transactions: []onchain.SafeTransaction{{To: app.Contract.Hex(), Data: "0xdeadbeef"}}}, "sending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sb.ExecuteBatch(ctx, tt.account, tt.batch)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestAddOnchainAppRejectsAnUnknownOwner(t *testing.T) {
	sb := start(t)
	for _, owner := range []int{-1, len(sb.Chain.Accounts)} {
		_, err := sb.AddOnchainApp(context.Background(), phalatest.App{}, owner)
		require.Error(t, err, owner)
		assert.Contains(t, err.Error(), "accounts")
	}
	assert.Panics(t, func() { sb.PrivateKey(len(sb.Chain.Accounts)) })
}

func TestWithChainOptions(t *testing.T) {
	sb := start(t, sandbox.WithChainOptions(onchaintest.WithAccounts(6)))
	assert.Len(t, sb.Chain.Accounts, 6)
	_, err := sb.AddOnchainApp(context.Background(), phalatest.App{}, 5)
	require.NoError(t, err)
}

func TestStartFailsWithoutAccounts(t *testing.T) {
	_, err := sandbox.Start(context.Background(), sandbox.WithChainOptions(onchaintest.WithAccounts(0)))
	require.Error(t, err)
}

func TestCloudEnvPointsAClientAtTheEmulator(t *testing.T) {
	sb := start(t)
	_, cvm := sb.AddCloudApp(phalatest.App{Name: "web"})
	for k, v := range sb.CloudEnv() {
		t.Setenv(k, v)
	}
	client, err := phala.NewClient()
	require.NoError(t, err)
	got, err := client.GetCVM(context.Background(), cvm.VMUUID)
	require.NoError(t, err)
	assert.Equal(t, cvm.VMUUID, got.VMUUID)
	sb.Close()
	sb.Close() // twice is fine
}
