package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, sb, done, err := emulatorConfig(ctx, "")
	require.NoError(t, err)
	defer done()

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	reps := sb.Server.Replicas()
	require.Len(t, reps, 1)
	require.NoError(t, reps[0].EnvError)
	assert.False(t, reps[0].EnvInherited)
	assert.Equal(t, map[string]string{"GREETING": "hello from the replica", "LOG_LEVEL": "debug"}, reps[0].DecryptedEnv.Map(),
		"the CVM decrypts exactly the file's values")
	assert.Contains(t, out.String(), "with 2 variables from example.env: [GREETING LOG_LEVEL]")
	assert.NotContains(t, out.String(), "hello from the replica", "values are not printed")
	for _, r := range sb.Server.Requests() {
		assert.NotContains(t, string(r.Body), "hello from the replica", "plaintext never sent")
	}

	var shown bytes.Buffer
	showEnv(&shown, sb.Server)
	assert.Contains(t, shown.String(), "  GREETING=hello from the replica\n")
}

func TestRunRefusesNamesTheAppDrops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := filepath.Join(t.TempDir(), "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("GREETING=hi\nDATABASE_URL=postgres://x\n"), 0o600))
	cfg, sb, done, err := emulatorConfig(ctx, bad)
	require.NoError(t, err)
	defer done()

	err = run(ctx, &bytes.Buffer{}, cfg)
	assert.ErrorContains(t, err, "does not accept [DATABASE_URL]")
	assert.Empty(t, sb.Server.Replicas())
}
