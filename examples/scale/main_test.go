package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/examples/internal/mainrun"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, done, err := emulatorConfig(3)
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
	_, src := sb.AddCloudApp(phalatest.App{Name: "worker"})
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

// TestMain lets TestMainUsesTheConfiguredAPI run this example's main in a
// child process (the test binary itself), as `go run ./examples/scale`
// would.
func TestMain(m *testing.M) { mainrun.Dispatch(m, main) }

// TestMainUsesTheConfiguredAPI runs main with PHALA_CLOUD_API_KEY,
// PHALA_CLOUD_API_PREFIX (an emulator standing in for Phala Cloud) and a
// source from -source or PHALA_SOURCE_CVM: the -n replicas are created on
// that emulator, on the -node given, and waited for there.
func TestMainUsesTheConfiguredAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	_, src := sb.AddCloudApp(phalatest.App{Name: "worker"})

	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"-source", nil, []string{"-source", src.VMUUID, "-n", "2", "-node", "node-b", "-poll", "50ms"}},
		{"PHALA_SOURCE_CVM", map[string]string{"PHALA_SOURCE_CVM": src.VMUUID}, []string{"-n", "2", "-node", "node-b", "-poll", "50ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sb.Server.Replicas())
			env := sb.CloudEnv()
			maps.Copy(env, tt.env)
			out, err := mainrun.Run(ctx, t, env, tt.args...)
			require.NoError(t, err, "%s", out)

			assert.NotContains(t, out, "in-process emulator")
			reps := sb.Server.Replicas()
			require.Len(t, reps, before+2)
			for i, r := range reps[before:] {
				assert.Equal(t, src.VMUUID, r.SourceVMUUID)
				assert.Equal(t, sb.NodeB.ID, r.NodeID)
				assert.Contains(t, out, "created "+r.VMUUID)
				assert.Contains(t, out, fmt.Sprintf("replica %d: running\n", i+1))
			}
			assert.Contains(t, out, "2 of 2 replicas running.")
		})
	}
}
