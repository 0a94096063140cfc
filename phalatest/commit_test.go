package phalatest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// tokenFixture prepares replicas of a Cloud KMS app through 465 (no chain
// involved), to exercise the token rules alone.
type tokenFixture struct {
	*fixture
	clock *fakeClock
}

func newTokenFixture(t *testing.T) *tokenFixture {
	clock := newFakeClock()
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithPrepareOnlyCommitToken(), phalatest.WithClock(clock.Now))
	return &tokenFixture{fixture: f, clock: clock}
}

func (f *tokenFixture) prepare(t *testing.T, vmUUID string, nodeID int) (token, composeHash string) {
	t.Helper()
	r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(vmUUID), body: map[string]any{"node_id": nodeID},
		header: map[string]string{"X-Prepare-Only": "true"}})
	require.Equal(t, phalatest.StatusPrepare, r.Status, "%s", r.Raw)
	d := r.details(t)
	return d["commit_token"].(string), d["compose_hash"].(string)
}

func (f *tokenFixture) commit(t *testing.T, vmUUID string, body map[string]any) reply {
	t.Helper()
	return post(t, f.srv, "/cvms/"+vmUUID+"/commit-replica", body)
}

func TestCommitTokenRules(t *testing.T) {
	tests := []struct {
		name string
		// run prepares and commits, returning the commit answer.
		run    func(t *testing.T, f *tokenFixture) reply
		status int
	}{
		{"valid just before expiry", func(t *testing.T, f *tokenFixture) reply {
			tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			f.clock.Add(phalatest.TokenTTL - time.Second)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h, "transaction_hash": "already-registered"})
		}, http.StatusOK},
		{"expired after 14 days", func(t *testing.T, f *tokenFixture) reply {
			tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			f.clock.Add(14 * 24 * time.Hour)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h, "transaction_hash": "already-registered"})
		}, 466},
		{"expired through Advance", func(t *testing.T, f *tokenFixture) reply {
			tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			f.srv.Advance(15 * 24 * time.Hour)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h, "transaction_hash": "already-registered"})
		}, 466},
		{"superseded by a newer prepare", func(t *testing.T, f *tokenFixture) reply {
			old, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			newer, _ := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			require.NotEqual(t, old, newer)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": old, "compose_hash": h, "transaction_hash": "already-registered"})
		}, 466},
		{"a prepare for another node does not supersede", func(t *testing.T, f *tokenFixture) reply {
			n2 := f.srv.AddNode(phalatest.Node{})
			tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			f.prepare(t, f.cvm.VMUUID, n2.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h, "transaction_hash": "already-registered"})
		}, http.StatusOK},
		{"compose hash differs", func(t *testing.T, f *tokenFixture) reply {
			tok, _ := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": strings.Repeat("1", 64), "transaction_hash": "already-registered"})
		}, 466},
		{"compose hash with 0x and upper case is the same", func(t *testing.T, f *tokenFixture) reply {
			tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": "0x" + strings.ToUpper(h), "transaction_hash": "already-registered"})
		}, http.StatusOK},
		{"token of another CVM", func(t *testing.T, f *tokenFixture) reply {
			other := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID})
			tok, h := f.prepare(t, other.VMUUID, f.node.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h, "transaction_hash": "already-registered"})
		}, 466},
		{"unknown token", func(t *testing.T, f *tokenFixture) reply {
			_, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": "ct_nope", "compose_hash": h, "transaction_hash": "already-registered"})
		}, 466},
		{"missing token", func(t *testing.T, f *tokenFixture) reply {
			_, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"compose_hash": h})
		}, http.StatusUnprocessableEntity},
		{"transaction_hash is optional", func(t *testing.T, f *tokenFixture) reply {
			tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
			return f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h})
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTokenFixture(t)
			r := tt.run(t, f)
			require.Equal(t, tt.status, r.Status, "%s", r.Raw)
			switch tt.status {
			case 466:
				assert.Equal(t, phalatest.CodeHashInvalidOrExpired, r.code(t))
				assert.Empty(t, f.srv.Replicas())
			case http.StatusOK:
				assert.Len(t, f.srv.Replicas(), 1)
			}
		})
	}
}

func TestCommitRechecksCapacity(t *testing.T) {
	f := newTokenFixture(t)
	tok, h := f.prepare(t, f.cvm.VMUUID, f.node.ID)
	f.srv.SetCredit("", 0)
	r := f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h})
	require.Equal(t, http.StatusPaymentRequired, r.Status)
	assert.Equal(t, phalatest.CodeInsufficientBalance, r.code(t))

	// The token was not consumed by the failed commit.
	f.srv.SetCredit("", 10)
	r = f.commit(t, f.cvm.VMUUID, map[string]any{"token": tok, "compose_hash": h})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
}

func TestCommitKeepsTheEnvOfThePrepare(t *testing.T) {
	f := newTokenFixture(t)
	r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(f.cvm.VMUUID), body: map[string]any{}, header: map[string]string{"X-Prepare-Only": "true"}})
	require.Equal(t, phalatest.StatusPrepare, r.Status)
	d := r.details(t)
	c := f.commit(t, f.cvm.VMUUID, map[string]any{"token": d["commit_token"], "compose_hash": d["compose_hash"]})
	require.Equal(t, http.StatusOK, c.Status)
	rep, _ := f.srv.Replica(c.obj(t)["vm_uuid"].(string))
	assert.True(t, rep.EnvInherited)
	assert.Equal(t, map[string]string{"API_TOKEN": "source-secret", "MODE": "prod"}, rep.DecryptedEnv.Map())
}
