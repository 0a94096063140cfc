package phala

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/phalaforge/phala-go/attest"
)

// VerifyOptions says what [Client.VerifyReplica] expects of a replica. The zero value
// expects the app id and compose hash that GET /cvms/{id} reports for the replica.
type VerifyOptions struct {
	// AppID is the app id the replica must have measured (app_<40 hex>, 0x<40 hex> or
	// 40 hex). Empty: the replica's app_id from GetCVM.
	AppID string
	// ComposeHash is the compose hash the replica must have measured (64 hex, 0x
	// optional): the source's, or the one approved on chain. Empty: the replica's
	// compose_hash from GetCVM, which is the API's word; pass your own to take the API
	// out of the trust chain.
	ComposeHash string
	// CVM is the replica as already read (e.g. returned by WaitForReplica): its app id,
	// compose hash and instance id stand in for GET /cvms/{id}, saving a round trip.
	// Its VMUUID must be the one verified.
	CVM *CVM
	// Attest are further options for [attest.Verify]: collateral or a PCCS for the TCB
	// status, OS image allow-lists, accepted TCB statuses, a verification time.
	Attest []attest.Option
}

// Verification is the outcome of a passing [Client.VerifyReplica].
type Verification struct {
	VMUUID              string `json:"vm_uuid"`
	ExpectedAppID       string `json:"expected_app_id"`       // 40 hex digits
	ExpectedComposeHash string `json:"expected_compose_hash"` // 64 hex digits
	// InstanceChecked says whether the measured instance-id was compared with the
	// instance_id GetCVM reports (both present), binding the quote to this replica
	// rather than to another instance of the same app.
	InstanceChecked bool           `json:"instance_checked"`
	Result          *attest.Result `json:"result"`
}

// VerifyReplica verifies the attestation of the CVM vmUUID: its TDX quote up to Intel's
// root, its event log against the quote's RTMR3, and its measured app id and compose
// hash against opts (by default the replica's own, from GET /cvms/{id}). When both
// GetCVM and the event log carry an instance id they must be equal.
//
// A CVM that is offline or not yet booted gives an [*AttestationUnavailableError]
// (errors.Is [ErrAttestationUnavailable]); a failed check an [*attest.CheckError]. See
// package attest for what a pass proves: without collateral in opts.Attest the TCB
// status is unknown, and without MRTD/RTMR pins the OS image is reported, not judged.
//
// It sends GET /cvms/{id} (skipped when opts gives the CVM, or both the app id and the
// compose hash) and GET /cvms/{id}/attestation.
func (c *Client) VerifyReplica(ctx context.Context, vmUUID string, opts VerifyOptions) (*Verification, error) {
	id, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return nil, err
	}
	v := &Verification{VMUUID: id}
	var instanceID string
	if v.ExpectedAppID, v.ExpectedComposeHash, err = opts.expectations(""); err != nil {
		return nil, err
	}
	if opts.CVM != nil {
		if u, ok := canonicalUUID(opts.CVM.VMUUID); !ok || u != id {
			return nil, invalidArg("CVM", opts.CVM.VMUUID, "VerifyOptions.CVM is not the CVM %s", id)
		}
	}
	if v.ExpectedAppID == "" || v.ExpectedComposeHash == "" || opts.CVM != nil {
		cvm := opts.CVM
		if cvm == nil {
			if cvm, err = c.GetCVM(ctx, id); err != nil {
				return nil, err
			}
		}
		instanceID = cvm.InstanceID
		if v.ExpectedAppID == "" {
			if v.ExpectedAppID, err = parseAppID("AppID", cvm.AppID); err != nil {
				return nil, fmt.Errorf("phala: CVM %s reports no usable app id; pass VerifyOptions.AppID: %w", id, err)
			}
		}
		if v.ExpectedComposeHash == "" {
			if v.ExpectedComposeHash, err = composeHex("ComposeHash", cvm.ComposeHash); err != nil {
				return nil, fmt.Errorf("phala: CVM %s reports no usable compose hash; pass VerifyOptions.ComposeHash: %w", id, err)
			}
		}
	}
	att, err := c.GetCVMAttestation(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err := att.Evidence(id)
	if err != nil {
		return nil, err
	}
	aopts := append([]attest.Option{attest.WithAppID(v.ExpectedAppID), attest.WithComposeHash(v.ExpectedComposeHash)}, opts.Attest...)
	res, err := attest.Verify(ctx, ev, aopts...)
	if err != nil {
		return nil, fmt.Errorf("phala: verify CVM %s: %w", id, err)
	}
	v.Result = res
	if want := normInstanceID(instanceID); want != "" && res.InstanceID != "" {
		if want != res.InstanceID {
			return nil, fmt.Errorf("phala: verify CVM %s: %w", id, &attest.CheckError{
				Check: CheckInstanceID, Want: want, Got: res.InstanceID})
		}
		v.InstanceChecked = true
	}
	return v, nil
}

// expectations returns the caller's AppID and ComposeHash as lowercase hex, "" where
// not given; field names in an error are prefixed with prefix.
func (o *VerifyOptions) expectations(prefix string) (appID, composeHash string, err error) {
	if o.AppID != "" {
		if appID, err = parseAppID(prefix+"AppID", o.AppID); err != nil {
			return "", "", err
		}
	}
	if o.ComposeHash != "" {
		if composeHash, err = composeHex(prefix+"ComposeHash", o.ComposeHash); err != nil {
			return "", "", err
		}
	}
	return appID, composeHash, nil
}

// composeHex validates a compose hash and returns its 64 hex digits in lowercase.
func composeHex(arg, s string) (string, error) {
	h, err := normComposeHash(arg, s)
	if err != nil {
		return "", err
	}
	return strings.ToLower(strings.TrimPrefix(h, "0x")), nil
}

// CheckInstanceID is the [attest.Check] of [Client.VerifyReplica] that compares the
// measured instance-id with the instance_id the API reports for the replica.
const CheckInstanceID attest.Check = "instance-id"

// normInstanceID returns the instance id as lowercase hex, or "" when it is not hex
// (then it cannot be compared with the measured one).
func normInstanceID(s string) string {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if _, err := hex.DecodeString(s); err != nil {
		return ""
	}
	return s
}
