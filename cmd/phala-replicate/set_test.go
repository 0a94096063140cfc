package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
)

// writeSet writes a replica set file and returns its path.
func writeSet(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "set.json")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
	return path
}

func setDocFor(source string, placements string) string {
	return `{"source": "` + source + `", "placements": [` + placements + `]}`
}

// writesTo lists the requests that write, as "METHOD path".
func writesTo(srv *phalatest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// liveOn counts the app's live instances per node name.
func liveOn(t *testing.T, sb *sandbox, appID string) map[string]int {
	t.Helper()
	c, err := sb.srv.Client()
	require.NoError(t, err)
	list, err := c.ListReplicas(context.Background(), appID)
	require.NoError(t, err)
	out := map[string]int{}
	for _, cv := range list {
		switch cv.Status {
		case phalatest.StatusRunning, phalatest.StatusCreating, phalatest.StatusStarting:
			out[cv.Instance().NodeName]++
		}
	}
	return out
}

func TestCLIPlan(t *testing.T) {
	sb := newTestSandbox(t)
	sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
	set := writeSet(t, setDocFor("app_"+sb.cloudApp.ID, `{"region": "us-west", "count": 1}, {"region": "eu-central", "count": 2}`))

	tests := []struct {
		name string
		args []string
	}{
		{"text", []string{"plan", "-f", set}},
		{"json", []string{"plan", "--file", set, "--json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, nil), tt.args...)
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Empty(t, writesTo(sb.srv), "plan is read-only")
			if tt.name == "text" {
				assert.Contains(t, res.stdout, "  = keep    "+sb.cloudCVM.VMUUID+" on node-a")
				assert.Contains(t, res.stdout, "  + create  on node-b (id ")
				assert.Contains(t, res.stdout, "  + create  on node-c (id ")
				assert.Contains(t, res.stdout, "2 to create, 0 to remove, 1 kept\n")
				return
			}
			doc := oneJSON(t, res.stdout)
			assert.Equal(t, true, doc["success"])
			assert.Equal(t, "plan", doc["command"])
			assert.Equal(t, "planned", doc["status"])
			plan := doc["plan"].(map[string]any)
			assert.Len(t, plan["creates"], 2)
			assert.NotEmpty(t, plan["fingerprint"])
			assert.Contains(t, res.stderr, "2 to create", "the plan text goes to stderr")
		})
	}
	assert.Empty(t, sb.srv.Replicas())
}

// plan of an Onchain KMS app with creates reads the app's instances and nodes
// once: the chain is dialled when the plan has learnt it from the source, not
// after a first plan made to learn it (which read everything twice).
func TestCLIPlanOnchainReadsOnce(t *testing.T) {
	sb := newTestSandbox(t)
	sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
	set := writeSet(t, setDocFor(sb.autoCVM.VMUUID, `{"region": "eu-central", "count": 1}`))
	sb.srv.ResetRequests()

	res := runBin(t, envFor(sb, map[string]string{envRPCURL: sb.chain.URL()}), "plan", "-f", set, "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	onchainWork := oneJSON(t, res.stdout)["plan"].(map[string]any)["onchain"].(map[string]any)
	assert.Equal(t, true, onchainWork["known"], "the contract was read")
	assert.Len(t, onchainWork["missing_devices"], 1, "node-c's device")
	assert.ElementsMatch(t, []string{"GET /cvms/" + sb.autoCVM.VMUUID, "GET /apps/" + sb.autoApp.ID + "/cvms", "GET /teepods/available"},
		calls(sb.srv), "each read once")
}

func TestCLIApplyKeyOwnedOneRegistration(t *testing.T) {
	sb := newTestSandbox(t)
	sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
	set := writeSet(t, setDocFor(sb.autoCVM.VMUUID, `{"node": "node-a", "count": 1}, {"region": "eu-central", "count": 2}`))
	env := envFor(sb, map[string]string{envPrivateKey: keyHex(sb.owner), envRPCURL: sb.chain.URL()})

	res := runBin(t, env, "apply", "-f", set, "--json", "--wait")
	require.Equal(t, exitOK, res.code, res.stderr)
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, true, doc["success"])
	assert.Equal(t, "applied", doc["status"])
	reg := doc["registration"].(map[string]any)
	assert.Len(t, reg["txs"], 3, "two addDevice and one addComposeHash")
	assert.Len(t, doc["creates"], 2)
	assert.Len(t, doc["waited"], 2)
	// The three transactions go out before the first confirmation.
	sent := strings.Count(res.stderr, " sent: tx ")
	assert.Equal(t, 3, sent)
	firstConfirmed := strings.Index(res.stderr, "confirmed")
	assert.Greater(t, firstConfirmed, strings.LastIndex(res.stderr, " sent: tx "))
	assert.Equal(t, map[string]int{"node-a": 1, "node-b": 1, "node-c": 1}, liveOn(t, sb, sb.autoApp.ID))
	assert.NotContains(t, res.stdout+res.stderr, keyHex(sb.owner))

	// A rerun changes nothing.
	res = runBin(t, env, "apply", "-f", set)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "Nothing to do")
	assert.NotContains(t, res.stderr, "sent: tx")
}

func TestCLIApplyMultisigOneSafeBatch(t *testing.T) {
	sb := newTestSandbox(t)
	sb.srv.AddNode(phalatest.Node{Name: "node-c", Region: "eu-central", Listed: true, OnchainKMS: true})
	dir := t.TempDir()
	safe, prepared := filepath.Join(dir, "set.safe.json"), filepath.Join(dir, "set.prepared.json")
	rpc := map[string]string{envRPCURL: sb.chain.URL()}
	set := writeSet(t, setDocFor(sb.safeCVM.VMUUID, `{"node": "node-a", "count": 1}, {"region": "eu-central", "count": 3}`))

	// Without a key nor files: registration required, nothing written.
	res := runBin(t, envFor(sb, rpc), "apply", "-f", set)
	assert.Equal(t, exitOnchain, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--safe-file and --prepared-file")
	assert.Empty(t, writesTo(sb.srv))

	res = runBin(t, envFor(sb, rpc), "apply", "-f", set, "--safe-file", safe, "--prepared-file", prepared, "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, "approval_required", doc["status"])
	assert.Empty(t, sb.srv.Replicas(), "nothing is created before the approval")
	approval := doc["approval"].(map[string]any)
	assert.Len(t, approval["calls"], 3, "addDevice(node-b), addDevice(node-c), addComposeHash: one batch")
	assert.Len(t, approval["nodes"], 2, "node-b gets two replicas but is prepared once")

	var batch onchain.SafeBatch
	b, err := os.ReadFile(safe)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &batch))
	require.Len(t, batch.Transactions, 3)
	fi, err := os.Stat(prepared)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the prepared set holds the commit tokens")
	ps, err := phala.ReadPreparedSet(prepared)
	require.NoError(t, err)
	for _, it := range ps.Items {
		require.NotNil(t, it.Prepared)
		assert.NotContains(t, res.stdout+res.stderr, it.Prepared.CommitToken, "tokens are in the file only")
	}

	// A second apply does not overwrite tokens not committed yet.
	res = runBin(t, envFor(sb, rpc), "apply", "-f", set, "--safe-file", safe, "--prepared-file", prepared)
	assert.Equal(t, exitUsage, res.code)
	assert.Contains(t, res.stderr, "holds commit tokens not committed yet")

	tx := sendBatch(t, sb, safe)
	res = runBin(t, envFor(sb, rpc), "apply", "--commit", "--prepared-file", prepared, "--transaction-hash", tx, "--json", "--wait")
	require.Equal(t, exitOK, res.code, res.stderr)
	doc = oneJSON(t, res.stdout)
	assert.Equal(t, "apply --commit", doc["command"])
	assert.Equal(t, "committed", doc["status"])
	assert.Len(t, doc["waited"], 3)
	assert.Equal(t, map[string]int{"node-a": 1, "node-b": 2, "node-c": 1}, liveOn(t, sb, sb.safeApp.ID))

	// Committing again resumes: nothing is sent, nothing is created twice.
	sb.srv.ResetRequests()
	res = runBin(t, envFor(sb, rpc), "apply", "--commit", "--prepared-file", prepared, "--transaction-hash", tx)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Empty(t, writesTo(sb.srv))
	assert.Equal(t, map[string]int{"node-a": 1, "node-b": 2, "node-c": 1}, liveOn(t, sb, sb.safeApp.ID))
}

func TestCLIApplyRemovalNeedsConfirmation(t *testing.T) {
	sb := newTestSandbox(t)
	extra := sb.srv.AddCVM(phalatest.CVM{AppID: sb.cloudApp.ID, NodeID: sb.nodeB.ID})
	set := writeSet(t, setDocFor("app_"+sb.cloudApp.ID, `{"anywhere": true, "count": 1}`))

	tests := []struct {
		name string
		args []string
		json bool
	}{
		{"text", []string{"apply", "-f", set}, false},
		{"json", []string{"apply", "-f", set, "--json"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runBin(t, envFor(sb, nil), tt.args...) // stdin is not a terminal
			assert.Equal(t, exitNotConfirmed, res.code)
			assert.Empty(t, writesTo(sb.srv), "nothing is removed")
			if tt.json {
				doc := oneJSON(t, res.stdout)
				assert.Equal(t, false, doc["success"])
				e := doc["error"].(map[string]any)
				assert.Equal(t, "not_confirmed", e["type"])
				assert.Equal(t, float64(exitNotConfirmed), e["exit_code"])
				assert.NotNil(t, doc["plan"], "the refused plan is in the document")
				return
			}
			assert.Contains(t, res.stdout, "  - remove  "+extra.VMUUID)
			assert.Contains(t, res.stderr, "--auto-approve")
		})
	}

	res := runBin(t, envFor(sb, nil), "apply", "-f", set, "--auto-approve")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, []string{"DELETE /cvms/" + extra.VMUUID}, writesTo(sb.srv))
	assert.Contains(t, res.stdout, "  - removed "+extra.VMUUID)
}

// The terminal prompt, run in-process with a stand-in terminal.
func TestApplyConfirmationOnTerminal(t *testing.T) {
	tests := []struct {
		answer string
		code   int
	}{
		{"yes\n", exitOK},
		{"y\n", exitNotConfirmed},
		{"", exitNotConfirmed},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			sb := newTestSandbox(t)
			extra := sb.srv.AddCVM(phalatest.CVM{AppID: sb.cloudApp.ID, NodeID: sb.nodeB.ID})
			set := writeSet(t, setDocFor("app_"+sb.cloudApp.ID, `{"node": "node-a", "count": 1}`))
			var stdout, stderr bytes.Buffer
			code := runSet(context.Background(), "apply", []string{"-f", set}, &stdout, &stderr, sb.env(nil), settings{},
				setIO{in: strings.NewReader(tt.answer), terminal: true})
			assert.Equal(t, tt.code, code, stderr.String())
			assert.Contains(t, stderr.String(), "Only 'yes' is accepted")
			deleted := len(writesTo(sb.srv)) == 1
			assert.Equal(t, tt.code == exitOK, deleted)
			if deleted {
				assert.Equal(t, "DELETE /cvms/"+extra.VMUUID, writesTo(sb.srv)[0])
			}
		})
	}
}

func TestCLISetJSONFailures(t *testing.T) {
	sb := newTestSandbox(t)
	tests := []struct {
		name  string
		args  func(dir string) []string
		code  int
		typ   string
		field string
	}{
		{"unknown node", func(string) []string {
			return []string{"plan", "-f", writeSet(t, setDocFor("app_"+sb.cloudApp.ID, `{"node": "nope", "count": 1}`)), "--json"}
		}, exitUsage, "usage", "placements[0].node"},
		{"negative count", func(string) []string {
			return []string{"apply", "-f", writeSet(t, setDocFor("app_"+sb.cloudApp.ID, `{"node": "node-a", "count": -1}`)), "--json"}
		}, exitUsage, "usage", "placements[0].count"},
		{"missing file", func(dir string) []string {
			return []string{"apply", "-f", filepath.Join(dir, "none.json"), "-j"}
		}, exitError, "error", ""},
		{"bad flag", func(string) []string { return []string{"apply", "--bogus", "--json"} }, exitUsage, "usage", ""},
		{"commit without file", func(string) []string { return []string{"apply", "--commit", "--json"} }, exitUsage, "usage", ""},
		{"unknown source", func(string) []string {
			return []string{"apply", "-f", writeSet(t, setDocFor("app_"+strings.Repeat("ab", 20), `{"anywhere": true, "count": 1}`)), "--json"}
		}, exitAPI, "api", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runBin(t, envFor(sb, nil), tt.args(t.TempDir())...)
			assert.Equal(t, tt.code, res.code, res.stderr)
			doc := oneJSON(t, res.stdout)
			assert.Equal(t, false, doc["success"])
			e := doc["error"].(map[string]any)
			assert.Equal(t, tt.typ, e["type"])
			assert.Equal(t, float64(tt.code), e["exit_code"])
			assert.NotEmpty(t, e["message"])
			if tt.field != "" {
				require.NotEmpty(t, e["details"])
				assert.Equal(t, tt.field, e["details"].([]any)[0].(map[string]any)["field"])
			}
			assert.NotContains(t, res.stderr, `"success"`, "the document is on stdout only")
		})
	}
	assert.Empty(t, writesTo(sb.srv))
}
