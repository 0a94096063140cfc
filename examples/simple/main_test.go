package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/examples/internal/sandbox"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	src := sb.CloudApp("web", nil, nil)
	client, err := sb.Client()
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, config{client: client, source: src.VMUUID, node: "node-b"}))
	reps := sb.Server.Replicas()
	require.Len(t, reps, 1)
	assert.Equal(t, sb.NodeB.ID, reps[0].NodeID)
	assert.Equal(t, src.VMUUID, reps[0].SourceVMUUID)
	assert.Contains(t, out.String(), "Created replica "+reps[0].VMUUID)
	assert.Contains(t, out.String(), "on node node-b")

	// An app on an on-chain KMS needs approval: run says where to look.
	onchainSrc, err := sb.OnchainApp(ctx, "api", 0)
	require.NoError(t, err)
	err = run(ctx, &out, config{client: client, source: onchainSrc.VMUUID, node: "node-b"})
	assert.ErrorContains(t, err, "on-chain approval needed")
	assert.Len(t, sb.Server.Replicas(), 1)
}

func TestEmulatorConfig(t *testing.T) {
	ctx := context.Background()
	cfg, done, err := emulatorConfig(ctx)
	require.NoError(t, err)
	defer done()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	assert.Contains(t, out.String(), "Created replica ")
}

// TestMain lets TestMainChoosesTheAPI run this example's main in a child
// process (the test binary itself), as `go run ./examples/simple` would.
func TestMain(m *testing.M) {
	if os.Getenv("EXAMPLE_RUN_MAIN") == "1" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv("EXAMPLE_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMainChoosesTheAPI checks main's choice: the in-process emulator
// without PHALA_CLOUD_API_KEY or -source, and the API named by
// PHALA_CLOUD_API_PREFIX (here an emulator standing in for Phala Cloud)
// when both are given.
func TestMainChoosesTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	src := sb.CloudApp("web", nil, nil)

	runMain := func(env map[string]string, args string) string {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = []string{"EXAMPLE_RUN_MAIN=1", "EXAMPLE_ARGS=" + args, "HOME=" + t.TempDir()}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	cloud := map[string]string{phala.EnvAPIKey: sb.Server.APIKey(), "PHALA_CLOUD_API_PREFIX": sb.Server.URL()}

	tests := []struct {
		name         string
		env          map[string]string
		args         string
		wantEmulator bool
	}{
		{"no key, no source", nil, "", true},
		{"source without key", nil, "-source " + src.VMUUID, true},
		{"key without source", cloud, "", true},
		{"key and source", cloud, "-source " + src.VMUUID + " -node node-b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sb.Server.Replicas())
			out := runMain(tt.env, tt.args)
			assert.Contains(t, out, "Created replica ")
			if tt.wantEmulator {
				assert.Contains(t, out, "running against the in-process emulator")
				assert.Len(t, sb.Server.Replicas(), before, "the configured API is not used")
				return
			}
			assert.NotContains(t, out, "in-process emulator")
			reps := sb.Server.Replicas()
			require.Len(t, reps, before+1)
			assert.Equal(t, src.VMUUID, reps[before].SourceVMUUID)
			assert.Equal(t, sb.NodeB.ID, reps[before].NodeID)
			assert.Contains(t, out, "Created replica "+reps[before].VMUUID)
		})
	}
}
