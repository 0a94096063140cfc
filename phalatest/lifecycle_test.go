package phalatest_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

func TestReplicaStatusProgression(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithClock(clock.Now), phalatest.WithProvisioningDelays(10*time.Second, 20*time.Second))
	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{})
	require.Equal(t, http.StatusOK, r.Status)
	u := r.obj(t)["vm_uuid"].(string)

	steps := []struct {
		advance  time.Duration
		status   string
		progress bool
	}{
		{0, phalatest.StatusCreating, true},
		{9 * time.Second, phalatest.StatusCreating, true},
		{time.Second, phalatest.StatusStarting, true},
		{19 * time.Second, phalatest.StatusStarting, true},
		{time.Second, phalatest.StatusRunning, false},
		{time.Hour, phalatest.StatusRunning, false},
	}
	for i, st := range steps {
		clock.Add(st.advance)
		o := get(t, f.srv, "/cvms/"+u).obj(t)
		assert.Equal(t, st.status, o["status"], "step %d", i)
		if st.progress {
			p := o["progress"].(map[string]any)
			assert.Equal(t, "running", p["target"])
		} else {
			assert.Nil(t, o["progress"])
		}
		rep, _ := f.srv.Replica(u)
		assert.Equal(t, st.status, rep.Status)
	}
}

func TestFailNextBoot(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithProvisioningDelays(time.Second, time.Second))
	f.srv.FailNextBoot("kernel panic: out of memory")
	bad := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{}).obj(t)["vm_uuid"].(string)
	good := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{}).obj(t)["vm_uuid"].(string)

	f.srv.Advance(1500 * time.Millisecond)
	assert.Equal(t, phalatest.StatusStarting, get(t, f.srv, "/cvms/"+bad).obj(t)["status"])
	f.srv.Advance(time.Second)
	o := get(t, f.srv, "/cvms/"+bad).obj(t)
	assert.Equal(t, phalatest.StatusError, o["status"])
	assert.Equal(t, "kernel panic: out of memory", o["boot_error"])
	o = get(t, f.srv, "/cvms/"+good).obj(t)
	assert.Equal(t, phalatest.StatusRunning, o["status"])
	assert.NotContains(t, o, "boot_error")

	// A failed replica no longer counts as a live instance.
	list := get(t, f.srv, "/apps/"+f.app.ID+"/cvms").JSON.([]any)
	assert.Len(t, list, 3)
	r := get(t, f.srv, "/cvms/app_"+f.app.ID)
	require.Equal(t, http.StatusConflict, r.Status, "the source and the good replica are live")
}

func TestZeroDelaysRunImmediately(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithProvisioningDelays(0, 0))
	o := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{}).obj(t)
	assert.Equal(t, phalatest.StatusRunning, o["status"])
}

// TestConcurrentReplicas runs many replicate calls at once (under -race):
// capacity is never oversubscribed and each success is one replica.
func TestConcurrentReplicas(t *testing.T) {
	srv := newServer(t)
	home := srv.AddNode(phalatest.Node{})
	target := srv.AddNode(phalatest.Node{Slots: 5})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: home.ID})

	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := strings.NewReader(fmt.Sprintf(`{"node_id":%d}`, target.ID))
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+replicasPath(src.VMUUID), body)
			req.Header.Set("X-API-Key", srv.APIKey())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusConflict, s)
		}
	}
	assert.Equal(t, 5, ok)
	assert.Len(t, srv.Replicas(), 5)
	assert.Len(t, srv.Requests(), n)
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		srv := phalatest.NewServer()
		srv.AddNode(phalatest.Node{})
		app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
		c := srv.AddCVM(phalatest.CVM{AppID: app.ID})
		srv.FailNext(phalatest.Fault{DropAfterProcessing: true})
		for j := 0; j < 3; j++ {
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+replicasPath(c.VMUUID), nil)
			req.Header.Set("X-API-Key", srv.APIKey())
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		srv.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
