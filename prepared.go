package phala

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ApprovalRequiredError is what Replicate (and ReplicateAppInstance, and each
// replica of Scale) returns for an HTTP 465 answer when no Registrar was given:
// the source's app is on an on-chain KMS and its DstackApp contract must allow
// the compose hash and the device before the replica can be committed. It
// unwraps to the checked [*ErrOnchainPrerequisite], so
// errors.As(err, new(*ErrOnchainPrerequisite)) and
// errors.Is(err, ErrHashRegistrationRequired) hold, and adds what a later commit
// needs besides the payload: the source's vm_uuid and when the answer came.
//
// To resume later, in this process or another, turn it into a [PreparedReplica]
// with [AsPrepared] (or Prepared) and store that: its JSON keeps the commit
// token. The error itself never prints or marshals the token.
type ApprovalRequiredError struct {
	SourceVMUUID string    // the source's vm_uuid, the path of the commit
	PreparedAt   time.Time // when the 465 was received, on the client's clock
	Prerequisite *ErrOnchainPrerequisite
}

// Error is the prerequisite's message, naming the source.
func (e *ApprovalRequiredError) Error() string {
	return fmt.Sprintf("phala: replica of %s: %v", e.SourceVMUUID, e.Prerequisite)
}

// Unwrap returns Prerequisite.
func (e *ApprovalRequiredError) Unwrap() error { return e.Prerequisite }

// Prepared returns the PreparedReplica to approve and commit; see [AsPrepared].
func (e *ApprovalRequiredError) Prepared() *PreparedReplica {
	if e == nil {
		return nil
	}
	return newPrepared(e.SourceVMUUID, e.Prerequisite, e.PreparedAt)
}

// MarshalJSON encodes {"error", "source_vm_uuid", "prepared_at", "prerequisite"},
// the prerequisite without its commit token (see
// [onchain.ErrOnchainPrerequisite.MarshalJSON]).
func (e *ApprovalRequiredError) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	return json.Marshal(struct {
		Error        string                  `json:"error"`
		SourceVMUUID string                  `json:"source_vm_uuid"`
		PreparedAt   time.Time               `json:"prepared_at"`
		Prerequisite *ErrOnchainPrerequisite `json:"prerequisite,omitempty"`
	}{e.Error(), e.SourceVMUUID, e.PreparedAt, e.Prerequisite})
}

// Prepared returns the PreparedReplica to commit the replica later, once its
// compose hash and device are allowed on chain, or nil when the error holds no
// commit token; see [AsPrepared].
func (e *AutoRegistrationError) Prepared() *PreparedReplica {
	if e == nil {
		return nil
	}
	return newPrepared(e.VMUUID, e.Prerequisite, e.PreparedAt)
}

// AsPrepared returns the PreparedReplica held by err, an error of Replicate,
// ReplicateAppInstance or Scale that carries a checked HTTP 465 prepare payload:
// an [*ApprovalRequiredError] (no Registrar) or an [*AutoRegistrationError] (the
// registration or its commit failed). The prepared replica has the source's
// vm_uuid, the payload and its commit token, and ExpiresAt (PreparedAt +
// CommitTokenTTL); store it as JSON and finish with [Client.CommitPrepared] once
// the owners have registered it, instead of preparing again.
//
// It reports false for any other error, including a [*PayloadMismatchError]
// (whose payload is not to be trusted), a bare *ErrOnchainPrerequisite (which
// does not name its source) and a payload without a commit token.
func AsPrepared(err error) (*PreparedReplica, bool) {
	var approval *ApprovalRequiredError
	if errors.As(err, &approval) {
		if p := approval.Prepared(); p != nil {
			return p, true
		}
	}
	var auto *AutoRegistrationError
	if errors.As(err, &auto) {
		if p := auto.Prepared(); p != nil {
			return p, true
		}
	}
	return nil, false
}

// newPrepared builds a PreparedReplica from a checked 465 payload, or returns
// nil when something a commit needs is missing.
func newPrepared(sourceVMUUID string, pre *ErrOnchainPrerequisite, at time.Time) *PreparedReplica {
	uuid, ok := canonicalUUID(sourceVMUUID)
	if pre == nil || !ok || pre.CommitToken == "" {
		return nil
	}
	p := &PreparedReplica{
		SourceVMUUID: uuid, CommitToken: pre.CommitToken, ComposeHash: pre.ComposeHash, AppID: pre.AppID,
		DeviceID: pre.DeviceID, KMSInfo: pre.KMSInfo, OnchainStatus: pre.OnchainStatus,
		CommitURL: pre.CommitURL, APICommitURL: pre.APICommitURL, PreparedAt: at,
	}
	if !at.IsZero() {
		p.ExpiresAt = at.Add(CommitTokenTTL)
	}
	return p
}
