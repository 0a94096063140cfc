package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --prepared-file over an existing world-readable file leaves it readable by its
// owner only: it now holds a commit token.
func TestCLIPreparedFileIsPrivate(t *testing.T) {
	sb := newTestSandbox(t)
	prepared := filepath.Join(t.TempDir(), "prepared.json")
	require.NoError(t, os.WriteFile(prepared, []byte("stale"), 0o644))
	require.NoError(t, os.Chmod(prepared, 0o644))

	res := runBin(t, envFor(sb, nil), sb.safeCVM.VMUUID, "--prepare-only", "--node-id", "node-b", "--prepared-file", prepared)
	require.Equal(t, exitOK, res.code, res.stderr)

	fi, err := os.Stat(prepared)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(prepared)
	require.NoError(t, err)
	var p struct {
		CommitToken string `json:"commit_token"`
	}
	require.NoError(t, json.Unmarshal(b, &p))
	assert.NotEmpty(t, p.CommitToken)
	entries, err := os.ReadDir(filepath.Dir(prepared))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}
