package phala

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLostAnswerAdviceOnce pins the whole message of a replicate or commit whose
// answer is lost (or unreadable): the advice to find the replica appears once,
// in terms of what the caller has (the source vm_uuid, or the app id when the
// call named it), and the request is not resent.
func TestLostAnswerAdviceOnce(t *testing.T) {
	t.Parallel()
	const (
		find   = `GetCVM(ctx, "` + srcUUID + `") reads the source and its AppID, then ListReplicas(ctx, cvm.AppID) lists the app's instances (GET /apps/{app_id}/cvms); a new instance is the replica`
		byApp  = `ListReplicas(ctx, "app_` + appHexID + `") lists the app's instances (GET /apps/{app_id}/cvms); a new instance is the replica`
		notRe  = "; it was not resent because the server may have acted on it"
		check  = "; check whether the replica was created before trying again: "
		commit = ", so the commit token may have been used: do not commit or prepare again before checking"
	)
	replicate := func(c *Client) error {
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7"})
		return err
	}
	replicateApp := func(c *Client) error {
		_, err := c.ReplicateAppInstance(context.Background(), "app_"+appHexID, srcUUID, ReplicateRequest{Node: "7", ComposeHash: hashA})
		return err
	}
	commitReplica := func(c *Client) error {
		_, err := c.CommitReplica(context.Background(), srcUUID, CommitRequest{Token: token, ComposeHash: hashA, TransactionHash: AlreadyRegistered})
		return err
	}
	lost := func(t *testing.T, n *counter) http.HandlerFunc { return hijackAfterRead(t, n) }
	unreadable := func(_ *testing.T, n *counter) http.HandlerFunc {
		return n.wrap(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			writeJSON(w, http.StatusCreated, `{"vm_uuid":`)
		})
	}
	tests := []struct {
		name   string
		path   string // the POST that loses its answer
		answer func(*testing.T, *counter) http.HandlerFunc
		run    func(*Client) error
		want   func(t *testing.T, err error) string // the whole expected message
	}{
		{"Replicate lost", "/cvms/" + srcUUID + "/replicas", lost, replicate, func(t *testing.T, err error) string {
			var u *OutcomeUnknownError
			require.ErrorAs(t, err, &u)
			return fmt.Sprintf("phala: POST /cvms/%s/replicas: outcome unknown: the request was sent but no answer arrived (%v)%s%s%s",
				srcUUID, u.Err, notRe, check, find)
		}},
		{"ReplicateAppInstance lost", "/apps/" + appHexID + "/cvms/" + srcUUID + "/replicas", lost, replicateApp, func(t *testing.T, err error) string {
			var u *OutcomeUnknownError
			require.ErrorAs(t, err, &u)
			return fmt.Sprintf("phala: POST /apps/%s/cvms/%s/replicas: outcome unknown: the request was sent but no answer arrived (%v)%s%s%s",
				appHexID, srcUUID, u.Err, notRe, check, byApp)
		}},
		{"CommitReplica lost", "/cvms/" + srcUUID + "/commit-replica", lost, commitReplica, func(t *testing.T, err error) string {
			var u *OutcomeUnknownError
			require.ErrorAs(t, err, &u)
			return fmt.Sprintf("phala: POST /cvms/%s/commit-replica: outcome unknown: the request was sent but no answer arrived (%v)%s%s%s%s",
				srcUUID, u.Err, notRe, commit, check, find)
		}},
		{"Replicate unreadable", "/cvms/" + srcUUID + "/replicas", unreadable, replicate, func(t *testing.T, err error) string {
			var u *UnreadableCreatedError
			require.ErrorAs(t, err, &u)
			return fmt.Sprintf("phala: POST /cvms/%s/replicas: the server answered HTTP 201, so it acted on the request (the replica was created or committed), "+
				"but its answer could not be read (%s); do not send it again, which could create a second replica; find the new one: %s",
				srcUUID, strings.TrimPrefix(u.Err.Error(), "phala: "), find)
		}},
		{"CommitReplica unreadable", "/cvms/" + srcUUID + "/commit-replica", unreadable, commitReplica, func(t *testing.T, err error) string {
			var u *UnreadableCreatedError
			require.ErrorAs(t, err, &u)
			return fmt.Sprintf("phala: POST /cvms/%s/commit-replica: the server answered HTTP 201, so it acted on the request (the replica was created or committed), "+
				"but its answer could not be read (%s); the commit token is used: do not send it again; find the replica: %s",
				srcUUID, strings.TrimPrefix(u.Err.Error(), "phala: "), find)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var posts counter
			mux.HandleFunc("POST "+tt.path, tt.answer(t, &posts))
			err := tt.run(c)
			require.Error(t, err)
			assert.EqualValues(t, 1, posts.get(), "the POST was not resent")
			msg := err.Error()
			assert.Equal(t, tt.want(t, err), msg)
			assert.Equal(t, 1, strings.Count(msg, "ListReplicas("), "the advice appears once: %s", msg)
			assert.LessOrEqual(t, strings.Count(msg, "GetCVM("), 1, msg)
			assert.NotContains(t, msg, "<app id>")
		})
	}
}
