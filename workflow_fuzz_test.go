package phala

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/stretchr/testify/require"
)

// scriptedTransport answers the n-th request with the n-th scripted answer, then
// with 404s. No network is involved, so a fuzz iteration costs microseconds.
type scriptedTransport struct {
	mu      sync.Mutex
	answers []scriptedAnswer
	next    int
}

type scriptedAnswer struct {
	status int
	body   string
}

func (s *scriptedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	s.mu.Lock()
	a := scriptedAnswer{status: http.StatusNotFound, body: `{"detail":"CVM not found"}`}
	if s.next < len(s.answers) {
		a = s.answers[s.next]
	}
	s.next++
	s.mu.Unlock()
	return &http.Response{
		StatusCode:    a.status,
		Status:        http.StatusText(a.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req-fuzz"}},
		Body:          io.NopCloser(strings.NewReader(a.body)),
		ContentLength: int64(len(a.body)),
		Request:       r,
	}, nil
}

// fuzzStatuses are the statuses a scripted answer can have: every family the
// workflows branch on.
var fuzzStatuses = []int{200, 201, 202, 204, 400, 401, 404, 409, 422, 465, 466, 467, 468, 500, 503}

// FuzzWorkflowResponses runs every workflow against a server whose answers are
// arbitrary (any status, any body, in any order) and checks what a user relies on
// whatever the server says: no panic, a result or an error (never neither), and no
// API key or env plaintext in any error message.
func FuzzWorkflowResponses(f *testing.F) {
	kms := onchainKMS(8453, "0x"+strings.Repeat("5", 40))
	source := mustJSONString(cvmObject(srcUUID, appHexID, hashA, kms))
	cloud := mustJSONString(cvmObject(srcUUID, appHexID, hashA, func(o map[string]any) {
		o["kms_info"] = map[string]any{"encrypted_env_pubkey": strings.Repeat("ab", 32)}
	}))
	vm := mustJSONString(vmObject(newUUID, appHexID, hashA))
	payload := prepareBody(appHexID, hashA, deviceHex, token, 8453, false, true)
	nodes := `{"nodes":[{"teepod_id":5,"name":"eu-1"},{"teepod_id":6,"name":"EU-1"}]}`
	list := mustJSONString([]any{cvmObject(srcUUID, appHexID, hashA), cvmObject(srcUUID2, appHexID, hashB)})
	sep := "\x1e"
	for _, seed := range []struct {
		statuses []byte
		bodies   []string
	}{
		{[]byte{0, 0, 1}, []string{source, nodes, vm}},
		{[]byte{0, 9, 0, 0}, []string{source, payload, source, vm}},
		{[]byte{9, 0, 0}, []string{payload, source, vm}},
		{[]byte{7, 0, 0}, []string{`{"detail":{"error_code":"ERR-03-010","message":"many"}}`, list, vm}},
		{[]byte{7, 0, 0}, []string{`{"detail":{"error_code":"ERR-03-009","message":"hash"}}`, source, vm}},
		{[]byte{0, 0}, []string{cloud, vm}},
		{[]byte{0, 0, 0}, []string{`{"status":"starting"}`, `{"status":"boot_failed","boot_error":"x"}`, `null`}},
		{[]byte{0, 9, 0}, []string{`null`, `{"detail":null}`, `[]`}},
		{[]byte{9, 9}, []string{`{"detail":{"error_code":"ERR-01-005","details":[{"field":"kms_info","value":{"chain_id":"x"}}]}}`, `{"commit_token":1}`}},
		{[]byte{13, 3}, []string{"<html>502</html>", ""}},
	} {
		f.Add(seed.statuses, strings.Join(seed.bodies, sep))
	}
	secret := "s3cr3t-env-value"
	f.Fuzz(func(t *testing.T, statuses []byte, bodies string) {
		if len(statuses) == 0 {
			statuses = []byte{0}
		}
		parts := strings.Split(bodies, sep)
		if len(parts) > 32 {
			parts = parts[:32]
		}
		script := make([]scriptedAnswer, len(parts))
		for i, b := range parts {
			script[i] = scriptedAnswer{status: fuzzStatuses[int(statuses[i%len(statuses)])%len(fuzzStatuses)], body: b}
		}
		client := func() *Client {
			c, err := NewClient(WithAPIKey(testKey), WithBaseURL("https://cloud-api.example/api/v1"),
				WithHTTPClient(&http.Client{Transport: &scriptedTransport{answers: script}}),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 2, MinBackoff: time.Microsecond, MaxBackoff: time.Microsecond, MaxRetryAfter: time.Millisecond}),
				WithCommitRetry(1, time.Microsecond))
			require.NoError(t, err)
			return c
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		check := func(name string, ok bool, err error) {
			t.Helper()
			require.Less(t, time.Since(start), 5*time.Second, "%s: took too long", name)
			start = time.Now()
			if err == nil {
				require.True(t, ok, "%s: no error and no result", name)
				return
			}
			msg := err.Error()
			require.NotContains(t, msg, testKey, "%s: API key in the error", name)
			require.NotContains(t, msg, secret, "%s: env plaintext in the error", name)
			require.True(t, utf8.ValidString(msg), "%s: error is valid UTF-8", name)
		}
		reg := &fakeRegistrar{reg: &onchain.Registration{ComposeHashTx: common.HexToHash("0x01"), Block: 1}}

		v, err := client().Replicate(ctx, "web", ReplicateRequest{Node: "eu-1", Registrar: reg})
		check("Replicate by name with registrar", v != nil, err)
		v, err = client().Replicate(ctx, srcUUID, ReplicateRequest{Env: []envcrypt.EnvVar{{Key: "DB_PASSWORD", Value: secret}}})
		check("Replicate with env", v != nil, err)
		v, err = client().Replicate(ctx, "app_"+appHexID, ReplicateRequest{})
		check("Replicate by app id", v != nil, err)
		p, err := client().PrepareReplica(ctx, srcUUID, ReplicateRequest{ComposeHash: hashA})
		check("PrepareReplica", p != nil, err)
		v, err = client().CommitReplica(ctx, srcUUID, CommitRequest{Token: token, ComposeHash: hashA, TransactionHash: AlreadyRegistered})
		check("CommitReplica", v != nil, err)
		v, err = client().ReplicateAppInstance(ctx, appHexID, srcUUID, ReplicateRequest{Node: "3"})
		check("ReplicateAppInstance", v != nil, err)
		cvm, err := client().WaitForReplica(ctx, newUUID, WaitOptions{PollInterval: time.Microsecond, OnProgress: func(c *CVM) {
			require.NotNil(t, c, "OnProgress gets a CVM")
		}})
		check("WaitForReplica", cvm != nil, err)
		_, err = client().ListReplicas(ctx, appHexID)
		check("ListReplicas", true, err)
		results, err := client().Scale(ctx, srcUUID, 3, ReplicateRequest{}, ScaleOptions{Concurrency: 2})
		check("Scale", len(results) == 3, err)
		if results != nil {
			require.Len(t, results, 3, "Scale reports every replica")
			for _, r := range results {
				check("Scale result", r.VM != nil, r.Err)
			}
		}
	})
}
