package phala

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/attest"
)

// A real dstack attestation (attest/testdata, see SOURCES.md there), verified as of a
// time its certificates and collateral were current.
var attestFixtureTime = time.Date(2026, 8, 14, 0, 0, 0, 0, time.UTC)

const (
	fixtureAppID   = "2911e1f733466216dedb862d6d669e11256ee7a3"
	fixtureCompose = "2911e1f733466216dedb862d6d669e11256ee7a34ce4dbc66c4b807ba7a9c895"
	fixtureVM      = "5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
)

// fixtureAttestation returns the fixture as the API's attestation answer, as a map a
// test may edit before encoding.
func fixtureAttestation(t *testing.T) map[string]any {
	t.Helper()
	var quote []byte
	b, err := os.ReadFile("attest/testdata/dstack_quote.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &quote))
	var tcb map[string]any
	b, err = os.ReadFile("attest/testdata/dstack_tcb_info.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &tcb))
	return map[string]any{
		"name": "replica-1", "is_online": true, "is_public": true, "error": nil,
		"app_certificates": []any{
			map[string]any{"subject": map[string]any{"common_name": "app"}, "position_in_chain": 0, "quote": hex.EncodeToString(quote), "is_ca": false},
			map[string]any{"subject": map[string]any{"common_name": "kms"}, "position_in_chain": 1, "quote": nil, "is_ca": true},
		},
		"tcb_info":     tcb,
		"compose_file": tcb["app_compose"],
		"brand_new":    "kept in Extra",
	}
}

func serveReplica(t *testing.T, mux *http.ServeMux, rc *counter, cvm, att map[string]any) {
	t.Helper()
	mux.HandleFunc("GET /cvms/"+fixtureVM, rc.wrap(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, mustJSON(t, cvm))
	}))
	mux.HandleFunc("GET /cvms/"+fixtureVM+"/attestation", rc.wrap(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, mustJSON(t, att))
	}))
}

func TestVerifyReplica(t *testing.T) {
	t.Parallel()
	foreign := strings.Repeat("ab", 32)
	at := attest.WithTime(attestFixtureTime)
	tests := []struct {
		name      string
		cvmHash   string
		editAtt   func(map[string]any)
		opts      VerifyOptions
		wantCalls int64
		wantErr   func(*testing.T, error)
	}{
		{name: "replica's own app id and compose hash", cvmHash: fixtureCompose, wantCalls: 2,
			opts: VerifyOptions{Attest: []attest.Option{at}}},
		{name: "caller's expectations, no GetCVM", cvmHash: foreign, wantCalls: 1,
			opts: VerifyOptions{AppID: "app_" + fixtureAppID, ComposeHash: "0x" + fixtureCompose, Attest: []attest.Option{at}}},
		{name: "CVM already read, no GetCVM", cvmHash: foreign, wantCalls: 1,
			opts: VerifyOptions{CVM: &CVM{VMUUID: strings.ToUpper(fixtureVM), AppID: fixtureAppID, ComposeHash: fixtureCompose},
				Attest: []attest.Option{at}}},
		{name: "event_log served as a JSON string", cvmHash: fixtureCompose, wantCalls: 2,
			editAtt: func(a map[string]any) {
				tcb := a["tcb_info"].(map[string]any)
				b, _ := json.Marshal(tcb["event_log"])
				tcb["event_log"] = string(b)
			},
			opts: VerifyOptions{Attest: []attest.Option{at}}},
		{name: "API reports another compose hash for the replica", cvmHash: foreign, wantCalls: 2,
			opts: VerifyOptions{Attest: []attest.Option{at}},
			wantErr: func(t *testing.T, err error) {
				var ce *attest.CheckError
				require.True(t, errors.As(err, &ce), "%v", err)
				assert.Equal(t, attest.CheckComposeHash, ce.Check)
				assert.Equal(t, foreign, ce.Want)
				assert.Equal(t, fixtureCompose, ce.Got)
			}},
		{name: "other app expected", cvmHash: fixtureCompose, wantCalls: 2,
			opts: VerifyOptions{AppID: strings.Repeat("cd", 20), Attest: []attest.Option{at}},
			wantErr: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, &attest.CheckError{Check: attest.CheckAppID})
			}},
		{name: "event log tampered in transit", cvmHash: fixtureCompose, wantCalls: 2,
			editAtt: func(a map[string]any) {
				ev := a["tcb_info"].(map[string]any)["event_log"].([]any)
				last := ev[len(ev)-1].(map[string]any)
				last["event_payload"] = strings.Repeat("00", 32)
			},
			opts: VerifyOptions{Attest: []attest.Option{at}},
			wantErr: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, &attest.CheckError{Check: attest.CheckEventDigest})
			}},
		{name: "offline replica", cvmHash: fixtureCompose, wantCalls: 2,
			editAtt: func(a map[string]any) {
				a["is_online"], a["tcb_info"], a["app_certificates"], a["error"] = false, nil, nil, "CVM is not running"
			},
			wantErr: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrAttestationUnavailable)
				var ue *AttestationUnavailableError
				require.True(t, errors.As(err, &ue))
				assert.False(t, ue.IsOnline)
				assert.Contains(t, ue.Reason, "CVM is not running")
			}},
		{name: "online but not booted: no tcb_info yet", cvmHash: fixtureCompose, wantCalls: 2,
			editAtt: func(a map[string]any) { a["tcb_info"] = nil },
			wantErr: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrAttestationUnavailable) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var rc counter
			att := fixtureAttestation(t)
			if tt.editAtt != nil {
				tt.editAtt(att)
			}
			serveReplica(t, mux, &rc, cvmObject(fixtureVM, fixtureAppID, tt.cvmHash), att)
			v, err := c.VerifyReplica(context.Background(), fixtureVM, tt.opts)
			assert.Equal(t, tt.wantCalls, rc.get(), "requests")
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.Nil(t, v)
				tt.wantErr(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, fixtureVM, v.VMUUID)
			assert.Equal(t, fixtureAppID, v.ExpectedAppID)
			assert.Equal(t, fixtureCompose, v.ExpectedComposeHash)
			assert.True(t, v.Result.AppIDChecked)
			assert.True(t, v.Result.ComposeHashChecked)
			assert.Equal(t, attest.TCBUnknown, v.Result.TCBStatus)
			assert.False(t, v.InstanceChecked) // the fixture's app measures no instance id
		})
	}
}

func TestVerifyReplicaRejectsBadArguments(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t) // any request fails the test: none may be sent
	for name, tc := range map[string]struct {
		id   string
		opts VerifyOptions
	}{
		"not a uuid":        {id: "web-1"},
		"bad app id":        {id: fixtureVM, opts: VerifyOptions{AppID: "xyz"}},
		"bad compose hash":  {id: fixtureVM, opts: VerifyOptions{ComposeHash: "abc"}},
		"CVM of another vm": {id: fixtureVM, opts: VerifyOptions{CVM: &CVM{VMUUID: "11111111-2222-4333-8444-555555555555"}}},
	} {
		_, err := c.VerifyReplica(context.Background(), tc.id, tc.opts)
		assert.ErrorIs(t, err, ErrInvalidArgument, name)
	}
}

func TestGetAppAttestationsDecodesLeniently(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	att := fixtureAttestation(t)
	quote := att["app_certificates"].([]any)[0].(map[string]any)["quote"]
	body := map[string]any{
		"app_id": fixtureAppID, "contract_address": "0x" + fixtureAppID,
		"kms_info": map[string]any{"chain_id": nil, "url": "https://kms.example"},
		"instances": []any{
			map[string]any{"vm_uuid": fixtureVM, "instance_id": nil, "quote": quote, "device_id": "e3b0",
				"tcb_info": att["tcb_info"], "status": "running", "future_field": 1},
			map[string]any{"vm_uuid": "other", "status": "starting", "error": "booting"},
		},
		"qemu_version": nil,
	}
	mux.HandleFunc("GET /apps/"+fixtureAppID+"/attestations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, mustJSON(t, body))
	})
	got, err := c.GetAppAttestations(context.Background(), "0x"+strings.ToUpper(fixtureAppID))
	require.NoError(t, err)
	require.Len(t, got.Instances, 2)
	assert.Contains(t, got.Extra, "kms_info")
	assert.Contains(t, got.Instances[0].Extra, "future_field")

	ev, err := got.Instances[0].Evidence()
	require.NoError(t, err)
	res, err := attest.Verify(context.Background(), ev, attest.WithTime(attestFixtureTime),
		attest.WithAppID(got.AppID), attest.WithComposeHash(fixtureCompose))
	require.NoError(t, err)
	assert.Equal(t, fixtureCompose, res.ComposeHash)

	_, err = got.Instances[1].Evidence()
	assert.ErrorIs(t, err, ErrAttestationUnavailable)
}

func TestGetCVMAttestationKeepsUnknownFields(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var rc counter
	serveReplica(t, mux, &rc, cvmObject(fixtureVM, fixtureAppID, fixtureCompose), fixtureAttestation(t))
	a, err := c.GetCVMAttestation(context.Background(), fixtureVM)
	require.NoError(t, err)
	assert.True(t, a.IsOnline)
	assert.Contains(t, a.Extra, "brand_new")
	require.Len(t, a.AppCertificates, 2)
	assert.Contains(t, a.AppCertificates[0].Extra, "subject")
	assert.NotEmpty(t, a.Quote())
	require.NotNil(t, a.TCBInfo)
	assert.Len(t, a.TCBInfo.EventLog, 29)
}
