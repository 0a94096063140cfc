package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// A 465 naming a device that is not the chosen node's is never written into a
// Safe batch, a prepared file or a transaction, whatever the path.
func TestCLIRefusesAForeignDevice(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.autoCVM.VMUUID
	const foreign = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
	tests := []struct {
		name string
		args func(dir string) []string
	}{
		{"--safe-file without a key", func(dir string) []string {
			return []string{src, "--node-id", "node-b", "--safe-file", filepath.Join(dir, "safe.json")}
		}},
		{"--prepare-only --safe-file", func(dir string) []string {
			return []string{src, "--prepare-only", "--node-id", "node-b", "--safe-file", filepath.Join(dir, "safe.json"),
				"--prepared-file", filepath.Join(dir, "prepared.json")}
		}},
		{"--private-key", func(string) []string {
			return []string{src, "--node-id", "node-b", "--private-key", keyHex(sb.owner), "--rpc-url", sb.chain.URL()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sb.srv.FailNext(phalatest.Fault{Method: "POST", PathPrefix: replicasPath(src), DeviceID: foreign})
			res := runBin(t, envFor(sb, nil), tt.args(dir)...)
			assert.NotEqual(t, 0, res.code)
			assert.Contains(t, res.stderr, "device_id")
			assert.Contains(t, res.stderr, foreign)
			assert.Contains(t, res.stderr, "nothing was signed")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "no Safe batch and no prepared file")
			assert.NotContains(t, res.stdout, "ct_", "no commit token handed out")
			assert.Zero(t, sb.srv.PendingFaults())
			st := appStatus(t, sb, sb.autoApp.ID, sb.autoCVM.ComposeHash)
			assert.False(t, st.ComposeHashAllowed || st.DeviceIDAllowed, "no transaction was sent")
		})
	}
	assert.Empty(t, sb.srv.Replicas())
}
