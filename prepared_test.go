package phala_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingRegistrar fails every registration, as an owner key without funds would.
type failingRegistrar struct{}

func (failingRegistrar) EnsureRegistered(context.Context, *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	return nil, errors.New("insufficient funds for gas")
}

// A 465 from Replicate, with or without a Registrar, can be saved and resumed:
// AsPrepared → JSON → another process → register → CommitPrepared.
func TestAsPreparedResumesA465(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		registrar phala.Registrar
		check     func(t *testing.T, err error)
	}{
		{"no registrar", nil, func(t *testing.T, err error) {
			var approval *phala.ApprovalRequiredError
			require.ErrorAs(t, err, &approval)
			var pre *phala.ErrOnchainPrerequisite
			require.ErrorAs(t, err, &pre, "still an *ErrOnchainPrerequisite")
			assert.ErrorIs(t, err, phala.ErrHashRegistrationRequired)
		}},
		{"registration failed", failingRegistrar{}, func(t *testing.T, err error) {
			var auto *phala.AutoRegistrationError
			require.ErrorAs(t, err, &auto)
			assert.False(t, auto.Committing)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newOnchainWorld(t)
			ctx := context.Background()
			at := time.Now().UTC().Truncate(time.Second)
			c, err := w.srv.Client(phala.WithClock(func() time.Time { return at }))
			require.NoError(t, err)

			_, err = c.Replicate(ctx, "app_"+w.app.ID, phala.ReplicateRequest{Node: "tdx-1", Registrar: tt.registrar})
			require.Error(t, err)
			tt.check(t, err)
			assert.Empty(t, w.srv.Replicas())

			p, ok := phala.AsPrepared(fmt.Errorf("deploying: %w", err))
			require.True(t, ok, "%v", err)
			assert.Equal(t, w.src.VMUUID, p.SourceVMUUID, "the source is known although it was named by app id")
			assert.Equal(t, at, p.PreparedAt)
			assert.Equal(t, at.Add(phala.CommitTokenTTL), p.ExpiresAt)
			assert.NotEmpty(t, p.CommitToken)

			saved, err := json.Marshal(p)
			require.NoError(t, err)
			var resumed phala.PreparedReplica
			require.NoError(t, json.Unmarshal(saved, &resumed))
			reg, err := w.registrar(t).EnsureRegistered(ctx, resumed.Prerequisite())
			require.NoError(t, err)
			later, err := w.srv.Client(phala.WithClock(func() time.Time { return at.Add(72 * time.Hour) }))
			require.NoError(t, err)
			vm, err := later.CommitPrepared(ctx, &resumed, reg.CommitTransactionHash())
			require.NoError(t, err)
			rep, ok := w.srv.Replica(vm.VMUUID)
			require.True(t, ok)
			assert.True(t, rep.Committed)
		})
	}
}

// The error of a 465 does not show the commit token in any form; only the
// PreparedReplica asked for with AsPrepared holds it.
func TestApprovalRequiredErrorHidesTheToken(t *testing.T) {
	t.Parallel()
	w := newOnchainWorld(t)
	c, err := w.srv.Client()
	require.NoError(t, err)
	_, err = c.Replicate(context.Background(), w.src.VMUUID, phala.ReplicateRequest{})
	p, ok := phala.AsPrepared(err)
	require.True(t, ok)
	require.NotEmpty(t, p.CommitToken)

	raw, jerr := json.Marshal(err)
	require.NoError(t, jerr)
	for _, out := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), string(raw)} {
		assert.NotContains(t, out, p.CommitToken)
	}
	var decoded struct {
		Error        string    `json:"error"`
		SourceVMUUID string    `json:"source_vm_uuid"`
		PreparedAt   time.Time `json:"prepared_at"`
	}
	require.NoError(t, json.Unmarshal(raw, &decoded))
	assert.Equal(t, err.Error(), decoded.Error)
	assert.Equal(t, w.src.VMUUID, decoded.SourceVMUUID)
	assert.True(t, p.PreparedAt.Equal(decoded.PreparedAt))
}

func TestAsPreparedRefuses(t *testing.T) {
	t.Parallel()
	const src = "0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a"
	pre := &phala.ErrOnchainPrerequisite{CommitToken: "ct_1", ComposeHash: "ab", AppID: "cd"}
	tests := []struct {
		name string
		err  error
	}{
		{"nil", nil},
		{"other error", errors.New("boom")},
		{"bare prerequisite: no source", pre},
		{"payload mismatch: not trusted", &phala.PayloadMismatchError{Field: "app_id", Prerequisite: pre}},
		{"created at once", &phala.ReplicaCreatedError{VM: &phala.VM{VMUUID: src}}},
		{"no commit token", &phala.ApprovalRequiredError{SourceVMUUID: src, Prerequisite: &phala.ErrOnchainPrerequisite{ComposeHash: "ab"}}},
		{"no prerequisite", &phala.AutoRegistrationError{VMUUID: src, Err: errors.New("x")}},
		{"no source", &phala.AutoRegistrationError{Prerequisite: pre, Err: errors.New("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := phala.AsPrepared(tt.err)
			assert.False(t, ok)
			assert.Nil(t, p)
		})
	}
	// Without a known time the expiry is unknown, not 14 days after year 1.
	p, ok := phala.AsPrepared(&phala.ApprovalRequiredError{SourceVMUUID: src, Prerequisite: pre})
	require.True(t, ok)
	assert.True(t, p.ExpiresAt.IsZero())
	assert.False(t, p.Expired(time.Now()))
}
