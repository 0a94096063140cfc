package main

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// --wait --verify keeps polling while a running replica's attestation is not
// served yet (the API answers is_online false for a moment after boot), as
// WaitOptions.Verify does, instead of failing at the first read; and it reads
// that attestation no more often than it polls.
func TestCLIVerifyWaitsForTheAttestation(t *testing.T) {
	sb := newTestSandbox(t)
	roots := rootsFile(t, sb)
	var notYet atomic.Int32
	notYet.Store(2)
	api := lyingProxy(t, sb.srv, func(p string) bool { return strings.HasSuffix(p, "/attestation") }, func(v any) any {
		if notYet.Add(-1) < 0 {
			return v
		}
		return map[string]any{"is_online": false, "error": "CVM is starting", "app_certificates": nil, "tcb_info": nil}
	})
	env := map[string]string{envAPIPrefix: api, envAPIKey: sb.srv.APIKey()}

	res := runBin(t, env, sb.cloudCVM.VMUUID, "--node-id", "node-a", "--wait", "--verify",
		"--attestation-roots", roots, "--poll-interval", "20ms")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Verified CVM ")
	assert.Less(t, notYet.Load(), int32(0), "the attestation was read again after it was unavailable")
	reps := sb.srv.Replicas()
	require.Len(t, reps, 1)
	assert.Equal(t, phalatest.StatusRunning, strings.ToLower(reps[0].Status))
}
