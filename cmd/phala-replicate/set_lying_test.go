package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

// lyingProxy stands in front of the emulator and rewrites the JSON answers
// of the GETs whose path (relative to the API prefix) match: a backend that
// lies to the CLI.
func lyingProxy(t *testing.T, srv *phalatest.Server, match func(path string) bool, rewrite func(v any) any) string {
	t.Helper()
	target, err := url.Parse(srv.URL())
	require.NoError(t, err)
	target.Path = ""
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		rel := strings.TrimPrefix(resp.Request.URL.Path, phalatest.APIPrefix)
		if resp.Request.Method != http.MethodGet || !match(rel) || resp.StatusCode != http.StatusOK {
			return nil
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var v any
		if json.Unmarshal(data, &v) == nil {
			if out, err := json.Marshal(rewrite(v)); err == nil {
				data = out
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(data))
		resp.ContentLength = int64(len(data))
		resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
		return nil
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	return ts.URL + phalatest.APIPrefix
}

func appListing(p string) bool {
	return strings.HasPrefix(p, "/apps/") && strings.HasSuffix(p, "/cvms")
}

// listedTwice duplicates the entry of vmUUID in an app listing, once in
// capitals without dashes.
func listedTwice(vmUUID string) func(v any) any {
	return func(v any) any {
		list, _ := v.([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && m["vm_uuid"] == vmUUID {
				b, _ := json.Marshal(m)
				var dup map[string]any
				_ = json.Unmarshal(b, &dup)
				dup["vm_uuid"] = strings.ToUpper(strings.ReplaceAll(vmUUID, "-", ""))
				return append(list, dup)
			}
		}
		return v
	}
}

// plan and apply against a listing that names the running source twice: the
// plan writes nothing and apply removes nothing (the source counted twice
// would have been an "excess" to remove).
func TestCLISetListingNamesAnInstanceTwice(t *testing.T) {
	sb := newTestSandbox(t)
	base := lyingProxy(t, sb.srv, appListing, listedTwice(sb.cloudCVM.VMUUID))
	env := envFor(sb, map[string]string{envAPIPrefix: base})
	set := writeSet(t, setDocFor("app_"+sb.cloudApp.ID, `{"node": "node-a", "count": 1}`))

	sb.srv.ResetRequests()
	res := runBin(t, env, "plan", "-f", set, "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Empty(t, writesTo(sb.srv), "plan is read-only")
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, "unchanged", doc["status"], "one instance, listed twice, is the one declared")

	res = runBin(t, env, "apply", "-f", set, "--auto-approve", "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Empty(t, writesTo(sb.srv), "nothing removed, nothing created")
	assert.Equal(t, map[string]int{"node-a": 1}, liveOn(t, sb, sb.cloudApp.ID))
}

// apply --commit with a prepared-set file edited by hand is refused (exit 2)
// before anything is sent; the commit tokens are never printed.
func TestCLICommitEditedPreparedSet(t *testing.T) {
	sb := newTestSandbox(t)
	sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
	dir := t.TempDir()
	safe, prepared := filepath.Join(dir, "set.safe.json"), filepath.Join(dir, "set.prepared.json")
	rpc := map[string]string{envRPCURL: sb.chain.URL()}
	set := writeSet(t, setDocFor(sb.safeCVM.VMUUID, `{"node": "node-a", "count": 1}, {"region": "eu-central", "count": 2}`))
	res := runBin(t, envFor(sb, rpc), "apply", "-f", set, "--safe-file", safe, "--prepared-file", prepared)
	require.Equal(t, exitOK, res.code, res.stderr)
	tx := sendBatch(t, sb, safe)

	ps, err := phala.ReadPreparedSet(prepared)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ps.Items), 2)
	tests := []struct {
		name string
		edit func(s *phala.PreparedSet)
	}{
		{"an entry duplicated", func(s *phala.PreparedSet) { s.Items = append(s.Items, s.Items[0]) }},
		{"a token copied to another node", func(s *phala.PreparedSet) {
			p := *s.Items[1].Prepared
			p.CommitToken = s.Items[0].Prepared.CommitToken
			s.Items[1].Prepared = &p
		}},
		{"a token of another app's source", func(s *phala.PreparedSet) {
			p := *s.Items[0].Prepared
			p.AppID = sb.autoApp.ID
			s.Items[0].Prepared = &p
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited, err := phala.ReadPreparedSet(prepared)
			require.NoError(t, err)
			tt.edit(edited)
			path := filepath.Join(t.TempDir(), "edited.json")
			data, err := json.Marshal(edited)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, data, 0o600))
			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, rpc), "apply", "--commit", "--prepared-file", path, "--transaction-hash", tx, "--json")
			assert.Equal(t, exitUsage, res.code, res.stderr)
			assert.Empty(t, writesTo(sb.srv), "nothing committed")
			assert.Empty(t, sb.srv.Replicas())
			for _, it := range ps.Items {
				assert.NotContains(t, res.stdout+res.stderr, it.Prepared.CommitToken)
			}
			doc := oneJSON(t, res.stdout)
			assert.Equal(t, false, doc["success"])
		})
	}
	// The file as written still commits.
	res = runBin(t, envFor(sb, rpc), "apply", "--commit", "--prepared-file", prepared, "--transaction-hash", tx)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, map[string]int{"node-a": 1, "node-b": 1, "node-c": 1}, liveOn(t, sb, sb.safeApp.ID))
}

// gatewayAfterProcessing stands in front of the emulator and answers 502 to
// the first POST whose path matches, after the emulator acted on it.
func gatewayAfterProcessing(t *testing.T, srv *phalatest.Server, match func(path string) bool) string {
	t.Helper()
	target, err := url.Parse(srv.URL())
	require.NoError(t, err)
	target.Path = ""
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	done := false
	rp.ModifyResponse = func(resp *http.Response) error {
		rel := strings.TrimPrefix(resp.Request.URL.Path, phalatest.APIPrefix)
		mu.Lock()
		defer mu.Unlock()
		if done || resp.Request.Method != http.MethodPost || !match(rel) {
			return nil
		}
		done = true
		return errors.New("upstream answer lost") // the proxy answers 502
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	return ts.URL + phalatest.APIPrefix
}

// apply --commit whose direct create of a node's second replica got a
// gateway 502 after the API created it: the rerun creates nothing more there.
func TestCLICommitResumeAfterLostCreate(t *testing.T) {
	sb := newTestSandbox(t)
	sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
	dir := t.TempDir()
	safe, prepared := filepath.Join(dir, "set.safe.json"), filepath.Join(dir, "set.prepared.json")
	rpc := map[string]string{envRPCURL: sb.chain.URL()}
	set := writeSet(t, setDocFor(sb.safeCVM.VMUUID, `{"node": "node-a", "count": 1}, {"region": "eu-central", "count": 3}`))
	res := runBin(t, envFor(sb, rpc), "apply", "-f", set, "--safe-file", safe, "--prepared-file", prepared)
	require.Equal(t, exitOK, res.code, res.stderr)
	tx := sendBatch(t, sb, safe)

	base := gatewayAfterProcessing(t, sb.srv, func(p string) bool { return strings.HasSuffix(p, "/replicas") })
	env := envFor(sb, map[string]string{envRPCURL: sb.chain.URL(), envAPIPrefix: base})
	res = runBin(t, env, "apply", "--commit", "--prepared-file", prepared, "--transaction-hash", tx, "--json")
	require.NotEqual(t, exitOK, res.code, res.stderr)
	doc := oneJSON(t, res.stdout)
	unknown := 0
	for _, it := range doc["committed"].([]any) {
		if it.(map[string]any)["outcome_unknown"] == true {
			unknown++
		}
	}
	assert.Equal(t, 1, unknown, res.stdout)
	want := map[string]int{"node-a": 1, "node-b": 2, "node-c": 1}
	assert.Equal(t, want, liveOn(t, sb, sb.safeApp.ID), "the lost create did create")

	sb.srv.ResetRequests()
	res = runBin(t, env, "apply", "--commit", "--prepared-file", prepared, "--transaction-hash", tx)
	require.NotEqual(t, exitOK, res.code, "the unknown outcome is still reported")
	assert.Empty(t, writesTo(sb.srv), "nothing resent")
	assert.Equal(t, want, liveOn(t, sb, sb.safeApp.ID), "no duplicate")
}
