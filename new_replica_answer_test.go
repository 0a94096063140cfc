package phala

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 2xx to a replicate or commit whose VM does not identify the new replica
// (no valid vm_uuid, the source's own vm_uuid, another app's) is an
// *UnreadableCreatedError holding the answer, never a VM a caller would wait
// for, verify or report; the POST is sent once.
func TestAnswerNotNamingTheNewReplica(t *testing.T) {
	t.Parallel()
	withUUID := func(u any) map[string]any {
		o := vmObject(newUUID, appHexID, hashA)
		o["vm_uuid"] = u
		return o
	}
	tests := []struct {
		name    string
		answer  map[string]any
		source  string // the argument: a vm_uuid or an app id
		via     string // "replicate", "commit" or "prepared" (CommitPrepared, which knows the app)
		problem string
	}{
		{"empty object", map[string]any{}, srcUUID, "replicate", "no valid vm_uuid"},
		{"vm_uuid a number", withUUID(123), srcUUID, "replicate", "no valid vm_uuid"},
		{"the source's own vm_uuid", withUUID(srcUUID), srcUUID, "replicate", "the source CVM itself"},
		{"another app, app id source", vmObject(newUUID, otherApp, hashA), "app_" + appHexID, "replicate", "not the source's app"},
		{"commit without vm_uuid", withUUID(nil), srcUUID, "commit", "no valid vm_uuid"},
		{"commit naming the source", withUUID(srcUUID), srcUUID, "commit", "the source CVM itself"},
		{"prepared commit naming another app", vmObject(newUUID, otherApp, hashA), srcUUID, "prepared", "not the source's app"},
		{"prepared commit without vm_uuid", withUUID(""), srcUUID, "prepared", "no valid vm_uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
			})
			answer := func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(tt.answer))
			}
			rec.handle(mux, "POST /cvms/{uuid}/replicas", answer)
			rec.handle(mux, "POST /cvms/{uuid}/commit-replica", answer)
			var (
				vm  *VM
				err error
			)
			switch tt.via {
			case "commit":
				vm, err = c.CommitReplica(context.Background(), srcUUID, CommitRequest{Token: token, ComposeHash: hashA, TransactionHash: AlreadyRegistered})
			case "prepared":
				vm, err = c.CommitPrepared(context.Background(), &PreparedReplica{SourceVMUUID: srcUUID, CommitToken: token,
					ComposeHash: hashA, AppID: "0x" + appHexID}, AlreadyRegistered)
			default:
				vm, err = c.Replicate(context.Background(), tt.source, ReplicateRequest{})
			}
			assert.Nil(t, vm)
			var u *UnreadableCreatedError
			require.ErrorAs(t, err, &u)
			require.ErrorIs(t, err, ErrUnexpectedBody)
			assert.Equal(t, http.StatusOK, u.StatusCode)
			require.NotNil(t, u.VM, "the answer, to show")
			assert.Contains(t, err.Error(), tt.problem)
			assert.Contains(t, err.Error(), "do not send it again")
			posts := 0
			for _, l := range rec.lines() {
				if l[:4] == "POST" {
					posts++
				}
			}
			assert.Equal(t, 1, posts, "never resent")
		})
	}
}

// Scale reports such an answer on its replica, and the others stand.
func TestScaleAnswerNotNamingTheNewReplica(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	n := 0
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		n++
		if n == 2 {
			writeJSON(w, http.StatusOK, `{"name": "r"}`)
			return
		}
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newTestUUID(), appHexID, hashA)))
	})
	res, err := c.Scale(context.Background(), srcUUID, 3, ReplicateRequest{}, ScaleOptions{Concurrency: 1})
	require.Error(t, err)
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, ErrUnreadableCreated)
	assert.Nil(t, res[1].VM)
}
