package phala

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusSequence serves GET /cvms/{id} with the given statuses in turn (the last
// one repeats); bootError is set on the last one.
func statusSequence(t *testing.T, mux *http.ServeMux, rec *recorder, bootError string, statuses ...string) {
	var n atomic.Int32
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		i := int(n.Add(1)) - 1
		if i >= len(statuses) {
			i = len(statuses) - 1
		}
		obj := cvmObject(newUUID, appHexID, hashA, func(o map[string]any) {
			o["status"] = statuses[i]
			if i == len(statuses)-1 && bootError != "" {
				o["boot_error"] = bootError
			}
		})
		writeJSON(w, http.StatusOK, mustJSONString(obj))
	})
}

func TestWaitForReplica(t *testing.T) {
	t.Parallel()
	t.Run("reaches running", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		statusSequence(t, mux, rec, "", "creating", "starting", "starting", "running")
		var seen []string
		cvm, err := c.WaitForReplica(context.Background(), strings.ToUpper(newUUID), WaitOptions{
			PollInterval: time.Millisecond,
			OnProgress:   func(c *CVM) { seen = append(seen, c.Status) },
		})
		require.NoError(t, err)
		assert.Equal(t, StatusRunning, cvm.Status)
		assert.Equal(t, []string{"creating", "starting", "starting", "running"}, seen)
		assert.Equal(t, []string{"GET /cvms/" + newUUID, "GET /cvms/" + newUUID, "GET /cvms/" + newUUID, "GET /cvms/" + newUUID}, rec.lines())
	})
	t.Run("boot fails", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		statusSequence(t, mux, rec, "decrypting the environment: wrong key", "starting", "error")
		cvm, err := c.WaitForReplica(context.Background(), newUUID, WaitOptions{PollInterval: time.Millisecond})
		assert.Nil(t, cvm)
		require.ErrorIs(t, err, ErrReplicaFailed)
		var failed *ReplicaFailedError
		require.ErrorAs(t, err, &failed)
		assert.Equal(t, "error", failed.Status)
		assert.Equal(t, "decrypting the environment: wrong key", failed.BootError)
		assert.Equal(t, newUUID, failed.VMUUID)
		assert.Contains(t, err.Error(), "wrong key")
		assert.Len(t, rec.lines(), 2)
	})
	t.Run("exited counts as failed", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		statusSequence(t, mux, rec, "", "exited")
		_, err := c.WaitForReplica(context.Background(), newUUID, WaitOptions{})
		require.ErrorIs(t, err, ErrReplicaFailed)
	})
	t.Run("context ends the wait", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		statusSequence(t, mux, rec, "", "starting")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.WaitForReplica(ctx, newUUID, WaitOptions{PollInterval: time.Hour})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)
		assert.Contains(t, err.Error(), `"starting"`)
	})
	t.Run("API errors are returned", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			apiError(w, http.StatusNotFound, "ERR-03-001", "CVM not found")
		})
		_, err := c.WaitForReplica(context.Background(), newUUID, WaitOptions{})
		require.ErrorIs(t, err, ErrCVMNotFound)
	})
	t.Run("bad arguments", func(t *testing.T) {
		t.Parallel()
		c, _, rec := setupRec(t)
		_, err := c.WaitForReplica(context.Background(), "nope", WaitOptions{})
		require.ErrorIs(t, err, ErrInvalidArgument)
		_, err = c.WaitForReplica(context.Background(), newUUID, WaitOptions{PollInterval: -1})
		require.ErrorIs(t, err, ErrInvalidArgument)
		assert.Empty(t, rec.lines())
	})
}

func TestListReplicas(t *testing.T) {
	t.Parallel()
	for _, appID := range []string{"app_" + appHexID, "0x" + strings.ToUpper(appHexID), appHexID} {
		t.Run(appID, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "GET /apps/{app}/cvms", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString([]any{
					cvmObject(srcUUID, appHexID, hashA),
					cvmObject(srcUUID2, appHexID, hashB, func(o map[string]any) { o["kms_type"] = "quantum"; o["status"] = "starting" }),
				}))
			})
			list, err := c.ListReplicas(context.Background(), appID)
			require.NoError(t, err)
			require.Len(t, list, 2)
			assert.Equal(t, srcUUID, list[0].VMUUID)
			assert.Equal(t, KMSType("quantum"), list[1].KMSType, "an unknown kms_type is kept")
			require.Len(t, rec.all(), 1)
			assertCall(t, rec.all()[0], "GET /apps/"+appHexID+"/cvms", "", "")
		})
	}
	c, _, rec := setupRec(t)
	_, err := c.ListReplicas(context.Background(), "app_123")
	require.ErrorIs(t, err, ErrInvalidArgument)
	assert.Empty(t, rec.lines())
}

// The waits between reads start short and grow towards a cap, so a replica that
// boots in about 2 s is seen running within about 2.4 s rather than 5 s.
func TestWaitPollSchedule(t *testing.T) {
	t.Parallel()
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name  string
		opts  WaitOptions
		waits []time.Duration // the waits before the 2nd, 3rd, ... read
	}{
		{"default: 500 ms growing by half up to 5 s", WaitOptions{},
			[]time.Duration{ms(500), ms(750), ms(1125), ms(1687.5), ms(2531.25), ms(3796.875), 5 * time.Second, 5 * time.Second}},
		{"first wait given, default cap", WaitOptions{PollInterval: 2 * time.Second},
			[]time.Duration{2 * time.Second, 3 * time.Second, ms(4500), 5 * time.Second}},
		{"fixed interval", WaitOptions{PollInterval: time.Second, MaxPollInterval: time.Second},
			[]time.Duration{time.Second, time.Second, time.Second}},
		{"first wait above the default cap is the cap", WaitOptions{PollInterval: time.Hour},
			[]time.Duration{time.Hour, time.Hour}},
		{"cap below the default first wait", WaitOptions{MaxPollInterval: 100 * time.Millisecond},
			[]time.Duration{100 * time.Millisecond, 100 * time.Millisecond}},
		{"own cap", WaitOptions{PollInterval: 10 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond},
			[]time.Duration{10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			statuses := make([]string, len(tt.waits)+1)
			for i := range tt.waits {
				statuses[i] = "starting"
			}
			statuses[len(tt.waits)] = "running"
			statusSequence(t, mux, rec, "", statuses...)
			var waits []time.Duration
			opts := tt.opts
			opts.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			cvm, err := c.WaitForReplica(context.Background(), newUUID, opts)
			require.NoError(t, err)
			assert.Equal(t, StatusRunning, cvm.Status)
			assert.Equal(t, tt.waits, waits)
			assert.Len(t, rec.lines(), len(statuses), "one read per poll")
		})
	}
	t.Run("bad options", func(t *testing.T) {
		t.Parallel()
		c, _, rec := setupRec(t)
		for _, opts := range []WaitOptions{
			{MaxPollInterval: -1},
			{PollInterval: time.Second, MaxPollInterval: time.Millisecond},
		} {
			_, err := c.WaitForReplica(context.Background(), newUUID, opts)
			require.ErrorIs(t, err, ErrInvalidArgument, "%+v", opts)
			_, err = c.WaitForReplicas(context.Background(), []string{newUUID}, opts)
			require.ErrorIs(t, err, ErrInvalidArgument, "%+v", opts)
		}
		assert.Empty(t, rec.lines())
	})
}
