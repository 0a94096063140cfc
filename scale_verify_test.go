package phala_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/phalatest"
)

// scaleVerifyWait polls every millisecond and moves the emulator's clock on at
// each read, so the replicas boot without real waiting.
func scaleVerifyWait(srv *phalatest.Server, onRead func(*phala.CVM)) phala.WaitOptions {
	return phala.WaitOptions{
		PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond,
		OnProgress: func(cvm *phala.CVM) {
			if onRead != nil {
				onRead(cvm)
			}
			srv.Advance(500 * time.Millisecond)
		},
	}
}

// scaleResultDoc is the JSON of a ScaleResult.
type scaleResultDoc struct {
	VM *struct {
		VMUUID string `json:"vm_uuid"`
	} `json:"vm"`
	Verification *struct {
		VMUUID string `json:"vm_uuid"`
		Result struct {
			ComposeHashChecked bool `json:"compose_hash_checked"`
		} `json:"result"`
	} `json:"verification"`
	Failure *struct{ Check, Want, Got string } `json:"verification_failure"`
	Error   string                             `json:"error"`
}

// ScaleOptions.Verify waits for each created replica and verifies it: every
// replica of an app whose attestations carry a fault fails that check, in its own
// result, and is counted as created but unverified.
func TestScaleVerifies(t *testing.T) {
	t.Parallel()
	const n = 2
	for _, tt := range attestationFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c, src := waitFixture(t)
			srv.SetAppAttestationFault(src.AppID, tt.fault)
			var reported []int
			results, err := c.Scale(context.Background(), src.VMUUID, n, phala.ReplicateRequest{}, phala.ScaleOptions{
				Verify:   trustEmulator(srv),
				Wait:     scaleVerifyWait(srv, nil),
				OnResult: func(i int, _ phala.ScaleResult) { reported = append(reported, i) },
			})
			require.Len(t, results, n)
			assert.ElementsMatch(t, []int{0, 1}, reported)
			b, jerr := json.Marshal(results)
			require.NoError(t, jerr)
			var doc []scaleResultDoc
			require.NoError(t, json.Unmarshal(b, &doc))

			if tt.check == "" {
				require.NoError(t, err)
				for i, r := range results {
					require.NotNil(t, r.VM)
					require.NotNil(t, r.Verification, "replica %d", i)
					assert.Equal(t, r.VM.Instance().VMUUID, r.Verification.VMUUID)
					require.NotNil(t, doc[i].Verification)
					assert.True(t, doc[i].Verification.Result.ComposeHashChecked)
					assert.Nil(t, doc[i].Failure)
					assert.Empty(t, doc[i].Error)
				}
				return
			}
			var se *phala.ScaleError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, n, se.Created, "the replicas were created")
			assert.Equal(t, n, se.Unverified)
			assert.Zero(t, se.NotAttempted, "a failed verification does not stop the launches")
			assert.ErrorIs(t, err, phala.ErrVerificationFailed)
			assert.ErrorIs(t, err, &attest.CheckError{Check: tt.check})
			for i, r := range results {
				require.NotNil(t, r.VM, "replica %d is reported though it failed", i)
				assert.Nil(t, r.Verification)
				requireFailedCheck(t, r.Err, tt.check, r.VM.Instance().VMUUID)
				require.NotNil(t, doc[i].Failure)
				assert.Equal(t, string(tt.check), doc[i].Failure.Check)
				assert.Equal(t, r.Err.Error(), doc[i].Error)
				require.NotNil(t, doc[i].VM)
			}
			var edoc struct {
				Created    int `json:"created"`
				Unverified int `json:"unverified"`
			}
			b, jerr = json.Marshal(se)
			require.NoError(t, jerr)
			require.NoError(t, json.Unmarshal(b, &edoc))
			assert.Equal(t, n, edoc.Created)
			assert.Equal(t, n, edoc.Unverified)
		})
	}
}

// One replica with a foreign compose hash among genuine ones: only its result
// fails, and only it is counted as unverified.
func TestScaleVerifyReportsEachReplica(t *testing.T) {
	t.Parallel()
	srv, c, src := waitFixture(t)
	var (
		mu      sync.Mutex
		foreign string
	)
	wait := scaleVerifyWait(srv, func(cvm *phala.CVM) {
		mu.Lock()
		defer mu.Unlock()
		if foreign == "" { // the first replica read gets the fault, before its attestation is read
			foreign = cvm.VMUUID
			srv.SetAttestationFault(cvm.VMUUID, phalatest.AttestationForeignComposeHash)
		}
	})
	results, err := c.Scale(context.Background(), src.VMUUID, 3, phala.ReplicateRequest{}, phala.ScaleOptions{
		Verify: trustEmulator(srv), Wait: wait,
	})
	var se *phala.ScaleError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 3, se.Created)
	assert.Equal(t, 1, se.Unverified)
	assert.Contains(t, se.Error(), "1 of them not running and verified")
	require.Len(t, results, 3)
	failed := 0
	for _, r := range results {
		require.NotNil(t, r.VM)
		if r.VM.Instance().VMUUID != phalaCanonical(t, foreign) {
			require.NoError(t, r.Err)
			require.NotNil(t, r.Verification)
			continue
		}
		failed++
		ve := requireFailedCheck(t, r.Err, attest.CheckComposeHash, r.VM.Instance().VMUUID)
		assert.NotEqual(t, ve.CheckError().Want, ve.CheckError().Got)
	}
	assert.Equal(t, 1, failed)
}

// phalaCanonical returns the vm_uuid as the SDK reports it.
func phalaCanonical(t *testing.T, vmUUID string) string {
	t.Helper()
	return (&phala.VM{VMUUID: vmUUID}).Instance().VMUUID
}

// Verify options no replica could pass are refused before any request, so nothing
// is created.
func TestScaleVerifyRefusesBadOptionsWithoutRequest(t *testing.T) {
	t.Parallel()
	srv, c, src := waitFixture(t)
	srv.ResetRequests()
	for name, opts := range map[string]phala.ScaleOptions{
		"bad app id":             {Verify: &phala.VerifyOptions{AppID: "xyz"}},
		"bad compose hash":       {Verify: &phala.VerifyOptions{ComposeHash: "abc"}},
		"CVM given":              {Verify: &phala.VerifyOptions{CVM: &phala.CVM{VMUUID: src.VMUUID}}},
		"bad Wait.Verify":        {Wait: phala.WaitOptions{Verify: &phala.VerifyOptions{AppID: "xyz"}}},
		"Verify and Wait.Verify": {Verify: &phala.VerifyOptions{}, Wait: phala.WaitOptions{Verify: &phala.VerifyOptions{}}},
		"negative poll interval": {Verify: &phala.VerifyOptions{}, Wait: phala.WaitOptions{PollInterval: -time.Second}},
	} {
		results, err := c.Scale(context.Background(), src.VMUUID, 2, phala.ReplicateRequest{}, opts)
		assert.ErrorIs(t, err, phala.ErrInvalidArgument, name)
		assert.Nil(t, results, name)
	}
	assert.Empty(t, srv.Requests())
}

// holdSecondPost is a RoundTripper that holds the second POST .../replicas
// until release is closed (or its request is cancelled).
type holdSecondPost struct {
	mu      sync.Mutex
	posts   int
	release <-chan struct{}
}

func (h *holdSecondPost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/replicas") {
		h.mu.Lock()
		h.posts++
		second := h.posts == 2
		h.mu.Unlock()
		if second {
			select {
			case <-h.release:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A replica that fails its verification before the next launch does not stop
// the launches: with one create at a time, the third is still sent after the
// first has been reported unverified.
func TestScaleVerifyFailureDoesNotStopLaunches(t *testing.T) {
	t.Parallel()
	srv, _, src := waitFixture(t)
	srv.SetAppAttestationFault(src.AppID, phalatest.AttestationForeignComposeHash)
	firstReported := make(chan struct{})
	c, err := srv.Client(phala.WithHTTPClient(&http.Client{Transport: &holdSecondPost{release: firstReported}}))
	require.NoError(t, err)
	const n = 3
	results, err := c.Scale(context.Background(), src.VMUUID, n, phala.ReplicateRequest{}, phala.ScaleOptions{
		Concurrency: 1, Verify: trustEmulator(srv), Wait: scaleVerifyWait(srv, nil),
		OnResult: func(i int, res phala.ScaleResult) {
			if i == 0 {
				assert.Error(t, res.Err, "the first replica fails its check")
				close(firstReported)
			}
		},
	})
	var se *phala.ScaleError
	require.ErrorAs(t, err, &se)
	assert.Zero(t, se.NotAttempted, "a failed verification does not stop the launches")
	assert.Equal(t, n, se.Created)
	assert.Equal(t, n, se.Unverified)
	require.Len(t, results, n)
	for i, r := range results {
		require.NotNil(t, r.VM, "replica %d was created", i)
		requireFailedCheck(t, r.Err, attest.CheckComposeHash, r.VM.Instance().VMUUID)
	}
}
