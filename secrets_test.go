package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/internal/secrettest"
	"github.com/phalaforge/phala-go/onchain"
)

// Marker secrets: an API key, an env value and a commit token. They are long and
// distinctive so that finding one (in any encoding) in output is a leak.
const (
	keyMark   = "sk-KEYMARK-91c3e7a5"
	envMark   = "ENVMARK-plaintext-5d2f9"
	tokenMark = "TOKMARK-commit-8a4b0c71"
)

var allMarks = []string{keyMark, envMark, tokenMark}

const (
	secUUID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	secApp  = "7d2f000000000000000000000000000000000001"
	secHash = "4f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
	secDev  = "9c1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f10"
)

// echoBody is an error answer that echoes the API key everywhere a server could:
// the message, a detail's field, message and value (string and nested), a
// suggestion and a link.
const echoBody = `{"detail": {"error_code": "ERR-02-008", "message": "bad key ` + keyMark + `",
	"details": [
		{"field": "x_api_key", "value": "` + keyMark + `", "message": "got ` + keyMark + `"},
		{"field": "headers", "value": {"X-API-Key": ["` + keyMark + `"], "n": 1}},
		{"field": "` + keyMark + `", "value": 3}
	],
	"suggestions": ["check ` + keyMark + `"],
	"links": [{"label": "key ` + keyMark + `", "url": "https://docs.example/?key=` + keyMark + `"}]}}`

// validationEcho is a 422 on a commit that echoes the token it rejected.
const validationEcho = `{"detail": [{"loc": ["body", "token"], "msg": "Token is malformed", "type": "value_error", "input": "` + tokenMark + `"}]}`

// secretErrors returns the errors the client builds from answers that echo the
// API key or the commit token: a 400 echoing the key, a 422 and a 466 on a commit.
func secretErrors(t *testing.T) (echo, validation, expired error) {
	t.Helper()
	c, mux, _ := setup(t, WithAPIKey(keyMark))
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 400, echoBody) })
	commits := 0
	mux.HandleFunc("POST /cvms/{id}/commit-replica", func(w http.ResponseWriter, _ *http.Request) {
		commits++
		if commits == 1 {
			writeJSON(w, 422, validationEcho)
			return
		}
		writeJSON(w, 466, `{"detail": {"error_code": "ERR-01-006", "message": "token `+tokenMark+` expired",
			"details": [{"field": "token", "value": "`+tokenMark+`"}]}}`)
	})
	ctx := context.Background()
	_, echo = c.do(ctx, request{method: http.MethodGet, path: "/echo"}, nil)
	require.Error(t, echo)
	creq := CommitRequest{Token: tokenMark, ComposeHash: secHash, TransactionHash: AlreadyRegistered}
	_, validation = c.CommitReplica(ctx, secUUID, creq)
	require.Error(t, validation)
	_, expired = c.CommitReplica(ctx, secUUID, creq)
	require.ErrorIs(t, expired, ErrHashInvalidOrExpired)
	return echo, validation, expired
}

// api465 is the *APIError of a 465 answer carrying tokenMark, as the client parses it.
func api465(t *testing.T) *APIError {
	t.Helper()
	e := parseErrorEnvelope(465, "application/json", []byte(prepareBody(secApp, secHash, secDev, tokenMark, 8453, false, false)))
	require.Equal(t, tokenMark, e.commitToken())
	return e
}

// secretCases lists every exported type of the package that can hold an API key,
// an env value or a commit token (and the errors and results embedding them), each
// built with marker secrets set.
func secretCases(t *testing.T) []secrettest.Case {
	t.Helper()
	echo, validation, expired := secretErrors(t)
	c, err := NewClient(WithAPIKey(keyMark), WithBaseURL("https://cloud-api.example/api/v1"))
	require.NoError(t, err)

	apiErr := api465(t)
	pre, err := prerequisiteFrom(apiErr)
	require.NoError(t, err)
	require.Equal(t, tokenMark, pre.CommitToken, "the token stays usable for the commit")

	env := []envcrypt.EnvVar{{Key: "PLAIN", Value: "x"}, {Key: "DB_PASSWORD", Value: envMark}}
	req := ReplicateRequest{Node: "7", ComposeHash: secHash, Env: env, Registrar: &fakeRegistrar{}}
	creq := CommitRequest{Token: tokenMark, ComposeHash: secHash, TransactionHash: AlreadyRegistered, ExpiresAt: time.Unix(2e9, 0)}
	prepared := PreparedReplica{SourceVMUUID: secUUID, CommitToken: tokenMark, ComposeHash: secHash, AppID: secApp,
		DeviceID: secDev, CommitURL: "https://cloud.example/commit/" + tokenMark, ExpiresAt: time.Unix(2e9, 0)}
	reg := &onchain.Registration{}
	autoReg := &AutoRegistrationError{VMUUID: secUUID, Prerequisite: pre, Err: errors.New("nonce too low")}
	autoCommit := &AutoRegistrationError{VMUUID: secUUID, Prerequisite: pre, Registration: reg, Committing: true, Err: expired}
	mismatch := &PayloadMismatchError{Field: "app_id", Payload: secApp, Expected: "0x01", From: "source CVM", Prerequisite: pre}
	results := []ScaleResult{{VM: &VM{VMUUID: secUUID}}, {Err: autoCommit}, {Err: pre}, {Err: &NotAttemptedError{Cause: mismatch}}}

	return []secrettest.Case{
		{Name: "APIKey", Value: APIKey(keyMark)},
		{Name: "*Client", Value: c},
		{Name: "CommitRequest", Value: creq},
		{Name: "*CommitRequest", Value: &creq},
		{Name: "ReplicateRequest", Value: req},
		{Name: "*ReplicateRequest", Value: &req},
		{Name: "PreparedReplica", Value: prepared, JSONKeepsSecret: true},
		{Name: "*PreparedReplica", Value: &prepared, JSONKeepsSecret: true},
		{Name: "ErrorDetail commit_token", Value: ErrorDetail{Field: "commit_token", Value: json.RawMessage(`"` + tokenMark + `"`)}},
		// Detached from their *APIError, details cannot know the token another
		// field echoes (the commit URL of prepareBody): only secret fields hide.
		{Name: "[]ErrorDetail", Value: parseErrorEnvelope(465, "application/json",
			[]byte(strings.ReplaceAll(prepareBody(secApp, secHash, secDev, tokenMark, 8453, false, false), "commit/"+tokenMark, "commit"))).Details},
		{Name: "*APIError 465", Value: apiErr},
		{Name: "APIError echoing the key", Value: echo},
		{Name: "422 echoing the token", Value: validation},
		{Name: "466 echoing the token", Value: expired},
		{Name: "*ErrOnchainPrerequisite", Value: pre},
		{Name: "*AutoRegistrationError registering", Value: autoReg},
		{Name: "*AutoRegistrationError committing", Value: autoCommit},
		{Name: "*PayloadMismatchError", Value: mismatch},
		{Name: "ScaleResult", Value: results[1]},
		{Name: "[]ScaleResult", Value: results},
		{Name: "*ScaleError", Value: &ScaleError{Requested: 4, Created: 1, Err: autoCommit}},
		{Name: "*NotAttemptedError", Value: &NotAttemptedError{Cause: pre}},
		{Name: "*ApprovalRequiredError", Value: &ApprovalRequiredError{SourceVMUUID: secUUID, PreparedAt: time.Unix(2e9, 0), Prerequisite: pre}},
		{Name: "ReplicaSet", Value: ReplicaSet{Source: secUUID, Placements: []Placement{{Node: "n", Count: 1}}, Env: env}},
		{Name: "PreparedSet", Value: PreparedSet{AppID: secApp, Items: []PreparedSetItem{{NodeID: 7, Prepared: &prepared}}}, JSONKeepsSecret: true},
		{Name: "PreparedSetItem", Value: PreparedSetItem{NodeID: 7, Prepared: &prepared}, JSONKeepsSecret: true},
		{Name: "CreateOutcome", Value: CreateOutcome{Err: autoCommit}},
		{Name: "*ApplyError", Value: &ApplyError{Failed: 1, First: autoCommit}},
		{Name: "WaitResult", Value: WaitResult{VMUUID: secUUID, Err: autoCommit}},
		{Name: "user struct holding them", Value: struct {
			Client  *Client
			Key     APIKey
			Request ReplicateRequest
			Commit  CommitRequest
			Err     error
			Results []ScaleResult
		}{c, APIKey(keyMark), req, creq, autoCommit, results}},
	}
}

// TestNoSecretInOutput is the property the package documents: no value holding a
// secret prints it, whatever the fmt verb (%v %+v %#v %s %q %d %x %X), through
// json.Marshal (except the JSON of PreparedReplica and PreparedSet, the files where
// the caller asked for the token), slog's text or JSON handler, and wrapped in
// other errors.
func TestNoSecretInOutput(t *testing.T) {
	for _, c := range secretCases(t) {
		for _, c := range secrettest.Wrapped(c) {
			t.Run(c.Name, func(t *testing.T) {
				assert.Empty(t, secrettest.Leaks(c, allMarks...))
			})
		}
	}
}

// TestPreparedReplicaJSONKeepsToken pins the one documented exception: the JSON
// form of a PreparedReplica keeps the commit token, since it is what a multisig
// flow stores to commit later.
func TestPreparedReplicaJSONKeepsToken(t *testing.T) {
	p := PreparedReplica{SourceVMUUID: secUUID, CommitToken: tokenMark, ComposeHash: secHash}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var back PreparedReplica
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, tokenMark, back.CommitToken)
}

// TestAPIErrorEchoedKeyRedacted checks the stored fields, not only the printed
// forms: an API key the server echoes in a detail's value or field or in a link is
// gone from the *APIError the client returns.
func TestAPIErrorEchoedKeyRedacted(t *testing.T) {
	echo, _, _ := secretErrors(t)
	var e *APIError
	require.ErrorAs(t, echo, &e)
	require.Len(t, e.Details, 3)
	assert.JSONEq(t, `"[REDACTED]"`, string(e.Details[0].Value))
	assert.JSONEq(t, `{"X-API-Key": ["[REDACTED]"], "n": 1}`, string(e.Details[1].Value))
	assert.Equal(t, "[REDACTED]", e.Details[2].Field)
	assert.Equal(t, []Link{{Label: "key [REDACTED]", URL: "https://docs.example/?key=[REDACTED]"}}, e.Links)
}

// TestAPIError465JSON pins how the 465's details are printed: the commit token is
// "[REDACTED]" in the JSON, in %#v (as text, not bytes) and in the commit URL that
// carries it, while Detail still returns it for the commit.
func TestAPIError465JSON(t *testing.T) {
	e := api465(t)
	raw, ok := e.Detail("commit_token")
	require.True(t, ok)
	assert.JSONEq(t, `"`+tokenMark+`"`, string(raw), "the token stays usable")

	b, err := json.Marshal(e)
	require.NoError(t, err)
	var got struct {
		Error      string `json:"error"`
		StatusCode int    `json:"status_code"`
		Code       string `json:"code"`
		Details    []struct {
			Field string          `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"details"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, e.Error(), got.Error)
	assert.Equal(t, 465, got.StatusCode)
	assert.Equal(t, "ERR-01-005", got.Code)
	values := map[string]string{}
	for _, d := range got.Details {
		values[d.Field] = string(d.Value)
	}
	assert.Equal(t, `"[REDACTED]"`, values["commit_token"])
	assert.Equal(t, `"https://cloud.example/commit/[REDACTED]"`, values["commit_url"])
	assert.Equal(t, `"`+secHash+`"`, values["compose_hash"])

	gs := strings.ReplaceAll(fmt.Sprintf("%#v", e), `\"`, `"`)
	assert.Contains(t, gs, `{Field:"commit_token", Value:json.RawMessage(""[REDACTED]"")`)
}

// TestSecretJSONForms pins the JSON of the types that hold a secret: snake_case
// keys, the secret as "[REDACTED]", errors as their message.
func TestSecretJSONForms(t *testing.T) {
	pre, err := prerequisiteFrom(api465(t))
	require.NoError(t, err)
	auto := &AutoRegistrationError{VMUUID: secUUID, Prerequisite: pre, Committing: true, Err: errors.New("commit refused")}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"APIKey", APIKey(keyMark), `"[REDACTED]"`},
		{"CommitRequest", CommitRequest{Token: tokenMark, ComposeHash: secHash, TransactionHash: AlreadyRegistered},
			`{"token":"[REDACTED]","compose_hash":"` + secHash + `","transaction_hash":"already-registered"}`},
		{"ReplicateRequest", ReplicateRequest{Node: "7", Env: []envcrypt.EnvVar{{Key: "A", Value: envMark}}, Registrar: &fakeRegistrar{}},
			`{"node":"7","env":[{"key":"A","value":"[REDACTED]"}],"registrar":true}`},
		{"ScaleResult created", ScaleResult{VM: &VM{VMUUID: secUUID}}, `{"vm":` + mustJSONString(&VM{VMUUID: secUUID}) + `}`},
		{"ScaleResult failed", ScaleResult{Err: auto}, `{"error":` + mustJSONString(auto.Error()) + `}`},
		{"ReplicaCreatedError", &ReplicaCreatedError{VM: &VM{VMUUID: secUUID}},
			`{"error":` + mustJSONString((&ReplicaCreatedError{VM: &VM{VMUUID: secUUID}}).Error()) + `,"vm":` + mustJSONString(&VM{VMUUID: secUUID}) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(b))
		})
	}

	t.Run("ScaleError", func(t *testing.T) {
		e := &ScaleError{Requested: 3, Created: 1, Err: auto}
		b, err := json.Marshal(e)
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, e.Error(), got["error"])
		assert.Equal(t, float64(3), got["requested"])
		assert.Equal(t, float64(1), got["created"])
		assert.Equal(t, auto.Error(), got["cause"])
	})

	t.Run("AutoRegistrationError", func(t *testing.T) {
		b, err := json.Marshal(auto)
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, auto.Error(), got["error"])
		assert.Equal(t, secUUID, got["vm_uuid"])
		assert.Equal(t, true, got["committing"])
		assert.Equal(t, "commit refused", got["cause"])
		require.IsType(t, map[string]any{}, got["prerequisite"])
		assert.Equal(t, "[REDACTED]", got["prerequisite"].(map[string]any)["commit_token"])
		assert.Equal(t, 1, strings.Count(string(b), "[REDACTED]")+strings.Count(string(b), tokenMark)-
			strings.Count(string(b), "commit/[REDACTED]"), "the token field appears once, redacted")
	})
}
