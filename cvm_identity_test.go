package phala

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server that answers GET /cvms/{vm_uuid} with ANOTHER CVM is refused on
// every path that reads a CVM by vm_uuid: another CVM's status, app, compose
// hash or chain must not pass for the one asked about.
func TestAnotherCVMsAnswerIsRefused(t *testing.T) {
	t.Parallel()
	other := cvmObject(srcUUID2, appHexID, hashA, func(o map[string]any) { o["status"] = "running" })
	serveOther := func(mux *http.ServeMux, rec *recorder) {
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(other))
		})
	}
	tests := []struct {
		name string
		run  func(ctx context.Context, c *Client, mux *http.ServeMux, rec *recorder) error
	}{
		{"GetCVM", func(ctx context.Context, c *Client, mux *http.ServeMux, rec *recorder) error {
			_, err := c.GetCVM(ctx, srcUUID)
			return err
		}},
		{"WaitForReplica does not report another CVM running", func(ctx context.Context, c *Client, mux *http.ServeMux, rec *recorder) error {
			_, err := c.WaitForReplica(ctx, srcUUID, WaitOptions{PollInterval: time.Millisecond})
			return err
		}},
		{"Replicate's check of a 465 signs nothing", func(ctx context.Context, c *Client, mux *http.ServeMux, rec *recorder) error {
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
			})
			serveNodes(rec, mux, workspaceNodes...)
			_, err := c.Replicate(ctx, srcUUID, ReplicateRequest{NodeID: 7, Registrar: strictRegistrar{t}})
			return err
		}},
		{"PrepareReplica hands out nothing", func(ctx context.Context, c *Client, mux *http.ServeMux, rec *recorder) error {
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
			})
			serveNodes(rec, mux, workspaceNodes...)
			p, err := c.PrepareReplica(ctx, srcUUID, ReplicateRequest{NodeID: 7})
			assert.Nil(t, p)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			serveOther(mux, rec)
			err := tt.run(context.Background(), c, mux, rec)
			require.ErrorIs(t, err, ErrUnexpectedBody)
			assert.Contains(t, err.Error(), srcUUID2, "the error names the CVM the server answered")
		})
	}
}

// An app id source answered with a CVM of another app, or whose listing
// (after ERR-03-010) holds only another app's instances, is refused: that CVM
// would become the source of the replica.
func TestAppSourceAnsweredWithAnotherAppsCVM(t *testing.T) {
	t.Parallel()
	t.Run("GET /cvms/app_…", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, otherApp, hashA)))
		})
		_, err := c.Replicate(context.Background(), "app_"+appHexID, ReplicateRequest{})
		require.ErrorIs(t, err, ErrUnexpectedBody)
		assert.NotContains(t, rec.lines(), "POST /cvms/"+srcUUID+"/replicas", "no replica of another app's CVM")
	})
	t.Run("listing after ERR-03-010", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			apiError(w, http.StatusConflict, "ERR-03-010", "Identifier matches multiple CVMs")
		})
		rec.handle(mux, "GET /apps/{app}/cvms", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString([]any{cvmObject(srcUUID, otherApp, hashA), cvmObject(srcUUID2, otherApp, hashA)}))
		})
		_, err := c.Replicate(context.Background(), "app_"+appHexID, ReplicateRequest{})
		require.ErrorIs(t, err, ErrMultipleCVMsMatch, "the original refusal: no instance of the app to pick")
		for _, l := range rec.lines() {
			assert.NotContains(t, l, "POST", "nothing created")
		}
	})
}
