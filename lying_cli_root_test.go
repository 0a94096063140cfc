package phala_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
)

// Root-package bugs found by running phala-replicate against a lying API
// (cmd/phala-replicate/lying_*_test.go). These tests fail on the current code;
// the fixes belong to the root package's owner.

// lyingNodeServer answers GET /teepods/available with nodes and records the
// POSTs; a POST to /replicas answers a created replica.
func lyingNodeServer(t *testing.T, nodes string) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/teepods/available"):
			_, _ = io.WriteString(w, nodes)
		case r.Method == http.MethodPost:
			mu.Lock()
			posts = append(posts, r.URL.Path+" "+string(body))
			mu.Unlock()
			_, _ = io.WriteString(w, `{"id":1,"name":"r","status":"creating","vm_uuid":"660e8400-e29b-41d4-a716-446655440001","app_id":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"detail":"not found"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), posts...)
	}
}

// A node list whose entries contradict each other (two nodes with one
// teepod_id) cannot say where a node name points: the replica could land on
// the other node. Today the name resolves to the shared ID and the POST is
// sent; it should be refused (ErrAmbiguousNode, or an unexpected body) before
// anything is created.
func TestLyingNodeListDuplicateIDsAreRefused(t *testing.T) {
	const nodes = `{"tier":"free","capacity":{},"kms_list":[],"nodes":[
	  {"teepod_id":5,"name":"node-a","listed":true,"resource_score":1,"remaining_vcpu":8,"remaining_memory":8,"remaining_cvm_slots":3,"images":[]},
	  {"teepod_id":5,"name":"node-b","listed":true,"resource_score":1,"remaining_vcpu":8,"remaining_memory":8,"remaining_cvm_slots":3,"images":[]}]}`
	srv, posts := lyingNodeServer(t, nodes)
	c, err := phala.NewClient(phala.WithAPIKey("sk-test-0123456789"), phala.WithBaseURL(srv.URL+"/api/v1"))
	require.NoError(t, err)
	_, err = c.Replicate(context.Background(), "550e8400-e29b-41d4-a716-446655440000", phala.ReplicateRequest{Node: "node-b"})
	require.Error(t, err, "a node list naming ID 5 twice cannot place node-b")
	assert.True(t, errors.Is(err, phala.ErrAmbiguousNode) || errors.Is(err, phala.ErrUnexpectedBody), "%v", err)
	assert.Empty(t, posts(), "nothing is created")
}

// A node list whose "nodes" is not an array is garbage, not an empty list:
// today the error says the node was not found among "none" (ERR-01-001),
// which sends the user looking for a missing node instead of a broken answer.
func TestLyingNodeListNotAnArrayIsAnUnexpectedBody(t *testing.T) {
	srv, posts := lyingNodeServer(t, `{"tier":"free","nodes":"node-b"}`)
	c, err := phala.NewClient(phala.WithAPIKey("sk-test-0123456789"), phala.WithBaseURL(srv.URL+"/api/v1"))
	require.NoError(t, err)
	_, err = c.Replicate(context.Background(), "550e8400-e29b-41d4-a716-446655440000", phala.ReplicateRequest{Node: "node-b"})
	require.Error(t, err)
	assert.ErrorIs(t, err, phala.ErrUnexpectedBody)
	assert.NotErrorIs(t, err, phala.ErrNodeNotFound)
	assert.Empty(t, posts())
}
