package phalatest_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

func TestFaultStatuses(t *testing.T) {
	tests := []struct {
		name        string
		fault       phalatest.Fault
		status      int
		contentType string
		retryAfter  string
		body        string // substring
	}{
		{"503 JSON", phalatest.Fault{Status: 503}, 503, "application/json", "", `{"detail":"Service Unavailable"}`},
		{"502 HTML", phalatest.Fault{Status: 502, HTMLBody: true}, 502, "text/html", "", "<h1>502 Bad Gateway</h1>"},
		{"429 with Retry-After", phalatest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, "application/json", "2", `"error_code":"ERR-05-002"`},
		{"500", phalatest.Fault{Status: 500}, 500, "application/json", "", `{"detail":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, phalatest.KMSCloud)
			f.srv.FailNext(tt.fault)
			r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{})
			require.Equal(t, tt.status, r.Status)
			assert.Equal(t, tt.contentType, r.Header.Get("Content-Type"))
			assert.Equal(t, tt.retryAfter, r.Header.Get("Retry-After"))
			assert.Contains(t, string(r.Raw), tt.body)
			assert.Empty(t, f.srv.Replicas(), "a status fault processes nothing")
			assert.Equal(t, 0, f.srv.PendingFaults())

			// The next request is served normally.
			r = post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{})
			require.Equal(t, http.StatusOK, r.Status)
		})
	}
}

func TestFaultMatchingAndCount(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	f.srv.FailNext(phalatest.Fault{Method: "POST", PathPrefix: "/cvms/", Status: 503, Count: 2})
	assert.Equal(t, 2, f.srv.PendingFaults())

	// A GET does not match the POST fault.
	require.Equal(t, http.StatusOK, get(t, f.srv, "/cvms/"+f.cvm.VMUUID).Status)
	// A POST elsewhere does not match the prefix.
	require.Equal(t, http.StatusNotFound, post(t, f.srv, "/other", nil).Status)

	require.Equal(t, 503, post(t, f.srv, replicasPath(f.cvm.VMUUID), nil).Status)
	require.Equal(t, 503, post(t, f.srv, replicasPath(f.cvm.VMUUID), nil).Status)
	require.Equal(t, http.StatusOK, post(t, f.srv, replicasPath(f.cvm.VMUUID), nil).Status)
	assert.Equal(t, 0, f.srv.PendingFaults())

	// Faults apply in order.
	f.srv.FailNext(phalatest.Fault{Status: 502})
	f.srv.FailNext(phalatest.Fault{Status: 504})
	assert.Equal(t, 502, get(t, f.srv, "/teepods/available").Status)
	assert.Equal(t, 504, get(t, f.srv, "/teepods/available").Status)
}

func TestFaultLatency(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	f.srv.FailNext(phalatest.Fault{Latency: 80 * time.Millisecond})
	start := time.Now()
	r := get(t, f.srv, "/cvms/"+f.cvm.VMUUID)
	require.Equal(t, http.StatusOK, r.Status)
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	f.srv.SetLatency(60 * time.Millisecond)
	start = time.Now()
	get(t, f.srv, "/teepods/available")
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	f.srv.SetLatency(0)

	// A client timeout ends the injected delay.
	f.srv.FailNext(phalatest.Fault{Latency: time.Hour})
	c := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL()+"/teepods/available", nil)
	req.Header.Set("X-API-Key", f.srv.APIKey())
	_, err := c.Do(req)
	require.Error(t, err)
}

func TestFaultDropAfterProcessing(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	f.srv.FailNext(phalatest.Fault{Method: "POST", DropAfterProcessing: true})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL()+replicasPath(f.cvm.VMUUID), strings.NewReader(`{}`))
	req.Header.Set("X-API-Key", f.srv.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is closed without an answer")
	assert.Len(t, f.srv.Replicas(), 1, "but the replica was created")
}

func TestFaultTruncate(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	f.srv.FailNext(phalatest.Fault{Truncate: true})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL()+replicasPath(f.cvm.VMUUID), strings.NewReader(`{}`))
	req.Header.Set("X-API-Key", f.srv.APIKey())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	body, err := io.ReadAll(resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.True(t, bytes.HasPrefix(body, []byte(`{"`)))
	assert.Len(t, f.srv.Replicas(), 1)
}

func TestFailNextRejectsInvalidFaults(t *testing.T) {
	srv := newServer(t)
	for name, f := range map[string]phalatest.Fault{
		"negative count":                    {Count: -1},
		"negative latency":                  {Latency: -time.Second},
		"status 42":                         {Status: 42},
		"after processing without a status": {AfterProcessing: true},
		"location without a redirect":       {Status: 503, Location: "/x"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Panics(t, func() { srv.FailNext(f) })
		})
	}
	assert.Panics(t, func() { srv.SetLatency(-1) })
	for i := 0; i < 1024; i++ {
		srv.FailNext(phalatest.Fault{Status: 500})
	}
	assert.Panics(t, func() { srv.FailNext(phalatest.Fault{Status: 500}) }, "the queue is bounded")
}

func TestCloseAbortsLatency(t *testing.T) {
	srv := phalatest.NewServer()
	srv.SetLatency(time.Hour)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/teepods/available", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	// Wait until the request is being delayed.
	require.Eventually(t, func() bool { return len(srv.Requests()) == 1 }, 5*time.Second, 5*time.Millisecond)
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not abort the injected latency")
	}
	wg.Wait()
	srv.Close() // idempotent
}

func TestRecordedRequests(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	f.srv.ResetRequests()
	f.srv.FailNext(phalatest.Fault{Status: 503})
	post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"node_id": f.node.ID})
	do(t, f.srv, call{method: http.MethodGet, path: "/cvms/a%2Fb?x=1", key: ptr("")})

	reqs := f.srv.Requests()
	require.Len(t, reqs, 2, "faulted and rejected requests are recorded")
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/cvms/"+f.cvm.VMUUID+"/replicas", reqs[0].Path)
	assert.JSONEq(t, `{"node_id":1}`, string(reqs[0].Body))
	assert.Equal(t, f.srv.APIKey(), reqs[0].Header.Get("X-API-Key"))
	assert.Equal(t, phalatest.Version20260121, reqs[0].Header.Get("X-Phala-Version"))
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))

	assert.Equal(t, "/cvms/a/b", reqs[1].Path)
	assert.Equal(t, "/cvms/a%2Fb", reqs[1].EscapedPath)
	assert.Equal(t, "x=1", reqs[1].Query)
	assert.Empty(t, reqs[1].Header.Get("X-API-Key"))

	// Returned values are copies.
	reqs[0].Body[0] = 'X'
	assert.JSONEq(t, `{"node_id":1}`, string(f.srv.Requests()[0].Body))
}

func TestEscapedIdentifier(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	named := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, Name: "a/b c"})
	f.srv.SetStatus(f.cvm.VMUUID, phalatest.StatusStopped)
	r := get(t, f.srv, "/cvms/a%2Fb%20c")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	assert.Equal(t, named.VMUUID, r.obj(t)["vm_uuid"])
}

// AfterProcessing answers the fault's status once the request was handled: a
// proxy 503 or a redirect after the replica was created.
func TestFaultAfterProcessing(t *testing.T) {
	tests := []struct {
		name     string
		fault    func(f *fixture) phalatest.Fault
		status   int
		location func(f *fixture) string
		replicas int
	}{
		{"503 before processing", func(*fixture) phalatest.Fault { return phalatest.Fault{Status: 503} }, 503, nil, 0},
		{"503 after processing", func(*fixture) phalatest.Fault {
			return phalatest.Fault{Status: 503, AfterProcessing: true, RetryAfter: time.Second}
		}, 503, nil, 1},
		{"303 to the source CVM", func(f *fixture) phalatest.Fault {
			return phalatest.Fault{Status: 303, Location: phalatest.APIPrefix + "/cvms/" + f.cvm.VMUUID}
		}, 303, func(f *fixture) string { return phalatest.APIPrefix + "/cvms/" + f.cvm.VMUUID }, 0},
		{"302 to another host after processing", func(*fixture) phalatest.Fault {
			return phalatest.Fault{Status: 302, Location: "https://elsewhere.example/api/v1/cvms", AfterProcessing: true}
		}, 302, func(*fixture) string { return "https://elsewhere.example/api/v1/cvms" }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, phalatest.KMSCloud)
			f.srv.FailNext(tt.fault(f))
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL()+replicasPath(f.cvm.VMUUID), strings.NewReader(`{}`))
			req.Header.Set("X-API-Key", f.srv.APIKey())
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode)
			if tt.location != nil {
				assert.Equal(t, tt.location(f), resp.Header.Get("Location"))
			}
			assert.Len(t, f.srv.Replicas(), tt.replicas)
			assert.Zero(t, f.srv.PendingFaults())
		})
	}
}

// DeviceID makes the 465 name a device that is not the target node's; the
// commit token still belongs to the real node.
func TestFaultForeignDevice(t *testing.T) {
	f := newChainFixture(t, onchaintest.AppConfig{})
	foreign := strings.Repeat("f0", 32)
	f.srv.FailNext(phalatest.Fault{Method: "POST", DeviceID: foreign})
	lied := f.prepare(t, nil)
	assert.Equal(t, foreign, lied.DeviceID)
	assert.NotEmpty(t, lied.CommitToken)
	assert.Equal(t, f.app.ComposeHash, strings.TrimPrefix(lied.ComposeHash, "0x"), "only the device is a lie")

	honest := f.prepare(t, nil)
	assert.Equal(t, strings.TrimPrefix(f.node.DeviceID, "0x"), strings.TrimPrefix(honest.DeviceID, "0x"))

	// A request that is not a 465 is left alone.
	c := newFixture(t, phalatest.KMSCloud)
	c.srv.FailNext(phalatest.Fault{DeviceID: foreign})
	r := post(t, c.srv, replicasPath(c.cvm.VMUUID), map[string]any{})
	require.Equal(t, 200, r.Status)
	assert.NotContains(t, string(r.Raw), foreign)
}
