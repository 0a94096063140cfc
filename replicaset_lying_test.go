package phala_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

// lie rewrites the answers of the requests it matches: a backend that lies.
type lie struct {
	method string
	path   func(p string) bool
	// body rewrites a JSON answer (decoded as any); nil leaves it.
	body func(v any) any
	// prepare sends the request with X-Prepare-Only, so a create the server
	// would run answers a real 465 instead (a backend asking to register what
	// is registered already).
	prepare bool
	// lose forwards the request and then loses the answer (a transport error).
	lose bool
	// fake answers 200 with this JSON without forwarding the request.
	fake func() any
	// raw: body returns the raw answer text (a string), not JSON to encode.
	raw bool
	// count bounds how many answers it rewrites (0: every one).
	count int
	used  int
	// skip lets that many matching requests through untouched first.
	skip int
}

// lyingTransport applies the lies to the answers of the real emulator.
type lyingTransport struct {
	mu   sync.Mutex
	lies []*lie
}

func (lt *lyingTransport) add(l *lie) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.lies = append(lt.lies, l)
}

func (lt *lyingTransport) reset() {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.lies = nil
}

func (lt *lyingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rel := strings.TrimPrefix(req.URL.Path, phalatest.APIPrefix)
	lt.mu.Lock()
	var match *lie
	for _, l := range lt.lies {
		if (l.method == "" || l.method == req.Method) && l.path(rel) && (l.count == 0 || l.used < l.count) {
			if l.skip > 0 {
				l.skip--
				continue
			}
			l.used++
			match = l
			break
		}
	}
	lt.mu.Unlock()
	if match != nil && match.fake != nil {
		data, _ := json.Marshal(match.fake())
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(data)),
			ContentLength: int64(len(data)), Request: req}, nil
	}
	if match != nil && match.prepare {
		req = req.Clone(req.Context())
		req.Header.Set("X-Prepare-Only", "true")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && match != nil && match.lose {
		resp.Body.Close()
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil || match == nil || match.body == nil {
		return resp, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var v any
	if match.raw {
		data = []byte(match.body(nil).(string))
	} else if json.Unmarshal(data, &v) == nil {
		if out, err := json.Marshal(match.body(v)); err == nil {
			data = out
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
	return resp, nil
}

// newLyingSetFixture is newSetFixture with a client whose answers lt rewrites.
func newLyingSetFixture(t *testing.T) (*setFixture, *lyingTransport) {
	t.Helper()
	f := newSetFixture(t)
	lt := &lyingTransport{}
	c, err := f.srv.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
	require.NoError(t, err)
	f.c = c
	return f, lt
}

func isAppListing(p string) bool {
	return strings.HasPrefix(p, "/apps/") && strings.HasSuffix(p, "/cvms")
}
func isNodeList(p string) bool { return p == "/teepods/available" }

// cvmJSON is the emulator's JSON form of one CVM, as GET /cvms/{id} answers it.
func cvmJSON(t *testing.T, f *setFixture, vmUUID string) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(mustReq(t, f.srv, "/cvms/"+vmUUID))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return m
}

func mustReq(t *testing.T, srv *phalatest.Server, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
	require.NoError(t, err)
	req.Header.Set("X-API-Key", srv.APIKey())
	return req
}

func deletes(f *setFixture) []string {
	var out []string
	for _, r := range f.writes() {
		if r.Method == http.MethodDelete {
			out = append(out, strings.TrimPrefix(r.Path, "/cvms/"))
		}
	}
	return out
}

// entries returns the listing's objects.
func entries(v any) []any { l, _ := v.([]any); return l }

func entryOf(v any, vmUUID string) map[string]any {
	for _, e := range entries(v) {
		if m, ok := e.(map[string]any); ok && m["vm_uuid"] == vmUUID {
			return m
		}
	}
	return nil
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// The app's listing lies about which instances are the app's: a plan never
// counts, keeps or removes an instance of another app, never takes one as
// the source, and counts an instance listed twice once.
func TestReplicaSetLyingAppListing(t *testing.T) {
	type want struct {
		creates  int
		removals []string // "src", "foreign", "extra"
		keep     []string
		warn     bool
	}
	tests := []struct {
		name  string
		count int
		lie   func(f *setFixture, foreign, extra map[string]any) func(v any) any
		want  want
	}{
		{"instance of another app with its own app_id", 1,
			func(f *setFixture, foreign, _ map[string]any) func(any) any {
				return func(v any) any {
					e := clone(foreign)
					e["compose_hash"] = entryOf(v, f.src.VMUUID)["compose_hash"]
					return append(entries(v), e)
				}
			}, want{keep: []string{"src"}, removals: []string{"extra"}, warn: true}},
		{"another app's instance listed first with the set's compose hash", 1,
			func(f *setFixture, foreign, _ map[string]any) func(any) any {
				return func(v any) any {
					e := clone(foreign)
					e["compose_hash"] = entryOf(v, f.src.VMUUID)["compose_hash"]
					return append([]any{e}, entries(v)...)
				}
			}, want{keep: []string{"src"}, removals: []string{"extra"}, warn: true}},
		{"the source listed twice", 1,
			func(f *setFixture, _, _ map[string]any) func(any) any {
				return func(v any) any { return append(entries(v), clone(entryOf(v, f.src.VMUUID))) }
			}, want{keep: []string{"src"}, removals: []string{"extra"}}},
		{"the source listed twice, count 2", 2,
			func(f *setFixture, _, _ map[string]any) func(any) any {
				return func(v any) any { return append(entries(v), clone(entryOf(v, f.src.VMUUID))) }
			}, want{creates: 1, keep: []string{"src"}, removals: []string{"extra"}}},
		{"the source listed twice, once in capitals without dashes", 1,
			func(f *setFixture, _, _ map[string]any) func(any) any {
				return func(v any) any {
					e := clone(entryOf(v, f.src.VMUUID))
					e["vm_uuid"] = strings.ToUpper(strings.ReplaceAll(f.src.VMUUID, "-", ""))
					return append(entries(v), e)
				}
			}, want{keep: []string{"src"}, removals: []string{"extra"}}},
		{"an instance listed twice, on two nodes", 1,
			func(f *setFixture, _, extra map[string]any) func(any) any {
				return func(v any) any {
					e := clone(entryOf(v, extra["vm_uuid"].(string)))
					ni, _ := e["node_info"].(map[string]any)
					ni["id"], ni["name"] = f.nodes["b1"].ID, "b1"
					return append(entries(v), e)
				}
			}, want{keep: []string{"src"}, warn: true}}, // which copy is true is unknown: left alone
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, lt := newLyingSetFixture(t)
			other := f.srv.AddApp(phalatest.App{Name: "other", KMS: phalatest.KMSCloud})
			foreignCVM := f.srv.AddCVM(phalatest.CVM{AppID: other.ID, NodeID: f.nodes["a1"].ID})
			extraCVM := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
			foreign, extra := cvmJSON(t, f, foreignCVM.VMUUID), cvmJSON(t, f, extraCVM.VMUUID)
			names := map[string]string{f.src.VMUUID: "src", foreignCVM.VMUUID: "foreign", extraCVM.VMUUID: "extra"}
			lt.add(&lie{method: http.MethodGet, path: isAppListing, body: tt.lie(f, foreign, extra)})
			spec := f.spec(phala.Placement{Node: "a1", Count: tt.count}, phala.Placement{Node: "a2", Count: 0})

			plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
			require.NoError(t, err)
			assert.Equal(t, f.src.VMUUID, plan.SourceVMUUID, "the source is an instance of the app")
			var keep, removals []string
			for _, k := range plan.Keep {
				keep = append(keep, names[k.VMUUID])
			}
			for _, r := range plan.Removals {
				removals = append(removals, names[r.VMUUID])
			}
			assert.ElementsMatch(t, tt.want.keep, keep)
			assert.ElementsMatch(t, tt.want.removals, removals)
			assert.Len(t, plan.Creates, tt.want.creates)
			if tt.want.warn {
				assert.NotEmpty(t, plan.Warnings)
			}

			f.srv.ResetRequests()
			res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
			require.NoError(t, err)
			assert.Len(t, res.Creates, tt.want.creates)
			_, ok := f.srv.Replica(foreignCVM.VMUUID)
			assert.True(t, ok, "the other app's instance is never deleted")
			assert.NotContains(t, deletes(f), foreignCVM.VMUUID)
			for _, r := range f.writes() {
				if r.Method == http.MethodPost {
					assert.Contains(t, r.Path, f.src.VMUUID, "replicas are copies of the set's source")
				}
			}
			lt.reset()
			assert.Equal(t, tt.count, f.live(t)["a1"], "the declared count, no duplicate")
		})
	}
}

// An instance on a node the node list does not name: its placement is
// unknown, so it is neither counted nor removed (an anywhere placement
// counts it: it runs somewhere).
func TestReplicaSetInstanceOnUnlistedNode(t *testing.T) {
	tests := []struct {
		name      string
		placement phala.Placement
		creates   int
		kept      bool
	}{
		{"region placement", phala.Placement{Region: "us-west", Count: 1}, 0, true},
		{"node placement", phala.Placement{Node: "a1", Count: 1}, 0, true},
		{"anywhere counts it", phala.Placement{Anywhere: true, Count: 2}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, lt := newLyingSetFixture(t)
			stray := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["b1"].ID})
			lt.add(&lie{method: http.MethodGet, path: isAppListing, body: func(v any) any {
				e := entryOf(v, stray.VMUUID)
				ni, _ := e["node_info"].(map[string]any)
				ni["id"], ni["name"] = 9999, "ghost"
				return v
			}})
			plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(tt.placement), phala.PlanOptions{})
			require.NoError(t, err)
			assert.Empty(t, plan.Removals, "an instance whose node is unknown is not removed")
			assert.Len(t, plan.Creates, tt.creates)
			var kept []string
			for _, k := range plan.Keep {
				kept = append(kept, k.VMUUID)
			}
			assert.Contains(t, kept, stray.VMUUID)
			_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
			require.NoError(t, err)
			assert.Empty(t, deletes(f))
		})
	}
}

// The node list changes between plan and apply: the plan is stale and
// nothing is written.
func TestReplicaSetNodeListChangesBeforeApply(t *testing.T) {
	tests := []struct {
		name string
		lie  func(v any) any
	}{
		{"a node disappears", func(v any) any {
			m := v.(map[string]any)
			nodes := m["nodes"].([]any)
			m["nodes"] = nodes[:len(nodes)-1]
			return m
		}},
		{"a device_id changes", func(v any) any {
			m := v.(map[string]any)
			for _, n := range m["nodes"].([]any) {
				n.(map[string]any)["device_id"] = "0x" + strings.Repeat("ee", 32)
			}
			return m
		}},
		{"a node is added", func(v any) any {
			m := v.(map[string]any)
			nodes := m["nodes"].([]any)
			n := clone(nodes[0].(map[string]any))
			n["teepod_id"], n["id"], n["name"] = 777, 777, "b9"
			n["region_identifier"] = "eu-central"
			m["nodes"] = append(nodes, n)
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, lt := newLyingSetFixture(t)
			spec := f.spec(phala.Placement{Region: "eu-central", Count: 2}, phala.Placement{Node: "a1", Count: 0})
			plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
			require.NoError(t, err)
			f.srv.ResetRequests()
			lt.add(&lie{method: http.MethodGet, path: isNodeList, body: tt.lie})
			_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
			var stale *phala.StalePlanError
			require.ErrorAs(t, err, &stale)
			assert.ErrorIs(t, err, phala.ErrStalePlan)
			assert.Empty(t, f.writes(), "a stale plan writes nothing")
		})
	}
}

// A plan is read-only, whatever the listing says.
func TestReplicaSetPlanIsReadOnlyUnderLies(t *testing.T) {
	f, lt := newLyingSetFixture(t)
	lt.add(&lie{method: http.MethodGet, path: isAppListing, body: func(v any) any {
		e := clone(entryOf(v, f.src.VMUUID))
		e["status"] = "Stopped"
		return append(entries(v), e)
	}})
	_, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 0}, phala.Placement{Region: "eu-central", Count: 3}), phala.PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, f.writes())
}

// Statuses in another case count as their lowercase selves; an unknown
// status counts as live (removed only as an excess, after the creates).
func TestReplicaSetStatusesInOddCase(t *testing.T) {
	f, lt := newLyingSetFixture(t)
	up := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	stopped := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	unknown := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
	going := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
	statuses := map[string]string{f.src.VMUUID: "RUNNING", up.VMUUID: "Running", stopped.VMUUID: "STOPPED",
		unknown.VMUUID: "hibernating", going.VMUUID: "Terminating"}
	lt.add(&lie{method: http.MethodGet, path: isAppListing, body: func(v any) any {
		for _, e := range entries(v) {
			m := e.(map[string]any)
			m["status"] = statuses[m["vm_uuid"].(string)]
		}
		return v
	}})
	plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 2}, phala.Placement{Node: "a2", Count: 1}), phala.PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, plan.Creates)
	require.Len(t, plan.Removals, 1)
	assert.Equal(t, stopped.VMUUID, plan.Removals[0].VMUUID)
	assert.False(t, plan.Removals[0].Live)
	assert.Equal(t, "stopped", plan.Removals[0].Reason)
	var kept []string
	for _, k := range plan.Keep {
		kept = append(kept, k.VMUUID)
	}
	assert.ElementsMatch(t, []string{f.src.VMUUID, up.VMUUID, unknown.VMUUID}, kept)
}

// A protected instance the listing shows under another name is still
// protected: protection is by vm_uuid.
func TestReplicaSetProtectedRenamed(t *testing.T) {
	f, lt := newLyingSetFixture(t)
	newest := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	lt.add(&lie{method: http.MethodGet, path: isAppListing, body: func(v any) any {
		e := entryOf(v, newest.VMUUID)
		e["name"] = "renamed-by-someone"
		e["vm_uuid"] = strings.ToUpper(newest.VMUUID)
		return v
	}})
	spec := f.spec(phala.Placement{Node: "a1", Count: 0})
	spec.Protect = []string{newest.VMUUID}
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Removals, 1)
	assert.Equal(t, f.src.VMUUID, plan.Removals[0].VMUUID)
	_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
	require.NoError(t, err)
	_, ok := f.srv.Replica(newest.VMUUID)
	assert.True(t, ok, "the protected instance is never removed")
	assert.Equal(t, []string{f.src.VMUUID}, deletes(f))
}

// DELETE answers that lie or get lost: the outcome reported is what is
// true, and a re-plan never creates a duplicate.
func TestDeleteCVMLyingAnswers(t *testing.T) {
	tests := []struct {
		name    string
		fault   phalatest.Fault
		want    phala.DeleteOutcome // "" when an error is expected
		stays   bool                // the CVM is still there afterwards
		errType any
	}{
		{"202 without deleting", phalatest.Fault{Status: http.StatusAccepted}, phala.DeleteAccepted, true, nil},
		{"200 without deleting", phalatest.Fault{Status: http.StatusOK}, phala.DeleteAccepted, true, nil},
		{"404 for a CVM that is still there", phalatest.Fault{Status: http.StatusNotFound}, "", true, new(*phala.DeleteError)},
		{"503 after deleting", phalatest.Fault{Status: http.StatusServiceUnavailable, AfterProcessing: true}, phala.DeleteAlreadyGone, false, nil},
		{"502 after deleting, twice", phalatest.Fault{Status: http.StatusBadGateway, AfterProcessing: true, Count: 2}, phala.DeleteAlreadyGone, false, nil},
		{"answer lost", phalatest.Fault{DropAfterProcessing: true}, phala.DeleteAlreadyGone, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSetFixture(t)
			victim := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
			fault := tt.fault
			fault.Method, fault.PathPrefix = http.MethodDelete, "/cvms/"
			f.srv.FailNext(fault)
			out, err := f.c.DeleteCVM(f.ctx, victim.VMUUID, f.app.ID)
			if tt.errType != nil {
				require.ErrorAs(t, err, tt.errType)
				assert.ErrorIs(t, err, phala.ErrDeleteContradicted)
				assert.NotContains(t, err.Error(), f.srv.APIKey())
			} else {
				require.NoError(t, err)
				if tt.want == phala.DeleteAlreadyGone {
					assert.Contains(t, []phala.DeleteOutcome{phala.DeleteAccepted, phala.DeleteAlreadyGone}, out)
				} else {
					assert.Equal(t, tt.want, out)
				}
			}
			_, ok := f.srv.Replica(victim.VMUUID)
			if ok {
				r, _ := f.srv.Replica(victim.VMUUID)
				_ = r
			}
			assert.Equal(t, tt.stays, ok)

			// Whatever the answer, a re-plan counts what runs: no duplicate.
			plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 1}, phala.Placement{Node: "a2", Count: 0}), phala.PlanOptions{})
			require.NoError(t, err)
			assert.Empty(t, plan.Creates)
			if tt.stays {
				require.Len(t, plan.Removals, 1, "still listed: removed again")
				assert.Equal(t, victim.VMUUID, plan.Removals[0].VMUUID)
			} else {
				assert.Empty(t, plan.Removals)
			}
		})
	}
}

// In an apply, a DELETE answered 404 while the instance still runs is a
// failed removal, so device pruning keeps its node's device.
func TestReplicaSetApplyDelete404Lie(t *testing.T) {
	f := newSetFixture(t)
	victim := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
	plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 1}, phala.Placement{Node: "a2", Count: 0}), phala.PlanOptions{})
	require.NoError(t, err)
	f.srv.FailNext(phalatest.Fault{Method: http.MethodDelete, PathPrefix: "/cvms/", Status: http.StatusNotFound})
	res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
	var ae *phala.ApplyError
	require.ErrorAs(t, err, &ae)
	assert.ErrorIs(t, err, phala.ErrApplyIncomplete)
	require.Len(t, res.Removals, 1)
	assert.Equal(t, victim.VMUUID, res.Removals[0].VMUUID)
	var de *phala.DeleteError
	require.ErrorAs(t, res.Removals[0].Err, &de)
	assert.ErrorIs(t, res.Removals[0].Err, phala.ErrDeleteContradicted)
	assert.NotEqual(t, phala.DeleteAlreadyGone, res.Removals[0].Outcome)
}

// A DELETE answered 2xx whose instance is still listed afterwards: pruning
// never takes its node's device off the allow-list.
func TestReplicaSetPruneAfterLyingDelete(t *testing.T) {
	ctx := context.Background()
	sb, app, nodes := startChainApp(t, "k", "k1", "k2")
	k1, k2 := nodes[0], nodes[1]
	d := onchain.NewDstackApp()
	for _, n := range []phalatest.Node{k1, k2} {
		tx, err := sb.Chain.Transact(ctx, sb.Chain.Transactor(1), app.Contract, d.PackAddDevice(common.HexToHash(n.DeviceID)))
		require.NoError(t, err)
		_, err = sb.Chain.Mine(ctx, tx)
		require.NoError(t, err)
	}
	stays := sb.Server.AddCVM(phalatest.CVM{AppID: app.App.ID, NodeID: k1.ID})
	sb.Server.AddCVM(phalatest.CVM{AppID: app.App.ID, NodeID: k2.ID})
	c, err := sb.Client()
	require.NoError(t, err)
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "node-a", Count: 1}}}
	po := phala.PlanOptions{Chain: sb.Chain.Client, PruneDevices: true}
	plan, err := c.PlanReplicaSet(ctx, spec, po)
	require.NoError(t, err)
	require.Len(t, plan.Removals, 2)
	dev1, dev2 := common.HexToHash(k1.DeviceID).Hex(), common.HexToHash(k2.DeviceID).Hex()
	require.ElementsMatch(t, []string{dev1, dev2}, plan.Onchain.RemoveDevices)

	// The DELETE of k1's instance is answered 202 and not done.
	sb.Server.FailNext(phalatest.Fault{Method: http.MethodDelete, PathPrefix: "/cvms/" + stays.VMUUID, Status: http.StatusAccepted})
	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}, PruneDevices: true})
	require.NotNil(t, res)
	require.NotNil(t, res.Prune)
	assert.Equal(t, []string{dev2}, res.Prune.Devices, "k2 hosts nothing any more")
	assert.Equal(t, []string{dev1}, res.Prune.Kept, "k1's instance is still listed: its device stays")
	if res.Prune.SafeBatch != nil {
		assert.Len(t, res.Prune.SafeBatch.Transactions, 1)
	}
	require.NoError(t, err, "a 2xx DELETE may be listed a while: not a failure")

	// Once it is really gone, the next apply prunes k1's device.
	plan2, err := c.PlanReplicaSet(ctx, spec, po)
	require.NoError(t, err)
	require.Len(t, plan2.Removals, 1, "still listed: removed again")
	assert.Equal(t, stays.VMUUID, plan2.Removals[0].VMUUID)
	assert.Empty(t, plan2.Creates)
}

// set465Detail rewrites one field of a 465 answer's details.
func set465Detail(field string, value any) func(v any) any {
	return func(v any) any {
		m, _ := v.(map[string]any)
		detail, _ := m["detail"].(map[string]any)
		details, _ := detail["details"].([]any)
		for _, d := range details {
			if e, ok := d.(map[string]any); ok && e["field"] == field {
				e["value"] = value
			}
		}
		return v
	}
}

// A 465 answering a create of the set that names a device other than the
// planned node's, or another app or compose hash: nothing is signed, and the
// Safe batch holds only what was verified.
func TestReplicaSetLying465(t *testing.T) {
	foreignDevice := "0x" + strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		lie   func(v any) any // nil: Fault.DeviceID
		field string
	}{
		{"foreign device", nil, "device_id"},
		{"another app", set465Detail("app_id", strings.Repeat("cd", 20)), "app_id"},
		{"another compose hash", set465Detail("compose_hash", strings.Repeat("ef", 32)), "compose_hash"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"safe", "registrar"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				ctx := context.Background()
				sb, app, _ := startChainApp(t, "k", "k1", "k2")
				lt := &lyingTransport{}
				c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
				require.NoError(t, err)
				spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "k1", Count: 1}, {Node: "k2", Count: 1}}}
				plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{Chain: sb.Chain.Client})
				require.NoError(t, err)
				require.Len(t, plan.Creates, 2)

				isCreate := func(p string) bool { return strings.HasSuffix(p, "/replicas") }
				rewrite := tt.lie
				if rewrite == nil {
					rewrite = set465Detail("device_id", foreignDevice)
				}
				// With a Registrar the set registration comes first, so the
				// create would not get a 465: the lying backend forces one.
				lt.add(&lie{method: http.MethodPost, path: isCreate, body: rewrite, count: 1, prepare: mode == "registrar"})
				opts := phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}, Concurrency: 1}
				var submitted []onchain.Event
				if mode == "registrar" {
					reg, err := onchain.NewRegistrar(sb.Chain.Client, sb.Chain.Transactor(1), onchain.WithPollInterval(5e6),
						onchain.WithProgress(func(e onchain.Event) {
							if e.Kind == onchain.EventSubmitted {
								submitted = append(submitted, e)
							}
						}))
					require.NoError(t, err)
					opts.Registrar = reg
				}
				res, err := c.ApplyReplicaSet(ctx, plan, opts)
				var ae *phala.ApplyError
				require.ErrorAs(t, err, &ae)
				var mismatch *phala.PayloadMismatchError
				require.ErrorAs(t, err, &mismatch)
				assert.Equal(t, tt.field, mismatch.Field)
				assert.NotContains(t, err.Error(), sb.Server.APIKey())

				st, rerr := onchain.ReadSetStatus(ctx, sb.Chain.Client, app.Contract, common.Hash{}, []common.Hash{common.HexToHash(foreignDevice)})
				require.NoError(t, rerr)
				assert.False(t, st.DevicesListed[common.HexToHash(foreignDevice)], "the foreign device is never allowed")
				if mode == "safe" {
					require.NotNil(t, res.SafeBatch)
					for _, tx := range res.SafeBatch.Transactions {
						assert.NotContains(t, strings.ToLower(tx.Data), strings.TrimPrefix(foreignDevice, "0x"), "nothing unverified in the batch")
					}
					require.NotNil(t, res.Prepared)
					prepared := 0
					for _, it := range res.Prepared.Items {
						if it.Prepared != nil {
							prepared++
						}
					}
					assert.Equal(t, 1, prepared, "only the verified node is prepared")
				} else {
					assert.Len(t, submitted, 3, "2 planned addDevice + addComposeHash, nothing for the lie")
				}
			})
		}
	}
}

// preparedSetFixture: an Onchain KMS app whose set of three nodes (k1 gets
// two replicas) was prepared; the Safe executed the batch.
func preparedSetFixture(t *testing.T) (*sandbox.Sandbox, *phala.Client, *phala.PreparedSet, string, sandbox.OnchainApp) {
	t.Helper()
	ctx := context.Background()
	sb, app, _ := startChainApp(t, "k", "k1", "k2", "k3")
	c, err := sb.Client()
	require.NoError(t, err)
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{
		{Node: "k1", Count: 2}, {Node: "k2", Count: 1}, {Node: "k3", Count: 1}}}
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{Chain: sb.Chain.Client})
	require.NoError(t, err)
	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}})
	require.NoError(t, err)
	require.Len(t, res.Prepared.Items, 3)
	receipts, err := sb.ExecuteBatch(ctx, 1, res.SafeBatch)
	require.NoError(t, err)
	return sb, c, res.Prepared, receipts[len(receipts)-1].TxHash.Hex(), app
}

func replicasOnApp(sb *sandbox.Sandbox, appID string) int {
	n := 0
	for _, r := range sb.Server.Replicas() {
		if r.AppID == appID {
			n++
		}
	}
	return n
}

// Some commits refused (466, 467, 468), some done; the resumed commit
// finishes without a duplicate and resends nothing already done.
func TestCommitPreparedSetPartialThenResume(t *testing.T) {
	sb, c, set, tx, app := preparedSetFixture(t)
	ctx := context.Background()
	before := replicasOnApp(sb, app.App.ID) // the source
	commit := "/cvms/" + app.CVM.VMUUID + "/commit-replica"
	sb.Server.FailNext(phalatest.Fault{Method: http.MethodPost, PathPrefix: commit, Status: phalatest.StatusTokenInvalid})
	sb.Server.FailNext(phalatest.Fault{Method: http.MethodPost, PathPrefix: commit, Status: phalatest.StatusHashNotAllowed})

	err := c.CommitPreparedSet(ctx, set, tx)
	var ae *phala.ApplyError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 2, ae.Failed)
	done := 0
	for _, it := range set.Items {
		if it.Committed != "" {
			done++
			assert.Empty(t, it.Error)
		} else {
			assert.NotEmpty(t, it.Error)
			assert.NotContains(t, it.Error, it.Prepared.CommitToken, "no commit token in an error")
		}
	}
	assert.Equal(t, 1, done)
	assert.NotContains(t, err.Error(), sb.Server.APIKey())

	// The fault queue is empty: the resume commits the two others.
	require.NoError(t, c.CommitPreparedSet(ctx, set, tx))
	assert.Equal(t, before+4, replicasOnApp(sb, app.App.ID), "4 replicas, none twice")
	require.NoError(t, c.CommitPreparedSet(ctx, set, tx))
	assert.Equal(t, before+4, replicasOnApp(sb, app.App.ID))
}

// A direct create of a node's extra replica whose answer is lost is never
// sent again by a resumed commit: it may have created the replica.
func TestCommitPreparedSetExtraLostNotResent(t *testing.T) {
	tests := []struct {
		name string
		lie  *lie
	}{
		{"answer lost", &lie{lose: true}},
		{"body cut", &lie{body: func(any) any { return "{\"vm_uuid\": 7" }, raw: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, _, set, tx, app := preparedSetFixture(t)
			ctx := context.Background()
			lt := &lyingTransport{}
			c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
			require.NoError(t, err)
			before := replicasOnApp(sb, app.App.ID)
			l := tt.lie
			l.method, l.path, l.count = http.MethodPost, func(p string) bool { return strings.HasSuffix(p, "/replicas") }, 1
			lt.add(l)

			err = c.CommitPreparedSet(ctx, set, tx)
			var ae *phala.ApplyError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, 1, ae.Failed)
			assert.Equal(t, before+4, replicasOnApp(sb, app.App.ID), "the lost create did create")
			unknown := 0
			for _, it := range set.Items {
				if it.OutcomeUnknown {
					unknown++
				}
			}
			assert.Equal(t, 1, unknown)

			// Resumed (from the file, as the CLI does): nothing is created again.
			path := filepath.Join(t.TempDir(), "set.json")
			require.NoError(t, phala.WritePreparedSet(path, set))
			set2, err := phala.ReadPreparedSet(path)
			require.NoError(t, err)
			err = c.CommitPreparedSet(ctx, set2, tx)
			require.ErrorAs(t, err, &ae)
			var ou *phala.OutcomeUnknownError
			assert.ErrorAs(t, err, &ou)
			assert.Equal(t, before+4, replicasOnApp(sb, app.App.ID), "no duplicate on resume")
		})
	}
}

// A prepared-set file edited by hand (entries duplicated, tokens of another
// source, another app or compose hash) is refused before anything is sent.
func TestPreparedSetEditedByHand(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(set *phala.PreparedSet, foreignVM string)
		onRead  bool // ReadPreparedSet refuses it already
		errType any
	}{
		{"an entry duplicated", func(s *phala.PreparedSet, _ string) {
			s.Items = append(s.Items, s.Items[0])
		}, true, new(*phala.InvalidArgumentError)},
		{"a token copied to another node", func(s *phala.PreparedSet, _ string) {
			p := *s.Items[1].Prepared
			p.CommitToken = s.Items[0].Prepared.CommitToken
			s.Items[1].Prepared = &p
		}, true, new(*phala.InvalidArgumentError)},
		{"a prepared replica of another app", func(s *phala.PreparedSet, _ string) {
			p := *s.Items[1].Prepared
			p.AppID = strings.Repeat("cd", 20)
			s.Items[1].Prepared = &p
		}, true, new(*phala.InvalidArgumentError)},
		{"another compose hash", func(s *phala.PreparedSet, _ string) {
			p := *s.Items[2].Prepared
			p.ComposeHash = strings.Repeat("ef", 32)
			s.Items[2].Prepared = &p
		}, true, new(*phala.InvalidArgumentError)},
		{"a token of another app's source", func(s *phala.PreparedSet, foreign string) {
			p := *s.Items[0].Prepared
			p.SourceVMUUID = foreign
			s.Items[0].Prepared = &p
		}, false, new(*phala.WrongAppError)},
		{"a replica recorded on two nodes", func(s *phala.PreparedSet, _ string) {
			s.Items[0].Committed = "11111111-1111-4111-8111-111111111111"
			s.Items[1].Committed = "11111111-1111-4111-8111-111111111111"
		}, true, new(*phala.InvalidArgumentError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, c, set, tx, app := preparedSetFixture(t)
			ctx := context.Background()
			_, foreign := sb.AddCloudApp(phalatest.App{Name: "other"})
			before := len(sb.Server.Replicas())
			tt.edit(set, foreign.VMUUID)
			path := filepath.Join(t.TempDir(), "set.json")
			require.NoError(t, phala.WritePreparedSet(path, set))
			_, rerr := phala.ReadPreparedSet(path)
			if tt.onRead {
				require.ErrorAs(t, rerr, tt.errType)
				assert.ErrorIs(t, rerr, phala.ErrInvalidArgument)
			} else {
				require.NoError(t, rerr)
			}
			sb.Server.ResetRequests()
			err := c.CommitPreparedSet(ctx, set, tx)
			require.ErrorAs(t, err, tt.errType)
			for _, it := range set.Items {
				if it.Prepared != nil {
					assert.NotContains(t, err.Error(), it.Prepared.CommitToken, "no commit token in the error")
				}
			}
			for _, r := range sb.Server.Requests() {
				assert.Equal(t, http.MethodGet, r.Method, "nothing sent that writes")
			}
			assert.Len(t, sb.Server.Replicas(), before, "nothing created, of either app")
			_ = app
		})
	}
}

// A create answered 2xx with a VM that cannot be a new replica of the set
// (an instance that already exists, of another app, on another node, or the
// same vm_uuid twice) is a failed create: no live instance is removed on its
// word.
func TestReplicaSetCreateAnswerNamesAnotherInstance(t *testing.T) {
	tests := []struct {
		name string
		vm   func(f *setFixture, other string) map[string]any
	}{
		{"the source itself", func(f *setFixture, _ string) map[string]any {
			return map[string]any{"id": 1, "name": "x", "status": "running", "vm_uuid": f.src.VMUUID, "app_id": f.app.ID,
				"teepod_id": f.nodes["b1"].ID}
		}},
		{"another app's instance", func(f *setFixture, other string) map[string]any {
			return map[string]any{"id": 2, "name": "x", "status": "running", "vm_uuid": other, "app_id": strings.Repeat("cd", 20),
				"teepod_id": f.nodes["b1"].ID}
		}},
		{"a replica on another node", func(f *setFixture, other string) map[string]any {
			return map[string]any{"id": 3, "name": "x", "status": "running", "vm_uuid": other, "app_id": f.app.ID,
				"teepod_id": f.nodes["a2"].ID}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, lt := newLyingSetFixture(t)
			other := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
			plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 0}, phala.Placement{Node: "a2", Count: 1},
				phala.Placement{Node: "b1", Count: 1}), phala.PlanOptions{})
			require.NoError(t, err)
			require.Len(t, plan.Creates, 1)
			require.Len(t, plan.Removals, 1)
			lt.add(&lie{method: http.MethodPost, path: func(p string) bool { return strings.HasSuffix(p, "/replicas") },
				fake: func() any { return tt.vm(f, other.VMUUID) }})
			res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
			var ae *phala.ApplyError
			require.ErrorAs(t, err, &ae)
			require.Len(t, res.Creates, 1)
			assert.ErrorIs(t, res.Creates[0].Err, phala.ErrUnexpectedBody)
			assert.Empty(t, deletes(f), "the source is kept: no new replica is known to run")
			assert.Equal(t, 1, ae.Skipped)
		})
	}
}

// A backend that echoes the commit token in its refusal: the token appears
// in no error of CommitPreparedSet nor in the set's recorded errors.
func TestCommitPreparedSetErrorEchoingToken(t *testing.T) {
	sb, _, set, tx, app := preparedSetFixture(t)
	ctx := context.Background()
	lt := &lyingTransport{}
	c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
	require.NoError(t, err)
	token := set.Items[0].Prepared.CommitToken
	sb.Server.FailNext(phalatest.Fault{Method: http.MethodPost, PathPrefix: "/cvms/" + app.CVM.VMUUID + "/commit-replica", Status: phalatest.StatusTokenInvalid})
	lt.add(&lie{method: http.MethodPost, path: func(p string) bool { return strings.HasSuffix(p, "/commit-replica") }, count: 1,
		body: func(any) any {
			return map[string]any{"detail": map[string]any{"error_code": "ERR-01-006", "message": "token " + token + " refused",
				"details": []any{map[string]any{"field": "commit_token", "value": token}}}}
		}})
	err = c.CommitPreparedSet(ctx, set, tx)
	require.Error(t, err)
	out, jerr := json.Marshal(set)
	require.NoError(t, jerr)
	for _, text := range []string{err.Error(), set.Items[0].Error, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		assert.NotContains(t, text, token)
	}
	assert.Equal(t, 1, strings.Count(string(out), token), "only the item's own commit_token field holds it")
}

// A commit whose answer is lost: the resumed commit resends that token (a
// token creates at most one replica), so no node gets a duplicate.
func TestCommitPreparedSetLostCommitResumed(t *testing.T) {
	sb, _, set, tx, app := preparedSetFixture(t)
	ctx := context.Background()
	lt := &lyingTransport{}
	c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
	require.NoError(t, err)
	lt.add(&lie{method: http.MethodPost, path: func(p string) bool { return strings.HasSuffix(p, "/commit-replica") }, lose: true, count: 1})
	err = c.CommitPreparedSet(ctx, set, tx)
	var ae *phala.ApplyError
	require.ErrorAs(t, err, &ae)
	var ou *phala.OutcomeUnknownError
	assert.ErrorAs(t, err, &ou)
	_ = c.CommitPreparedSet(ctx, set, tx) // resumed: the lost token is refused as used
	_ = c.CommitPreparedSet(ctx, set, tx)
	perNode := map[int]int{}
	for _, r := range sb.Server.Replicas() {
		if r.AppID == app.App.ID && r.SourceVMUUID != "" {
			perNode[r.NodeID]++
		}
	}
	for _, it := range set.Items {
		assert.LessOrEqual(t, perNode[int(it.NodeID)], it.Extra+1, "node %s: no duplicate", it.NodeName)
	}
}

// A node list naming one node id twice: identical copies count once; copies
// with different devices or regions make the plan fail (typed) rather than
// guess which device to allow or where the node is.
func TestReplicaSetNodeListedTwice(t *testing.T) {
	tests := []struct {
		name   string
		change func(n map[string]any)
		ok     bool
	}{
		{"identical copy", func(map[string]any) {}, true},
		{"another device", func(n map[string]any) { n["device_id"] = "0x" + strings.Repeat("ee", 32) }, false},
		{"another region", func(n map[string]any) { n["region_identifier"] = "us-west" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, lt := newLyingSetFixture(t)
			lt.add(&lie{method: http.MethodGet, path: isNodeList, body: func(v any) any {
				m := v.(map[string]any)
				nodes := m["nodes"].([]any)
				for _, n := range nodes {
					if n.(map[string]any)["name"] == "b1" {
						c := clone(n.(map[string]any))
						tt.change(c)
						m["nodes"] = append(nodes, c)
						break
					}
				}
				return m
			}})
			plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 1}, phala.Placement{Region: "eu-central", Count: 2}), phala.PlanOptions{})
			if !tt.ok {
				require.ErrorIs(t, err, phala.ErrUnexpectedBody)
				assert.Nil(t, plan)
				return
			}
			require.NoError(t, err)
			var nodes []string
			for _, c := range plan.Creates {
				nodes = append(nodes, c.NodeName)
			}
			assert.ElementsMatch(t, []string{"b1", "b2"}, nodes, "b1 listed twice is one node")
		})
	}
}

// The node list changes after the apply's re-plan, in step with a 465 naming
// a foreign device for the planned node (with a Registrar: after the set
// registration). The device the plan read is the one that counts: the
// foreign one stays out of the Safe batch, and nothing is signed for it.
func TestReplicaSetDeviceDiffersFromPlan(t *testing.T) {
	foreign := "0x" + strings.Repeat("ab", 32)
	for _, mode := range []string{"safe", "registrar"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			sb, app, _ := startChainApp(t, "k", "k1")
			lt := &lyingTransport{}
			c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
			require.NoError(t, err)
			spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "k1", Count: 1}}}
			plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{Chain: sb.Chain.Client})
			require.NoError(t, err)
			require.Len(t, plan.Creates, 1)

			lt.add(&lie{method: http.MethodGet, path: isNodeList, skip: 1, body: func(v any) any { // after the re-plan's read
				m := v.(map[string]any)
				for _, n := range m["nodes"].([]any) {
					if n.(map[string]any)["name"] == "k1" {
						n.(map[string]any)["device_id"] = foreign
					}
				}
				return m
			}})
			opts := phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}}
			if mode == "registrar" {
				lt.add(&lie{method: http.MethodPost, path: func(p string) bool { return strings.HasSuffix(p, "/replicas") }, count: 1,
					prepare: true, body: set465Detail("device_id", foreign)})
				opts.Registrar, err = onchain.NewRegistrar(sb.Chain.Client, sb.Chain.Transactor(1), onchain.WithPollInterval(5e6))
				require.NoError(t, err)
			} else {
				sb.Server.FailNext(phalatest.Fault{Method: http.MethodPost, PathPrefix: "/cvms/", DeviceID: foreign})
			}
			res, err := c.ApplyReplicaSet(ctx, plan, opts)
			var mismatch *phala.PayloadMismatchError
			require.ErrorAs(t, err, &mismatch)
			assert.Equal(t, "device_id", mismatch.Field)
			require.NotNil(t, res)
			if mode == "registrar" {
				st, err := onchain.ReadSetStatus(ctx, sb.Chain.Client, app.Contract, common.Hash{}, []common.Hash{common.HexToHash(foreign)})
				require.NoError(t, err)
				assert.False(t, st.DevicesListed[common.HexToHash(foreign)], "the foreign device is never allowed")
				return
			}
			if res.SafeBatch != nil {
				for _, tx := range res.SafeBatch.Transactions {
					assert.NotContains(t, strings.ToLower(tx.Data), strings.TrimPrefix(foreign, "0x"))
				}
			}
			require.NotNil(t, res.Prepared)
			for _, it := range res.Prepared.Items {
				assert.Nil(t, it.Prepared, "a prepared replica for an unverified device is not kept")
			}
		})
	}
}

// A commit answered with a VM of another app: it is not recorded as the
// node's replica, and no further replica is copied from it.
func TestCommitPreparedSetAnswerOfAnotherApp(t *testing.T) {
	tests := []struct {
		name   string
		answer func(app sandbox.OnchainApp, foreign phalatest.CVM, otherApp phalatest.App) (uuid, appID string)
	}{
		{"another app's CVM", func(_ sandbox.OnchainApp, foreign phalatest.CVM, otherApp phalatest.App) (string, string) {
			return foreign.VMUUID, otherApp.ID
		}},
		{"the source itself", func(app sandbox.OnchainApp, _ phalatest.CVM, _ phalatest.App) (string, string) {
			return app.CVM.VMUUID, app.App.ID
		}},
		{"no usable vm_uuid", func(app sandbox.OnchainApp, _ phalatest.CVM, _ phalatest.App) (string, string) {
			return "not-a-uuid", app.App.ID
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, _, set, tx, app := preparedSetFixture(t)
			ctx := context.Background()
			otherApp, foreign := sb.AddCloudApp(phalatest.App{Name: "other"})
			uuid, appID := tt.answer(app, foreign, otherApp)
			lt := &lyingTransport{}
			c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
			require.NoError(t, err)
			lt.add(&lie{method: http.MethodPost, path: func(p string) bool { return strings.HasSuffix(p, "/commit-replica") },
				body: func(v any) any {
					m := v.(map[string]any)
					m["vm_uuid"], m["app_id"] = uuid, appID
					return m
				}})
			err = c.CommitPreparedSet(ctx, set, tx)
			require.ErrorIs(t, err, phala.ErrUnexpectedBody)
			for _, it := range set.Items {
				assert.Empty(t, it.Committed)
				assert.Empty(t, it.Created, "no replica is copied from an answer that is not the new replica")
			}
			for _, r := range sb.Server.Replicas() {
				assert.NotEqual(t, otherApp.ID, r.AppID, "nothing of the other app is created")
			}
		})
	}
}

// After the set registration, every create meets a 465 (a backend asking to
// register what is registered already): each is checked against the source
// CVM the apply's re-plan just read, not a GET of it per create.
func TestReplicaSetApply465ReadsSourceOnce(t *testing.T) {
	ctx := context.Background()
	sb, app, _ := startChainApp(t, "k", "k1", "k2", "k3")
	lt := &lyingTransport{}
	c, err := sb.Client(phala.WithHTTPClient(&http.Client{Transport: lt}))
	require.NoError(t, err)
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Region: "k", Count: 3}}}
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Creates, 3)
	lt.add(&lie{method: http.MethodPost, path: func(p string) bool { return strings.HasSuffix(p, "/replicas") }, count: 3, prepare: true})
	reg, err := onchain.NewRegistrar(sb.Chain.Client, sb.Chain.Transactor(1), onchain.WithPollInterval(5e6))
	require.NoError(t, err)
	sb.Server.ResetRequests()

	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Registrar: reg})
	require.NoError(t, err)
	for _, o := range res.Creates {
		require.NoError(t, o.Err)
	}
	assert.Len(t, sb.Server.Replicas(), 3)
	gets := 0
	for _, r := range sb.Server.Requests() {
		if r.Method == http.MethodGet && r.Path == "/cvms/"+app.CVM.VMUUID {
			gets++
		}
	}
	assert.Equal(t, 1, gets, "the source CVM is read once, by the re-plan")
}

// Without a key, the apply prepares one replica per node; each 465 is checked
// against the source the re-plan read, not a GET of it per node.
func TestReplicaSetPrepareReadsSourceOnce(t *testing.T) {
	ctx := context.Background()
	sb, app, _ := startChainApp(t, "k", "k1", "k2", "k3")
	c, err := sb.Client()
	require.NoError(t, err)
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Region: "k", Count: 3}}}
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Creates, 3)
	sb.Server.ResetRequests()

	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{})
	require.NoError(t, err)
	require.NotNil(t, res.Prepared)
	require.Len(t, res.Prepared.Items, 3)
	for _, it := range res.Prepared.Items {
		require.NotNil(t, it.Prepared, "node %d: %s", it.NodeID, it.Error)
	}
	gets := 0
	for _, r := range sb.Server.Requests() {
		if r.Method == http.MethodGet && r.Path == "/cvms/"+app.CVM.VMUUID {
			gets++
		}
	}
	assert.Equal(t, 1, gets, "the source CVM is read once, by the re-plan")
}
