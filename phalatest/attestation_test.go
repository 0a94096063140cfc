package phalatest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/phalatest"
)

func TestAttestationVerifiesUnderTestRootOnly(t *testing.T) {
	t.Parallel()
	srv := phalatest.NewServer()
	defer srv.Close()
	node := srv.AddNode(phalatest.Node{Name: "tdx-1"})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	cvm := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
	c, err := srv.Client()
	require.NoError(t, err)
	ctx := context.Background()

	roots := attest.WithTrustedRoots(srv.AttestationRoots())
	mrtd, r0, r1, r2 := phalatest.OSImageMeasurements(phalatest.DefaultImage)
	v, err := c.VerifyReplica(ctx, cvm.VMUUID, phala.VerifyOptions{Attest: []attest.Option{roots,
		attest.WithAllowedMRTD(mrtd), attest.WithAllowedRTMR(0, r0), attest.WithAllowedRTMR(1, r1), attest.WithAllowedRTMR(2, r2)}})
	require.NoError(t, err)
	assert.True(t, v.InstanceChecked)
	assert.True(t, v.Result.OSImagePinned)
	assert.Equal(t, cvm.ComposeHash, v.Result.ComposeHash)

	// Never trusted by default: Intel's root rejects the test chain.
	_, err = c.VerifyReplica(ctx, cvm.VMUUID, phala.VerifyOptions{})
	assert.ErrorIs(t, err, &attest.CheckError{Check: attest.CheckQuoteSignature})

	tests := []struct {
		fault phalatest.AttestationFault
		check attest.Check
	}{
		{phalatest.AttestationTamperedEventLog, attest.CheckEventDigest},
		{phalatest.AttestationForeignComposeHash, attest.CheckComposeHash},
		{phalatest.AttestationBadSignature, attest.CheckQuoteSignature},
	}
	for _, tt := range tests {
		srv.SetAttestationFault(cvm.VMUUID, tt.fault)
		_, err := c.VerifyReplica(ctx, cvm.VMUUID, phala.VerifyOptions{Attest: []attest.Option{roots}})
		var ce *attest.CheckError
		require.True(t, errors.As(err, &ce), "fault %d: %v", tt.fault, err)
		assert.Equal(t, tt.check, ce.Check, "fault %d", tt.fault)
	}
	srv.SetAttestationFault(cvm.VMUUID, phalatest.AttestationGenuine)

	srv.SetStatus(cvm.VMUUID, phalatest.StatusStopped)
	_, err = c.VerifyReplica(ctx, cvm.VMUUID, phala.VerifyOptions{Attest: []attest.Option{roots}})
	assert.ErrorIs(t, err, phala.ErrAttestationUnavailable)
}
