package phalatest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

// Every answer carries its own X-Request-ID, the one recorded with the
// request: successes, API errors, FastAPI errors and injected faults.
func TestEveryAnswerCarriesARequestID(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	tests := []struct {
		name   string
		fault  *phalatest.Fault
		path   string
		key    string
		status int
	}{
		{name: "success", path: "/cvms/" + f.cvm.VMUUID, key: f.srv.APIKey(), status: http.StatusOK},
		{name: "API error", path: "/cvms/00000000-0000-4000-8000-000000000000", key: f.srv.APIKey(), status: http.StatusNotFound},
		{name: "bad key", path: "/cvms/" + f.cvm.VMUUID, key: "wrong", status: http.StatusUnauthorized},
		{name: "unknown path", path: "/nowhere", key: f.srv.APIKey(), status: http.StatusNotFound},
		{name: "injected 503", fault: &phalatest.Fault{Status: http.StatusServiceUnavailable}, path: "/cvms/" + f.cvm.VMUUID, key: f.srv.APIKey(), status: http.StatusServiceUnavailable},
		{name: "injected 429", fault: &phalatest.Fault{Status: http.StatusTooManyRequests}, path: "/cvms/" + f.cvm.VMUUID, key: f.srv.APIKey(), status: http.StatusTooManyRequests},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				f.srv.FailNext(*tt.fault)
			}
			req, err := http.NewRequest(http.MethodGet, f.srv.URL()+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("X-API-Key", tt.key)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tt.status, resp.StatusCode)

			id := resp.Header.Get(phalatest.RequestIDHeader)
			assert.Regexp(t, `^req_[0-9a-f]{24}$`, id)
			assert.False(t, seen[id], "unique per request")
			seen[id] = true
			reqs := f.srv.Requests()
			assert.Equal(t, id, reqs[len(reqs)-1].RequestID)
		})
	}
}

// A client sees the emulator's request id on an API error and in its log
// line, so a user can quote it when reporting a failure.
func TestAPIErrorCarriesTheRequestID(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	var logs bytes.Buffer
	c, err := f.srv.Client(phala.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)

	_, err = c.GetCVM(context.Background(), "00000000-0000-4000-8000-000000000000")
	var apiErr *phala.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	reqs := f.srv.Requests()
	id := reqs[len(reqs)-1].RequestID
	require.NotEmpty(t, id)
	assert.Equal(t, id, apiErr.RequestID)
	assert.Contains(t, err.Error(), id)
	assert.Contains(t, logs.String(), "request_id="+id)
	assert.Equal(t, 1, strings.Count(logs.String(), "request_id=req_"), "one attempt: a 404 is not retried")
}
