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

	"github.com/phalaforge/phala-go/examples/internal/mainrun"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, srv, done, err := emulatorConfig("")
	require.NoError(t, err)
	defer done()

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	reps := srv.Replicas()
	require.Len(t, reps, 1)
	require.NoError(t, reps[0].EnvError)
	assert.False(t, reps[0].EnvInherited)
	assert.Equal(t, map[string]string{"GREETING": "hello from the replica", "LOG_LEVEL": "debug"}, reps[0].DecryptedEnv.Map(),
		"the CVM decrypts exactly the file's values")
	assert.Contains(t, out.String(), "with 2 variables from example.env: [GREETING LOG_LEVEL]")
	assert.NotContains(t, out.String(), "hello from the replica", "values are not printed")
	for _, r := range srv.Requests() {
		assert.NotContains(t, string(r.Body), "hello from the replica", "plaintext never sent")
	}

	var shown bytes.Buffer
	showEnv(&shown, srv)
	assert.Contains(t, shown.String(), "  GREETING=hello from the replica\n")
}

func TestRunRefusesNamesTheAppDrops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := filepath.Join(t.TempDir(), "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("GREETING=hi\nDATABASE_URL=postgres://x\n"), 0o600))
	cfg, srv, done, err := emulatorConfig(bad)
	require.NoError(t, err)
	defer done()

	err = run(ctx, &bytes.Buffer{}, cfg)
	assert.ErrorContains(t, err, "does not accept [DATABASE_URL]")
	assert.Empty(t, srv.Replicas())
}

// TestMain lets TestMainUsesTheConfiguredAPI run this example's main in a
// child process (the test binary itself), as `go run ./examples/envfile` would.
func TestMain(m *testing.M) { mainrun.Dispatch(m, main) }

// TestMainUsesTheConfiguredAPI runs main without an account (the bundled
// example.env against the in-process emulator) and with PHALA_CLOUD_API_KEY,
// PHALA_CLOUD_API_PREFIX (an emulator standing in for Phala Cloud), -source
// and -env-file: the file's values reach that API's CVM, encrypted.
func TestMainUsesTheConfiguredAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	_, src := sb.AddCloudApp(phalatest.App{Name: "web", Compose: phalatest.Compose{AllowedEnvs: []string{"GREETING"}}})
	envPath := filepath.Join(t.TempDir(), "prod.env")
	require.NoError(t, os.WriteFile(envPath, []byte("GREETING=from the cloud test\n"), 0o600))

	out, err := mainrun.Run(ctx, t, nil)
	require.NoError(t, err, "%s", out)
	assert.Contains(t, out, "running against the in-process emulator")
	assert.Contains(t, out, "  GREETING=hello from the replica\n", "the bundled example.env")
	assert.Empty(t, sb.Server.Replicas())

	out, err = mainrun.Run(ctx, t, sb.CloudEnv(), "-source", src.VMUUID, "-node", "node-b", "-env-file", envPath)
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, out, "in-process emulator")
	reps := sb.Server.Replicas()
	require.Len(t, reps, 1)
	assert.Equal(t, src.VMUUID, reps[0].SourceVMUUID)
	assert.Equal(t, map[string]string{"GREETING": "from the cloud test"}, reps[0].DecryptedEnv.Map())
	assert.NotContains(t, out, "from the cloud test", "values are not printed")
}
