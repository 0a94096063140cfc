package phala_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/phalatest"
)

// attestationFaults are the emulator's faults and the check each must fail.
var attestationFaults = []struct {
	name  string
	fault phalatest.AttestationFault
	check attest.Check // "" = passes
}{
	{"genuine", phalatest.AttestationGenuine, ""},
	{"tampered event log", phalatest.AttestationTamperedEventLog, attest.CheckEventDigest},
	{"foreign compose hash", phalatest.AttestationForeignComposeHash, attest.CheckComposeHash},
	{"bad signature", phalatest.AttestationBadSignature, attest.CheckQuoteSignature},
}

// trustEmulator verifies against the emulator's test root, which nothing trusts by
// default.
func trustEmulator(srv *phalatest.Server) *phala.VerifyOptions {
	return &phala.VerifyOptions{Attest: []attest.Option{attest.WithTrustedRoots(srv.AttestationRoots())}}
}

// requireFailedCheck asserts err is a *VerificationError of check on a running replica.
func requireFailedCheck(t *testing.T, err error, check attest.Check, vmUUID string) *phala.VerificationError {
	t.Helper()
	require.ErrorIs(t, err, phala.ErrVerificationFailed)
	assert.ErrorIs(t, err, &attest.CheckError{Check: check})
	var ve *phala.VerificationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, vmUUID, ve.VMUUID)
	require.NotNil(t, ve.CVM)
	assert.Equal(t, phalatest.StatusRunning, ve.CVM.Status)
	require.NotNil(t, ve.CheckError())
	assert.Equal(t, check, ve.CheckError().Check)
	return ve
}

func TestWaitForReplicaVerifies(t *testing.T) {
	t.Parallel()
	for _, tt := range attestationFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv, c, src := waitFixture(t)
			vm, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{})
			require.NoError(t, err)
			srv.SetAttestationFault(vm.VMUUID, tt.fault)
			cvm, err := c.WaitForReplica(ctx, vm.VMUUID, phala.WaitOptions{
				PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond,
				OnProgress: func(*phala.CVM) { srv.Advance(500 * time.Millisecond) },
				Verify:     trustEmulator(srv),
			})
			if tt.check == "" {
				require.NoError(t, err)
				assert.Equal(t, phalatest.StatusRunning, cvm.Status)
				return
			}
			assert.Nil(t, cvm)
			requireFailedCheck(t, err, tt.check, vm.VMUUID)
		})
	}
}

func TestWaitForReplicasVerifiesEachReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, c, src := waitFixture(t)
	var uuids []string
	for _, tt := range attestationFaults {
		vm, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{})
		require.NoError(t, err)
		srv.SetAttestationFault(vm.VMUUID, tt.fault)
		uuids = append(uuids, vm.VMUUID)
	}
	results, err := c.WaitForReplicas(ctx, uuids, phala.WaitOptions{
		PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond,
		OnProgress: func(*phala.CVM) { srv.Advance(250 * time.Millisecond) },
		Verify:     trustEmulator(srv),
	})
	var werr *phala.WaitError
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 1, werr.Running)
	assert.ErrorIs(t, err, phala.ErrVerificationFailed)
	require.Len(t, results, len(attestationFaults))

	b, err := json.Marshal(results)
	require.NoError(t, err)
	var doc []struct {
		VMUUID       string `json:"vm_uuid"`
		CVM          *struct{ Status string }
		Verification *struct {
			ExpectedComposeHash string `json:"expected_compose_hash"`
			Result              struct {
				ComposeHashChecked bool   `json:"compose_hash_checked"`
				InstanceID         string `json:"instance_id"`
			} `json:"result"`
			InstanceChecked bool `json:"instance_checked"`
		} `json:"verification"`
		Failure *struct {
			Check, Want, Got, Error string
		} `json:"verification_failure"`
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	for i, tt := range attestationFaults {
		r, d := results[i], doc[i]
		assert.Equal(t, uuids[i], d.VMUUID, tt.name)
		require.NotNil(t, d.CVM, tt.name)
		assert.Equal(t, phalatest.StatusRunning, d.CVM.Status, tt.name)
		if tt.check == "" {
			require.NoError(t, r.Err)
			require.NotNil(t, r.Verification)
			require.NotNil(t, d.Verification)
			assert.True(t, d.Verification.Result.ComposeHashChecked)
			assert.True(t, d.Verification.InstanceChecked, "the emulator measures the instance id")
			assert.Nil(t, d.Failure)
			continue
		}
		assert.Nil(t, r.Verification, tt.name)
		requireFailedCheck(t, r.Err, tt.check, uuids[i])
		require.NotNil(t, d.Failure, tt.name)
		assert.Equal(t, string(tt.check), d.Failure.Check, tt.name)
		assert.Equal(t, r.Err.Error(), d.Error, tt.name)
		if tt.check == attest.CheckComposeHash {
			cvm := r.Err.(*phala.VerificationError).CVM
			assert.Equal(t, strings.TrimPrefix(cvm.ComposeHash, "0x"), d.Failure.Want, "the replica's compose hash was expected")
			assert.NotEqual(t, d.Failure.Want, d.Failure.Got)
		}
	}
}

// The emulator's test root is trusted only when a caller passes it: by default
// its quotes fail the signature chain.
func TestWaitVerifyDoesNotTrustTheTestRootByDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, c, src := waitFixture(t)
	vm, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{})
	require.NoError(t, err)
	_, err = c.WaitForReplica(ctx, vm.VMUUID, phala.WaitOptions{
		PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond,
		OnProgress: func(*phala.CVM) { srv.Advance(500 * time.Millisecond) },
		Verify:     &phala.VerifyOptions{},
	})
	requireFailedCheck(t, err, attest.CheckQuoteSignature, vm.VMUUID)
}

func TestWaitVerifyRefusesBadOptionsWithoutRequest(t *testing.T) {
	t.Parallel()
	srv, c, src := waitFixture(t)
	srv.ResetRequests()
	for name, v := range map[string]*phala.VerifyOptions{
		"bad app id":       {AppID: "xyz"},
		"bad compose hash": {ComposeHash: "abc"},
		"CVM given":        {CVM: &phala.CVM{VMUUID: src.VMUUID}},
	} {
		_, err := c.WaitForReplica(context.Background(), src.VMUUID, phala.WaitOptions{Verify: v})
		assert.ErrorIs(t, err, phala.ErrInvalidArgument, name)
		_, err = c.WaitForReplicas(context.Background(), []string{src.VMUUID}, phala.WaitOptions{Verify: v})
		assert.ErrorIs(t, err, phala.ErrInvalidArgument, name)
	}
	assert.Empty(t, srv.Requests())
}
