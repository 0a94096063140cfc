package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
)

func TestExitCode(t *testing.T) {
	api := &phala.APIError{StatusCode: 409, Code: phala.CodeInsufficientSlots, Message: "no slot"}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"usage", usagef("bad"), exitUsage},
		{"missing API key", fmt.Errorf("creating the client: %w", phala.ErrMissingAPIKey), exitUsage},
		{"insecure base URL", phala.ErrInsecureBaseURL, exitUsage},
		{"bad private key", fmt.Errorf("x: %w", onchain.ErrInvalidPrivateKey), exitUsage},
		{"api error", api, exitAPI},
		{"wrapped api error", fmt.Errorf("replicating: %w", api), exitAPI},
		{"outcome unknown", &phala.OutcomeUnknownError{Method: "POST", Err: errors.New("EOF")}, exitAPI},
		{"bad 2xx body", &phala.ResponseError{StatusCode: 200, Err: phala.ErrUnexpectedBody}, exitAPI},
		{"refused redirect", &phala.RedirectError{From: "https://a", To: "https://b"}, exitAPI},
		{"prerequisite wraps its 465", &onchain.ErrOnchainPrerequisite{Cause: &phala.APIError{StatusCode: 465, Code: phala.CodeHashRegistrationRequired}}, exitOnchain},
		{"not owner", fmt.Errorf("registering: %w", &onchain.NotOwnerError{}), exitOnchain},
		{"insufficient funds", &onchain.InsufficientFundsError{Balance: big.NewInt(1), Required: big.NewInt(2)}, exitOnchain},
		{"revert", &onchain.RevertError{Method: "addDevice"}, exitOnchain},
		{"receipt timeout", &onchain.ReceiptTimeoutError{}, exitOnchain},
		{"wrong chain", &onchain.WrongChainError{Want: 8453, Got: 1}, exitOnchain},
		{"unknown chain", &onchain.UnknownChainError{ChainID: 5}, exitOnchain},
		{"rpc down", &onchainError{errors.New("dial tcp: refused")}, exitOnchain},
		{"malformed hash from the API", &onchain.HexError{What: "compose_hash"}, exitAPI},
		{"file", errors.New("open x.env: no such file"), exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, exitCode(tt.err))
		})
	}
}

func sampleAPIError() *phala.APIError {
	return &phala.APIError{
		StatusCode: 409, Code: phala.CodeInsufficientSlots, Message: "Node 2 (node-b) has no CVM slot left",
		Details:     []phala.ErrorDetail{{Field: "node_id", Value: json.RawMessage(`2`)}, {Message: "16 in use"}, {Field: "bad", Value: json.RawMessage(`{oops`)}},
		Suggestions: []string{"Choose another node"},
		Links:       []phala.Link{{Label: "Docs", URL: "https://docs.phala.com/x"}},
		RequestID:   "req-42",
	}
}

func TestWriteErrorText(t *testing.T) {
	var buf bytes.Buffer
	writeError(&buf, false, "Failed to create CVM replica", fmt.Errorf("replicating: %w", sampleAPIError()), redactor{})
	out := buf.String()
	assert.True(t, strings.HasPrefix(out, "✗ Failed to create CVM replica\nError [ERR-02-005]: Node 2 (node-b) has no CVM slot left\n"), out)
	assert.Contains(t, out, "HTTP 409, request ID req-42")
	assert.Contains(t, out, "Details:\n  - node_id: 2\n  - 16 in use\n")
	assert.Contains(t, out, "Suggestions:\n  - Choose another node\n")
	assert.Contains(t, out, "Learn more:\n  - Docs: https://docs.phala.com/x\n")
	assert.Equal(t, 1, strings.Count(out, "https://docs.phala.com/x"), "links are printed once")

	buf.Reset()
	writeError(&buf, false, "", usagef("missing <cvm-id>"), redactor{})
	assert.Equal(t, "Error: missing <cvm-id>\nRun 'phala-replicate --help' for usage.\n", buf.String())
}

func TestWriteErrorJSON(t *testing.T) {
	var buf bytes.Buffer
	writeError(&buf, true, "ignored in JSON mode", fmt.Errorf("replicating: %w", sampleAPIError()), redactor{})
	require.Equal(t, 1, strings.Count(buf.String(), "\n"), "one line")
	var doc struct {
		Success *bool `json:"success"`
		Error   struct {
			Type, Code, Message string
			RequestID           string `json:"request_id"`
			Status              int
			ExitCode            int `json:"exit_code"`
			Details             []map[string]any
			Suggestions         []string
			Links               []map[string]string
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc), buf.String())
	require.NotNil(t, doc.Success)
	assert.False(t, *doc.Success)
	assert.Equal(t, "api", doc.Error.Type)
	assert.Equal(t, "ERR-02-005", doc.Error.Code)
	assert.Equal(t, 409, doc.Error.Status)
	assert.Equal(t, 3, doc.Error.ExitCode)
	assert.Equal(t, "req-42", doc.Error.RequestID)
	assert.Contains(t, doc.Error.Message, "Node 2 (node-b) has no CVM slot left")
	require.Len(t, doc.Error.Details, 3)
	assert.Equal(t, "{oops", doc.Error.Details[2]["value"], "invalid JSON values are kept as strings")
	assert.Equal(t, []string{"Choose another node"}, doc.Error.Suggestions)
	assert.Equal(t, "https://docs.phala.com/x", doc.Error.Links[0]["url"])
	assert.NotContains(t, buf.String(), "✗")
}

func TestWriteErrorPrerequisiteHidesToken(t *testing.T) {
	pre := &onchain.ErrOnchainPrerequisite{
		CommitToken: "ct_secret_token", ComposeHash: strings.Repeat("a", 64),
		Cause: &phala.APIError{StatusCode: 465, Code: phala.CodeHashRegistrationRequired, Message: "registration required",
			Details: []phala.ErrorDetail{{Field: "commit_token", Value: json.RawMessage(`"ct_secret_token"`)}}},
	}
	for _, jsonMode := range []bool{false, true} {
		var buf bytes.Buffer
		writeError(&buf, jsonMode, "Failed", pre, redactor{})
		assert.NotContains(t, buf.String(), "ct_secret_token")
		if jsonMode {
			assert.Contains(t, buf.String(), `"code":"ERR-01-005"`)
			assert.Contains(t, buf.String(), `"type":"onchain"`)
		}
	}
}

func TestRedactor(t *testing.T) {
	o := &options{apiKey: "sk-live-abcdef123", privateKey: secret("0x" + testKey), rpcURL: "https://rpc.example/v3/provider-key"}
	r := newRedactor(o)
	msg := fmt.Sprintf("key sk-live-abcdef123 pk %s PK %s rpc Post \"https://rpc.example/v3/provider-key\": refused", testKey, strings.ToUpper(testKey))
	assert.Equal(t, `key [REDACTED] pk [REDACTED] PK [REDACTED] rpc Post "https://rpc.example/…": refused`, r.clean(msg))
	assert.Equal(t, "x", newRedactor(&options{rpcURL: "http://127.0.0.1:8545"}).clean("x"), "a bare host is kept")

	var buf bytes.Buffer
	writeError(&buf, true, "", errors.New("leak "+testKey), r)
	assert.NotContains(t, buf.String(), testKey)
	assert.True(t, json.Valid(buf.Bytes()))
}

func TestWithSuccess(t *testing.T) {
	b, err := withSuccess(struct {
		Name string `json:"name"`
		ID   int    `json:"id"`
	}{"r", 7}, true)
	require.NoError(t, err)
	assert.Equal(t, `{"success":true,"name":"r","id":7}`, string(b))

	b, err = withSuccess(map[string]any{"success": "server's"}, true)
	require.NoError(t, err)
	assert.Equal(t, `{"success":"server's"}`, string(b), "the replica's own key wins, as in the CLI")

	b, err = withSuccess(struct{}{}, false)
	require.NoError(t, err)
	assert.Equal(t, `{"success":false}`, string(b))

	_, err = withSuccess([]int{1}, true)
	assert.Error(t, err)
}

func TestWriteReplicaText(t *testing.T) {
	var buf bytes.Buffer
	writeReplicaText(&buf, replicaView{
		SourceCVMID: "app_ab", Team: teamLabel("Demo Team", "demo-team"), UUID: "u-1", AppID: "ab",
		Name: "web-3", Status: "creating", KMS: "phala", NodeName: "node-b", NodeID: 2,
		VCPU: 2, MemoryMB: 4096, DiskGB: 40, AppURL: appURL("https://cloud.phala.com", "demo-team", "ab", "1234-5678", ""),
	})
	want := `Source CVM ID:   app_ab
Team:            Demo Team (demo-team)
CVM UUID:        u-1
App ID:          ab
Name:            web-3
Status:          creating
KMS:             phala
Node:            node-b (ID: 2)
vCPUs:           2
Memory:          4096 MB
Disk Size:       40 GB
App URL:         https://cloud.phala.com/demo-team/apps/ab/instances/12345678
`
	assert.Equal(t, want, buf.String())

	buf.Reset()
	writeReplicaText(&buf, replicaView{})
	assert.Contains(t, buf.String(), "Node:            -\n")
	assert.Contains(t, buf.String(), "Memory:          -\n")
}

func TestTeamAndAppURL(t *testing.T) {
	assert.Equal(t, "slug", teamLabel("slug", "slug"))
	assert.Equal(t, "name", teamLabel("name", ""))
	assert.Equal(t, "slug", teamLabel("", "slug"))
	assert.Equal(t, "fallback", appURL("https://c", "", "a", "u", "fallback"))
}

func TestWritePrepareText(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := prepareView{
		SourceArg: "my app", ComposeHash: strings.Repeat("c", 64), AppID: strings.Repeat("a", 40),
		DeviceID: "0x" + strings.Repeat("d", 64), CommitToken: "ct_1", CommitURL: "https://c/commit",
		APICommitURL: "https://api/commit", ExpiresAt: now.Add(14 * 24 * time.Hour),
		OnchainStatus: &onchain.OnchainStatus{DeviceIDAllowed: true},
	}
	var buf bytes.Buffer
	writePrepareText(&buf, v, now)
	out := buf.String()
	assert.True(t, strings.HasPrefix(out, "CVM replica prepared successfully (pending on-chain approval).\n"))
	assert.Contains(t, out, "Compose Hash:    0x"+strings.Repeat("c", 64)+"\n")
	assert.Contains(t, out, "App ID:          0x"+strings.Repeat("a", 40)+"\n")
	assert.Contains(t, out, "Device ID:       0x"+strings.Repeat("d", 64)+"\n", "not 0x0x")
	assert.Contains(t, out, "Commit Token:    ct_1\n")
	assert.Contains(t, out, "Expires:         2026-03-15T12:00:00Z (in 14 days)\n")
	assert.Contains(t, out, "On-chain Status:\n  Compose Hash:  NOT registered\n  Device ID:     registered\n")
	assert.Contains(t, out, "phala-replicate 'my app' --commit --token ct_1 --compose-hash 0x"+strings.Repeat("c", 64)+" --transaction-hash <tx-hash>\n")
	assert.NotContains(t, out, "already-registered")

	v.OnchainStatus = &onchain.OnchainStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, IsAllowed: true}
	v.PreparedFile, v.SafeFile, v.SafeCalls = "/tmp/p.json", "/tmp/s.json", []string{"addDevice"}
	buf.Reset()
	writePrepareText(&buf, v, now)
	out = buf.String()
	assert.Contains(t, out, "--transaction-hash already-registered")
	assert.Contains(t, out, "Safe batch written to /tmp/s.json (addDevice).")
	assert.Contains(t, out, "phala-replicate --commit --prepared-file /tmp/p.json --transaction-hash <tx-hash>\n")
}

func TestPrepareJSONKeys(t *testing.T) {
	v := prepareView{ComposeHash: "c", AppID: "a", DeviceID: "d", CommitToken: "t", OnchainStatus: &onchain.OnchainStatus{}}
	b, err := json.Marshal(v.json(true))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, true, m["success"])
	assert.Equal(t, true, m["prepare_only"])
	for _, k := range []string{"composeHash", "appId", "deviceId", "commitToken", "onchainStatus"} {
		assert.Contains(t, m, k)
	}
	assert.NotContains(t, m, "commitUrl", "absent values are omitted")
	st := m["onchainStatus"].(map[string]any)
	assert.Contains(t, st, "compose_hash_allowed", "onchainStatus keeps its snake_case keys")
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "abc-1_2.x", shellQuote("abc-1_2.x"))
	assert.Equal(t, "'a b'", shellQuote("a b"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
	assert.Equal(t, "''", shellQuote(""))
}

func TestRoughDuration(t *testing.T) {
	assert.Equal(t, "14 days", roughDuration(14*24*time.Hour))
	assert.Equal(t, "5 hours", roughDuration(5*time.Hour+time.Minute))
	assert.Equal(t, "30 minutes", roughDuration(30*time.Minute))
	assert.Equal(t, "the past: expired", roughDuration(-time.Second))
}
