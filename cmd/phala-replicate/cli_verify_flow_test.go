package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// --count N --wait --verify --json: one document, each replica with its
// verification, or its failed check and the two values compared.
func TestCLICountWaitVerifyJSON(t *testing.T) {
	tests := []struct {
		name     string
		fault    phalatest.AttestationFault
		wantCode int
		check    string // "" = each replica verified
	}{
		{"genuine", phalatest.AttestationGenuine, exitOK, ""},
		{"tampered event log", phalatest.AttestationTamperedEventLog, exitVerify, "event-digest"},
		{"foreign compose hash", phalatest.AttestationForeignComposeHash, exitVerify, "compose-hash"},
		{"bad signature", phalatest.AttestationBadSignature, exitVerify, "quote-signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newTestSandbox(t)
			roots := rootsFile(t, sb)
			sb.srv.SetAppAttestationFault(sb.cloudApp.ID, tt.fault)
			res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--count", "2", "--node-id", "node-a", "--wait", "--verify",
				"--attestation-roots", roots, "--json", "--poll-interval", "20ms")
			require.Equal(t, tt.wantCode, res.code, res.stderr)
			doc := oneJSON(t, res.stdout)
			assert.Equal(t, tt.check == "", doc["success"])
			reps, ok := doc["replicas"].([]any)
			require.True(t, ok, res.stdout)
			require.Len(t, reps, 2)
			for _, r := range reps {
				rep := r.(map[string]any)
				if tt.check == "" {
					v, ok := rep["verification"].(map[string]any)
					require.True(t, ok, "no verification in %v", rep)
					assert.Equal(t, rep["vm_uuid"], v["vm_uuid"])
					assert.Equal(t, sb.cloudCVM.ComposeHash, v["expected_compose_hash"])
					assert.Nil(t, rep["verification_failure"])
					continue
				}
				assert.Equal(t, false, rep["success"])
				f, ok := rep["verification_failure"].(map[string]any)
				require.True(t, ok, "no verification_failure in %v", rep)
				assert.Equal(t, rep["vm_uuid"], f["vm_uuid"])
				assert.Equal(t, tt.check, f["check"])
				if tt.check == "compose-hash" {
					assert.Equal(t, sb.cloudCVM.ComposeHash, f["want"])
					assert.NotEqual(t, f["want"], f["got"])
				}
				assert.Nil(t, rep["verification"])
			}
		})
	}
}

// --verify takes the attestation flags of "verify"; they are checked before any
// replica is created, and refused without --verify.
func TestCLIVerifyFlagsInTheReplicationFlow(t *testing.T) {
	sb := newTestSandbox(t)
	roots := rootsFile(t, sb)
	collateral, err := filepath.Abs("../../attest/testdata/dstack_collateral.json")
	require.NoError(t, err)
	src := sb.cloudCVM.VMUUID
	usage := []struct {
		name string
		args []string
		want string
	}{
		{"--collateral without --verify", []string{src, "--wait", "--collateral", collateral}, "--collateral is used with --verify"},
		{"--pccs without --verify", []string{src, "--pccs", "https://pccs.example"}, "--pccs is used with --verify"},
		{"--at without --verify", []string{src, "--at", "2026-08-14T00:00:00Z"}, "--at is used with --verify"},
		{"bad --at", []string{src, "--wait", "--verify", "--at", "yesterday"}, "--at must be an RFC 3339 time"},
		{"unreadable --collateral", []string{src, "--wait", "--verify", "--collateral", filepath.Join(t.TempDir(), "none.json")}, "--collateral"},
		{"--collateral that is not collateral", []string{src, "--wait", "--verify", "--collateral", roots}, "--collateral"},
	}
	for _, tt := range usage {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sb.srv.Replicas())
			res := runBin(t, envFor(sb, nil), tt.args...)
			assert.NotEqual(t, exitOK, res.code)
			assert.Contains(t, res.stderr, tt.want)
			assert.Len(t, sb.srv.Replicas(), before, "no replica created")
		})
	}
	t.Run("--at is used", func(t *testing.T) {
		// Long after the emulator's test certificates expired: the quote's chain
		// no longer verifies, which shows --at reached the verifier.
		res := runBin(t, envFor(sb, nil), src, "--node-id", "node-a", "--wait", "--verify", "--attestation-roots", roots,
			"--at", "2199-01-01T00:00:00Z", "--json", "--poll-interval", "20ms")
		assert.Equal(t, exitVerify, res.code, res.stderr)
	})
	t.Run("--collateral is used", func(t *testing.T) {
		// Intel's collateral does not cover the emulator's test platform: the TCB
		// status cannot be judged, so the check fails instead of reporting Unknown.
		res := runBin(t, envFor(sb, nil), src, "--node-id", "node-a", "--wait", "--verify", "--attestation-roots", roots,
			"--collateral", collateral, "--json", "--poll-interval", "20ms")
		assert.Equal(t, exitVerify, res.code, res.stdout+res.stderr)
		assert.Contains(t, res.stdout, "collateral check failed")
	})
}

// apply --wait --verify: every new replica is verified before any removal; the
// JSON document carries each create's verification or failed check.
func TestCLIApplyWaitVerify(t *testing.T) {
	tests := []struct {
		name     string
		fault    phalatest.AttestationFault
		wantCode int
		check    string
	}{
		{"genuine", phalatest.AttestationGenuine, exitOK, ""},
		{"foreign compose hash", phalatest.AttestationForeignComposeHash, exitVerify, "compose-hash"},
		{"bad signature", phalatest.AttestationBadSignature, exitVerify, "quote-signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newTestSandbox(t)
			roots := rootsFile(t, sb)
			sb.srv.SetAppAttestationFault(sb.cloudApp.ID, tt.fault)
			set := writeSet(t, setDocFor(sb.cloudCVM.VMUUID, `{"node": "node-a", "count": 1}, {"node": "node-b", "count": 2}`))
			res := runBin(t, envFor(sb, nil), "apply", "-f", set, "--json", "--wait", "--verify", "--attestation-roots", roots, "--poll-interval", "20ms")
			doc := oneJSON(t, res.stdout)
			creates, ok := doc["creates"].([]any)
			require.True(t, ok, res.stdout)
			require.Len(t, creates, 2)
			if tt.check == "" {
				require.Equal(t, exitOK, res.code, res.stderr)
				for _, c := range creates {
					v, ok := c.(map[string]any)["verification"].(map[string]any)
					require.True(t, ok, "no verification in %v", c)
					assert.Equal(t, sb.cloudCVM.ComposeHash, v["expected_compose_hash"])
				}
				return
			}
			assert.Equal(t, tt.wantCode, res.code, res.stderr)
			assert.Equal(t, false, doc["success"])
			assert.Equal(t, "failed", doc["status"])
			for _, c := range creates {
				f, ok := c.(map[string]any)["verification_failure"].(map[string]any)
				require.True(t, ok, "no verification_failure in %v", c)
				assert.Equal(t, tt.check, f["check"])
			}
		})
	}
}
