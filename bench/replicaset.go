package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

// replicaSets prints the replica set tables: approvals for a multisig, the
// registration wait of a key-owned app, the requests of a plan, and scaling
// up and down under latency.
func replicaSets(ctx context.Context, out io.Writer, latency time.Duration) error {
	fmt.Fprintf(out, "\n## Replica sets\n")
	if err := setMultisig(ctx, out); err != nil {
		return fmt.Errorf("multisig: %w", err)
	}
	if err := setKeyOwned(ctx, out); err != nil {
		return fmt.Errorf("key-owned: %w", err)
	}
	if err := setPlanRequests(ctx, out); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return setScale(ctx, out, latency)
}

// addNodes adds n listed on-chain-capable nodes in region to srv.
func addNodes(srv *phalatest.Server, region string, n, slots int) {
	for i := 1; i <= n; i++ {
		srv.AddNode(phalatest.Node{Name: fmt.Sprintf("%s-%d", region, i), Region: region, Listed: true, OnchainKMS: true, Slots: slots, VCPU: 1000, MemoryMB: 1 << 22})
	}
}

// setMultisig: a multisig-owned app, 8 new nodes none allowlisted.
func setMultisig(ctx context.Context, out io.Writer) error {
	sb, err := sandbox.Start(ctx, sandbox.WithServerOptions(phalatest.WithProvisioningDelays(0, 0)))
	if err != nil {
		return err
	}
	defer sb.Close()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, 1)
	if err != nil {
		return err
	}
	addNodes(sb.Server, "ms", 8, 0)
	c, err := sb.Client()
	if err != nil {
		return err
	}
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "node-a", Count: 1}, {Region: "ms", Count: 8}}}
	po := phala.PlanOptions{Chain: sb.Chain.Client}
	plan, err := c.PlanReplicaSet(ctx, spec, po)
	if err != nil {
		return err
	}
	sb.Server.ResetRequests()
	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Plan: po})
	if err != nil {
		return err
	}
	prepares := 0
	for _, r := range sb.Server.Requests() {
		if r.Method == http.MethodPost && r.Header.Get("X-Prepare-Only") == "true" {
			prepares++
		}
	}
	receipts, err := sb.ExecuteBatch(ctx, 1, res.SafeBatch)
	if err != nil {
		return err
	}
	if err := c.CommitPreparedSet(ctx, res.Prepared, receipts[len(receipts)-1].TxHash.Hex()); err != nil {
		return err
	}
	created := len(sb.Server.Replicas())
	if created != 8 {
		return fmt.Errorf("%d replicas created, want 8", created)
	}
	fmt.Fprintf(out, "\n### Multisig app, 8 new nodes, none allowlisted\n\n")
	fmt.Fprintf(out, "| | prepares | Safe batches the owners approve | calls in them | replicas after the commit |\n|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| ours (`apply` → one batch → `apply --commit`) | %d | **1** | %d (%d addDevice + addComposeHash) | %d |\n",
		prepares, len(res.SafeBatch.Transactions), len(plan.Onchain.MissingDevices), created)
	fmt.Fprintf(out, "| official CLI / Scale dialog (one prepare and one approval per node) | 8 | 8 | 9 (8 addDevice, the first with addComposeHash) | 8 |\n")
	return nil
}

// setKeyOwned: a key-owned app, 8 new devices and the compose hash, on a
// chain that mines every 2 seconds.
func setKeyOwned(ctx context.Context, out io.Writer) error {
	const block = 2 * time.Second
	sb, err := sandbox.Start(ctx, sandbox.WithChainOptions(onchaintest.WithAutoCommit(block)),
		sandbox.WithServerOptions(phalatest.WithProvisioningDelays(0, 0)))
	if err != nil {
		return err
	}
	defer sb.Close()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 0)
	if err != nil {
		return err
	}
	addNodes(sb.Server, "k", 8, 0)
	c, err := sb.Client()
	if err != nil {
		return err
	}
	counter, err := newRPCCounter(sb.Chain.URL())
	if err != nil {
		return err
	}
	defer counter.close()
	rc, err := rpc.DialContext(ctx, counter.url)
	if err != nil {
		return err
	}
	ec := ethclient.NewClient(rc)
	defer ec.Close()
	blocks := map[uint64]bool{}
	reg, err := onchain.NewRegistrar(ec, sb.Chain.Transactor(0), onchain.WithRPCClient(rc), onchain.WithPollInterval(50*time.Millisecond),
		onchain.WithProgress(func(e onchain.Event) {
			if e.Kind == onchain.EventMined {
				blocks[e.Block] = true
			}
		}))
	if err != nil {
		return err
	}
	spec := &phala.ReplicaSet{Source: app.CVM.VMUUID, Placements: []phala.Placement{{Node: "node-a", Count: 1}, {Region: "k", Count: 8}}}
	po := phala.PlanOptions{Chain: ec, RPC: rc}
	plan, err := c.PlanReplicaSet(ctx, spec, po)
	if err != nil {
		return err
	}
	// Wall time of HTTP alone: the same plan and creates for a Cloud KMS
	// app need no chain; measured below as the API's share.
	sb.Server.ResetRequests()
	counter.reset()
	start := time.Now()
	res, err := c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Plan: po, Registrar: reg})
	wall := time.Since(start)
	if err != nil {
		return err
	}
	txs, waits := counter.waits()
	httpReqs := len(sb.Server.Requests())

	// The same apply's HTTP part on a Cloud KMS app with 8 nodes.
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(0, 0))
	defer srv.Close()
	home := srv.AddNode(phalatest.Node{Name: "home"})
	addNodes(srv, "k", 8, 0)
	capp := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: capp.ID, NodeID: home.ID})
	cc, err := srv.Client()
	if err != nil {
		return err
	}
	cspec := &phala.ReplicaSet{Source: src.VMUUID, Placements: []phala.Placement{{Node: "home", Count: 1}, {Region: "k", Count: 8}}}
	cplan, err := cc.PlanReplicaSet(ctx, cspec, phala.PlanOptions{})
	if err != nil {
		return err
	}
	hstart := time.Now()
	if _, err := cc.ApplyReplicaSet(ctx, cplan, phala.ApplyOptions{}); err != nil {
		return err
	}
	httpOnly := time.Since(hstart)

	fmt.Fprintf(out, "\n### Key-owned app, 8 new devices + the compose hash, a block every %s\n\n", block)
	fmt.Fprintf(out, "| | transactions | blocks they were mined in | confirmation waits | wall time of apply | one block + the HTTP part (%s) | ratio |\n|---|---|---|---|---|---|---|\n", ms(httpOnly))
	fmt.Fprintf(out, "| ours (`EnsureRegisteredSet`, pipelined) | %d | %d | %d | %s | %s | %.2f× |\n",
		txs, len(blocks), waits, ms(wall), ms(block+httpOnly), float64(wall)/float64(block+httpOnly))
	fmt.Fprintf(out, "| official CLI (waits for each transaction) | 9 | 9 | 9 | ≥ %s (9 blocks, not measured: chain 1337 unsupported) | | |\n", ms(9*block))
	fmt.Fprintf(out, "\nThe apply sent %d HTTP requests (the re-plan's reads, then one POST per create: the set was registered first, so no 465 and no commit) and created %d replicas.\n", httpReqs, len(res.Creates))
	return nil
}

// setPlanRequests: the plan of an Onchain KMS app with 100 replicas.
func setPlanRequests(ctx context.Context, out io.Writer) error {
	sb, err := sandbox.Start(ctx, sandbox.WithServerOptions(phalatest.WithProvisioningDelays(0, 0)))
	if err != nil {
		return err
	}
	defer sb.Close()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "big"}, 0)
	if err != nil {
		return err
	}
	var nodes []phalatest.Node
	for i := 1; i <= 10; i++ {
		nodes = append(nodes, sb.Server.AddNode(phalatest.Node{Name: fmt.Sprintf("r-%d", i), Region: "r", Listed: true, OnchainKMS: true, Slots: 20, VCPU: 1000, MemoryMB: 1 << 22}))
	}
	for i := 1; i < 100; i++ {
		sb.Server.AddCVM(phalatest.CVM{AppID: app.App.ID, NodeID: nodes[i%10].ID})
	}
	c, err := sb.Client()
	if err != nil {
		return err
	}
	counter, err := newRPCCounter(sb.Chain.URL())
	if err != nil {
		return err
	}
	defer counter.close()
	rc, err := rpc.DialContext(ctx, counter.url)
	if err != nil {
		return err
	}
	ec := ethclient.NewClient(rc)
	defer ec.Close()
	spec := &phala.ReplicaSet{Source: "app_" + app.App.ID, Placements: []phala.Placement{{Node: "node-a", Count: 1}, {Region: "r", Count: 105}}}
	sb.Server.ResetRequests()
	counter.reset()
	plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{Chain: ec, RPC: rc})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n### Plan of an Onchain KMS app with 100 replicas over 11 nodes (%d to add)\n\n", len(plan.Creates))
	fmt.Fprintf(out, "| HTTP requests | JSON-RPC round trips | JSON-RPC calls in them | instances read | creates | devices checked |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| %d (%s) | %d | %d | %d | %d | %d |\n", len(sb.Server.Requests()), requestList(sb.Server),
		counter.posts.Load(), counter.calls.Load(), len(plan.Keep)+len(plan.Removals), len(plan.Creates), len(plan.Onchain.TargetDevices))
	return nil
}

func requestList(srv *phalatest.Server) string {
	s := ""
	for i, r := range srv.Requests() {
		if i > 0 {
			s += ", "
		}
		p := r.Path
		switch {
		case len(p) > 6 && p[:6] == "/apps/":
			p = "/apps/{app_id}/cvms"
		}
		s += r.Method + " " + p
	}
	return s
}

// setScale: 5 → 20 and 20 → 5 replicas under latency.
func setScale(ctx context.Context, out io.Writer, latency time.Duration) error {
	fmt.Fprintf(out, "\n### Scaling a set under %s of latency per request\n\n", latency)
	fmt.Fprintf(out, "| change | concurrency | plan | apply | HTTP requests of apply | ideal ceil(n/c) × RTT | apply ÷ ideal | our protocol's floor | apply ÷ floor |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, tc := range []struct{ from, to int }{{5, 20}, {20, 5}} {
		for _, conc := range []int{4, 16} {
			srv := phalatest.NewServer(phalatest.WithProvisioningDelays(0, 0))
			node := srv.AddNode(phalatest.Node{Name: "big", Slots: 200, VCPU: 1000, MemoryMB: 1 << 22})
			app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
			for i := 0; i < tc.from; i++ {
				srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
			}
			c, err := srv.Client()
			if err != nil {
				srv.Close()
				return err
			}
			srv.SetLatency(latency)
			spec := &phala.ReplicaSet{Source: "app_" + app.ID, Placements: []phala.Placement{{Node: "big", Count: tc.to}}}
			start := time.Now()
			plan, err := c.PlanReplicaSet(ctx, spec, phala.PlanOptions{})
			planTime := time.Since(start)
			if err != nil {
				srv.Close()
				return err
			}
			srv.ResetRequests()
			start = time.Now()
			_, err = c.ApplyReplicaSet(ctx, plan, phala.ApplyOptions{Concurrency: conc})
			applyTime := time.Since(start)
			reqs := len(srv.Requests())
			srv.Close()
			if err != nil {
				return err
			}
			n := tc.to - tc.from
			if n < 0 {
				n = -n
			}
			rounds := (n + conc - 1) / conc
			ideal := time.Duration(rounds) * latency
			// The floor of the protocol apply follows: the re-plan's reads
			// (list and nodes, concurrent: one round trip), then rounds of
			// one POST per create, or of one DELETE per removal (the app
			// check is the listing just read).
			floor := time.Duration(1+rounds) * latency
			fmt.Fprintf(out, "| %d → %d | %d | %s | %s | %d | %s | %.1f× | %s | %.2f× |\n", tc.from, tc.to, conc, ms(planTime), ms(applyTime), reqs,
				ms(ideal), float64(applyTime)/float64(ideal), ms(floor), float64(applyTime)/float64(floor))
		}
	}
	return nil
}
