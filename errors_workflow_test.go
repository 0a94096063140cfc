package phala

import (
	"errors"
	"testing"
	"time"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/stretchr/testify/assert"
)

// TestWorkflowErrorMessages checks that each error names what the user needs and
// never the commit token.
func TestWorkflowErrorMessages(t *testing.T) {
	t.Parallel()
	pre := &ErrOnchainPrerequisite{CommitToken: token, ComposeHash: hashA, AppID: appHexID}
	cause := errors.New("boom")
	tests := []struct {
		err  error
		want []string
		is   error
	}{
		{&AutoRegistrationError{VMUUID: srcUUID, Prerequisite: pre, Err: cause}, []string{srcUUID, "registration failed", "boom"}, cause},
		{&AutoRegistrationError{VMUUID: srcUUID, Prerequisite: pre, Registration: &onchain.Registration{}, Committing: true, Err: cause},
			[]string{"commit failed", AlreadyRegistered}, cause},
		{&ReplicaCreatedError{VM: &VM{VMUUID: newUUID}}, []string{newUUID, "do not create it again"}, ErrReplicaCreated},
		{&NotAttemptedError{Cause: ErrInsufficientSlots}, []string{"not attempted", "insufficient slots"}, ErrInsufficientSlots},
		{&ScaleError{Requested: 5, Created: 2, Err: ErrInsufficientSlots}, []string{"created 2 of 5"}, ErrInsufficientSlots},
		{&MultipleComposeHashesError{AppID: "app_" + appHexID, ComposeHashes: []string{hashA, hashB}}, []string{hashA, hashB, "ComposeHash"}, ErrMultipleLiveComposeHashes},
		{&ComposeHashNotFoundError{AppID: "app_" + appHexID, ComposeHash: hashB, Live: []string{hashA}}, []string{hashA, hashB}, ErrComposeHashNotFound},
		{&ComposeHashNotFoundError{AppID: "app_" + appHexID, ComposeHash: hashB}, []string{"none"}, ErrComposeHashNotFound},
		{&PayloadMismatchError{Field: "app_id", Payload: otherApp, Expected: appHexID, From: "source CVM", Prerequisite: pre}, []string{otherApp, appHexID, "nothing was signed"}, ErrPayloadMismatch},
		{&ReplicaFailedError{VMUUID: newUUID, Status: "error", BootError: "bad env"}, []string{newUUID, "bad env"}, ErrReplicaFailed},
		{&CommitTokenExpiredError{ExpiresAt: time.Unix(0, 0)}, []string{"1970-01-01", "PrepareReplica"}, ErrHashInvalidOrExpired},
		{&NoKMSTrustRootError{AppID: appHexID, ChainID: 8453}, []string{appHexID, "8453", "WithTrustedKMSRootKeys"}, ErrNoKMSTrustRoot},
		{&NodeNotFoundError{Name: "x"}, []string{`"x"`, "none"}, ErrNodeNotFound},
	}
	for _, tt := range tests {
		msg := tt.err.Error()
		for _, w := range tt.want {
			assert.Contains(t, msg, w)
		}
		assert.NotContains(t, msg, token)
		assert.ErrorIs(t, tt.err, tt.is, msg)
	}
}

func TestPreparedReplicaExpired(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	p := &PreparedReplica{ExpiresAt: at}
	assert.False(t, p.Expired(at.Add(-time.Nanosecond)))
	assert.True(t, p.Expired(at))
	assert.False(t, (&PreparedReplica{}).Expired(at), "unknown expiry")
}
