package phalatest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// A node's slots follow its CVMs' statuses as they change: a replica that
// fails to boot holds its slot until its boot ends, a stopped or deleted CVM
// frees it, a restarted one takes it again (the server keeps per-node counts
// instead of scanning every CVM).
func TestNodeSlotsFollowStatuses(t *testing.T) {
	clock := newFakeClock()
	srv := newServer(t, phalatest.WithClock(clock.Now), phalatest.WithProvisioningDelays(time.Second, time.Second))
	node := srv.AddNode(phalatest.Node{Name: "small", Slots: 2})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID, Name: "src"})
	replicate := func() int {
		return post(t, srv, "/cvms/"+src.VMUUID+"/replicas", map[string]any{"node_id": node.ID}).Status
	}
	slotsLeft := func() float64 {
		nodes := get(t, srv, "/teepods/available").obj(t)["nodes"].([]any)
		require.Len(t, nodes, 1)
		return nodes[0].(map[string]any)["remaining_cvm_slots"].(float64)
	}

	srv.FailNextBoot("disk full")
	require.Equal(t, http.StatusOK, replicate())
	assert.Equal(t, float64(0), slotsLeft(), "a booting replica holds its slot")
	assert.Equal(t, http.StatusConflict, replicate())

	clock.Add(3 * time.Second)
	assert.Equal(t, float64(1), slotsLeft(), "the failed boot freed its slot")
	require.Equal(t, http.StatusOK, replicate())
	assert.Equal(t, float64(0), slotsLeft())

	srv.SetStatus(src.VMUUID, phalatest.StatusStopped)
	assert.Equal(t, float64(1), slotsLeft(), "a stopped CVM frees its slot")
	srv.SetStatus(src.VMUUID, phalatest.StatusRunning)
	assert.Equal(t, float64(0), slotsLeft(), "a restarted CVM takes it again")

	reps := srv.Replicas()
	last := reps[len(reps)-1]
	require.Equal(t, http.StatusNoContent, do(t, srv, call{method: http.MethodDelete, path: "/cvms/" + last.VMUUID}).Status)
	assert.Equal(t, float64(1), slotsLeft(), "a deleted CVM frees its slot")
	assert.Equal(t, http.StatusNotFound, get(t, srv, "/cvms/"+last.Name).Status, "nor is it found by name")
	assert.Equal(t, http.StatusOK, get(t, srv, "/cvms/src").Status)
}
