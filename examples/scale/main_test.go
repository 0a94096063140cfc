package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/examples/internal/sandbox"
	"github.com/phalaforge/phala-go/phalatest"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, done, err := emulatorConfig(ctx, 3)
	require.NoError(t, err)
	defer done()

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	for i := 1; i <= 3; i++ {
		assert.Contains(t, out.String(), fmt.Sprintf("replica %d: created ", i))
		assert.Contains(t, out.String(), fmt.Sprintf("replica %d: running\n", i))
	}
	assert.Contains(t, out.String(), "3 of 3 replicas running.")
}

func TestRunPartialFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	small := sb.Server.AddNode(phalatest.Node{Name: "node-small", Slots: 2})
	src := sb.CloudApp("worker", nil, nil)
	client, err := sb.Client()
	require.NoError(t, err)
	sb.Server.FailNextBoot("out of disk")

	var out bytes.Buffer
	err = run(ctx, &out, config{client: client, source: src.VMUUID, node: "node-small", n: 4, pollInterval: 20 * time.Millisecond})
	require.Error(t, err)
	assert.ErrorIs(t, err, phala.ErrInsufficientSlots, "two replicas did not fit on the node")
	assert.ErrorIs(t, err, phala.ErrReplicaFailed, "one created replica failed to boot")
	assert.Len(t, sb.Server.Replicas(), 2, "what was created is kept")
	for _, r := range sb.Server.Replicas() {
		assert.Equal(t, small.ID, r.NodeID)
	}
	assert.Contains(t, out.String(), "error: out of disk")
	assert.Contains(t, out.String(), "1 of 4 replicas running.")
}
