package phala_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/phalatest"
)

// ApplyOptions.Verify verifies each new replica before removing anything live: a
// replica that fails a check is a failed create, and the instance it was to
// replace keeps running.
func TestApplyReplicaSetVerifiesNewReplicas(t *testing.T) {
	for _, tt := range attestationFaults {
		t.Run(tt.name, func(t *testing.T) {
			f := newSetFixture(t)
			// A move from a1 to b1: one create, then one removal of a live instance.
			spec := f.spec(phala.Placement{Node: "b1", Count: 1}, phala.Placement{Node: "a1", Count: 0})
			spec.Source = f.src.VMUUID
			plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
			require.NoError(t, err)
			require.Len(t, plan.Creates, 1)
			require.Len(t, plan.Removals, 1)

			wait := f.waitFn
			wait.OnProgress = func(cvm *phala.CVM) { f.srv.SetAttestationFault(cvm.VMUUID, tt.fault) }
			res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: wait, Verify: trustEmulator(f.srv)})
			require.NotNil(t, res)
			require.Len(t, res.Creates, 1)
			cr := res.Creates[0]
			require.NotNil(t, cr.VM)
			uuid := cr.VM.Instance().VMUUID

			b, jerr := json.Marshal(res)
			require.NoError(t, jerr)
			var doc struct {
				Creates []struct {
					Verification *struct {
						ExpectedComposeHash string `json:"expected_compose_hash"`
					} `json:"verification"`
					Failure *struct{ Check, Want, Got string } `json:"verification_failure"`
					Error   string                             `json:"error"`
				} `json:"creates"`
				Removals []struct {
					Skipped string `json:"skipped"`
				} `json:"removals"`
			}
			require.NoError(t, json.Unmarshal(b, &doc))

			if tt.check == "" {
				require.NoError(t, err)
				require.NotNil(t, cr.Verification)
				assert.Equal(t, strings.TrimPrefix(plan.ComposeHash, "0x"), cr.Verification.ExpectedComposeHash, "the plan's compose hash is expected")
				require.NotNil(t, doc.Creates[0].Verification)
				assert.Equal(t, map[string]int{"b1": 1}, f.live(t), "moved")
				return
			}
			requireFailedCheck(t, err, tt.check, uuid)
			assert.ErrorIs(t, err, phala.ErrApplyIncomplete)
			requireFailedCheck(t, cr.Err, tt.check, uuid)
			assert.Nil(t, cr.Verification)
			require.NotNil(t, doc.Creates[0].Failure)
			assert.Equal(t, string(tt.check), doc.Creates[0].Failure.Check)
			assert.NotEmpty(t, doc.Creates[0].Error)
			if tt.check == attest.CheckComposeHash {
				assert.Equal(t, strings.TrimPrefix(plan.ComposeHash, "0x"), doc.Creates[0].Failure.Want)
			}
			assert.NotEmpty(t, res.Removals[0].Skipped, "no live instance removed for an unverified replica")
			assert.NotEmpty(t, doc.Removals[0].Skipped)
			assert.Equal(t, map[string]int{"a1": 1, "b1": 1}, f.live(t), "the source keeps running")
		})
	}
}

// Without live removals, Verify still waits for and verifies every create.
func TestApplyReplicaSetVerifyWithoutRemovals(t *testing.T) {
	f := newSetFixture(t)
	spec := f.spec(phala.Placement{Node: "a1", Count: 1}, phala.Placement{Region: "eu-central", Count: 2})
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Creates, 2)
	require.Empty(t, plan.Removals)
	n := 0
	wait := f.waitFn
	wait.OnProgress = func(cvm *phala.CVM) {
		if n == 0 {
			f.srv.SetAttestationFault(cvm.VMUUID, phalatest.AttestationForeignComposeHash)
		}
		n++
	}
	opts := phala.ApplyOptions{Wait: wait, Verify: trustEmulator(f.srv), Concurrency: 1}
	res, err := f.c.ApplyReplicaSet(f.ctx, plan, opts)
	var ae *phala.ApplyError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 1, ae.Failed)
	require.Len(t, res.Creates, 2)
	failed, verified := 0, 0
	for _, cr := range res.Creates {
		if cr.Err != nil {
			requireFailedCheck(t, cr.Err, attest.CheckComposeHash, cr.VM.Instance().VMUUID)
			failed++
		}
		if cr.Verification != nil {
			verified++
		}
	}
	assert.Equal(t, 1, failed)
	assert.Equal(t, 1, verified)
}
