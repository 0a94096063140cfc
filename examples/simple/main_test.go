package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
