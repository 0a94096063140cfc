package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// bootingTiming makes replicas go through creating and starting, so --wait
// has something to report.
var bootingTiming = sandboxTiming{autoCommit: 10 * time.Millisecond, creating: 150 * time.Millisecond, starting: 150 * time.Millisecond}

func newBootingSandbox(t *testing.T) *sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sb, err := newSandbox(ctx, bootingTiming)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	return sb
}

func TestCLIWait(t *testing.T) {
	sb := newBootingSandbox(t)
	src := sb.cloudCVM.VMUUID

	res := runBin(t, envFor(sb, nil), src, "--wait", "--poll-interval", "20ms")
	require.Equal(t, exitOK, res.code, res.stderr)
	rep := sb.srv.Replicas()[0]
	assert.Contains(t, res.stderr, "Waiting for replica "+rep.VMUUID+" to run…\n")
	iCreating, iStarting, iRunning := strings.Index(res.stderr, "  creating"), strings.Index(res.stderr, "  starting"), strings.Index(res.stderr, "  running")
	require.True(t, iCreating >= 0 && iStarting > iCreating && iRunning > iStarting, "statuses in order on stderr: %q", res.stderr)
	assert.Equal(t, 1, strings.Count(res.stderr, "  starting"), "each status once")
	assert.Contains(t, res.stdout, "Status:          running\n")
	var polls int
	for _, c := range calls(sb.srv) {
		if c == "GET /cvms/"+rep.VMUUID {
			polls++
		}
	}
	assert.GreaterOrEqual(t, polls, 3, "polled until running")

	res = runBin(t, envFor(sb, nil), src, "--wait", "--poll-interval", "20ms", "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Empty(t, res.stderr, "no progress in JSON mode")
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, "running", doc["status"])

	t.Run("boot failure", func(t *testing.T) {
		sb.srv.FailNextBoot("image pull failed")
		res := runBin(t, envFor(sb, nil), src, "--wait", "--poll-interval", "20ms")
		assert.Equal(t, exitError, res.code)
		assert.Contains(t, res.stderr, "image pull failed")
		assert.Contains(t, res.stdout, "Status:          error\n", "the replica exists: it is printed")

		sb.srv.FailNextBoot("image pull failed")
		res = runBin(t, envFor(sb, nil), src, "--wait", "--poll-interval", "20ms", "--json")
		assert.Equal(t, exitError, res.code)
		doc := oneJSON(t, res.stdout)
		assert.Equal(t, false, doc["success"])
		assert.Equal(t, "error", doc["status"])
		assert.Contains(t, doc["error"].(map[string]any)["message"], "image pull failed", "the failure is in the one stdout document")
		assert.Empty(t, res.stderr)
	})
}

func TestCLIScale(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.cloudCVM.VMUUID

	res := runBin(t, envFor(sb, nil), src, "--count", "3", "--node-id", "node-b")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Len(t, sb.srv.Replicas(), 3)
	var posts int
	for _, c := range calls(sb.srv) {
		if c == "POST "+replicasPath(src) {
			posts++
		}
	}
	assert.Equal(t, 3, posts)
	assert.Equal(t, 1, strings.Count(strings.Join(calls(sb.srv), "\n"), "GET /teepods/available"), "the node is resolved once")
	for i := 1; i <= 3; i++ {
		assert.Contains(t, res.stdout, fmt.Sprintf("Replica %d of 3\n", i))
		assert.Contains(t, res.stderr, fmt.Sprintf("  [%d/3] created ", i))
	}
	assert.Contains(t, res.stdout, "\nCreated 3 of 3 replicas.\n")

	t.Run("json with wait", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), src, "--count", "2", "--wait", "--json")
		require.Equal(t, exitOK, res.code, res.stderr)
		assert.Empty(t, res.stderr)
		doc := oneJSON(t, res.stdout)
		assert.Equal(t, true, doc["success"])
		assert.Equal(t, float64(2), doc["requested"])
		assert.Equal(t, float64(2), doc["created"])
		items := doc["replicas"].([]any)
		require.Len(t, items, 2)
		for _, it := range items {
			m := it.(map[string]any)
			assert.Equal(t, true, m["success"])
			assert.Equal(t, "running", m["status"])
		}
	})

	t.Run("a node runs out of slots half way", func(t *testing.T) {
		small := sb.srv.AddNode(phalatest.Node{Name: "node-small", Slots: 2})
		res := runBin(t, envFor(sb, nil), src, "--count", "4", "--node-id", fmt.Sprint(small.ID), "--json")
		assert.Equal(t, exitAPI, res.code)
		doc := oneJSON(t, res.stdout)
		assert.Equal(t, false, doc["success"])
		assert.Equal(t, float64(4), doc["requested"])
		assert.Equal(t, float64(2), doc["created"])
		items := doc["replicas"].([]any)
		require.Len(t, items, 4)
		var failed int
		for _, it := range items {
			m := it.(map[string]any)
			if m["success"] == false {
				failed++
				assert.Equal(t, "ERR-02-005", m["error"].(map[string]any)["code"], "skipped attempts carry the cause")
			}
		}
		assert.Equal(t, 2, failed)
		e := oneJSON(t, res.stdout)["error"].(map[string]any)
		assert.Equal(t, "ERR-02-005", e["code"])
		assert.Empty(t, res.stderr)

		res = runBin(t, envFor(sb, nil), src, "--count", "2", "--node-id", fmt.Sprint(small.ID))
		assert.Equal(t, exitAPI, res.code)
		assert.Contains(t, res.stdout, "Created 0 of 2 replicas.")
		assert.Contains(t, res.stderr, "✗ Failed to create CVM replicas")
	})
}

func TestCLIHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		res := runBin(t, nil, args...)
		assert.Equal(t, exitOK, res.code)
		assert.Empty(t, res.stderr)
		for _, want := range []string{"--node-id", "--teepod-id", "--prepare-only", "--safe-file", "--prepared-file",
			"--kms-root", "--kms-contract ADDRESS", "PHALA_CLOUD_API_PREFIX", "ETH_RPC_URL", "Exit codes:", "  4  on-chain"} {
			assert.Contains(t, res.stdout, want)
		}
	}
	res := runBin(t, nil, "version")
	assert.Equal(t, exitOK, res.code)
	assert.True(t, strings.HasPrefix(res.stdout, "phala-replicate "))
}

func TestCLINeverPrintsSecrets(t *testing.T) {
	sb := newTestSandbox(t)
	key := keyHex(sb.approver) // not the owner: the run fails after using the key
	runs := [][]string{
		{sb.autoCVM.VMUUID, "--node-id", "node-b", "--api-key", sb.srv.APIKey(), "--private-key", key, "--rpc-url", sb.chain.URL()},
		{sb.autoCVM.VMUUID, "--node-id", "node-b", "--api-key", sb.srv.APIKey(), "--private-key", "0x" + strings.ToUpper(key), "--rpc-url", sb.chain.URL(), "--json"},
		{sb.cloudCVM.VMUUID, "--api-key", sb.srv.APIKey(), "--wait"},
		{sb.cloudCVM.VMUUID, "--api-key", sb.srv.APIKey() + "x"},
		{"a", "--private-key", key[:60] + "zzzz"},
		{sb.autoCVM.VMUUID, "--node-id", "node-b", "--api-key", sb.srv.APIKey(), "--private-key", key, "--rpc-url", "http://127.0.0.1:1/v3/provider-secret"},
		{sb.autoCVM.VMUUID, "-e", "/dev/null", "--api-key", sb.srv.APIKey(), "--rpc-url", "http://127.0.0.1:1/v3/provider-secret"},
	}
	for _, args := range runs {
		env := envFor(sb, nil)
		delete(env, envAPIKey)
		res := runBin(t, env, args...)
		out := strings.ToLower(res.stdout + res.stderr)
		assert.NotContains(t, out, strings.ToLower(sb.srv.APIKey()), args)
		assert.NotContains(t, out, key[:32], args)
		assert.NotContains(t, out, "provider-secret", args)
	}
}

// demoBinary returns the path of phala-replicate built with -tags demo.
func demoBinary(t *testing.T) string {
	t.Helper()
	demoBinOnce.Do(func() {
		path := filepath.Join(binDir, "phala-replicate-demo")
		out, err := exec.Command("go", "build", "-tags", "demo", "-o", path, ".").CombinedOutput()
		if err != nil {
			demoBinError = fmt.Errorf("building phala-replicate -tags demo: %v\n%s", err, out)
			return
		}
		demoBinPath = path
	})
	require.NoError(t, demoBinError)
	return demoBinPath
}

var (
	demoBinOnce  sync.Once
	demoBinPath  string
	demoBinError error
)

func TestCLIDemo(t *testing.T) {
	res := runPath(t, demoBinary(t), nil, "demo")
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	for _, want := range []string{
		"── 1. Simple replication (Cloud KMS)",
		"GREETING=hello from the replica",
		"── 2. Onchain KMS, registered automatically",
		"PRIVATE_KEY=<demo owner key> phala-replicate ",
		"LOG_LEVEL=warn",
		"── 3. Onchain KMS owned by a multisig",
		"--prepare-only --safe-file ",
		"CVM replica prepared successfully (pending on-chain approval).",
		"  addComposeHash(0x",
		"--commit --prepared-file ",
		"── 4. Replica sets",
		"3 to create, 0 to remove, 2 kept",
		"0 to create, 3 to remove, 2 kept",
		"Done: 6 replicas created in ",
	} {
		assert.Contains(t, res.stdout, want)
	}
	assert.Equal(t, 3, strings.Count(res.stdout, "Status:          running\n"))
	assert.Contains(t, res.stderr, "→ addDevice sent: tx ")
	assert.Contains(t, res.stderr, "  running ")
	assert.Equal(t, exitUsage, runPath(t, demoBinary(t), nil, "demo", "extra").code)
}

// The installed command (built without the demo tag) does not link the
// simulated chain; its "demo" says how to run the demo and sends nothing.
func TestCLIWithoutDemoTag(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", binary(t)).Output()
	require.NoError(t, err)
	for _, pkg := range []string{"go-ethereum/ethclient/simulated.", "go-ethereum/eth.", "onchain/onchaintest.", "phalatest."} {
		assert.NotContains(t, string(out), pkg, "the CLI links %s", pkg)
	}
	res := runBin(t, nil, "demo")
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "go run -tags demo ")
	assert.Empty(t, res.stdout)
}

func TestCLIAPIKeyFlagOverridesEnvironment(t *testing.T) {
	sb := newTestSandbox(t)
	env := envFor(sb, map[string]string{envAPIKey: "stale-key-from-env"})
	for _, flag := range []string{"--api-key", "--api-token"} {
		sb.srv.ResetRequests()
		res := runBin(t, env, sb.cloudCVM.VMUUID, flag, sb.srv.APIKey(), "--json")
		require.Equal(t, exitOK, res.code, res.stderr)
		for _, r := range sb.srv.Requests() {
			assert.Equal(t, sb.srv.APIKey(), r.Header.Get("X-API-Key"))
		}
	}
}

func TestCLIPreparedFileSourceMismatch(t *testing.T) {
	sb := newTestSandbox(t)
	prepared := t.TempDir() + "/prepared.json"
	res := runBin(t, envFor(sb, nil), sb.safeCVM.VMUUID, "--prepare-only", "--node-id", "node-b", "--prepared-file", prepared)
	require.Equal(t, exitOK, res.code, res.stderr)
	sb.srv.ResetRequests()

	res = runBin(t, envFor(sb, nil), sb.autoCVM.VMUUID, "--commit", "--prepared-file", prepared)
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "is not the source of the prepared replica")
	res = runBin(t, envFor(sb, nil), "--commit", "--prepared-file", prepared, "--compose-hash", strings.Repeat("ab", 32))
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "--compose-hash differs from the prepared replica's")
	assert.Empty(t, sb.srv.Requests(), "nothing is sent")

	// The same UUID, written without dashes, is the same source.
	res = runBin(t, envFor(sb, nil), strings.ReplaceAll(sb.safeCVM.VMUUID, "-", ""), "--commit", "--prepared-file", prepared)
	assert.Equal(t, exitAPI, res.code, "accepted, then refused by the API: nothing was approved on chain")
	assert.Contains(t, res.stderr, "ERR-01-008")
}

// With PHALA_CLOUD_API_KEY set, "demo" is a real replication of the CVM the
// user names (here the emulator stands in for Phala Cloud through
// PHALA_CLOUD_API_PREFIX), waited for until it runs; without a source it is
// a usage error that sends nothing, never a guess at one of the user's CVMs.
func TestCLIDemoWithAPIKeyReplicatesTheNamedCVM(t *testing.T) {
	sb := newBootingSandbox(t)
	src := sb.cloudCVM.VMUUID

	res := runBin(t, envFor(sb, nil), "demo")
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "name the source")
	assert.Empty(t, calls(sb.srv), "nothing is sent without a source")

	res = runBin(t, envFor(sb, nil), "demo", src, "--node-id", "node-b")
	require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	assert.Contains(t, res.stdout, "Status:          running\n", "demo waits for the replica")
	assert.NotContains(t, res.stdout, "emulated Phala Cloud API", "not the emulator demo")
	assert.Contains(t, calls(sb.srv), "POST "+replicasPath(src))
	assert.Len(t, sb.srv.Replicas(), 1, "exactly one replica")
}
