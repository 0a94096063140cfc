package phala_test

// End-to-end runs of the workflows against the phalatest emulator, which
// implements the server side of the spec independently of this package, and a
// simulated chain holding real DstackApp and DstackKms contracts.

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func requestLines(srv *phalatest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func TestEmulatorCloudKMSReplicateWithEnvAndWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := phalatest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddNode(phalatest.Node{Name: "tdx-1"})
	node2 := srv.AddNode(phalatest.Node{Name: "TDX-Frankfurt"})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud,
		Compose: phalatest.Compose{AllowedEnvs: []string{"DB_PASSWORD"}}})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, Name: "web-main"})
	c, err := srv.Client()
	require.NoError(t, err)

	vm, err := c.Replicate(ctx, "web-main", phala.ReplicateRequest{
		Node: "tdx-frankfurt",
		Env:  []envcrypt.EnvVar{{Key: "DB_PASSWORD", Value: "s3cret & more"}},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(node2.ID), vm.TeepodID)
	assert.Equal(t, []string{"GET /cvms/web-main", "GET /teepods/available", "POST /cvms/" + src.VMUUID + "/replicas"}, requestLines(srv))

	var seen []string
	running, err := c.WaitForReplica(ctx, vm.VMUUID, phala.WaitOptions{
		PollInterval: time.Millisecond,
		OnProgress:   func(cvm *phala.CVM) { seen = append(seen, cvm.Status); srv.Advance(time.Second) },
	})
	require.NoError(t, err)
	assert.Equal(t, phala.StatusRunning, running.Status)
	assert.Equal(t, "running", seen[len(seen)-1])

	rep, ok := srv.Replica(vm.VMUUID)
	require.True(t, ok)
	require.NoError(t, rep.EnvError)
	assert.Equal(t, map[string]string{"DB_PASSWORD": "s3cret & more"}, rep.DecryptedEnv.Map())
	assert.Empty(t, rep.DecryptedEnv.Skipped)
}

func TestEmulatorScaleRunsOutOfSlots(t *testing.T) {
	t.Parallel()
	srv := phalatest.NewServer()
	t.Cleanup(srv.Close)
	node := srv.AddNode(phalatest.Node{Name: "small", Slots: 3})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
	c, err := srv.Client()
	require.NoError(t, err)

	results, err := c.Scale(context.Background(), src.VMUUID, 4, phala.ReplicateRequest{Node: "small"}, phala.ScaleOptions{Concurrency: 1})
	require.Len(t, results, 4)
	require.NoError(t, results[0].Err)
	require.NoError(t, results[1].Err)
	assert.ErrorIs(t, results[2].Err, phala.ErrInsufficientSlots)
	assert.ErrorIs(t, results[3].Err, phala.ErrNotAttempted)
	assert.ErrorIs(t, results[3].Err, phala.ErrInsufficientSlots)
	var se *phala.ScaleError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 2, se.Created)
	assert.Len(t, srv.Replicas(), 2, "two replicas created; nothing duplicated")
}

// onchainWorld is an emulator serving an app on an on-chain KMS whose contracts
// live on a simulated chain.
type onchainWorld struct {
	srv   *phalatest.Server
	chain *onchaintest.Chain
	app   phalatest.App
	src   phalatest.CVM
	kms   string
}

func newOnchainWorld(t *testing.T, opts ...phalatest.Option) onchainWorld {
	t.Helper()
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(10 * time.Millisecond))
	t.Cleanup(func() { chain.Close() })
	root, err := crypto.GenerateKey()
	require.NoError(t, err)
	kms, err := chain.DeployDstackKms(ctx, chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&root.PublicKey)})
	require.NoError(t, err)
	appAddr, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
	require.NoError(t, err)

	srv := phalatest.NewServer(append([]phalatest.Option{
		phalatest.WithChain(chain.Client, onchaintest.ChainID),
		phalatest.WithKMSRootKey(root),
	}, opts...)...)
	t.Cleanup(srv.Close)
	srv.AddNode(phalatest.Node{Name: "tdx-1"})
	app := srv.AddApp(phalatest.App{ID: appAddr.Hex(), KMS: phalatest.KMSBase, ChainID: onchaintest.ChainID,
		KMSContract: kms.Hex(), Compose: phalatest.Compose{AllowedEnvs: []string{"API_KEY"}}})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID})
	return onchainWorld{srv: srv, chain: chain, app: app, src: src, kms: kms.Hex()}
}

func (w onchainWorld) registrar(t *testing.T) *onchain.Registrar {
	t.Helper()
	r, err := onchain.NewRegistrar(w.chain.Client, w.chain.Transactor(0), onchain.WithPollInterval(10*time.Millisecond))
	require.NoError(t, err)
	return r
}

func TestEmulatorOnchainAutomaticWorkflow(t *testing.T) {
	t.Parallel()
	w := newOnchainWorld(t)
	c, err := w.srv.Client(phala.WithKMSChainBackend(onchaintest.ChainID, w.chain.Client))
	require.NoError(t, err)

	vm, err := c.Replicate(context.Background(), "app_"+w.app.ID, phala.ReplicateRequest{
		Node:      "tdx-1",
		Env:       []envcrypt.EnvVar{{Key: "API_KEY", Value: "k-123"}},
		Registrar: w.registrar(t),
	})
	require.NoError(t, err)
	rep, ok := w.srv.Replica(vm.VMUUID)
	require.True(t, ok)
	assert.True(t, rep.Committed)
	require.NoError(t, rep.EnvError)
	assert.Equal(t, "k-123", rep.DecryptedEnv.Map()["API_KEY"])

	uuid := w.src.VMUUID
	assert.Equal(t, []string{
		"GET /cvms/app_" + w.app.ID,
		"GET /teepods/available",
		"GET /kms/base/pubkey/" + w.app.ID,
		"POST /cvms/" + uuid + "/replicas",
		"POST /cvms/" + uuid + "/commit-replica",
	}, requestLines(w.srv), "the source read once, the 465 checked without another read")
}

func TestEmulatorOnchainPrepareThenCommit(t *testing.T) {
	t.Parallel()
	w := newOnchainWorld(t)
	ctx := context.Background()
	c, err := w.srv.Client()
	require.NoError(t, err)

	p, err := c.PrepareReplica(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: "tdx-1"})
	require.NoError(t, err)
	assert.Empty(t, w.srv.Replicas(), "nothing created by a prepare")
	saved, err := json.Marshal(p)
	require.NoError(t, err)

	// The owner registers, possibly from a Safe; here with the registrar.
	var resumed phala.PreparedReplica
	require.NoError(t, json.Unmarshal(saved, &resumed))
	reg, err := w.registrar(t).EnsureRegistered(ctx, resumed.Prerequisite())
	require.NoError(t, err)

	vm, err := c.CommitPrepared(ctx, &resumed, reg.CommitTransactionHash())
	require.NoError(t, err)
	rep, ok := w.srv.Replica(vm.VMUUID)
	require.True(t, ok)
	assert.True(t, rep.Committed)

	// The token is used up: committing again is refused with a hint.
	_, err = c.CommitPrepared(ctx, &resumed, reg.CommitTransactionHash())
	require.ErrorIs(t, err, phala.ErrHashInvalidOrExpired)
	assert.Contains(t, err.Error(), "PrepareReplica")
}

func TestEmulatorEncryptEnvVerification(t *testing.T) {
	t.Parallel()
	w := newOnchainWorld(t)
	env := []envcrypt.EnvVar{{Key: "API_KEY", Value: "v"}}

	c, err := w.srv.Client()
	require.NoError(t, err)
	_, err = c.EncryptEnv(context.Background(), w.src.VMUUID, env)
	require.ErrorIs(t, err, phala.ErrNoKMSTrustRoot)

	c, err = w.srv.Client(phala.WithKMSChainBackend(onchaintest.ChainID, w.chain.Client))
	require.NoError(t, err)
	blob, err := c.EncryptEnv(context.Background(), w.src.VMUUID, env)
	require.NoError(t, err)
	assert.NotEmpty(t, blob)

	// A root pinned for another KMS does not vouch for this one.
	other, err := crypto.GenerateKey()
	require.NoError(t, err)
	c, err = w.srv.Client(phala.WithTrustedKMSRootKeys(pubHex(other)))
	require.NoError(t, err)
	_, err = c.EncryptEnv(context.Background(), w.src.VMUUID, env)
	require.ErrorIs(t, err, envcrypt.ErrSignatureMismatch)
	assert.True(t, strings.Contains(err.Error(), "nothing was encrypted"))
}

func pubHex(k *ecdsa.PrivateKey) string {
	return "0x" + hex.EncodeToString(crypto.CompressPubkey(&k.PublicKey))
}

// Scale with a Registrar on an Onchain KMS app: concurrent prepares would each
// get a commit token, and the service keeps only the newest per source, so all
// but one commit would fail. The first replica registers the device and the
// compose hash once; the others then find them allowed and are created by
// their POST alone.
func TestEmulatorScaleOnchainRegistersOnce(t *testing.T) {
	t.Parallel()
	w := newOnchainWorld(t)
	c, err := w.srv.Client()
	require.NoError(t, err)

	results, err := c.Scale(context.Background(), w.src.VMUUID, 4, phala.ReplicateRequest{
		Node:      "tdx-1",
		Registrar: w.registrar(t),
	}, phala.ScaleOptions{Concurrency: 4})
	require.NoError(t, err)
	require.Len(t, results, 4)
	seen := map[string]bool{}
	for _, res := range results {
		require.NoError(t, res.Err)
		seen[res.VM.VMUUID] = true
	}
	assert.Len(t, seen, 4, "four distinct replicas")
	assert.Len(t, w.srv.Replicas(), 4, "no duplicate, none lost")
	commits := 0
	for _, line := range requestLines(w.srv) {
		if strings.HasSuffix(line, "/commit-replica") {
			commits++
		}
	}
	assert.Equal(t, 1, commits, "one prepare/commit cycle, then direct creation")
}
