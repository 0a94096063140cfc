package phala

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Connections are kept for reuse up to the concurrency Scale runs at, beyond
// net/http's limits (2 idle per host, 100 in all) and the 64 this client kept
// before: a second Scale of 128 at concurrency 128 opens no new TCP connection.
func TestScaleReusesConnections(t *testing.T) {
	const conc = 128
	var opened atomic.Int64
	var mu sync.Mutex
	inFlight, round := 0, make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answer once all conc requests of a round are in flight, so each
		// round needs conc connections at once.
		mu.Lock()
		inFlight++
		ch := round
		if inFlight == conc {
			close(round)
			inFlight, round = 0, make(chan struct{})
		}
		mu.Unlock()
		select {
		case <-ch:
		case <-time.After(10 * time.Second): // a failure guard only
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id": 1, "name": "r", "status": "creating", "vm_uuid": "%s", "app_id": "%040x"}`, newTestUUID(), 1)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := NewClient(WithAPIKey("k"), WithBaseURL(srv.URL))
	require.NoError(t, err)
	src := "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	for i := 0; i < 2; i++ {
		res, err := c.Scale(context.Background(), src, conc, ReplicateRequest{}, ScaleOptions{Concurrency: conc})
		require.NoError(t, err)
		require.Len(t, res, conc)
	}
	assert.Equal(t, int64(conc), opened.Load(), "the second Scale reuses the first one's connections")
}

func newTestUUID() string {
	n := testUUIDs.Add(1)
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n)
}

var testUUIDs atomic.Int64
