package phala_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitFixture is an emulator whose replicas boot in 2 s of emulated time, a Cloud
// KMS source, and a client for it.
func waitFixture(t *testing.T) (*phalatest.Server, *phala.Client, phalatest.CVM) {
	t.Helper()
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(time.Second, time.Second))
	t.Cleanup(srv.Close)
	srv.AddNode(phalatest.Node{Name: "tdx-1"})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID})
	c, err := srv.Client()
	require.NoError(t, err)
	return srv, c, src
}

func TestWaitForReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, c, src := waitFixture(t)
	var uuids []string
	for i := range 3 {
		if i == 2 {
			srv.FailNextBoot("decrypting the environment: wrong key")
		}
		vm, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{})
		require.NoError(t, err)
		uuids = append(uuids, vm.VMUUID)
	}
	const unknown = "00000000-0000-4000-8000-000000000000"
	uuids = append(uuids, strings.ToUpper(unknown))

	seen := map[string][]string{}
	results, err := c.WaitForReplicas(ctx, uuids, phala.WaitOptions{
		PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond,
		OnProgress: func(cvm *phala.CVM) {
			// Calls are serialised: no lock needed here. Once every replica
			// has been read once, every read moves the emulator's time on, so
			// the replicas boot without real waiting (and each is first seen
			// booting, whatever order the concurrent waits run in).
			seen[cvm.VMUUID] = append(seen[cvm.VMUUID], cvm.Status)
			if len(seen) == 3 {
				srv.Advance(250 * time.Millisecond)
			}
		},
	})

	var werr *phala.WaitError
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 4, werr.Waited)
	assert.Equal(t, 2, werr.Running)
	require.ErrorIs(t, err, phala.ErrReplicaFailed, "the first failure in the order given")

	require.Len(t, results, 4)
	for i, r := range results[:2] {
		require.NoError(t, r.Err, "replica %d", i)
		assert.Equal(t, uuids[i], r.VMUUID)
		assert.Equal(t, phala.StatusRunning, r.CVM.Status)
		assert.Equal(t, "creating", seen[uuids[i]][0], "replica %d was seen booting", i)
	}
	var failed *phala.ReplicaFailedError
	require.ErrorAs(t, results[2].Err, &failed)
	assert.Equal(t, "decrypting the environment: wrong key", failed.BootError)
	assert.Nil(t, results[2].CVM)
	assert.Equal(t, unknown, results[3].VMUUID, "results carry the canonical vm_uuid")
	require.ErrorIs(t, results[3].Err, phala.ErrCVMNotFound, "an unknown replica does not stop the others")

	raw, err := json.Marshal(results)
	require.NoError(t, err)
	var decoded []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &decoded))
	require.Len(t, decoded, 4)
	assert.JSONEq(t, `"`+uuids[0]+`"`, string(decoded[0]["vm_uuid"]))
	assert.Contains(t, string(decoded[0]["cvm"]), `"status":"running"`)
	assert.NotContains(t, decoded[0], "error")
	assert.NotContains(t, decoded[2], "cvm")
	var msg string
	require.NoError(t, json.Unmarshal(decoded[2]["error"], &msg))
	assert.Equal(t, results[2].Err.Error(), msg, "an error marshals as its message")
}

func TestWaitForReplicasStopsWithTheContext(t *testing.T) {
	t.Parallel()
	_, c, src := waitFixture(t)
	var uuids []string
	for range 3 {
		vm, err := c.Replicate(context.Background(), src.VMUUID, phala.ReplicateRequest{})
		require.NoError(t, err)
		uuids = append(uuids, vm.VMUUID)
	}
	// The emulator's time does not move: the replicas stay "creating" until the
	// context ends, after each was read once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reads := 0
	results, err := c.WaitForReplicas(ctx, uuids, phala.WaitOptions{
		PollInterval: time.Millisecond,
		OnProgress: func(*phala.CVM) {
			if reads++; reads == len(uuids) {
				cancel()
			}
		},
	})
	var werr *phala.WaitError
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 0, werr.Running)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, results, 3)
	for i, r := range results {
		require.ErrorIs(t, r.Err, context.Canceled, "replica %d", i)
	}
}

func TestWaitForReplicasBadArguments(t *testing.T) {
	t.Parallel()
	srv, c, _ := waitFixture(t)
	const u = "9c8b7a69-5847-4362-a150-f1e2d3c4b5a6"
	tests := []struct {
		name  string
		uuids []string
		arg   string
	}{
		{"malformed", []string{u, "nope"}, "vmUUIDs[1]"},
		{"listed twice", []string{u, strings.ReplaceAll(strings.ToUpper(u), "-", "")}, "vmUUIDs[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := c.WaitForReplicas(context.Background(), tt.uuids, phala.WaitOptions{})
			assert.Nil(t, results)
			var ia *phala.InvalidArgumentError
			require.True(t, errors.As(err, &ia), "%v", err)
			assert.Equal(t, tt.arg, ia.Arg)
		})
	}
	results, err := c.WaitForReplicas(context.Background(), nil, phala.WaitOptions{})
	require.NoError(t, err, "nothing to wait for")
	assert.Empty(t, results)
	assert.Empty(t, srv.Requests(), "nothing is sent")
}
