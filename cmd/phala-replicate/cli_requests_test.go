package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Text mode prints what the workflow already read: it sends exactly the
// requests --json sends, for every kind of source and option (issue 12: it
// used to read the app's instances after every success for the team and KMS
// lines).
func TestCLITextAndJSONSendTheSameRequests(t *testing.T) {
	sb := newTestSandbox(t)
	envFile := filepath.Join(t.TempDir(), "replica.env")
	require.NoError(t, os.WriteFile(envFile, []byte("GREETING=hi\n"), 0o600))
	tests := []struct {
		name string
		args []string
		team string // the Team line of the text output
	}{
		{"uuid", []string{sb.cloudCVM.VMUUID}, "-"},
		{"name", []string{sb.cloudCVM.Name}, "Default Workspace (default)"},
		{"env override", []string{sb.cloudCVM.VMUUID, "-e", envFile}, "Default Workspace (default)"},
		{"node name", []string{sb.cloudCVM.Name, "--node-id", "node-b"}, "Default Workspace (default)"},
		{"count", []string{sb.cloudCVM.Name, "--count", "2"}, "Default Workspace (default)"},
		{"wait", []string{sb.cloudCVM.VMUUID, "--wait"}, "Default Workspace (default)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent [2][]string
			for i, mode := range []string{"text", "json"} {
				args := tt.args
				if mode == "json" {
					args = append(append([]string{}, args...), "--json")
				}
				sb.srv.ResetRequests()
				res := runBin(t, envFor(sb, nil), args...)
				require.Equal(t, exitOK, res.code, "%s: %s", mode, res.stderr)
				for _, c := range calls(sb.srv) {
					// A new replica's vm_uuid differs from run to run.
					for _, r := range sb.srv.Replicas() {
						c = strings.ReplaceAll(c, r.VMUUID, "<replica>")
					}
					sent[i] = append(sent[i], c)
				}
				if mode == "text" {
					assert.Contains(t, res.stdout, "Team:            "+tt.team+"\n")
				}
			}
			assert.Equal(t, sent[1], sent[0], "text mode sends what --json sends")
		})
	}
}
