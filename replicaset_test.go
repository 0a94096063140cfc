package phala_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

type setFixture struct {
	srv    *phalatest.Server
	c      *phala.Client
	app    phalatest.App
	src    phalatest.CVM
	nodes  map[string]phalatest.Node
	ctx    context.Context
	waitFn phala.WaitOptions
}

// newSetFixture: a Cloud KMS app with one running CVM on node a1 (us-west);
// nodes a1, a2 in us-west, b1, b2 in eu-central. Replicas run at once.
func newSetFixture(t *testing.T) *setFixture {
	t.Helper()
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(0, 0))
	t.Cleanup(srv.Close)
	f := &setFixture{srv: srv, nodes: map[string]phalatest.Node{}, ctx: context.Background(),
		waitFn: phala.WaitOptions{PollInterval: 1}}
	for _, n := range []phalatest.Node{
		{Name: "a1", Region: "us-west"}, {Name: "a2", Region: "us-west"},
		{Name: "b1", Region: "eu-central"}, {Name: "b2", Region: "eu-central"},
	} {
		n.Listed = true
		f.nodes[n.Name] = srv.AddNode(n)
	}
	f.app = srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	f.src = srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	c, err := srv.Client()
	require.NoError(t, err)
	f.c = c
	return f
}

func (f *setFixture) spec(placements ...phala.Placement) *phala.ReplicaSet {
	return &phala.ReplicaSet{Source: "app_" + f.app.ID, Placements: placements}
}

// live counts the live instances per node name.
func (f *setFixture) live(t *testing.T) map[string]int {
	t.Helper()
	list, err := f.c.ListReplicas(f.ctx, f.app.ID)
	require.NoError(t, err)
	out := map[string]int{}
	for _, cvm := range list {
		if cvm.Status == phalatest.StatusRunning || cvm.Status == phalatest.StatusCreating || cvm.Status == phalatest.StatusStarting {
			out[cvm.Instance().NodeName]++
		}
	}
	return out
}

func (f *setFixture) writes() []phalatest.Request {
	var out []phalatest.Request
	for _, r := range f.srv.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func TestReplicaSetBadSpecsRefusedWithoutWrite(t *testing.T) {
	f := newSetFixture(t)
	other := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		spec  *phala.ReplicaSet
		field string
	}{
		{"negative count", f.spec(phala.Placement{Node: "a1", Count: -1}), "placements[0].count"},
		{"node twice", f.spec(phala.Placement{Node: "a1", Count: 1}, phala.Placement{Node: "A1", Count: 1}), "placements[1].node"},
		{"node twice by id and name", f.spec(phala.Placement{Node: "a1", Count: 1},
			phala.Placement{Node: jsonNum(f.nodes["a1"].ID), Count: 1}), "placements[1].node"},
		{"unknown node", f.spec(phala.Placement{Node: "nope", Count: 1}), "placements[0].node"},
		{"unknown node id", f.spec(phala.Placement{Node: "999", Count: 1}), "placements[0].node"},
		{"unknown region", f.spec(phala.Placement{Region: "mars", Count: 1}), "placements[0].region"},
		{"two compose hashes", &phala.ReplicaSet{Source: f.src.VMUUID, ComposeHash: other,
			Placements: []phala.Placement{{Node: "a1", Count: 1}}}, "compose_hash"},
		{"node and region", f.spec(phala.Placement{Node: "a1", Region: "us-west", Count: 1}), "placements[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := f.c.PlanReplicaSet(f.ctx, tt.spec, phala.PlanOptions{})
			require.Error(t, err)
			assert.Nil(t, plan)
			var se *phala.SpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field)
			assert.ErrorIs(t, err, phala.ErrInvalidSpec)
		})
	}
	assert.Empty(t, f.writes(), "no request that writes")
}

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestParseReplicaSet(t *testing.T) {
	tests := []struct {
		name, doc, field string
	}{
		{"json duplicate compose hash", `{"source":"app_` + strings.Repeat("1", 40) + `","compose_hash":"` + strings.Repeat("a", 64) +
			`","compose_hash":"` + strings.Repeat("b", 64) + `","placements":[{"node":"a1","count":1}]}`, "compose_hash"},
		{"json unknown key", `{"source":"x","placement":[]}`, "(file)"},
		{"yaml duplicate key", "source: x\ncompose_hash: " + strings.Repeat("a", 64) + "\ncompose_hash: " + strings.Repeat("b", 64) + "\nplacements: [{node: a1, count: 1}]\n", "(file)"},
		{"yaml negative count", "source: x\nplacements:\n  - region: us-west\n    count: -2\n", "placements[0].count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := phala.ParseReplicaSet([]byte(tt.doc))
			var se *phala.SpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field)
		})
	}
	s, err := phala.ParseReplicaSet([]byte("source: web-1\nplacements:\n  - region: us-west\n    count: 3\n  - anywhere: true\n    count: 1\nenv:\n  B: two\n  A: one\n"))
	require.NoError(t, err)
	assert.Equal(t, 4, s.Total())
	require.Len(t, s.Env, 2)
	assert.Equal(t, "A", s.Env[0].Key)
	assert.NotContains(t, s.String(), "one", "no env value in String")
}

func TestReplicaSetSpreadsOverRegionDeterministically(t *testing.T) {
	f := newSetFixture(t)
	spec := f.spec(phala.Placement{Region: "us-west", Count: 3}, phala.Placement{Region: "EU-central", Count: 2})
	p1, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	p2, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	j1, _ := json.Marshal(p1)
	j2, _ := json.Marshal(p2)
	assert.JSONEq(t, string(j1), string(j2), "same state, same plan")
	got := map[string]int{}
	for _, c := range p1.Creates {
		got[c.NodeName]++
	}
	// a1 already runs the source: a2 gets the first create of us-west.
	assert.Equal(t, map[string]int{"a1": 1, "a2": 1, "b1": 1, "b2": 1}, got)
	assert.Contains(t, p1.String(), "+ create")
	assert.Empty(t, f.writes(), "planning is read-only")

	_, err = f.c.ApplyReplicaSet(f.ctx, p1, phala.ApplyOptions{Wait: f.waitFn})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"a1": 2, "a2": 1, "b1": 1, "b2": 1}, f.live(t))
	again, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	assert.True(t, again.Empty(), again.String())
}

// A move from us-west to eu-central: every create is sent (and running) before
// the first DELETE, and only then the old instances go.
func TestReplicaSetCreatesBeforeRemoving(t *testing.T) {
	f := newSetFixture(t)
	extra := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a2"].ID})
	spec := f.spec(phala.Placement{Region: "eu-central", Count: 2}, phala.Placement{Region: "us-west", Count: 0})
	spec.Source = f.src.VMUUID
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Creates, 2)
	require.Len(t, plan.Removals, 2)
	f.srv.ResetRequests()

	res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
	require.NoError(t, err)
	lastPost, firstDelete := -1, -1
	for i, r := range f.srv.Requests() {
		switch r.Method {
		case http.MethodPost:
			lastPost = i
		case http.MethodDelete:
			if firstDelete < 0 {
				firstDelete = i
			}
		}
	}
	require.GreaterOrEqual(t, firstDelete, 0)
	assert.Less(t, lastPost, firstDelete, "creates before removals")
	assert.Equal(t, map[string]int{"b1": 1, "b2": 1}, f.live(t))
	removed := []string{res.Removals[0].VMUUID, res.Removals[1].VMUUID}
	assert.ElementsMatch(t, []string{f.src.VMUUID, extra.VMUUID}, removed)
}

func TestReplicaSetStalePlanRefused(t *testing.T) {
	f := newSetFixture(t)
	plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "b1", Count: 1}, phala.Placement{Node: "a1", Count: 1}), phala.PlanOptions{})
	require.NoError(t, err)
	f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["b1"].ID}) // someone else scaled meanwhile

	_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{})
	var stale *phala.StalePlanError
	require.ErrorAs(t, err, &stale)
	assert.ErrorIs(t, err, phala.ErrStalePlan)
	assert.True(t, stale.Current.Empty(), "the current plan has nothing left to do")
	assert.Empty(t, f.writes())

	res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Replan: true})
	require.NoError(t, err)
	assert.Empty(t, res.Creates, "re-planned: b1 already has its replica")
	assert.Empty(t, f.writes())
}

func TestReplicaSetProtectedKept(t *testing.T) {
	f := newSetFixture(t)
	newest := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	failed := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID, Status: phalatest.StatusError})
	spec := f.spec(phala.Placement{Node: "a1", Count: 1})
	spec.Protect = []string{newest.VMUUID, failed.VMUUID}
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Removals, 1)
	assert.Equal(t, f.src.VMUUID, plan.Removals[0].VMUUID, "the newest is protected: the older one goes")
	_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{})
	require.NoError(t, err)
	_, ok := f.srv.Replica(newest.VMUUID)
	assert.True(t, ok)
	_, ok = f.srv.Replica(failed.VMUUID)
	assert.True(t, ok, "a protected failed instance is kept too")
}

func TestReplicaSetRemovalOrderFailedThenNewest(t *testing.T) {
	f := newSetFixture(t)
	mid := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	newest := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	stopped := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID, Status: phalatest.StatusStopped})
	plan, err := f.c.PlanReplicaSet(f.ctx, f.spec(phala.Placement{Node: "a1", Count: 1}), phala.PlanOptions{})
	require.NoError(t, err)
	var order []string
	for _, r := range plan.Removals {
		order = append(order, r.VMUUID)
	}
	assert.Equal(t, []string{stopped.VMUUID, newest.VMUUID, mid.VMUUID}, order)
	require.Len(t, plan.Keep, 1)
	assert.Equal(t, f.src.VMUUID, plan.Keep[0].VMUUID, "the oldest stays")
}

// One create refused, the others proceed; live removals wait; a rerun
// converges without a duplicate.
func TestReplicaSetPartialFailureThenRerunConverges(t *testing.T) {
	f := newSetFixture(t)
	spec := f.spec(phala.Placement{Region: "eu-central", Count: 2}, phala.Placement{Node: "a1", Count: 0})
	spec.Source = f.src.VMUUID
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	f.srv.FailNext(phalatest.Fault{Method: http.MethodPost, Status: http.StatusConflict, Count: 1})

	res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Concurrency: 1, Wait: f.waitFn})
	var ae *phala.ApplyError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 1, ae.Failed)
	assert.Equal(t, 1, ae.Skipped, "the source is not removed while a create failed")
	out, jerr := json.Marshal(res)
	require.NoError(t, jerr)
	assert.Contains(t, string(out), `"error"`)
	assert.Equal(t, 1, f.live(t)["a1"])

	plan2, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan2.Creates, 1)
	_, err = f.c.ApplyReplicaSet(f.ctx, plan2, phala.ApplyOptions{Wait: f.waitFn})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"b1": 1, "b2": 1}, f.live(t))
}

// A create whose answer is lost, replaced by a gateway's 5xx after the API
// acted, or cut mid-body is never resent; the rerun sees the replicas and
// creates only what is missing, so no duplicate appears.
func TestReplicaSetNoDuplicateUnderInjectedFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault phalatest.Fault
		want  any // the error type each faulted create reports
	}{
		{"answer lost", phalatest.Fault{DropAfterProcessing: true}, new(*phala.OutcomeUnknownError)},
		{"proxy 503 after processing", phalatest.Fault{AfterProcessing: true, Status: http.StatusServiceUnavailable}, new(*phala.OutcomeUnknownError)},
		{"proxy 502 after processing", phalatest.Fault{AfterProcessing: true, Status: http.StatusBadGateway}, new(*phala.OutcomeUnknownError)},
		{"2xx body cut", phalatest.Fault{Truncate: true}, new(*phala.UnreadableCreatedError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSetFixture(t)
			spec := f.spec(phala.Placement{Node: "b1", Count: 3}, phala.Placement{Node: "a1", Count: 1})
			plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
			require.NoError(t, err)
			fault := tt.fault
			fault.Method, fault.Count = http.MethodPost, 2
			f.srv.FailNext(fault)
			res, err := f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Concurrency: 1})
			var ae *phala.ApplyError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, 2, ae.Failed)
			failed := 0
			for _, o := range res.Creates {
				if o.Err != nil {
					failed++
					assert.ErrorAs(t, o.Err, tt.want)
				}
			}
			assert.Equal(t, 2, failed)
			posts := func() int {
				n := 0
				for _, r := range f.writes() {
					if r.Method == http.MethodPost {
						n++
					}
				}
				return n
			}
			assert.Equal(t, 3, posts(), "each POST sent once")
			assert.Equal(t, 3, f.live(t)["b1"], "the faulted creates did create")

			plan2, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
			require.NoError(t, err)
			assert.True(t, plan2.Empty(), "the rerun has nothing to create: %s", plan2)
			_, err = f.c.ApplyReplicaSet(f.ctx, plan2, phala.ApplyOptions{})
			require.NoError(t, err)
			assert.Equal(t, 3, posts(), "no POST on the rerun")
			assert.Equal(t, map[string]int{"a1": 1, "b1": 3}, f.live(t))
		})
	}
}

// Removals trust the listing the apply's re-plan has just read: a DELETE
// each, no GET of the CVM first; the state is read in one round of
// concurrent GETs.
func TestReplicaSetApplyRemovalsTrustTheListing(t *testing.T) {
	f := newSetFixture(t)
	for i := 0; i < 3; i++ {
		f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	}
	spec := f.spec(phala.Placement{Node: "a1", Count: 1})
	spec.Source = f.src.VMUUID
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Removals, 3)
	f.srv.ResetRequests()
	_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{})
	require.NoError(t, err)
	var got []string
	for _, r := range f.srv.Requests() {
		path := strings.ReplaceAll(r.Path, f.app.ID, "{app}")
		if strings.HasPrefix(path, "/cvms/") && path != "/cvms/"+f.src.VMUUID {
			path = "/cvms/{removed}"
		}
		got = append(got, r.Method+" "+path)
	}
	assert.ElementsMatch(t, []string{
		"GET /cvms/" + f.src.VMUUID, "GET /apps/{app}/cvms", "GET /teepods/available",
		"DELETE /cvms/{removed}", "DELETE /cvms/{removed}", "DELETE /cvms/{removed}",
	}, got)
	assert.Equal(t, map[string]int{"a1": 1}, f.live(t))
}

func TestDeleteCVM(t *testing.T) {
	f := newSetFixture(t)
	other := f.srv.AddApp(phalatest.App{Name: "other", KMS: phalatest.KMSCloud})
	foreign := f.srv.AddCVM(phalatest.CVM{AppID: other.ID, NodeID: f.nodes["a1"].ID})

	_, err := f.c.DeleteCVM(f.ctx, foreign.VMUUID, f.app.ID)
	assert.ErrorIs(t, err, phala.ErrWrongApp)
	assert.Empty(t, f.writes(), "nothing deleted for another app")

	out, err := f.c.DeleteCVM(f.ctx, f.src.VMUUID, "app_"+f.app.ID)
	require.NoError(t, err)
	assert.Equal(t, phala.DeleteAccepted, out)
	out, err = f.c.DeleteCVM(f.ctx, f.src.VMUUID, f.app.ID)
	require.NoError(t, err)
	assert.Equal(t, phala.DeleteAlreadyGone, out)

	// A lost answer: read again, find it gone.
	victim := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, NodeID: f.nodes["a1"].ID})
	f.srv.FailNext(phalatest.Fault{Method: http.MethodDelete, DropAfterProcessing: true, Count: 1})
	out, err = f.c.DeleteCVM(f.ctx, victim.VMUUID, f.app.ID)
	require.NoError(t, err)
	assert.Equal(t, phala.DeleteAlreadyGone, out)
}

// Multisig: eight nodes need one Safe batch; the stand-in Safe executes it and
// one commit of the set creates every replica.
func TestReplicaSetMultisigOneBatch(t *testing.T) {
	ctx := context.Background()
	sb, app, _ := startChainApp(t, "ms", "m1", "m2", "m3", "m4", "m5", "m6", "m7")
	c, err := sb.Client()
	require.NoError(t, err)
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{
		{Region: "ms", Count: 8}, {Node: "node-a", Count: 1}, {Node: "node-b", Count: 1}}}
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{Chain: sb.Chain.Client})
	require.NoError(t, err)
	require.Len(t, plan.Creates, 9)
	require.True(t, plan.Onchain.Known)
	assert.Len(t, plan.Onchain.MissingDevices, 8, "node-a is allowed already")
	assert.True(t, plan.Onchain.ComposeHashMissing)

	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}})
	require.NoError(t, err)
	require.NotNil(t, res.SafeBatch)
	assert.Len(t, res.SafeBatch.Transactions, 9, "8 addDevice + 1 addComposeHash in ONE batch")
	assert.Empty(t, sb.Server.Replicas(), "nothing created before the approval")

	path := filepath.Join(t.TempDir(), "set.prepared.json")
	require.NoError(t, phala.WritePreparedSet(path, res.Prepared))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	receipts, err := sb.ExecuteBatch(ctx, 1, res.SafeBatch)
	require.NoError(t, err)
	set, err := phala.ReadPreparedSet(path)
	require.NoError(t, err)
	require.NoError(t, c.CommitPreparedSet(ctx, set, receipts[len(receipts)-1].TxHash.Hex()))
	assert.Len(t, sb.Server.Replicas(), 9)
	// Resumable: a second commit of the same set sends nothing new.
	before := len(sb.Server.Requests())
	require.NoError(t, c.CommitPreparedSet(ctx, set, receipts[len(receipts)-1].TxHash.Hex()))
	assert.Equal(t, before, len(sb.Server.Requests()))
	assert.Len(t, sb.Server.Replicas(), 9)
}

// Key-owned: the whole set is registered with one send and one wait.
func TestReplicaSetRegistrarOneConfirmationWait(t *testing.T) {
	ctx := context.Background()
	sb, app, _ := startChainApp(t, "k", "k1", "k2", "k3")
	c, err := sb.Client()
	require.NoError(t, err)
	var submitted []onchain.Event
	reg, err := onchain.NewRegistrar(sb.Chain.Client, sb.Chain.Transactor(1),
		onchain.WithPollInterval(5e6), onchain.WithProgress(func(e onchain.Event) {
			if e.Kind == onchain.EventSubmitted {
				submitted = append(submitted, e)
			}
		}))
	require.NoError(t, err)
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Region: "k", Count: 3}}}
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	assert.False(t, plan.Onchain.Known)
	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Registrar: reg})
	require.NoError(t, err)
	require.NotNil(t, res.Registration)
	assert.Len(t, res.Registration.Txs, 4, "3 addDevice + 1 addComposeHash")
	assert.Len(t, submitted, 4)
	assert.Len(t, sb.Server.Replicas(), 3)
	for _, o := range res.Creates {
		assert.NoError(t, o.Err)
	}
}

// Pruning after a scale-down: the devices of nodes that no longer host any
// instance of the app leave the allow-list (one send with a Registrar, one
// Safe batch without); never the device of a node that keeps an instance,
// protected or of another compose hash, nor of a node whose removal failed.
func TestReplicaSetPruneDevices(t *testing.T) {
	for _, mode := range []string{"registrar", "safe"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			sb, err := sandbox.Start(ctx)
			require.NoError(t, err)
			t.Cleanup(sb.Close)
			app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, 1)
			require.NoError(t, err)
			nodes := map[string]phalatest.Node{"node-a": sb.NodeA, "node-b": sb.NodeB}
			for _, name := range []string{"k1", "k2", "k3", "k4", "k5", "k6"} {
				nodes[name] = sb.Server.AddNode(phalatest.Node{Name: name, Region: "k", Listed: true, OnchainKMS: true})
			}
			dev := func(name string) common.Hash { return common.HexToHash(nodes[name].DeviceID) }
			d := onchain.NewDstackApp()
			for _, name := range []string{"node-b", "k1", "k2", "k3", "k4", "k6"} { // k5 is never listed
				tx, err := sb.Chain.Transact(ctx, sb.Chain.Transactor(1), app.Contract, d.PackAddDevice(dev(name)))
				require.NoError(t, err)
				_, err = sb.Chain.Mine(ctx, tx)
				require.NoError(t, err)
			}
			add := func(node string, cvm phalatest.CVM) phalatest.CVM {
				cvm.AppID, cvm.NodeID = app.App.ID, nodes[node].ID
				return sb.Server.AddCVM(cvm)
			}
			add("node-b", phalatest.CVM{})
			add("k1", phalatest.CVM{})
			protected := add("k2", phalatest.CVM{})
			add("k3", phalatest.CVM{Compose: &phalatest.Compose{DockerCompose: "services:\n  other:\n    image: busybox\n"}})
			failing := add("k6", phalatest.CVM{})
			c, err := sb.Client()
			require.NoError(t, err)

			spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "node-a", Count: 1}},
				Protect: []string{protected.VMUUID}}
			po := phala.PlanOptions{Chain: sb.Chain.Client, PruneDevices: true}
			plan, err := c.PlanReplicaSet(ctx, spec, po)
			require.NoError(t, err)
			require.Len(t, plan.Removals, 3, plan.String())
			want := []string{dev("node-b").Hex(), dev("k1").Hex(), dev("k4").Hex(), dev("k6").Hex()}
			assert.Equal(t, want, plan.Onchain.RemoveDevices,
				"listed, hosting nothing afterwards; not node-a (kept), k2 (protected), k3 (other compose hash), k5 (not listed)")
			assert.Contains(t, plan.String(), "removeDevice(")

			// Without PruneDevices at apply, the reviewed plan is not what would run.
			_, err = c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}})
			require.ErrorIs(t, err, phala.ErrStalePlan)

			// Twice: a DELETE answered 500 is inconclusive, so it is read again and resent once.
			sb.Server.FailNext(phalatest.Fault{Method: http.MethodDelete, PathPrefix: "/cvms/" + failing.VMUUID, Status: http.StatusInternalServerError, Count: 2})
			opts := phala.ApplyOptions{Plan: phala.PlanOptions{Chain: sb.Chain.Client}, PruneDevices: true}
			if mode == "registrar" {
				reg, err := onchain.NewRegistrar(sb.Chain.Client, sb.Chain.Transactor(1), onchain.WithPollInterval(5e6))
				require.NoError(t, err)
				opts.Registrar = reg
			}
			res, err := c.ApplyReplicaSet(ctx, plan, opts)
			var ae *phala.ApplyError
			require.ErrorAs(t, err, &ae, "the failed removal is reported")
			assert.Equal(t, 1, ae.Failed)
			require.NotNil(t, res.Prune)
			require.NoError(t, res.Prune.Err)
			assert.Equal(t, want[:3], res.Prune.Devices)
			assert.Equal(t, []string{dev("k6").Hex()}, res.Prune.Kept, "its instance may still run")
			if mode == "registrar" {
				require.NotNil(t, res.Prune.Registration)
				assert.Len(t, res.Prune.Registration.Txs, 3, "one removeDevice per device, one send")
			} else {
				require.NotNil(t, res.Prune.SafeBatch)
				require.Len(t, res.Prune.SafeBatch.Transactions, 3, "ONE batch")
				_, err := sb.ExecuteBatch(ctx, 1, res.Prune.SafeBatch)
				require.NoError(t, err)
			}

			all := []common.Hash{dev("node-a"), dev("node-b"), dev("k1"), dev("k2"), dev("k3"), dev("k4"), dev("k6")}
			st, err := onchain.ReadSetStatus(ctx, sb.Chain.Client, app.Contract, common.Hash{}, all)
			require.NoError(t, err)
			for _, name := range []string{"node-a", "k2", "k3", "k6"} {
				assert.True(t, st.DevicesListed[dev(name)], "%s still hosts an instance: kept", name)
			}
			for _, name := range []string{"node-b", "k1", "k4"} {
				assert.False(t, st.DevicesListed[dev(name)], "%s hosts nothing: removed", name)
			}

			// The rerun removes k6's instance, then its device.
			plan2, err := c.PlanReplicaSet(ctx, spec, po)
			require.NoError(t, err)
			assert.Equal(t, []string{dev("k6").Hex()}, plan2.Onchain.RemoveDevices)
			res2, err := c.ApplyReplicaSet(ctx, plan2, opts)
			require.NoError(t, err)
			if mode == "safe" {
				_, err := sb.ExecuteBatch(ctx, 1, res2.Prune.SafeBatch)
				require.NoError(t, err)
			}
			plan3, err := c.PlanReplicaSet(ctx, spec, po)
			require.NoError(t, err)
			assert.True(t, plan3.Empty(), plan3.String())
		})
	}
}

// PlanOptions.ChainFor: the plan learns the app's chain from the source and
// asks for its readers once, so one plan (one listing, one node list) knows
// the on-chain state; no readers leave it unknown, an error fails the plan,
// and an app with nothing to read on chain never asks.
func TestPlanReplicaSetChainFor(t *testing.T) {
	ctx := context.Background()
	sb, app, _ := startChainApp(t, "cf", "c1")
	c, err := sb.Client()
	require.NoError(t, err)
	errDial := errors.New("dial refused")

	tests := []struct {
		name      string
		spec      *phala.ReplicaSet
		readers   bool
		err       error
		wantCalls []uint64
		known     bool
	}{
		{name: "readers", readers: true, wantCalls: []uint64{onchaintest.ChainID}, known: true,
			spec: &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Region: "cf", Count: 1}}}},
		{name: "no readers: unknown", wantCalls: []uint64{onchaintest.ChainID},
			spec: &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Region: "cf", Count: 1}}}},
		{name: "error fails the plan", err: errDial, wantCalls: []uint64{onchaintest.ChainID},
			spec: &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Region: "cf", Count: 1}}}},
		{name: "nothing to create: not called", readers: true,
			spec: &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "node-a", Count: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []uint64
			opts := phala.PlanOptions{ChainFor: func(_ context.Context, id uint64) (onchain.StatusReader, *rpc.Client, error) {
				calls = append(calls, id)
				if tt.err != nil || !tt.readers {
					return nil, nil, tt.err
				}
				return sb.Chain.Client, nil, nil
			}}
			sb.Server.ResetRequests()
			plan, err := c.PlanReplicaSet(ctx, tt.spec, opts)
			assert.Equal(t, tt.wantCalls, calls)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			if len(tt.wantCalls) == 0 {
				assert.Empty(t, plan.Creates)
				return
			}
			require.Len(t, plan.Creates, 1)
			assert.Equal(t, tt.known, plan.Onchain.Known)
			if tt.known {
				assert.Len(t, plan.Onchain.MissingDevices, 1, "c1's device is not allowed yet")
			}
			listings := 0
			for _, r := range sb.Server.Requests() {
				if strings.HasSuffix(r.Path, "/cvms") && r.Method == http.MethodGet {
					listings++
				}
			}
			assert.Equal(t, 1, listings, "the app's instances are read once")
		})
	}
}

// startChainApp starts a sandbox holding an Onchain KMS app "db" (one CVM,
// its DstackApp owned by key 1) and a listed Onchain KMS node per name, in
// region.
func startChainApp(t *testing.T, region string, names ...string) (*sandbox.Sandbox, sandbox.OnchainApp, []phalatest.Node) {
	t.Helper()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, 1)
	require.NoError(t, err)
	nodes := make([]phalatest.Node, len(names))
	for i, name := range names {
		nodes[i] = sb.Server.AddNode(phalatest.Node{Name: name, Region: region, Listed: true, OnchainKMS: true})
	}
	return sb, app, nodes
}

// An apply with env, from a vm_uuid or a CVM name, encrypts to the source
// record its re-plan just read: one GET of the source, and each new replica
// gets the env.
func TestReplicaSetApplyEnvReadsSourceOnce(t *testing.T) {
	f := newSetFixture(t)
	app := f.srv.AddApp(phalatest.App{Name: "api", KMS: phalatest.KMSCloud, Compose: phalatest.Compose{AllowedEnvs: []string{"TOKEN"}}})
	src := f.srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: f.nodes["a1"].ID})
	spec := &phala.ReplicaSet{Source: src.VMUUID, Env: []envcrypt.EnvVar{{Key: "TOKEN", Value: "s3cret"}},
		Placements: []phala.Placement{{Node: "a1", Count: 1}, {Node: "b1", Count: 1}, {Node: "b2", Count: 1}}}
	plan, err := f.c.PlanReplicaSet(f.ctx, spec, phala.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Creates, 2)
	f.srv.ResetRequests()

	_, err = f.c.ApplyReplicaSet(f.ctx, plan, phala.ApplyOptions{Wait: f.waitFn})
	require.NoError(t, err)
	gets, posts := 0, 0
	for _, r := range f.srv.Requests() {
		switch {
		case r.Method == http.MethodGet && r.Path == "/cvms/"+src.VMUUID:
			gets++
		case r.Method == http.MethodPost:
			posts++
			var body struct {
				EncryptedEnv string `json:"encrypted_env"`
			}
			require.NoError(t, json.Unmarshal(r.Body, &body))
			assert.NotEmpty(t, body.EncryptedEnv, "the env goes with every create")
		}
	}
	assert.Equal(t, 2, posts)
	assert.Equal(t, 1, gets, "the source CVM is read once, by the re-plan")
}
