package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

// appStatus reads the DstackApp of app for its compose hash and node-b's
// device.
func appStatus(t *testing.T, sb *sandbox, appID, composeHash string) *onchain.AppStatus {
	t.Helper()
	ch, err := onchain.ParseHash32(composeHash)
	require.NoError(t, err)
	dev, err := onchain.ParseHash32(sb.nodeB.DeviceID)
	require.NoError(t, err)
	st, err := onchain.Status(context.Background(), sb.chain.Client, common.HexToAddress(appID), dev, ch)
	require.NoError(t, err)
	return st
}

var txHashRE = regexp.MustCompile(`^0x[0-9a-f]{64}$`)

func TestCLIAutoRegistration(t *testing.T) {
	tests := []struct {
		name string
		env  func(sb *sandbox) map[string]string
		args func(sb *sandbox) []string
		json bool
	}{
		{
			name: "flags, key with 0x",
			args: func(sb *sandbox) []string {
				return []string{sb.autoCVM.VMUUID, "--node-id", "node-b", "--private-key", "0x" + keyHex(sb.owner), "--rpc-url", sb.chain.URL()}
			},
		},
		{
			name: "flags, key without 0x, json",
			args: func(sb *sandbox) []string {
				return []string{"--private-key", keyHex(sb.owner), sb.autoCVM.VMUUID, "--rpc-url", sb.chain.URL(), "--node-id", "node-b", "--json"}
			},
			json: true,
		},
		{
			name: "PRIVATE_KEY and ETH_RPC_URL",
			env: func(sb *sandbox) map[string]string {
				return map[string]string{envPrivateKey: keyHex(sb.owner), envRPCURL: sb.chain.URL()}
			},
			args: func(sb *sandbox) []string { return []string{sb.autoCVM.VMUUID, "--node-id", "node-b"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newTestSandbox(t)
			var extra map[string]string
			if tt.env != nil {
				extra = tt.env(sb)
			}
			res := runBin(t, envFor(sb, extra), tt.args(sb)...)
			require.Equal(t, exitOK, res.code, res.stderr)

			src := sb.autoCVM.VMUUID
			// The 465 payload is checked against the source CVM before
			// anything is signed.
			assert.Equal(t, []string{"GET /teepods/available", "POST " + replicasPath(src), "GET /cvms/" + src, "POST " + commitPath(src)}, calls(sb.srv)[:4])
			commit := bodyOf(t, lastRequest(t, sb.srv, "POST", commitPath(src)))
			assert.Equal(t, sb.autoCVM.ComposeHash, strings.TrimPrefix(commit["compose_hash"].(string), "0x"))
			assert.NotEmpty(t, commit["token"])
			tx, _ := commit["transaction_hash"].(string)
			assert.Regexp(t, txHashRE, tx, "the addComposeHash transaction is sent, not already-registered")

			st := appStatus(t, sb, sb.autoApp.ID, sb.autoCVM.ComposeHash)
			assert.True(t, st.IsAllowed, "compose hash and node-b's device are allowed now")
			reps := sb.srv.Replicas()
			require.Len(t, reps, 1)
			assert.True(t, reps[0].Committed)

			if tt.json {
				assert.Empty(t, res.stderr, "no progress in JSON mode")
				doc := oneJSON(t, res.stdout)
				assert.Equal(t, true, doc["success"])
				assert.Equal(t, reps[0].VMUUID, doc["vm_uuid"])
				return
			}
			assert.Contains(t, res.stderr, "→ addDevice sent: tx 0x")
			assert.Contains(t, res.stderr, "→ addComposeHash sent: tx "+tx)
			assert.Contains(t, res.stderr, "✓ addComposeHash mined in block ")
			assert.Contains(t, res.stderr, "✓ addComposeHash confirmed")
			assert.Contains(t, res.stdout, "CVM UUID:        "+reps[0].VMUUID+"\n")
			assert.Contains(t, res.stdout, "KMS:             base\n")
			assert.NotContains(t, res.stdout+res.stderr, keyHex(sb.owner), "the private key is never printed")
		})
	}
}

func TestCLIAutoRegistrationAlreadyAllowed(t *testing.T) {
	sb := newTestSandbox(t)
	env := envFor(sb, map[string]string{envPrivateKey: keyHex(sb.owner), envRPCURL: sb.chain.URL()})
	res := runBin(t, env, sb.autoCVM.VMUUID, "--node-id", "node-a")
	require.Equal(t, exitOK, res.code, res.stderr)
	// node-a's device was allowed at deployment: only the compose hash is
	// registered.
	assert.Contains(t, res.stderr, "→ addComposeHash sent")
	assert.NotContains(t, res.stderr, "addDevice")

	// Now both are allowed: a second run needs no transaction at all.
	before := len(sb.srv.Replicas())
	res = runBin(t, env, sb.autoCVM.VMUUID, "--node-id", "node-a")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "sent: tx")
	assert.Len(t, sb.srv.Replicas(), before+1)
}

func TestCLIOnchainFailures(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.autoCVM.VMUUID
	t.Run("not the owner", func(t *testing.T) {
		args := []string{src, "--node-id", "node-b", "--private-key", keyHex(sb.approver), "--rpc-url", sb.chain.URL()}
		res := runBin(t, envFor(sb, nil), args...)
		assert.Equal(t, exitOnchain, res.code)
		assert.Empty(t, res.stdout)
		assert.Contains(t, res.stderr, "is not the owner of DstackApp")
		assert.Contains(t, res.stderr, "phala-replicate "+src+" --commit --token ct_", "says how to commit later")
		assert.NotContains(t, res.stdout+res.stderr, keyHex(sb.approver))

		res = runBin(t, envFor(sb, nil), append(args, "--json")...)
		assert.Equal(t, exitOnchain, res.code)
		assert.Empty(t, res.stderr)
		e := oneJSON(t, res.stdout)["error"].(map[string]any)
		assert.Equal(t, "onchain", e["type"])
		resume := e["resume"].(map[string]any)
		assert.Equal(t, src, resume["source_vm_uuid"])
		assert.NotEmpty(t, resume["commit_token"])
		assert.NotContains(t, resume, "transaction_hash", "nothing was sent")
		assert.False(t, appStatus(t, sb, sb.autoApp.ID, sb.autoCVM.ComposeHash).ComposeHashAllowed)
	})
	t.Run("no RPC URL for the chain", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), src, "--node-id", "node-b", "--private-key", keyHex(sb.owner))
		assert.Equal(t, exitOnchain, res.code)
		assert.Contains(t, res.stderr, "no RPC URL for chain 1337")
		assert.Contains(t, res.stderr, "--rpc-url")
	})
	t.Run("RPC endpoint down", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), src, "--node-id", "node-b", "--private-key", keyHex(sb.owner), "--rpc-url", "http://127.0.0.1:1")
		assert.Equal(t, exitOnchain, res.code)
		assert.Contains(t, res.stderr, "127.0.0.1:1")
	})
	assert.Empty(t, sb.srv.Replicas(), "no replica without approval")
}

func TestCLIRegistrationRequiredWithoutKey(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.autoCVM.VMUUID
	safe := filepath.Join(t.TempDir(), "safe.json")

	res := runBin(t, envFor(sb, nil), src, "--node-id", "node-b", "--safe-file", safe)
	assert.Equal(t, exitOnchain, res.code)
	assert.True(t, strings.HasPrefix(res.stdout, "CVM replica prepared successfully (pending on-chain approval).\n"))
	assert.Contains(t, res.stdout, "Compose Hash:    0x"+sb.autoCVM.ComposeHash+"\n")
	assert.Contains(t, res.stdout, "Device ID:       0x"+strings.TrimPrefix(sb.nodeB.DeviceID, "0x")+"\n")
	assert.Contains(t, res.stdout, "Commit Token:    ct_")
	assert.Contains(t, res.stdout, "Safe batch written to "+safe+" (addDevice, addComposeHash).")
	assert.Contains(t, res.stderr, "on-chain registration required: compose hash and device not registered")
	assert.Equal(t, []string{"GET /teepods/available", "POST " + replicasPath(src), "GET /cvms/" + src}, calls(sb.srv))
	assert.Equal(t, "", lastRequest(t, sb.srv, "POST", replicasPath(src)).Header.Get("X-Prepare-Only"))
	assertSafeBatch(t, sb, safe, sb.autoApp.ID, sb.autoCVM.ComposeHash)

	res = runBin(t, envFor(sb, nil), src, "--node-id", "node-b", "--json")
	assert.Equal(t, exitOnchain, res.code)
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, false, doc["success"])
	assert.Equal(t, true, doc["prepare_only"])
	assert.Equal(t, sb.autoCVM.ComposeHash, doc["composeHash"], "values exactly as the server sent them")
	assert.Equal(t, src, doc["sourceVmUuid"])
	assert.NotEmpty(t, doc["commitToken"])
	assert.Equal(t, map[string]any{"compose_hash_allowed": false, "device_id_allowed": false, "is_allowed": false}, doc["onchainStatus"])
	e := doc["error"].(map[string]any)
	assert.Equal(t, "ERR-01-005", e["code"], "what is missing is in the same document as the payload")
	assert.Empty(t, res.stderr, "one document, on stdout")
}

// assertSafeBatch checks a Safe Transaction Builder file: chain, targets,
// and calldata that decodes to addDevice(node-b) and addComposeHash(hash).
func assertSafeBatch(t *testing.T, sb *sandbox, path, appID, composeHash string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var batch onchain.SafeBatch
	require.NoError(t, json.Unmarshal(b, &batch))
	assert.Equal(t, "1337", batch.ChainID)
	require.Len(t, batch.Transactions, 2)
	d := onchain.NewDstackApp()
	for i, want := range []struct{ method, arg string }{{"addDevice", sb.nodeB.DeviceID}, {"addComposeHash", composeHash}} {
		tx := batch.Transactions[i]
		assert.Equal(t, common.HexToAddress(appID), common.HexToAddress(tx.To))
		assert.Equal(t, "0", tx.Value)
		assert.Equal(t, want.method, tx.ContractMethod.Name)
		arg, err := onchain.ParseHash32(want.arg)
		require.NoError(t, err)
		wantData := d.PackAddDevice(arg)
		if want.method == "addComposeHash" {
			wantData = d.PackAddComposeHash(arg)
		}
		assert.Equal(t, hexutil.Encode(wantData), tx.Data)
	}
}

// sendBatch executes a Safe batch from the approver (the DstackApp owner of
// the multisig app) and returns the last transaction hash.
func sendBatch(t *testing.T, sb *sandbox, path string) string {
	t.Helper()
	_, receipts, err := sb.demo.Approve(context.Background(), path)
	require.NoError(t, err)
	return receipts[len(receipts)-1].TxHash.Hex()
}

func TestCLIMultisigFlow(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.safeCVM.VMUUID
	dir := t.TempDir()
	safe, prepared := filepath.Join(dir, "safe.json"), filepath.Join(dir, "prepared.json")

	res := runBin(t, envFor(sb, nil), src, "--prepare-only", "--node-id", "node-b", "--safe-file", safe, "--prepared-file", prepared)
	require.Equal(t, exitOK, res.code, res.stderr)
	post := lastRequest(t, sb.srv, "POST", replicasPath(src))
	assert.Equal(t, "true", post.Header.Get("X-Prepare-Only"))
	assert.Equal(t, map[string]any{"node_id": float64(sb.nodeB.ID)}, bodyOf(t, post))
	assert.Empty(t, sb.srv.Replicas(), "prepare creates nothing")
	assert.Contains(t, res.stdout, "CVM replica prepared successfully (pending on-chain approval).\n")
	assert.Contains(t, res.stdout, "Expires:         ")
	assert.Contains(t, res.stdout, "phala-replicate --commit --prepared-file "+prepared+" --transaction-hash <tx-hash>\n")
	assertSafeBatch(t, sb, safe, sb.safeApp.ID, sb.safeCVM.ComposeHash)

	fi, err := os.Stat(prepared)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the prepared file holds the token")
	var p struct {
		SourceVMUUID string `json:"source_vm_uuid"`
		CommitToken  string `json:"commit_token"`
		ComposeHash  string `json:"compose_hash"`
		ExpiresAt    string `json:"expires_at"`
	}
	b, err := os.ReadFile(prepared)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &p))
	assert.Equal(t, src, p.SourceVMUUID)
	assert.NotEmpty(t, p.CommitToken)
	assert.NotEmpty(t, p.ExpiresAt)

	tx := sendBatch(t, sb, safe)
	sb.srv.ResetRequests()
	res = runBin(t, envFor(sb, nil), "--commit", "--prepared-file", prepared, "--transaction-hash", tx, "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Empty(t, res.stderr)
	assert.Equal(t, []string{"POST " + commitPath(src)}, calls(sb.srv))
	assert.Equal(t, map[string]any{"token": p.CommitToken, "compose_hash": p.ComposeHash, "transaction_hash": tx},
		bodyOf(t, lastRequest(t, sb.srv, "POST", commitPath(src))))
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, true, doc["success"])
	reps := sb.srv.Replicas()
	require.Len(t, reps, 1)
	assert.True(t, reps[0].Committed)
	assert.Equal(t, reps[0].VMUUID, doc["vm_uuid"])

	// The token is used: committing again is the API's 466.
	res = runBin(t, envFor(sb, nil), "--commit", "--prepared-file", prepared, "--transaction-hash", tx)
	assert.Equal(t, exitAPI, res.code)
	assert.Contains(t, res.stderr, "✗ Failed to commit CVM replica\nError [ERR-01-006]")
}

func TestCLICommitWithFlags(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.safeCVM.VMUUID
	dir := t.TempDir()
	safe := filepath.Join(dir, "safe.json")

	prepare := func(t *testing.T) map[string]any {
		t.Helper()
		res := runBin(t, envFor(sb, nil), src, "--prepare-only", "--node-id", "node-b", "--safe-file", safe, "-j")
		require.Equal(t, exitOK, res.code, res.stderr)
		doc := oneJSON(t, res.stdout)
		assert.Equal(t, true, doc["success"])
		assert.Equal(t, true, doc["prepare_only"])
		return doc
	}
	doc := prepare(t)
	assert.Equal(t, safe, doc["safeFile"])
	tx := sendBatch(t, sb, safe)
	hash := "0x" + doc["composeHash"].(string)

	t.Run("app id resolved to the one instance, explicit transaction hash", func(t *testing.T) {
		sb.srv.ResetRequests()
		res := runBin(t, envFor(sb, nil), "app_"+sb.safeApp.ID, "--commit", "--token", doc["commitToken"].(string), "--compose-hash", hash, "--transaction-hash", tx)
		require.Equal(t, exitOK, res.code, res.stderr)
		assert.Equal(t, []string{"GET /apps/" + sb.safeApp.ID + "/cvms", "POST " + commitPath(src)}, calls(sb.srv)[:2])
		assert.Equal(t, map[string]any{"token": doc["commitToken"], "compose_hash": hash, "transaction_hash": tx},
			bodyOf(t, lastRequest(t, sb.srv, "POST", commitPath(src))))
		assert.Contains(t, res.stdout, "Source CVM ID:   app_"+sb.safeApp.ID+"\n")
	})
	t.Run("uuid, default already-registered", func(t *testing.T) {
		doc := prepare(t)
		assert.Nil(t, doc["safeFile"], "everything is allowed: no batch to write")
		assert.Equal(t, true, doc["onchainStatus"].(map[string]any)["is_allowed"])
		sb.srv.ResetRequests()
		res := runBin(t, envFor(sb, nil), src, "--commit", "--token", doc["commitToken"].(string), "--compose-hash", hash)
		require.Equal(t, exitOK, res.code, res.stderr)
		assert.Equal(t, "POST "+commitPath(src), calls(sb.srv)[0])
		assert.Equal(t, "already-registered", bodyOf(t, lastRequest(t, sb.srv, "POST", commitPath(src)))["transaction_hash"])
	})
	t.Run("app id with several instances of that compose hash", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), sb.safeApp.ID, "--commit", "--token", "t", "--compose-hash", hash)
		assert.Equal(t, exitUsage, res.code)
		assert.Contains(t, res.stderr, "pass the UUID of the one the replica was prepared from")
	})
	t.Run("unknown token", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), src, "--commit", "--token", "ct_nope", "--compose-hash", hash, "--json")
		assert.Equal(t, exitAPI, res.code)
		assert.Empty(t, res.stderr)
		e := oneJSON(t, res.stdout)["error"].(map[string]any)
		assert.Equal(t, "ERR-01-006", e["code"])
		assert.Equal(t, float64(466), e["status"])
	})
	t.Run("name resolved with GET /cvms/{name}, as the official CLI does", func(t *testing.T) {
		doc := prepare(t)
		sb.srv.ResetRequests()
		res := runBin(t, envFor(sb, nil), sb.safeCVM.Name, "--commit", "--token", doc["commitToken"].(string), "--compose-hash", hash)
		require.Equal(t, exitOK, res.code, res.stderr)
		assert.Equal(t, []string{"GET /cvms/" + sb.safeCVM.Name, "POST " + commitPath(src)}, calls(sb.srv)[:2])
	})
	t.Run("unknown name", func(t *testing.T) {
		sb.srv.ResetRequests()
		res := runBin(t, envFor(sb, nil), "no-such-cvm", "--commit", "--token", "t", "--compose-hash", hash)
		assert.Equal(t, exitAPI, res.code)
		assert.Contains(t, res.stderr, "✗ Failed to commit CVM replica")
		assert.Equal(t, []string{"GET /cvms/no-such-cvm"}, calls(sb.srv), "nothing is committed")
	})
	t.Run("prepared file that is not one", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(`{"x":1}`), 0o600))
		res := runBin(t, envFor(sb, nil), "--commit", "--prepared-file", bad)
		assert.Equal(t, exitUsage, res.code)
		assert.Contains(t, res.stderr, "is not a prepared replica file")
	})
}

func TestCLIPrepareOnlyCloudKMSCreates(t *testing.T) {
	sb := newTestSandbox(t)
	res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--prepare-only")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "nothing to approve: the server created the replica directly")
	require.Len(t, sb.srv.Replicas(), 1)
	assert.Contains(t, res.stdout, "CVM UUID:        "+sb.srv.Replicas()[0].VMUUID+"\n")
	assert.NotContains(t, res.stdout, "prepared successfully")
}

func TestCLIOnchainEnvKeyVerification(t *testing.T) {
	sb := newTestSandbox(t)
	dir := t.TempDir()
	envPath := filepath.Join(dir, "a.env")
	require.NoError(t, os.WriteFile(envPath, []byte("LOG_LEVEL=trace\n"), 0o600))
	otherRoot, err := crypto.GenerateKey()
	require.NoError(t, err)

	src := sb.autoCVM.VMUUID
	base := []string{src, "--node-id", "node-a", "-e", envPath, "--private-key", keyHex(sb.owner)}
	tests := []struct {
		name     string
		extra    []string
		wantCode int
		wantErr  string
	}{
		{"no trust root", []string{"--rpc-url", "http://127.0.0.1:1"}, exitUsage, "no trusted KMS root key"},
		{"pinned root", []string{"--kms-root", hex.EncodeToString(sb.srv.KMSRootPublicKey()), "--rpc-url", sb.chain.URL()}, exitOK, ""},
		{"root from DstackKms over --rpc-url", []string{"--rpc-url", sb.chain.URL()}, exitOK, ""},
		{"wrong pinned root", []string{"--kms-root", hex.EncodeToString(crypto.CompressPubkey(&otherRoot.PublicKey)), "--rpc-url", "http://127.0.0.1:1"}, exitAPI, "signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sb.srv.Replicas())
			res := runBin(t, envFor(sb, nil), append(append([]string{}, base...), tt.extra...)...)
			require.Equal(t, tt.wantCode, res.code, res.stderr)
			if tt.wantCode != exitOK {
				assert.Contains(t, res.stderr, tt.wantErr)
				assert.Len(t, sb.srv.Replicas(), before, "nothing replicated")
				for _, c := range calls(sb.srv) {
					assert.NotContains(t, c, "POST "+replicasPath(src)+"x")
				}
				return
			}
			reps := sb.srv.Replicas()
			require.Len(t, reps, before+1)
			assert.Equal(t, "trace", reps[len(reps)-1].DecryptedEnv.Map()["LOG_LEVEL"])
		})
	}
	t.Run("explicit opt-out", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), src, "--node-id", "node-a", "-e", envPath, "--insecure-skip-kms-verify", "--private-key", keyHex(sb.owner), "--rpc-url", sb.chain.URL())
		require.Equal(t, exitOK, res.code, res.stderr)
	})
}

func TestCLIScaleWithAutoRegistration(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.autoCVM.VMUUID
	res := runBin(t, envFor(sb, map[string]string{envPrivateKey: keyHex(sb.owner), envRPCURL: sb.chain.URL()}),
		src, "--count", "3", "--node-id", "node-b", "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, float64(3), doc["created"])
	reps := sb.srv.Replicas()
	require.Len(t, reps, 3)
	// One registration for all of them: the first replica is committed
	// after it, the others are created at once since the contract allows
	// them (concurrent prepares would supersede each other's tokens).
	assert.True(t, reps[0].Committed)
	assert.False(t, reps[1].Committed)
	assert.False(t, reps[2].Committed)
	txs := map[string]bool{}
	for _, r := range sb.srv.Requests() {
		if r.Method == "POST" && r.Path == commitPath(src) {
			var body map[string]any
			require.NoError(t, json.Unmarshal(r.Body, &body))
			txs[body["transaction_hash"].(string)] = true
		}
	}
	delete(txs, "already-registered")
	assert.Len(t, txs, 1, "the contract was written once")
	assert.True(t, appStatus(t, sb, sb.autoApp.ID, sb.autoCVM.ComposeHash).IsAllowed)
}

func TestCLIKMSContractPin(t *testing.T) {
	sb := newTestSandbox(t)
	ctx := context.Background()
	dir := t.TempDir()
	envPath := filepath.Join(dir, "a.env")
	require.NoError(t, os.WriteFile(envPath, []byte("LOG_LEVEL=trace\n"), 0o600))

	// A compromised API names a DstackKms contract of its own in kms_info.
	// (The emulator has one root key, so the rogue contract publishes it
	// too: without a pin the client would trust it.)
	rogueKMS, err := sb.chain.DeployDstackKms(ctx, sb.chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: sb.srv.KMSRootPublicKey()})
	require.NoError(t, err)
	dev, err := onchain.ParseHash32(sb.nodeA.DeviceID)
	require.NoError(t, err)
	rogueAppAddr, err := sb.chain.DeployDstackApp(ctx, sb.chain.Transactor(0), onchaintest.AppConfig{DeviceID: dev})
	require.NoError(t, err)
	rogueApp := sb.srv.AddApp(phalatest.App{
		ID: rogueAppAddr.Hex(), Name: "rogue-kms", KMS: phalatest.KMSBase,
		ChainID: onchaintest.ChainID, KMSContract: rogueKMS.Hex(),
		Compose: phalatest.Compose{DockerCompose: "services:\n  r:\n    image: r:1\n", AllowedEnvs: []string{"LOG_LEVEL"}},
	})
	rogueCVM := sb.srv.AddCVM(phalatest.CVM{AppID: rogueApp.ID, NodeID: sb.nodeA.ID})

	tests := []struct {
		name     string
		src      string
		pin      string // --kms-contract, "" = none
		json     bool
		wantCode int
	}{
		{"pinned contract is the app's", sb.autoCVM.VMUUID, sb.kms.Hex(), false, exitOK},
		{"pin given without 0x, lower case", sb.autoCVM.VMUUID, strings.ToLower(sb.kms.Hex()[2:]), false, exitOK},
		{"no pin: the API's contract is read", rogueCVM.VMUUID, "", false, exitOK},
		{"API names another contract", rogueCVM.VMUUID, sb.kms.Hex(), false, exitAPI},
		{"API names another contract, json", rogueCVM.VMUUID, sb.kms.Hex(), true, exitAPI},
		{"pin names another contract", sb.autoCVM.VMUUID, rogueKMS.Hex(), false, exitAPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{tt.src, "--node-id", "node-a", "-e", envPath, "--private-key", keyHex(sb.owner), "--rpc-url", sb.chain.URL()}
			if tt.pin != "" {
				args = append(args, "--kms-contract", tt.pin)
			}
			if tt.json {
				args = append(args, "--json")
			}
			before := len(sb.srv.Replicas())
			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, nil), args...)
			require.Equal(t, tt.wantCode, res.code, res.stderr)
			if tt.wantCode == exitOK {
				reps := sb.srv.Replicas()
				require.Len(t, reps, before+1)
				assert.Equal(t, "trace", reps[len(reps)-1].DecryptedEnv.Map()["LOG_LEVEL"])
				return
			}
			assert.Len(t, sb.srv.Replicas(), before, "nothing replicated")
			for _, c := range calls(sb.srv) {
				assert.NotEqual(t, "POST "+replicasPath(tt.src), c, "nothing sent for replication")
			}
			if tt.json {
				assert.Empty(t, res.stderr)
				var doc jsonError
				require.NoError(t, json.Unmarshal([]byte(res.stdout), &doc), res.stdout)
				assert.Equal(t, "api", doc.Error.Type)
				assert.Equal(t, exitAPI, doc.Error.ExitCode)
				assert.Contains(t, doc.Error.Message, "pinned")
				return
			}
			assert.Contains(t, res.stderr, "DstackKms contract other than the pinned one")
		})
	}
}

// TestCLIScaleWithAutoRegistrationIsConcurrentAfterTheFirst checks that
// --count with a private key registers once (the first replica alone) and
// then creates the others concurrently: with every request delayed, the
// later POSTs arrive together rather than one latency apart.
func TestCLIScaleWithAutoRegistrationIsConcurrentAfterTheFirst(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.autoCVM.VMUUID
	const latency = 400 * time.Millisecond
	sb.srv.SetLatency(latency)
	res := runBin(t, envFor(sb, map[string]string{envPrivateKey: keyHex(sb.owner), envRPCURL: sb.chain.URL()}),
		src, "--count", "4", "--node-id", "node-b", "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, float64(4), oneJSON(t, res.stdout)["created"])
	require.Len(t, sb.srv.Replicas(), 4)

	var posts []time.Time
	commits := 0
	for _, r := range sb.srv.Requests() {
		switch {
		case r.Method == "POST" && r.Path == replicasPath(src):
			posts = append(posts, r.Time)
		case r.Method == "POST" && r.Path == commitPath(src):
			commits++
		}
	}
	// The first replica: a prepare answered 465, registration, one commit.
	// The three others: one POST each, created at once.
	require.Len(t, posts, 4)
	assert.Equal(t, 1, commits)
	later := posts[1:]
	span := later[len(later)-1].Sub(later[0])
	assert.Less(t, span, latency, "the replicas after the first are created concurrently (POSTs %v apart)", span)
	assert.True(t, appStatus(t, sb, sb.autoApp.ID, sb.autoCVM.ComposeHash).IsAllowed)
}
