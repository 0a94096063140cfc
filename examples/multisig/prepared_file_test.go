package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
)

// A prepared.json left world-readable by an earlier run or tool ends up private:
// the commit token is never written into a file others can read.
func TestPreparedFileReplacesAWorldReadableOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, done, err := emulatorConfig(ctx)
	require.NoError(t, err)
	defer done()
	require.NoError(t, os.WriteFile(cfg.preparedPath(), []byte("stale"), 0o644))
	require.NoError(t, os.Chmod(cfg.preparedPath(), 0o644))

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))

	fi, err := os.Stat(cfg.preparedPath())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(cfg.preparedPath())
	require.NoError(t, err)
	var p phala.PreparedReplica
	require.NoError(t, json.Unmarshal(b, &p))
	assert.NotEmpty(t, p.CommitToken)
}
