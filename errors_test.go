package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Envelope examples from replication-wire.md §2.1 and §7; also the fuzz seeds.
const (
	structuredBody = `{"detail": {"error_code": "ERR-01-005",
		"message": "Compose hash registration required on-chain",
		"details": [{"field": "compose_hash", "value": "0xabc", "message": "optional text"}],
		"suggestions": ["Register the compose hash"],
		"links": [{"label": "Docs", "url": "https://docs.phala.com/x"}]}}`
	topLevelBody = `{"error_code": "ERR-02-005", "message": "Insufficient slots",
		"details": [{"field": "node_id", "value": 3}]}`
	prepareBody465 = `{"detail": {"error_code": "ERR-01-005", "message": "register first",
		"details": [
			{"field": "compose_hash", "value": "aa"},
			{"field": "app_id", "value": "7d2f"},
			{"field": "device_id", "value": "4e5f"},
			{"field": "kms_info", "value": {"chain_id": 8453, "dstack_kms_address": "0x01"}},
			{"field": "commit_token", "value": "old"},
			{"field": "commit_token", "value": "ct_new"},
			{"field": "commit_url", "value": "https://cloud.phala.com/c"},
			{"field": "api_commit_url", "value": "https://cloud-api.phala.com/api/v1/c"},
			{"field": "onchain_status", "value": {"compose_hash_allowed": false, "device_id_allowed": true, "is_allowed": false}},
			{"field": "flag"}
		], "suggestions": [], "links": []}}`
	validationOne  = `{"detail": [{"loc": ["body", "node_id"], "msg": "Input should be a valid integer", "type": "int_parsing", "input": "abc"}]}`
	validationMany = `{"detail": [
		{"loc": ["body", "items", 0, "name"], "msg": "too short", "type": "string_too_short"},
		{"loc": ["body"], "msg": "Field required", "type": "missing"},
		{"loc": ["query"], "msg": "bad", "type": "value_error"},
		{"loc": [], "msg": "?"},
		{"loc": ["header", "x-phala-version"], "msg": "unsupported", "type": "enum"}
	]}`
)

func TestParseErrorEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
		wantCause   error
	}{
		{
			name: "structured under detail", status: 465, body: structuredBody,
			want: APIError{
				StatusCode: 465, Code: CodeHashRegistrationRequired,
				Message:     "Compose hash registration required on-chain",
				Details:     []ErrorDetail{{Field: "compose_hash", Value: json.RawMessage(`"0xabc"`), Message: "optional text"}},
				Suggestions: []string{"Register the compose hash"},
				Links:       []Link{{Label: "Docs", URL: "https://docs.phala.com/x"}},
			},
		},
		{
			name: "structured at top level", status: 409, body: topLevelBody,
			want: APIError{
				StatusCode: 409, Code: CodeInsufficientSlots, Message: "Insufficient slots",
				Details: []ErrorDetail{{Field: "node_id", Value: json.RawMessage(`3`)}},
			},
		},
		{
			name: "detail string", status: 404, body: `{"detail": "CVM not found"}`,
			want: APIError{StatusCode: 404, Message: "CVM not found"},
		},
		{
			name: "422 one item", status: 422, body: validationOne,
			want: APIError{
				StatusCode: 422, Message: "Validation failed: Input should be a valid integer",
				Details: []ErrorDetail{{Field: "node_id", Value: json.RawMessage(`"abc"`), Message: "Input should be a valid integer"}},
			},
		},
		{
			name: "422 several items and field path rules", status: 422, body: validationMany,
			want: APIError{
				StatusCode: 422, Message: "Validation failed (5 issues)",
				Details: []ErrorDetail{
					{Field: "items.0.name", Message: "too short"},
					{Field: "required field", Message: "Field required"},
					{Field: "value_error", Message: "bad"},
					{Field: "unknown", Message: "?"},
					{Field: "x-phala-version", Message: "unsupported"},
				},
			},
		},
		{
			name: "detail object without code", status: 465, body: `{"detail": {"message": "needs registration", "details": [{"field": "commit_token", "value": "t"}]}}`,
			want: APIError{StatusCode: 465, Message: "needs registration", Details: []ErrorDetail{{Field: "commit_token", Value: json.RawMessage(`"t"`)}}},
		},
		{
			name: "code without message keeps the code", status: 409, body: `{"detail": {"error_code": "ERR-03-009"}}`,
			want: APIError{StatusCode: 409, Code: CodeMultipleLiveComposeHashes, Message: "Conflict"},
		},
		{
			name: "members of the wrong type are ignored", status: 400,
			body: `{"detail": {"error_code": "ERR-02-008", "message": 5, "details": "x", "suggestions": [1, "try again", null], "links": [1, {"url": "https://u"}, {}]}}`,
			want: APIError{StatusCode: 400, Code: CodeInvalidRequest, Message: "Bad Request", Suggestions: []string{"try again"}, Links: []Link{{URL: "https://u"}}},
		},
		{
			name: "detail null with top-level message", status: 500, body: `{"detail": null, "message": "boom"}`,
			want: APIError{StatusCode: 500, Message: "boom"},
		},
		{
			name: "detail of another type", status: 500, body: `{"detail": 42}`,
			want: APIError{StatusCode: 500, Message: "Internal Server Error"},
		},
		{
			name: "empty object", status: 503, body: `{}`,
			want: APIError{StatusCode: 503, Message: "Service Unavailable"},
		},
		{
			name: "empty body", status: 401, body: ``,
			want: APIError{StatusCode: 401, Message: "Unauthorized"},
		},
		{
			name: "bare JSON string", status: 500, body: `"database down"`,
			want: APIError{StatusCode: 500, Message: "database down"},
		},
		{
			name: "JSON array", status: 500, body: `[1,2]`,
			want:      APIError{StatusCode: 500, Message: `unknown API error: "[1,2]"`},
			wantCause: ErrUnexpectedBody,
		},
		{
			name: "HTML", status: 502, contentType: "text/html; charset=utf-8", body: "<html><title>502 Bad Gateway</title></html>",
			want:      APIError{StatusCode: 502, Message: `unexpected non-JSON response (text/html; charset=utf-8): "502 Bad Gateway"`},
			wantCause: ErrUnexpectedBody,
		},
		{
			name: "plain text", status: 500, contentType: "text/plain", body: "upstream\nconnect error",
			want:      APIError{StatusCode: 500, Message: `unexpected non-JSON response (text/plain): "upstream connect error"`},
			wantCause: ErrUnexpectedBody,
		},
		{
			name: "unknown status", status: 499, body: `{}`,
			want: APIError{StatusCode: 499, Message: "unknown API error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseErrorEnvelope(tt.status, tt.contentType, []byte(tt.body))
			if tt.wantCause != nil {
				assert.ErrorIs(t, got, tt.wantCause)
			} else {
				assert.NoError(t, got.Unwrap())
			}
			got.cause = nil
			assert.Equal(t, &tt.want, got)
		})
	}
}

func TestAPIErrorDetail(t *testing.T) {
	t.Parallel()
	e := parseErrorEnvelope(465, "application/json", []byte(prepareBody465))
	tests := []struct {
		field  string
		want   string
		wantOK bool
	}{
		{"commit_token", `"ct_new"`, true}, // later duplicates win
		{"compose_hash", `"aa"`, true},
		{"onchain_status", `{"compose_hash_allowed": false, "device_id_allowed": true, "is_allowed": false}`, true},
		{"kms_info", `{"chain_id": 8453, "dstack_kms_address": "0x01"}`, true},
		{"flag", ``, true}, // present without value
		{"missing", ``, false},
	}
	for _, tt := range tests {
		v, ok := e.Detail(tt.field)
		assert.Equal(t, tt.wantOK, ok, tt.field)
		assert.Equal(t, tt.want, string(v), tt.field)
	}
	var nilErr *APIError
	_, ok := nilErr.Detail("x")
	assert.False(t, ok)
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  APIError
		want string
	}{
		{APIError{StatusCode: 409, Code: CodeInsufficientSlots, Message: "no slots", RequestID: "r1"}, "phala: ERR-02-005 (HTTP 409): no slots [request r1]"},
		{APIError{StatusCode: 409, Code: CodeInsufficientSlots, Message: "no slots"}, "phala: ERR-02-005 (HTTP 409): no slots"},
		{APIError{StatusCode: 404, Message: "CVM not found", RequestID: "r2"}, "phala: HTTP 404: CVM not found [request r2]"},
		{APIError{StatusCode: 500}, "phala: HTTP 500"},
		{APIError{StatusCode: 400, Message: "line one\nline two\t\x00end"}, "phala: HTTP 400: line one line two end"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
}

// allCodes lists every code with its sentinel; the test checks the list is complete
// against the catalogue size and that names and values are consistent.
var allCodes = []struct {
	code     ErrorCode
	sentinel error
}{
	{CodeNodeNotFound, ErrNodeNotFound}, {CodeComposeFileRequired, ErrComposeFileRequired},
	{CodeInvalidComposeFile, ErrInvalidComposeFile}, {CodeDuplicateCVMName, ErrDuplicateCVMName},
	{CodeHashRegistrationRequired, ErrHashRegistrationRequired}, {CodeHashInvalidOrExpired, ErrHashInvalidOrExpired},
	{CodeTxVerificationFailed, ErrTxVerificationFailed}, {CodeHashNotAllowed, ErrHashNotAllowed},
	{CodeInstanceTypeNotFound, ErrInstanceTypeNotFound}, {CodeResourceNotAvailable, ErrResourceNotAvailable},
	{CodeInsufficientVCPU, ErrInsufficientVCPU}, {CodeInsufficientMemory, ErrInsufficientMemory},
	{CodeInsufficientSlots, ErrInsufficientSlots}, {CodeGPUAllocationError, ErrGPUAllocationError},
	{CodeInsufficientGPU, ErrInsufficientGPU}, {CodeInvalidRequest, ErrInvalidRequest},
	{CodeIncompatibleConfig, ErrIncompatibleConfig}, {CodeImageNotFound, ErrImageNotFound},
	{CodeKMSNotFound, ErrKMSNotFound}, {CodeTeepodNotAccessible, ErrTeepodNotAccessible},
	{CodeOSImageNotCompatible, ErrOSImageNotCompatible}, {CodeNodeCapacityNotConfigured, ErrNodeCapacityNotConfigured},
	{CodeQuotaExceeded, ErrQuotaExceeded}, {CodeCVMNotFound, ErrCVMNotFound},
	{CodeMultipleCVMsSameName, ErrMultipleCVMsSameName}, {CodeCVMNotInWorkspace, ErrCVMNotInWorkspace},
	{CodeCVMAccessDenied, ErrCVMAccessDenied}, {CodeReplicaImageNotAvailable, ErrReplicaImageNotAvailable},
	{CodeCVMAppIDConflict, ErrCVMAppIDConflict}, {CodeSourceNotInWorkspace, ErrSourceNotInWorkspace},
	{CodeMultipleLiveComposeHashes, ErrMultipleLiveComposeHashes}, {CodeMultipleCVMsMatch, ErrMultipleCVMsMatch},
	{CodeInsufficientBalance, ErrInsufficientBalance}, {CodeMaxCVMLimit, ErrMaxCVMLimit},
	{CodeResourceLimitExceeded, ErrResourceLimitExceeded}, {CodeTokenLimitExceeded, ErrTokenLimitExceeded},
	{CodeTokenRateLimit, ErrTokenRateLimit}, {CodeOAuthEmailInvalid, ErrOAuthEmailInvalid},
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	// 35 SDK codes (ERR-03-004 does not exist) + ERR-03-008/009/010.
	require.Len(t, allCodes, 38)
	codeRE := regexp.MustCompile(`^ERR-0[1-6]-0[0-9]{2}$`)
	seen := map[ErrorCode]bool{}
	for _, tc := range allCodes {
		require.Regexp(t, codeRE, string(tc.code))
		require.False(t, seen[tc.code], "duplicate code %s", tc.code)
		seen[tc.code] = true
		assert.Contains(t, tc.sentinel.Error(), string(tc.code))

		apiErr := &APIError{StatusCode: 409, Code: tc.code, Message: "m"}
		wrapped := fmt.Errorf("replicate: %w", apiErr)
		assert.ErrorIs(t, wrapped, tc.sentinel, "%s", tc.code)
		var got *APIError
		require.ErrorAs(t, wrapped, &got)
		assert.Same(t, apiErr, got)
		for _, other := range allCodes {
			if other.code != tc.code {
				assert.NotErrorIs(t, wrapped, other.sentinel, "%s must not match %s", tc.code, other.code)
			}
		}
	}
	assert.False(t, seen["ERR-03-004"])
	// An error without a code matches no sentinel.
	assert.NotErrorIs(t, &APIError{StatusCode: 500}, ErrInsufficientSlots)
}

func TestSentinelMatchingThroughTheWire(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /cvms/{id}/commit-replica", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 466, `{"detail":{"error_code":"ERR-01-006","message":"Commit token expired","suggestions":["Run prepare again"]}}`)
	})
	_, err := c.do(context.Background(), request{method: "POST", path: pathf("/cvms/%s/commit-replica", "u1"), body: map[string]string{"token": "t"}}, nil)
	err = fmt.Errorf("commit: %w", err)
	assert.ErrorIs(t, err, ErrHashInvalidOrExpired)
	assert.NotErrorIs(t, err, ErrHashNotAllowed)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, []string{"Run prepare again"}, apiErr.Suggestions)
	assert.True(t, IsBusinessError(err))
}

func TestClassHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status                             int
		auth, validation, business, server bool
	}{
		{400, false, false, true, false},
		{401, true, false, false, false},
		{403, true, false, false, false},
		{404, false, false, true, false},
		{409, false, false, true, false},
		{422, false, true, false, false},
		{429, false, false, true, false},
		{465, false, false, true, false},
		{468, false, false, true, false},
		{500, false, false, false, true},
		{503, false, false, false, true},
		{302, false, false, false, false},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &APIError{StatusCode: tt.status})
		assert.Equal(t, tt.auth, IsAuthError(err), "%d auth", tt.status)
		assert.Equal(t, tt.validation, IsValidationError(err), "%d validation", tt.status)
		assert.Equal(t, tt.business, IsBusinessError(err), "%d business", tt.status)
		assert.Equal(t, tt.server, IsServerError(err), "%d server", tt.status)
	}
	for _, err := range []error{nil, errors.New("x"), context.Canceled} {
		assert.False(t, IsAuthError(err) || IsValidationError(err) || IsBusinessError(err) || IsServerError(err))
	}
}

func TestOutcomeUnknownErrorUnwrap(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("replicate: %w", &OutcomeUnknownError{Method: "POST", Path: "/cvms/u/replicas", Attempts: 1, Err: context.DeadlineExceeded})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "POST /cvms/u/replicas: outcome unknown")
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain", 10, "plain"},
		{"  a \n\t b  ", 10, "a b"},
		{"abcdefghij", 5, "abcde…"},
		{"ééééé", 5, "éé…"},
		{"bad \xff byte", 20, "bad \uFFFD byte"},
		{"\x1b[31mred", 20, "[31mred"},
	}
	for _, tt := range tests {
		got := oneLine(tt.in, tt.limit)
		assert.Equal(t, tt.want, got, "%q", tt.in)
		assert.True(t, utf8.ValidString(got))
	}
}

func FuzzParseErrorEnvelope(f *testing.F) {
	for _, seed := range []string{
		structuredBody, topLevelBody, prepareBody465, validationOne, validationMany,
		`{"detail": "CVM not found"}`, `{"detail": null}`, `{"detail": 1}`, `"x"`, `[]`, ``, `null`,
		"<html><title>502 Bad Gateway</title></html>", `{"detail": [{"loc": [1.5e300, true, null, {}]}]}`,
		`{"detail": {"error_code": "ERR-\n01", "details": [null, 1, {"field": 2}]}}`,
	} {
		f.Add(465, "application/json", []byte(seed))
	}
	f.Add(502, "text/html", []byte("<p>\xff\xfe</p>"))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		e := parseErrorEnvelope(status, contentType, body)
		require.NotNil(t, e)
		require.Equal(t, status, e.StatusCode)
		require.NotEmpty(t, strings.TrimSpace(e.Message))
		msg := e.Error()
		require.True(t, utf8.ValidString(msg), "Error() is valid UTF-8")
		require.NotContains(t, msg, "\n")
		if e.Code != "" {
			require.ErrorIs(t, e, codeError{code: e.Code})
		}
		for _, d := range e.Details {
			if d.Value != nil {
				require.True(t, json.Valid(d.Value), "detail values stay valid JSON")
			}
		}
	})
}

func BenchmarkParseErrorEnvelope(b *testing.B) {
	body := []byte(prepareBody465)
	b.ReportAllocs()
	for b.Loop() {
		_ = parseErrorEnvelope(465, "application/json", body)
	}
}
