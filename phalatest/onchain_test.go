package phalatest_test

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

// chainFixture is a server reading a simulated chain on which an app's
// DstackApp and the KMS's DstackKms are deployed.
type chainFixture struct {
	chain  *onchaintest.Chain
	owner  *bind.TransactOpts
	srv    *phalatest.Server
	node   phalatest.Node
	app    phalatest.App
	cvm    phalatest.CVM
	kms    common.Address
	device common.Hash
}

// appCompose is the fixture app's revision, known before seeding so that a
// contract can allow it at deployment.
var appCompose = phalatest.Compose{Name: "chain-app", AllowedEnvs: []string{"API_TOKEN"}}

func newChainFixture(t *testing.T, cfg onchaintest.AppConfig, opts ...phalatest.Option) *chainFixture {
	t.Helper()
	return newChainFixtureVia(t, cfg, nil, opts...)
}

// newChainFixtureVia is newChainFixture with the server reading the chain
// through via(chain) instead of the chain's own client.
func newChainFixtureVia(t *testing.T, cfg onchaintest.AppConfig, via func(*onchaintest.Chain) phalatest.ChainBackend, opts ...phalatest.Option) *chainFixture {
	t.Helper()
	ctx := context.Background()
	chain := onchaintest.NewChain()
	t.Cleanup(func() { _ = chain.Close() })
	owner := chain.Transactor(0)
	root, err := crypto.GenerateKey()
	require.NoError(t, err)
	kms, err := chain.DeployDstackKms(ctx, owner, onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&root.PublicKey)})
	require.NoError(t, err)
	appAddr, err := chain.DeployDstackApp(ctx, owner, cfg)
	require.NoError(t, err)

	var backend phalatest.ChainBackend = chain.Client
	if via != nil {
		backend = via(chain)
	}
	srv := newServer(t, append([]phalatest.Option{phalatest.WithChain(backend, onchaintest.ChainID), phalatest.WithKMSRootKey(root)}, opts...)...)
	node := srv.AddNode(phalatest.Node{Name: "tdx-1"})
	app := srv.AddApp(phalatest.App{
		ID: appAddr.Hex(), Name: "chain-app", KMS: phalatest.KMSBase, ChainID: onchaintest.ChainID,
		KMSContract: kms.Hex(), Compose: appCompose,
	})
	require.Equal(t, appCompose.Hash(), app.ComposeHash)
	cvm := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
	return &chainFixture{chain: chain, owner: owner, srv: srv, node: node, app: app, cvm: cvm,
		kms: kms, device: common.HexToHash(node.DeviceID)}
}

func (f *chainFixture) appAddress() common.Address { return common.HexToAddress(f.app.ID) }

// send mines calldata to the app contract from the owner and returns the tx hash.
func (f *chainFixture) send(t *testing.T, calldata []byte) common.Hash {
	t.Helper()
	ctx := context.Background()
	tx, err := f.chain.Transact(ctx, f.owner, f.appAddress(), calldata)
	require.NoError(t, err)
	_, err = f.chain.Mine(ctx, tx)
	require.NoError(t, err)
	return tx.Hash()
}

func (f *chainFixture) addComposeHash(t *testing.T) common.Hash {
	t.Helper()
	return f.send(t, onchain.NewDstackApp().PackAddComposeHash(common.HexToHash(f.app.ComposeHash)))
}

func (f *chainFixture) addDevice(t *testing.T) common.Hash {
	t.Helper()
	return f.send(t, onchain.NewDstackApp().PackAddDevice(f.device))
}

// prepare sends the replicate call with X-Prepare-Only and decodes the 465.
func (f *chainFixture) prepare(t *testing.T, body map[string]any) *onchain.ErrOnchainPrerequisite {
	t.Helper()
	if body == nil {
		body = map[string]any{"node_id": f.node.ID}
	}
	r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(f.cvm.VMUUID), body: body, header: map[string]string{"X-Prepare-Only": "true"}})
	require.Equal(t, phalatest.StatusPrepare, r.Status, "%s", r.Raw)
	return decodePrerequisite(t, r)
}

func decodePrerequisite(t *testing.T, r reply) *onchain.ErrOnchainPrerequisite {
	t.Helper()
	var env struct {
		Detail struct {
			ErrorCode string `json:"error_code"`
			Details   []struct {
				Field string          `json:"field"`
				Value json.RawMessage `json:"value"`
			} `json:"details"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(r.Raw, &env))
	require.Equal(t, phalatest.CodeHashRegistrationRequired, env.Detail.ErrorCode)
	m := map[string]json.RawMessage{}
	for _, d := range env.Detail.Details {
		m[d.Field] = d.Value
	}
	pre, err := onchain.PrerequisiteFromDetails(m)
	require.NoError(t, err)
	return pre
}

func (f *chainFixture) commit(t *testing.T, token, composeHash, tx string) reply {
	t.Helper()
	return post(t, f.srv, "/cvms/"+f.cvm.VMUUID+"/commit-replica", map[string]any{
		"token": token, "compose_hash": composeHash, "transaction_hash": tx,
	})
}

func TestOnchainPreparePayload(t *testing.T) {
	f := newChainFixture(t, onchaintest.AppConfig{})
	r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(f.cvm.VMUUID), body: map[string]any{"node_id": f.node.ID}, header: map[string]string{"X-Prepare-Only": "true"}})
	require.Equal(t, 465, r.Status, "%s", r.Raw)
	d := r.detail(t)
	assert.Equal(t, "ERR-01-005", d["error_code"])
	assert.Equal(t, "Compose hash registration required on-chain", d["message"])
	fields := []string{}
	for _, it := range d["details"].([]any) {
		fields = append(fields, it.(map[string]any)["field"].(string))
	}
	assert.Equal(t, []string{"compose_hash", "app_id", "device_id", "kms_info", "commit_token", "commit_url", "api_commit_url", "onchain_status"}, fields)

	pre := decodePrerequisite(t, r)
	assert.Equal(t, f.app.ComposeHash, pre.ComposeHash)
	assert.Equal(t, f.app.ID, pre.AppID)
	assert.Equal(t, strings.ToLower(f.appAddress().Hex()[2:]), pre.AppID)
	assert.Equal(t, f.node.DeviceID, pre.DeviceID)
	assert.True(t, strings.HasPrefix(pre.CommitToken, "ct_"))
	assert.Equal(t, f.srv.URL()+"/cvms/"+f.cvm.VMUUID+"/commit-replica", pre.APICommitURL)
	assert.NotEmpty(t, pre.CommitURL)
	assert.NotContains(t, pre.CommitURL, pre.CommitToken)
	require.NotNil(t, pre.KMSInfo)
	assert.Equal(t, uint64(onchaintest.ChainID), pre.KMSInfo.ChainID)
	kmsAddr, err := pre.KMSInfo.KMSContract()
	require.NoError(t, err)
	assert.Equal(t, f.kms, kmsAddr)
	// kms_info is a KMS entry, as the official SDK types it in a 465 (and as
	// /teepods/available lists KMSs), not the CVM object's kms_info.
	ki := r.details(t)["kms_info"].(map[string]any)
	assert.ElementsMatch(t, []string{"id", "slug", "url", "version", "chain_id", "kms_contract_address", "gateway_app_id"}, keys(ki))
	assert.Equal(t, float64(onchaintest.ChainID), ki["chain_id"])
	assert.Equal(t, f.kms.Hex(), ki["kms_contract_address"])
	assert.Equal(t, "base", ki["slug"])
	addr, err := pre.AppAddress()
	require.NoError(t, err)
	assert.Equal(t, f.appAddress(), addr)
	require.NotNil(t, pre.OnchainStatus)
	assert.Equal(t, onchain.OnchainStatus{}, *pre.OnchainStatus)
	assert.Empty(t, f.srv.Replicas())

	// Without X-Prepare-Only the unmet prerequisites give the same 465.
	r = post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{})
	require.Equal(t, 465, r.Status)
	assert.Empty(t, f.srv.Replicas())
}

func TestOnchainCommitFlow(t *testing.T) {
	f := newChainFixture(t, onchaintest.AppConfig{})
	pre := f.prepare(t, nil)

	// Nothing registered: the state check fails on the compose hash.
	r := f.commit(t, pre.CommitToken, pre.ComposeHash, onchain.AlreadyRegistered)
	require.Equal(t, 468, r.Status, "%s", r.Raw)
	assert.Equal(t, "ERR-01-008", r.code(t))
	assert.Equal(t, f.app.ComposeHash, r.details(t)["compose_hash"])

	composeTx := f.addComposeHash(t)
	r = f.commit(t, pre.CommitToken, pre.ComposeHash, onchain.AlreadyRegistered)
	require.Equal(t, 468, r.Status, "%s", r.Raw)
	assert.Equal(t, f.node.DeviceID, r.details(t)["device_id"], "then on the device")
	assert.Empty(t, f.srv.Replicas())

	f.addDevice(t)
	r = f.commit(t, pre.CommitToken, "0x"+pre.ComposeHash, composeTx.Hex())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	o := r.obj(t)
	assert.Equal(t, float64(f.node.ID), o["teepod_id"])
	assert.Nil(t, o["encrypted_env_pubkey"], "on-chain KMS keys come from /kms/{kms}/pubkey")
	reps := f.srv.Replicas()
	require.Len(t, reps, 1)
	assert.True(t, reps[0].Committed)
	assert.Equal(t, f.app.ComposeHash, reps[0].ComposeHash)

	// A token is single use.
	r = f.commit(t, pre.CommitToken, pre.ComposeHash, onchain.AlreadyRegistered)
	require.Equal(t, 466, r.Status)
	assert.Equal(t, "ERR-01-006", r.code(t))
	assert.Len(t, f.srv.Replicas(), 1)
}

func TestOnchainCommitTxVerification(t *testing.T) {
	f := newChainFixture(t, onchaintest.AppConfig{})
	pre := f.prepare(t, nil)
	f.addComposeHash(t)
	deviceTx := f.addDevice(t)
	otherTx := f.send(t, onchain.NewDstackApp().PackAddComposeHash(common.HexToHash(strings.Repeat("77", 32))))

	// A transaction from a non-owner with a fixed gas limit is mined and reverts.
	ctx := context.Background()
	stranger := f.chain.Transactor(1)
	stranger.GasLimit = 100_000
	revertTx, err := f.chain.Transact(ctx, stranger, f.appAddress(), onchain.NewDstackApp().PackAddComposeHash(common.HexToHash(f.app.ComposeHash)))
	require.NoError(t, err)
	f.chain.Commit()
	rc, err := f.chain.Client.TransactionReceipt(ctx, revertTx.Hash())
	require.NoError(t, err)
	require.Equal(t, types.ReceiptStatusFailed, rc.Status)

	tests := []struct {
		name string
		tx   string
	}{
		{"not a hash", "0x1234"},
		{"unknown transaction", common.HexToHash(strings.Repeat("ab", 32)).Hex()},
		{"adds another compose hash", otherTx.Hex()},
		{"reverted", revertTx.Hash().Hex()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.commit(t, pre.CommitToken, pre.ComposeHash, tt.tx)
			require.Equal(t, 467, r.Status, "%s", r.Raw)
			assert.Equal(t, "ERR-01-007", r.code(t))
			assert.Empty(t, f.srv.Replicas())
		})
	}

	// The device transaction proves an approval too; the token survived
	// the failed attempts.
	r := f.commit(t, pre.CommitToken, pre.ComposeHash, deviceTx.Hex())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
}

// laggingHead is a chain client whose latest header is one block behind, as
// go-ethereum's is for a moment after it indexed a new block's receipts.
type laggingHead struct{ simulated.Client }

func (b laggingHead) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if n == nil {
		head, err := b.BlockNumber(ctx)
		if err != nil {
			return nil, err
		}
		n = new(big.Int).SetUint64(head - 1)
	}
	return b.Client.HeaderByNumber(ctx, n)
}

// A commit whose transaction the node already has a receipt for is checked at
// least at that transaction's block, even while the node's head trails it; with
// already-registered there is no such block to go by, so the trailing head
// answers 468 (nothing is created, and the client retries).
func TestOnchainCommitReadsAtTheTransactionsBlock(t *testing.T) {
	f := newChainFixtureVia(t, onchaintest.AppConfig{}, func(c *onchaintest.Chain) phalatest.ChainBackend { return laggingHead{c.Client} })
	pre := f.prepare(t, nil)
	f.addComposeHash(t)
	deviceTx := f.addDevice(t) // the newest block: the trailing head does not show it

	r := f.commit(t, pre.CommitToken, pre.ComposeHash, onchain.AlreadyRegistered)
	require.Equal(t, 468, r.Status, "%s", r.Raw)
	assert.Equal(t, f.node.DeviceID, r.details(t)["device_id"])

	r = f.commit(t, pre.CommitToken, pre.ComposeHash, deviceTx.Hex())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	assert.Len(t, f.srv.Replicas(), 1)
}

func TestOnchainAlreadyAllowed(t *testing.T) {
	f := newChainFixture(t, onchaintest.AppConfig{AllowAnyDevice: true, ComposeHash: common.HexToHash(appCompose.Hash())})

	// With the prerequisites met, a plain replicate creates the replica.
	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"node_id": f.node.ID})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Len(t, f.srv.Replicas(), 1)

	// X-Prepare-Only still prepares, reporting that all is allowed.
	pre := f.prepare(t, nil)
	require.NotNil(t, pre.OnchainStatus)
	assert.Equal(t, onchain.OnchainStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, IsAllowed: true}, *pre.OnchainStatus)
	r = f.commit(t, pre.CommitToken, pre.ComposeHash, onchain.AlreadyRegistered)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	assert.Len(t, f.srv.Replicas(), 2)
}

func TestOnchainWithoutChainBackend(t *testing.T) {
	srv := newServer(t)
	node := srv.AddNode(phalatest.Node{})
	app := srv.AddApp(phalatest.App{ID: strings.Repeat("42", 20), KMS: phalatest.KMSBase, ChainID: 8453})
	c := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
	r := post(t, srv, replicasPath(c.VMUUID), map[string]any{})
	require.Equal(t, 465, r.Status)
	assert.NotContains(t, r.details(t), "onchain_status")
	token := r.details(t)["commit_token"]
	r = post(t, srv, "/cvms/"+c.VMUUID+"/commit-replica", map[string]any{"token": token, "compose_hash": app.ComposeHash, "transaction_hash": onchain.AlreadyRegistered})
	require.Equal(t, 467, r.Status)
	assert.Equal(t, "ERR-01-007", r.code(t))
	assert.Empty(t, srv.Replicas())
}

// TestOnchainEnv follows what a careful client does: fetch the app's env key,
// verify its signature against the KMS root key stored in the DstackKms
// contract, encrypt, prepare, register, commit; the replica sees the env.
func TestOnchainEnv(t *testing.T) {
	f := newChainFixture(t, onchaintest.AppConfig{})
	ctx := context.Background()

	kmsABI := onchain.NewDstackKms()
	out, err := f.chain.Client.CallContract(ctx, ethereum.CallMsg{To: &f.kms, Data: kmsABI.PackKmsInfo()}, nil)
	require.NoError(t, err)
	info, err := kmsABI.UnpackKmsInfo(out)
	require.NoError(t, err)
	assert.Equal(t, f.srv.KMSRootPublicKey(), info.K256Pubkey)

	var resp envcrypt.PublicKeyResponse
	r := get(t, f.srv, "/kms/base/pubkey/"+f.app.ID)
	require.Equal(t, http.StatusOK, r.Status)
	require.NoError(t, json.Unmarshal(r.Raw, &resp))
	_, err = envcrypt.VerifyPublicKey(resp, f.app.ID, [][]byte{info.K256Pubkey}, time.Now())
	require.NoError(t, err)

	blob, err := envcrypt.Encrypt(resp.PublicKey, []envVar{{Key: "API_TOKEN", Value: "s3cret"}})
	require.NoError(t, err)
	pre := f.prepare(t, map[string]any{"node_id": f.node.ID, "encrypted_env": blob})
	composeTx := f.addComposeHash(t)
	f.addDevice(t)
	c := f.commit(t, pre.CommitToken, pre.ComposeHash, composeTx.Hex())
	require.Equal(t, http.StatusOK, c.Status, "%s", c.Raw)
	rep, ok := f.srv.Replica(c.obj(t)["vm_uuid"].(string))
	require.True(t, ok)
	require.NoError(t, rep.EnvError)
	assert.Equal(t, blob, rep.EncryptedEnv)
	assert.Equal(t, map[string]string{"API_TOKEN": "s3cret"}, rep.DecryptedEnv.Map())
}

// TestChainOverJSONRPC reads the contract through a real JSON-RPC endpoint
// (the simulated chain served over HTTP), as with a dev node or a public
// chain.
func TestChainOverJSONRPC(t *testing.T) {
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithHTTP())
	t.Cleanup(func() { _ = chain.Close() })
	require.NotEmpty(t, chain.URL())
	compose := phalatest.Compose{Name: "rpc-app"}
	appAddr, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{AllowAnyDevice: true, ComposeHash: common.HexToHash(compose.Hash())})
	require.NoError(t, err)

	srv := newServer(t, phalatest.WithChainRPC(chain.URL(), onchaintest.ChainID))
	node := srv.AddNode(phalatest.Node{})
	app := srv.AddApp(phalatest.App{ID: appAddr.Hex(), Name: "rpc-app", KMS: phalatest.KMSEthereum, ChainID: onchaintest.ChainID, Compose: compose})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})

	r := post(t, srv, replicasPath(src.VMUUID), map[string]any{})
	require.Equal(t, http.StatusOK, r.Status, "the contract allows everything: %s", r.Raw)

	assert.PanicsWithValue(t, `phalatest: WithChainRPC: dialling chain 5: no known transport for URL scheme "foo"`, func() {
		phalatest.NewServer(phalatest.WithChainRPC("foo://bar", 5))
	})
}
