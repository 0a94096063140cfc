package phala

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/attest"
)

// A running replica whose attestation is not served yet (the guest agent still
// starting) is polled further, then verified: a real dstack attestation.
func TestWaitVerifyPollsUntilTheAttestationIsServed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		unavailable int // answers without an attestation before the real one
		sleepFails  int // the sleep returns context.Canceled on this call (0 = never)
		wantErr     []error
	}{
		{name: "served at once", unavailable: 0},
		{name: "served after two polls", unavailable: 2},
		{name: "never served before ctx ends", unavailable: 100, sleepFails: 3,
			wantErr: []error{context.Canceled, ErrAttestationUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var cvmReads, attReads counter
			offline := fixtureAttestation(t)
			offline["is_online"], offline["tcb_info"], offline["app_certificates"] = true, nil, nil
			mux.HandleFunc("GET /cvms/"+fixtureVM, cvmReads.wrap(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, mustJSON(t, cvmObject(fixtureVM, "app_"+fixtureAppID, fixtureCompose)))
			}))
			mux.HandleFunc("GET /cvms/"+fixtureVM+"/attestation", attReads.wrap(func(w http.ResponseWriter, r *http.Request) {
				if attReads.get() <= int64(tt.unavailable) {
					writeJSON(w, 200, mustJSON(t, offline))
					return
				}
				writeJSON(w, 200, mustJSON(t, fixtureAttestation(t)))
			}))
			sleeps := 0
			opts := WaitOptions{
				Verify: &VerifyOptions{Attest: []attest.Option{attest.WithTime(attestFixtureTime)}},
				sleep: func(ctx context.Context, d time.Duration) error {
					sleeps++
					if sleeps == tt.sleepFails {
						return context.Canceled
					}
					return nil
				},
			}
			results, err := c.WaitForReplicas(context.Background(), []string{fixtureVM}, opts)
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					assert.ErrorIs(t, err, want)
				}
				assert.NotErrorIs(t, err, ErrVerificationFailed, "not a failed check")
				assert.Nil(t, results[0].Verification)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, results[0].Verification)
			assert.Equal(t, fixtureCompose, results[0].Verification.Result.ComposeHash)
			assert.Equal(t, int64(tt.unavailable+1), attReads.get(), "attestation reads")
			assert.Equal(t, int64(tt.unavailable+1), cvmReads.get(), "the CVM is read again before each attestation read")
		})
	}
}
