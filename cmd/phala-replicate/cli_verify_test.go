package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// rootsFile writes the emulator's test attestation root for --attestation-roots.
func rootsFile(t *testing.T, sb *sandbox) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "roots.pem")
	require.NoError(t, os.WriteFile(p, sb.srv.AttestationRootPEM(), 0o600))
	return p
}

func TestCLIVerify(t *testing.T) {
	sb := newTestSandbox(t)
	roots := rootsFile(t, sb)
	src := sb.cloudCVM.VMUUID

	t.Run("text", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), "verify", src, "--attestation-roots", roots)
		require.Equal(t, exitOK, res.code, res.stderr)
		assert.Contains(t, res.stdout, "Verified CVM "+src)
		assert.Contains(t, res.stdout, "Compose hash:  "+sb.cloudCVM.ComposeHash)
		assert.Contains(t, res.stdout, "TCB status:    Unknown (no collateral")
	})
	t.Run("json", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), "verify", "--json", src, "--attestation-roots", roots)
		require.Equal(t, exitOK, res.code, res.stderr)
		doc := oneJSON(t, res.stdout)
		assert.Equal(t, true, doc["success"])
		assert.Equal(t, src, doc["vm_uuid"])
		assert.Equal(t, sb.cloudCVM.ComposeHash, doc["expected_compose_hash"])
		result := doc["result"].(map[string]any)
		assert.Equal(t, "Unknown", result["tcb_status"])
		assert.Equal(t, true, result["compose_hash_checked"])
	})
	t.Run("Intel's root rejects the emulator's quote", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), "verify", src, "--json")
		assert.Equal(t, exitVerify, res.code, res.stderr)
		assert.Empty(t, res.stderr, "with --json the failure is the stdout document")
		assert.Contains(t, oneJSON(t, res.stdout)["error"].(map[string]any)["message"], "quote-signature")
	})
	t.Run("foreign compose hash", func(t *testing.T) {
		sb.srv.SetAttestationFault(src, phalatest.AttestationForeignComposeHash)
		defer sb.srv.SetAttestationFault(src, phalatest.AttestationGenuine)
		res := runBin(t, envFor(sb, nil), "verify", src, "--attestation-roots", roots)
		assert.Equal(t, exitVerify, res.code)
		assert.Contains(t, res.stderr, "compose-hash check failed: want "+sb.cloudCVM.ComposeHash)
	})
	t.Run("usage", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), "verify")
		assert.Equal(t, exitUsage, res.code)
		res = runBin(t, envFor(sb, nil), src, "--verify")
		assert.Equal(t, exitUsage, res.code)
		assert.Contains(t, res.stderr, "--verify needs --wait")
	})
}

func TestCLIReplicateWaitVerify(t *testing.T) {
	sb := newTestSandbox(t)
	roots := rootsFile(t, sb)
	res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--node-id", "node-a", "--wait", "--verify",
		"--attestation-roots", roots, "--json", "--poll-interval", "20ms")
	require.Equal(t, exitOK, res.code, res.stderr)
	doc := oneJSON(t, res.stdout)
	ver, ok := doc["verification"].([]any)
	require.True(t, ok, "no verification in %s", res.stdout)
	require.Len(t, ver, 1)
	v := ver[0].(map[string]any)
	assert.Equal(t, doc["vm_uuid"], v["vm_uuid"])
	assert.Equal(t, true, v["instance_checked"])
	assert.False(t, strings.Contains(res.stdout, sb.srv.APIKey()))
}
