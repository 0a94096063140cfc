package phala

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScaleNodeRunsOutOfSlots(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	var slots atomic.Int32
	slots.Store(2)
	rec.handle(mux, "GET /teepods/available", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, `{"nodes":[{"teepod_id":7,"name":"prod-7"}]}`)
	})
	var created atomic.Int32
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		if slots.Add(-1) < 0 {
			apiError(w, http.StatusConflict, "ERR-02-005", "Insufficient slots on node prod-7")
			return
		}
		n := created.Add(1)
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(fmt.Sprintf("9c8b7a69-5847-4362-a150-f1e2d3c4b5a%d", n), appHexID, hashA)))
	})
	var seen []int
	results, err := c.Scale(context.Background(), srcUUID, 5, ReplicateRequest{Node: "PROD-7"},
		ScaleOptions{Concurrency: 1, OnResult: func(i int, _ ScaleResult) { seen = append(seen, i) }})

	require.Len(t, results, 5)
	for i := 0; i < 2; i++ {
		require.NoError(t, results[i].Err)
		assert.Equal(t, fmt.Sprintf("9c8b7a69-5847-4362-a150-f1e2d3c4b5a%d", i+1), results[i].VM.VMUUID)
	}
	require.ErrorIs(t, results[2].Err, ErrInsufficientSlots)
	assert.NotErrorIs(t, results[2].Err, ErrNotAttempted, "the third attempt was sent")
	for i := 3; i < 5; i++ {
		assert.ErrorIs(t, results[i].Err, ErrInsufficientSlots, "result %d", i)
		assert.ErrorIs(t, results[i].Err, ErrNotAttempted, "result %d", i)
		assert.Nil(t, results[i].VM)
	}
	var se *ScaleError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 5, se.Requested)
	assert.Equal(t, 2, se.Created)
	assert.ErrorIs(t, err, ErrInsufficientSlots)
	assert.Equal(t, []int{0, 1, 2, 3, 4}, seen)

	// The node was resolved once; no request was duplicated.
	posts := "POST /cvms/" + srcUUID + "/replicas"
	assert.Equal(t, []string{"GET /teepods/available", posts, posts, posts}, rec.lines())
	for _, call := range rec.all()[1:] {
		assert.JSONEq(t, `{"node_id":7}`, call.Body)
	}
}

func TestScaleBoundsConcurrency(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	uuids := map[string]bool{}
	var n atomic.Int32
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		u := fmt.Sprintf("9c8b7a69-5847-4362-a150-f1e2d3c4b5%02d", n.Add(1))
		mu.Lock()
		uuids[u] = true
		mu.Unlock()
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(u, appHexID, hashA)))
	})
	results, err := c.Scale(context.Background(), srcUUID, 7, ReplicateRequest{}, ScaleOptions{Concurrency: 3})
	require.NoError(t, err)
	require.Len(t, results, 7)
	got := map[string]bool{}
	for _, r := range results {
		require.NoError(t, r.Err)
		got[r.VM.VMUUID] = true
	}
	assert.Equal(t, uuids, got, "each result holds a distinct created replica")
	assert.LessOrEqual(t, peak.Load(), int32(3))
	assert.Greater(t, peak.Load(), int32(1), "attempts do run concurrently")
	assert.Len(t, rec.lines(), 7)
}

func TestScaleStopsOnCancel(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
	})
	results, err := c.Scale(ctx, srcUUID, 4, ReplicateRequest{}, ScaleOptions{
		Concurrency: 1,
		OnResult:    func(i int, _ ScaleResult) { cancel() },
	})
	require.Len(t, results, 4)
	require.NoError(t, results[0].Err)
	for _, r := range results[1:] {
		assert.ErrorIs(t, r.Err, ErrNotAttempted)
		assert.ErrorIs(t, r.Err, context.Canceled)
	}
	var se *ScaleError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 1, se.Created)
	assert.Len(t, rec.lines(), 1)
}

func TestScaleBadArguments(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
	})
	_, err := c.Scale(context.Background(), srcUUID, 0, ReplicateRequest{}, ScaleOptions{})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = c.Scale(context.Background(), srcUUID, 2, ReplicateRequest{}, ScaleOptions{Concurrency: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	results, err := c.Scale(context.Background(), "bad/source", 2, ReplicateRequest{}, ScaleOptions{})
	require.ErrorIs(t, err, ErrInvalidArgument)
	assert.Nil(t, results)
	assert.Empty(t, rec.lines())
}
