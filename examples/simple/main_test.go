package main

import (
	"bytes"
	"context"
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
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	_, src := sb.AddCloudApp(phalatest.App{Name: "web"})
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
	onchainSrc, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 0)
	require.NoError(t, err)
	err = run(ctx, &out, config{client: client, source: onchainSrc.CVM.VMUUID, node: "node-b"})
	assert.ErrorContains(t, err, "on-chain approval needed")
	assert.Len(t, sb.Server.Replicas(), 1)
}

func TestEmulatorConfig(t *testing.T) {
	ctx := context.Background()
	cfg, done, err := emulatorConfig()
	require.NoError(t, err)
	defer done()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	assert.Contains(t, out.String(), "Created replica ")
}

// TestMain lets TestMainChoosesTheAPI run this example's main in a child
// process (the test binary itself), as `go run ./examples/simple` would.
func TestMain(m *testing.M) { mainrun.Dispatch(m, main) }

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
	_, src := sb.AddCloudApp(phalatest.App{Name: "web"})

	cloud := sb.CloudEnv()

	tests := []struct {
		name         string
		env          map[string]string
		args         []string
		wantEmulator bool
	}{
		{"no key, no source", nil, nil, true},
		{"source without key", nil, []string{"-source", src.VMUUID}, true},
		{"key without source", cloud, nil, true},
		{"key and source", cloud, []string{"-source", src.VMUUID, "-node", "node-b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sb.Server.Replicas())
			out, err := mainrun.Run(ctx, t, tt.env, tt.args...)
			require.NoError(t, err, "%s", out)
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
