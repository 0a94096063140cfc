package phala

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPickInstance covers the choice among an app's instances after ERR-03-010 when
// no single compose hash is requested or several instances share it: live instances
// only, hashes compared with and without 0x, a running one preferred, never a guess
// between different compose hashes.
func TestPickInstance(t *testing.T) {
	t.Parallel()
	const (
		u1 = "00000000-0000-4000-8000-000000000001"
		u2 = "00000000-0000-4000-8000-000000000002"
		u3 = "00000000-0000-4000-8000-000000000003"
	)
	cause := errors.New("ERR-03-010 from the server")
	cvm := func(uuid, status, hash string) *CVM { return &CVM{VMUUID: uuid, Status: status, ComposeHash: hash} }
	tests := []struct {
		name        string
		list        []*CVM
		composeHash string
		wantUUID    string
		wantErr     error
		wantHashes  []string
	}{
		{"one live hash, running preferred", []*CVM{cvm(u1, "starting", hashA), cvm(u2, "running", "0x"+hashA)}, "", u2, nil, nil},
		{"stopped instance with another hash is ignored", []*CVM{cvm(u1, "stopped", hashB), cvm(u2, "starting", hashA)}, "", u2, nil, nil},
		{"no running one: first listed", []*CVM{cvm(u1, "starting", hashA), cvm(u2, "starting", hashA)}, "", u1, nil, nil},
		{"only stopped instances still count", []*CVM{cvm(u1, "stopped", hashA), cvm(u2, "exited", hashA)}, "", u1, nil, nil},
		{"instances without a vm_uuid are skipped", []*CVM{nil, cvm("", "running", hashB), cvm("not-a-uuid", "running", hashB), cvm(u3, "starting", hashA)}, "", u3, nil, nil},
		{"requested hash with 0x matches a bare one", []*CVM{cvm(u1, "running", hashB), cvm(u2, "starting", hashA), cvm(u3, "running", strings.ToUpper(hashA))}, "0x" + hashA, u3, nil, nil},
		{"two live hashes without a request", []*CVM{cvm(u1, "running", hashA), cvm(u2, "running", hashB), cvm(u3, "running", "0x"+hashA)}, "", "", ErrMultipleLiveComposeHashes, []string{hashA, hashB}},
		{"no usable instance returns the server's error", []*CVM{cvm("", "running", hashA)}, "", "", cause, nil},
		{"empty list returns the server's error", nil, "", "", cause, nil},
		{"requested hash absent", []*CVM{cvm(u1, "running", hashA)}, hashB, "", ErrComposeHashNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pickInstance("app_"+appHexID, tt.list, tt.composeHash, cause)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, got)
				if tt.wantHashes != nil {
					var multi *MultipleComposeHashesError
					require.ErrorAs(t, err, &multi)
					assert.Equal(t, tt.wantHashes, multi.ComposeHashes)
					assert.ErrorIs(t, err, cause, "the server's error stays reachable")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantUUID, got.VMUUID)
		})
	}
}

// TestReplicateMultiInstanceOneComposeHash: an app id naming several instances that
// all run one compose hash is replicated from one of them (the running one) without
// the caller naming the hash, and the POST carries no compose_hash the caller did
// not ask for.
func TestReplicateMultiInstanceOneComposeHash(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		apiError(w, http.StatusConflict, "ERR-03-010", "Identifier matches multiple CVMs")
	})
	rec.handle(mux, "GET /apps/{app}/cvms", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString([]any{
			cvmObject(srcUUID, appHexID, hashA, func(o map[string]any) { o["status"] = "starting" }),
			cvmObject(srcUUID2, appHexID, "0x"+hashA),
			cvmObject(newUUID, appHexID, hashB, func(o map[string]any) { o["status"] = "stopped" }),
		}))
	})
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
	})

	vm, err := c.Replicate(context.Background(), "app_"+appHexID, ReplicateRequest{Node: "7"})
	require.NoError(t, err)
	assert.Equal(t, newUUID, vm.VMUUID)
	calls := rec.all()
	require.Equal(t, []string{
		"GET /cvms/app_" + appHexID,
		"GET /apps/" + appHexID + "/cvms",
		"POST /cvms/" + srcUUID2 + "/replicas",
	}, rec.lines())
	assertCall(t, calls[2], "POST /cvms/"+srcUUID2+"/replicas", "", `{"node_id":7}`)
}

// TestReplicateByNameRecoversFromMultipleLiveComposeHashes: a unique CVM name names
// one instance, so an ERR-03-009 answer (nothing created) is resent once with that
// instance's compose hash, learned from the CVM already read: no second lookup.
func TestReplicateByNameRecoversFromMultipleLiveComposeHashes(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	var posts atomic.Int32
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, "0x"+strings.ToUpper(hashB))))
	})
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		if posts.Add(1) == 1 {
			apiError(w, http.StatusConflict, "ERR-03-009", "App has multiple live instances, pass compose_hash")
			return
		}
		writeJSON(w, http.StatusCreated, mustJSONString(vmObject(newUUID, appHexID, hashB)))
	})

	vm, err := c.Replicate(context.Background(), "web-prod", ReplicateRequest{})
	require.NoError(t, err)
	assert.Equal(t, newUUID, vm.VMUUID)
	calls := rec.all()
	require.Equal(t, []string{
		"GET /cvms/web-prod",
		"POST /cvms/" + srcUUID + "/replicas",
		"POST /cvms/" + srcUUID + "/replicas",
	}, rec.lines())
	assertCall(t, calls[1], "POST /cvms/"+srcUUID+"/replicas", "", `{}`)
	assertCall(t, calls[2], "POST /cvms/"+srcUUID+"/replicas", "", `{"compose_hash":"0x`+strings.ToUpper(hashB)+`"}`) // the instance's own hash, verbatim as the API gave it
}

// TestGetCVM: every form of source a user types is one GET /cvms/{id} with the
// canonical id; the API's errors keep their sentinels; an answer without a usable
// vm_uuid is refused; an id that cannot go into a path sends nothing.
func TestGetCVM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		id       string
		answer   func(w http.ResponseWriter)
		wantPath string
		wantUUID string
		wantIs   error
	}{
		{"vm_uuid without dashes", strings.ReplaceAll(srcUUID, "-", ""), nil, "/cvms/" + srcUUID, srcUUID, nil},
		{"app id with 0x", "0x" + appHexID, nil, "/cvms/app_" + appHexID, srcUUID, nil},
		{"name", "web 1", nil, "/cvms/web%201", srcUUID, nil},
		{"app with several CVMs", "app_" + appHexID, func(w http.ResponseWriter) {
			apiError(w, http.StatusConflict, "ERR-03-010", "Identifier matches multiple CVMs")
		}, "/cvms/app_" + appHexID, "", ErrMultipleCVMsMatch},
		{"name shared by several CVMs", "web", func(w http.ResponseWriter) {
			apiError(w, http.StatusConflict, "ERR-03-002", "Multiple CVMs have this name")
		}, "/cvms/web", "", ErrMultipleCVMsSameName},
		{"answer without vm_uuid", "web", func(w http.ResponseWriter) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, func(o map[string]any) { o["vm_uuid"] = "not-a-uuid" })))
		}, "/cvms/web", "", ErrUnexpectedBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var path atomic.Value
			mux.HandleFunc("GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request) {
				path.Store(r.URL.EscapedPath())
				if tt.answer != nil {
					tt.answer(w)
					return
				}
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
			})
			cvm, err := c.GetCVM(context.Background(), tt.id)
			assert.Equal(t, tt.wantPath, path.Load(), "one GET with the canonical id")
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
				assert.Nil(t, cvm)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantUUID, cvm.VMUUID)
			assert.Equal(t, hashA, cvm.ComposeHash)
		})
	}

	c, mux, _ := setup(t)
	var n atomic.Int64
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	for _, bad := range []string{"", "a/b", "../x", "x?y"} {
		_, err := c.GetCVM(context.Background(), bad)
		var invalid *InvalidArgumentError
		require.ErrorAs(t, err, &invalid, "%q", bad)
	}
	assert.Zero(t, n.Load(), "nothing sent for an unusable id")
}
