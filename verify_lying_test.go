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

// A second published attestation (attest/testdata/tee-solver, see SOURCES.md there): a
// dstack 0.5 CVM of another app, which measures an instance id.
const (
	solverAppID    = "d35e277ab5ec51f71f5e395ab2e332ed8db5853a"
	solverCompose  = "12a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7"
	solverInstance = "4ee474f80e789d0a19c4177ded24e04419c9689f"
)

var solverTime = time.Date(2025, 9, 3, 0, 0, 0, 0, time.UTC)

// solverAttestation returns the tee-solver attestation as the API's answer.
func solverAttestation(t *testing.T) map[string]any {
	t.Helper()
	q, err := os.ReadFile("attest/testdata/tee-solver/quote.hex")
	require.NoError(t, err)
	var tcb map[string]any
	b, err := os.ReadFile("attest/testdata/tee-solver/tcb_info.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &tcb))
	return map[string]any{
		"name": "solver", "is_online": true, "is_public": true, "error": nil,
		"app_certificates": []any{map[string]any{"position_in_chain": 0, "quote": strings.TrimSpace(string(q))}},
		"tcb_info":         tcb, "compose_file": tcb["app_compose"],
	}
}

func imr3Events(a map[string]any) []any {
	return a["tcb_info"].(map[string]any)["event_log"].([]any)
}

// TestVerifyReplicaServerLies: the API answers, for the replica, evidence that is not
// the replica's or not evidence at all. VerifyReplica must return a typed error naming
// the failed check, and no Verification.
func TestVerifyReplicaServerLies(t *testing.T) {
	t.Parallel()
	near := func(t *testing.T) map[string]any { return fixtureAttestation(t) }
	solver := solverAttestation
	nearCVM := cvmObject(fixtureVM, fixtureAppID, fixtureCompose)
	solverCVM := func(instance string) map[string]any {
		return cvmObject(fixtureVM, solverAppID, solverCompose, func(m map[string]any) { m["instance_id"] = instance })
	}
	nearAt, solverAt := attest.WithTime(attestFixtureTime), attest.WithTime(solverTime)
	firstQuote := func(a map[string]any) map[string]any {
		return a["app_certificates"].([]any)[0].(map[string]any)
	}
	checkIs := func(want attest.Check) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			var ce *attest.CheckError
			require.True(t, errors.As(err, &ce), "%v is not a *attest.CheckError", err)
			assert.Equal(t, want, ce.Check, "%v", err)
			assert.ErrorIs(t, err, &attest.CheckError{Check: want})
			assert.Contains(t, err.Error(), fixtureVM, "the message names the CVM")
			assert.Contains(t, err.Error(), string(want)+" check failed")
		}
	}
	tests := []struct {
		name    string
		cvm     map[string]any
		att     func(*testing.T) map[string]any
		edit    func(map[string]any)
		opts    VerifyOptions
		wantErr func(*testing.T, error)
	}{
		{name: "another app's CVM", cvm: nearCVM, att: solver,
			opts: VerifyOptions{Attest: []attest.Option{solverAt}}, wantErr: checkIs(attest.CheckComposeHash)},
		{name: "another app's CVM with the same compose hash", att: solver,
			cvm:  cvmObject(fixtureVM, fixtureAppID, solverCompose),
			opts: VerifyOptions{Attest: []attest.Option{solverAt}}, wantErr: checkIs(attest.CheckAppID)},
		{name: "another instance of the app", cvm: solverCVM(strings.Repeat("ab", 20)), att: solver,
			opts: VerifyOptions{Attest: []attest.Option{solverAt}}, wantErr: checkIs(CheckInstanceID)},
		{name: "another instance, the CVM already read", att: solver,
			opts: VerifyOptions{CVM: &CVM{VMUUID: fixtureVM, AppID: solverAppID, ComposeHash: solverCompose,
				InstanceID: strings.Repeat("cd", 20)}, Attest: []attest.Option{solverAt}},
			wantErr: checkIs(CheckInstanceID)},
		{name: "event log that does not replay to RTMR3: an event removed", cvm: nearCVM, att: near,
			edit: func(a map[string]any) {
				tcb := a["tcb_info"].(map[string]any)
				ev := imr3Events(a)
				tcb["event_log"] = ev[:len(ev)-1]
			},
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckRTMR3)},
		{name: "event log that does not replay to RTMR3: two events swapped", cvm: solverCVM(solverInstance), att: solver,
			edit: func(a map[string]any) {
				ev := imr3Events(a)
				ev[len(ev)-1], ev[len(ev)-2] = ev[len(ev)-2], ev[len(ev)-1]
			},
			opts: VerifyOptions{Attest: []attest.Option{solverAt}}, wantErr: checkIs(attest.CheckRTMR3)},
		{name: "app_compose whose hash is not the compose hash", cvm: nearCVM, att: near,
			edit: func(a map[string]any) {
				tcb := a["tcb_info"].(map[string]any)
				tcb["app_compose"] = strings.Replace(tcb["app_compose"].(string), "services", "servicez", 1)
			},
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckAppCompose)},
		{name: "quote whose TD attributes say debug", cvm: nearCVM, att: near,
			edit: func(a map[string]any) {
				q, err := hex.DecodeString(firstQuote(a)["quote"].(string))
				if err == nil {
					q[48+16+48+48+8] |= 1
					firstQuote(a)["quote"] = hex.EncodeToString(q)
				}
			},
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteSignature)},
		{name: "quote whose report data was changed", cvm: nearCVM, att: near,
			edit: func(a map[string]any) {
				q := firstQuote(a)["quote"].(string)
				off := 2 * (48 + 520)
				firstQuote(a)["quote"] = q[:off] + strings.Repeat("00", 64) + q[off+128:]
			},
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteSignature)},
		{name: "truncated quote", cvm: nearCVM, att: near,
			edit: func(a map[string]any) {
				q := firstQuote(a)["quote"].(string)
				firstQuote(a)["quote"] = q[:2*(len(q)/6)]
			},
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteFormat)},
		{name: "quote not hex", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { firstQuote(a)["quote"] = "zz" + firstQuote(a)["quote"].(string)[2:] },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteFormat)},
		{name: "quote of odd length", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { firstQuote(a)["quote"] = firstQuote(a)["quote"].(string)[1:] },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteFormat)},
		{name: "quote a number", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { firstQuote(a)["quote"] = 12 },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteFormat)},
		{name: "app_certificates an object", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { a["app_certificates"] = map[string]any{"quote": "00"} },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckQuoteFormat)},
		{name: "tcb_info a string", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { a["tcb_info"] = "verified" },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckEventLog)},
		{name: "event_log an object", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { a["tcb_info"].(map[string]any)["event_log"] = map[string]any{"imr": 3} },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckEventLog)},
		{name: "event_log a string that is not JSON", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { a["tcb_info"].(map[string]any)["event_log"] = "[{" },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckEventLog)},
		{name: "an event's imr a string", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { imr3Events(a)[0].(map[string]any)["imr"] = "three" },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckEventLog)},
		{name: "app_compose an object", cvm: nearCVM, att: near,
			edit: func(a map[string]any) { a["tcb_info"].(map[string]any)["app_compose"] = map[string]any{"services": 1} },
			opts: VerifyOptions{Attest: []attest.Option{nearAt}}, wantErr: checkIs(attest.CheckAppCompose)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var rc counter
			att := tt.att(t)
			if tt.edit != nil {
				tt.edit(att)
			}
			cvm := tt.cvm
			if cvm == nil {
				cvm = nearCVM
			}
			serveReplica(t, mux, &rc, cvm, att)
			v, err := c.VerifyReplica(context.Background(), fixtureVM, tt.opts)
			require.Error(t, err)
			assert.Nil(t, v, "no Verification when a check fails")
			tt.wantErr(t, err)
		})
	}
}

// TestVerifyReplicaBindsInstance: a replica of an app that measures an instance id
// verifies only as the instance the API says it is.
func TestVerifyReplicaBindsInstance(t *testing.T) {
	t.Parallel()
	for _, instance := range []string{solverInstance, "0x" + strings.ToUpper(solverInstance)} {
		c, mux, _ := setup(t)
		var rc counter
		serveReplica(t, mux, &rc, cvmObject(fixtureVM, solverAppID, solverCompose,
			func(m map[string]any) { m["instance_id"] = instance }), solverAttestation(t))
		v, err := c.VerifyReplica(context.Background(), fixtureVM, VerifyOptions{Attest: []attest.Option{attest.WithTime(solverTime)}})
		require.NoError(t, err, instance)
		assert.True(t, v.InstanceChecked)
		assert.Equal(t, solverInstance, v.Result.InstanceID)
		assert.Equal(t, solverAppID, v.Result.AppID)
	}
}

// TestVerifyReplicaUnusableAnswer: an attestation answer that is not JSON of the
// schema's shape, or too large, is a *ResponseError, never a verification.
func TestVerifyReplicaUnusableAnswer(t *testing.T) {
	t.Parallel()
	huge := `{"is_online":true,"name":"` + strings.Repeat("a", int(DefaultMaxResponseBytes)) + `"}`
	tests := []struct {
		name, contentType, body string
		want                    error
	}{
		{"a JSON array", "application/json", `[{"is_online":true}]`, ErrUnexpectedBody},
		{"a JSON string", "application/json", `"verified"`, ErrUnexpectedBody},
		{"HTML", "text/html", `<html>verified</html>`, ErrUnexpectedBody},
		{"truncated JSON", "application/json", `{"is_online":true,"tcb_info":{`, ErrUnexpectedBody},
		{"larger than the response limit", "application/json", huge, ErrResponseTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			mux.HandleFunc("GET /cvms/"+fixtureVM+"/attestation", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				_, _ = w.Write([]byte(tt.body))
			})
			v, err := c.VerifyReplica(context.Background(), fixtureVM,
				VerifyOptions{AppID: fixtureAppID, ComposeHash: fixtureCompose, Attest: []attest.Option{attest.WithTime(attestFixtureTime)}})
			require.Error(t, err)
			assert.Nil(t, v)
			var re *ResponseError
			require.True(t, errors.As(err, &re), "%v is not a *ResponseError", err)
			assert.ErrorIs(t, err, tt.want)
			assert.Less(t, len(err.Error()), 2000, "the message quotes an excerpt, not the body")
		})
	}
}

// TestInstanceAttestationEvidenceRejectsMalformed: an instance of GET
// /apps/{id}/attestations whose evidence cannot be read fails a check; one without
// evidence is unavailable.
func TestInstanceAttestationEvidenceRejectsMalformed(t *testing.T) {
	t.Parallel()
	solver := solverAttestation(t)
	quote := solver["app_certificates"].([]any)[0].(map[string]any)["quote"].(string)
	tests := []struct {
		name      string
		instance  map[string]any
		wantCheck attest.Check // "" when the evidence must decode
		wantErr   error
	}{
		{name: "genuine", instance: map[string]any{"quote": quote, "tcb_info": solver["tcb_info"]}},
		{name: "quote not hex", instance: map[string]any{"quote": "0x" + strings.Repeat("g", 10), "tcb_info": solver["tcb_info"]},
			wantCheck: attest.CheckQuoteFormat},
		{name: "quote an object", instance: map[string]any{"quote": map[string]any{}, "tcb_info": solver["tcb_info"]},
			wantCheck: attest.CheckQuoteFormat},
		{name: "tcb_info a list", instance: map[string]any{"quote": quote, "tcb_info": []any{1}},
			wantCheck: attest.CheckEventLog},
		{name: "no tcb_info", instance: map[string]any{"quote": quote}, wantErr: ErrAttestationUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.instance["vm_uuid"] = fixtureVM
			var apps AppAttestations
			require.NoError(t, json.Unmarshal([]byte(mustJSON(t, map[string]any{"app_id": solverAppID,
				"instances": []any{tt.instance}})), &apps))
			require.Len(t, apps.Instances, 1)
			ev, err := apps.Instances[0].Evidence()
			switch {
			case tt.wantErr != nil:
				assert.ErrorIs(t, err, tt.wantErr)
			case tt.wantCheck != "":
				assert.ErrorIs(t, err, &attest.CheckError{Check: tt.wantCheck})
				assert.Contains(t, err.Error(), fixtureVM)
			default:
				require.NoError(t, err)
				res, err := attest.Verify(context.Background(), ev, attest.WithTime(solverTime),
					attest.WithAppID(solverAppID), attest.WithComposeHash(solverCompose))
				require.NoError(t, err)
				assert.Equal(t, solverInstance, res.InstanceID)
			}
		})
	}
}

// TestVerifyReplicaTCBInfoAsString: tcb_info served as a JSON string holding the
// object, as dstack's guest agent serves it, is read and verified like the object.
func TestVerifyReplicaTCBInfoAsString(t *testing.T) {
	t.Parallel()
	for _, inner := range []bool{false, true} {
		c, mux, _ := setup(t)
		var rc counter
		att := solverAttestation(t)
		if inner {
			att["tcb_info"] = mustJSON(t, att["tcb_info"])
		}
		serveReplica(t, mux, &rc, cvmObject(fixtureVM, solverAppID, solverCompose,
			func(m map[string]any) { m["instance_id"] = solverInstance }), att)
		v, err := c.VerifyReplica(context.Background(), fixtureVM, VerifyOptions{Attest: []attest.Option{attest.WithTime(solverTime)}})
		require.NoError(t, err, "tcb_info as a string: %v", inner)
		assert.True(t, v.InstanceChecked)
	}
	var a CVMAttestation
	require.NoError(t, json.Unmarshal([]byte(`{"is_online":true,"tcb_info":"not an object"}`), &a))
	assert.Nil(t, a.TCBInfo)
	_, err := a.Evidence(fixtureVM)
	assert.ErrorIs(t, err, &attest.CheckError{Check: attest.CheckEventLog}, "a string that holds no object is malformed")
}
