package phala

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/phalaforge/phala-go/onchain"
)

// PlanOptions gives PlanReplicaSet a way to read the chain of an Onchain KMS app.
// Without Chain and RPC the plan says the on-chain work is unknown.
type PlanOptions struct {
	// Chain reads the DstackApp contract (sequential eth_calls).
	Chain onchain.StatusReader
	// RPC, when set, reads the whole on-chain state in one JSON-RPC batch.
	RPC *rpc.Client
	// ChainFor, used when Chain and RPC are both nil, gives the readers for
	// the app's chain once the plan has learnt it from the source (its
	// kms_info.chain_id): it is called only for an Onchain KMS app with
	// on-chain state to read, at most once per plan. Returning nil readers and
	// a nil error leaves the on-chain state unknown; an error fails the plan.
	// It spares a caller who does not know the app's chain in advance a first
	// plan made only to learn it.
	ChainFor func(ctx context.Context, chainID uint64) (onchain.StatusReader, *rpc.Client, error)
	// PruneDevices makes the plan list, in OnchainWork.RemoveDevices, the
	// devices to take off the DstackApp allow-list after the removals (see
	// ApplyOptions.PruneDevices, which sets it for the apply's re-plan).
	PruneDevices bool
}

// SetInstance is an instance of the set's compose hash as the plan saw it.
type SetInstance struct {
	VMUUID   string `json:"vm_uuid"`
	Name     string `json:"name,omitempty"`
	Status   string `json:"status"`
	NodeID   int64  `json:"node_id,omitempty"`
	NodeName string `json:"node_name,omitempty"`
	Region   string `json:"region,omitempty"`
	// DeviceID is the device of its node (0x + 64 hex), when the listing or
	// the CVM names it.
	DeviceID string `json:"device_id,omitempty"`
	// Placement is the index of the placement it counts for (-1: none).
	Placement int  `json:"placement"`
	Protected bool `json:"protected,omitempty"`
	order     int  // newest last
	// ofApp: the app's listing named this instance's app_id, and it is the
	// set's app, so removing it needs no second check.
	ofApp bool
}

// PlannedCreate is one replica the plan creates.
type PlannedCreate struct {
	Placement int    `json:"placement"` // index in the spec's placements
	NodeID    int64  `json:"node_id"`
	NodeName  string `json:"node_name"`
	Region    string `json:"region,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
}

// PlannedRemoval is one instance the plan deletes, and why.
type PlannedRemoval struct {
	SetInstance
	Reason string `json:"reason"` // "failed", "stopped", "excess" or "outside every placement"
	// Live is true for an instance that runs (or is starting): ApplyReplicaSet
	// removes those only after every create succeeded and runs.
	Live bool `json:"live"`
}

// OnchainWork is what an Onchain KMS app's DstackApp contract must allow before
// the plan's creates can run: the compose hash and the union of the device ids
// of the target nodes.
type OnchainWork struct {
	App         string `json:"app"` // the DstackApp address
	ChainID     uint64 `json:"chain_id"`
	ComposeHash string `json:"compose_hash"` // 0x + 64 hex
	// Known is false when no chain reader was given: the lists below are then
	// every device and the compose hash, which may or may not be allowed.
	Known              bool     `json:"known"`
	Block              uint64   `json:"block,omitempty"`
	ComposeHashMissing bool     `json:"compose_hash_missing"`
	MissingDevices     []string `json:"missing_devices"` // 0x + 64 hex, in node order
	TargetDevices      []string `json:"target_devices"`  // every device of a target node
	// RemoveDevices, planned with PruneDevices only, are the devices to take
	// off the allow-list after the removals: devices of listed nodes on which
	// no instance of the app (any compose hash, protected ones included) runs
	// once the plan is applied, and that the contract lists (every such
	// device when Known is false). Never a device of a node that keeps or
	// gets an instance.
	RemoveDevices []string `json:"remove_devices,omitempty"`
}

// Needed reports whether anything has (or may have) to be registered.
func (w *OnchainWork) Needed() bool {
	return w != nil && (w.ComposeHashMissing || len(w.MissingDevices) > 0)
}

func (w *OnchainWork) prerequisite() (onchain.SetPrerequisite, error) {
	app, err := onchain.ParseAppAddress(w.App)
	if err != nil {
		return onchain.SetPrerequisite{}, err
	}
	h, err := onchain.ParseHash32(w.ComposeHash)
	if err != nil {
		return onchain.SetPrerequisite{}, err
	}
	req := onchain.SetPrerequisite{App: app, ChainID: w.ChainID, ComposeHash: h}
	for _, d := range w.TargetDevices {
		id, err := onchain.ParseHash32(d)
		if err != nil {
			return onchain.SetPrerequisite{}, err
		}
		req.DeviceIDs = append(req.DeviceIDs, id)
	}
	return req, nil
}

// ReplicaSetPlan is what PlanReplicaSet computed: the creates, the removals and
// the on-chain work that bring the app to the spec, and the fingerprint of the
// state it was computed from. It marshals to JSON (Spec's env values are
// redacted there, so a plan read back from JSON needs ApplyOptions.Env) and
// String prints it as a diff. The same state and spec give the same plan.
type ReplicaSetPlan struct {
	Spec         ReplicaSet       `json:"spec"`
	AppID        string           `json:"app_id"` // 40 hex digits
	SourceVMUUID string           `json:"source_vm_uuid"`
	ComposeHash  string           `json:"compose_hash"` // 64 hex digits
	OnchainKMS   bool             `json:"onchain_kms"`
	Keep         []SetInstance    `json:"keep"`
	Creates      []PlannedCreate  `json:"creates"`
	Removals     []PlannedRemoval `json:"removals"`
	Onchain      *OnchainWork     `json:"onchain,omitempty"`
	Warnings     []string         `json:"warnings,omitempty"`
	// PruneDevices: planned with PlanOptions.PruneDevices.
	PruneDevices bool   `json:"prune_devices,omitempty"`
	Fingerprint  string `json:"fingerprint"` // sha256 of the state read

	source *CVM // the source CVM as the plan read it; nil in a plan read back from JSON
}

// Empty reports whether the plan changes nothing (no create, no removal and
// no device to take off the allow-list).
func (p *ReplicaSetPlan) Empty() bool {
	return len(p.Creates) == 0 && len(p.Removals) == 0 && (p.Onchain == nil || len(p.Onchain.RemoveDevices) == 0)
}

// String prints the plan as a readable diff.
func (p *ReplicaSetPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replica set of app_%s, compose hash %s (state %s)\n", p.AppID, shortHex(p.ComposeHash), shortHex(p.Fingerprint))
	for _, k := range p.Keep {
		fmt.Fprintf(&b, "  = keep    %s on %s (%s)%s\n", k.VMUUID, nodeLabel(k.NodeName, k.NodeID, k.Region), k.Status, protectedMark(k.Protected))
	}
	for _, c := range p.Creates {
		fmt.Fprintf(&b, "  + create  on %s for %s\n", nodeLabel(c.NodeName, c.NodeID, c.Region), placementLabel(p.Spec, c.Placement))
	}
	for _, r := range p.Removals {
		fmt.Fprintf(&b, "  - remove  %s on %s (%s): %s\n", r.VMUUID, nodeLabel(r.NodeName, r.NodeID, r.Region), r.Status, r.Reason)
	}
	if w := p.Onchain; w != nil {
		switch {
		case !w.Known && len(p.Creates) > 0:
			fmt.Fprintf(&b, "  ? on chain (unknown, no chain reader): may need addComposeHash(%s) and addDevice for %d device(s)\n", shortHex(w.ComposeHash), len(w.MissingDevices))
		case w.Needed():
			var what []string
			for _, d := range w.MissingDevices {
				what = append(what, "addDevice("+shortHex(d)+")")
			}
			if w.ComposeHashMissing {
				what = append(what, "addComposeHash("+shortHex(w.ComposeHash)+")")
			}
			fmt.Fprintf(&b, "  ! on chain: %s\n", strings.Join(what, ", "))
		}
		if len(w.RemoveDevices) > 0 {
			var what []string
			for _, d := range w.RemoveDevices {
				what = append(what, "removeDevice("+shortHex(d)+")")
			}
			unknown := ""
			if !w.Known {
				unknown = " (unknown whether listed, no chain reader)"
			}
			fmt.Fprintf(&b, "  - on chain after the removals%s: %s\n", unknown, strings.Join(what, ", "))
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	fmt.Fprintf(&b, "%d to create, %d to remove, %d kept\n", len(p.Creates), len(p.Removals), len(p.Keep))
	return b.String()
}

func shortHex(s string) string {
	s = strings.TrimPrefix(s, "0x")
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

func nodeLabel(name string, id int64, region string) string {
	s := fmt.Sprintf("%s (id %d", name, id)
	if region != "" {
		s += ", " + region
	}
	return s + ")"
}

func protectedMark(p bool) string {
	if p {
		return " [protected]"
	}
	return ""
}

func placementLabel(s ReplicaSet, i int) string {
	if i < 0 || i >= len(s.Placements) {
		return "no placement"
	}
	return fmt.Sprintf("placements[%d] (%s)", i, s.Placements[i])
}

// setState is what a plan is computed from.
type setState struct {
	source *CVM
	app    string
	hash   string
	list   []*CVM
	nodes  *NodeList
	chain  *onchain.SetStatus
}

// PlanReplicaSet compares spec with what runs and returns the plan; it sends no
// request that writes. It reads the app's instances (GET /apps/{app_id}/cvms;
// for a vm_uuid or name source, GET /cvms/{id} first), the nodes (GET
// /teepods/available) and, for an Onchain KMS app with opts.Chain, opts.RPC or
// opts.ChainFor, the DstackApp contract's state for the compose hash and every target device
// in one batch (one round trip with RPC).
//
// Only instances of the set's compose hash count. Each is matched to a node
// placement, else a region placement, else an anywhere placement. A placement
// with fewer live instances than Count gets creates: on its node; for a
// region, spread over that region's nodes that have room (fewest replicas of
// the set first, then the listing's order); for anywhere, over every node with
// room likewise (nodes supporting on-chain KMS only, for an Onchain KMS app). A
// placement with more gets removals: failed and stopped instances always, then
// the newest live ones; instances outside every placement are removed too. A
// protected instance is never removed. The listing is not trusted blindly: an
// entry naming another app is never counted, removed or taken as the source; a
// vm_uuid listed twice counts once (and is left alone when the copies
// disagree); a live instance on a node GET /teepods/available does not list is
// neither counted nor removed, except by an anywhere placement, which counts
// it. Each of these adds a warning to the plan. A node list that names a node
// id twice with a different name, region or device_id fails the plan (see
// [NodeList.UnmarshalJSON]; wrapping ErrUnexpectedBody). Node and region names are matched
// case-insensitively; an unknown or ambiguous name, or a region without nodes,
// is a [*SpecError].
func (c *Client) PlanReplicaSet(ctx context.Context, spec *ReplicaSet, opts PlanOptions) (*ReplicaSetPlan, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return c.planReplicaSet(ctx, spec, &opts, "")
}

// planReplicaSet is PlanReplicaSet; knownApp (40 hex, or "") is the app the
// caller expects, so that a vm_uuid or name source and the app's instances
// are read concurrently.
func (c *Client) planReplicaSet(ctx context.Context, spec *ReplicaSet, opts *PlanOptions, knownApp string) (*ReplicaSetPlan, error) {
	st, err := c.readSetState(ctx, spec, knownApp)
	if err != nil {
		return nil, err
	}
	p, err := computePlan(spec, st)
	if err != nil {
		return nil, err
	}
	var prune []string
	if opts != nil && opts.PruneDevices {
		p.PruneDevices = true
		if p.Onchain != nil {
			var warn string
			if prune, warn = pruneCandidates(st, p); warn != "" {
				p.Warnings = append(p.Warnings, warn)
			}
			p.Onchain.RemoveDevices = append([]string{}, prune...)
		}
	}
	var chain onchain.StatusReader
	var rc *rpc.Client
	if opts != nil {
		chain, rc = opts.Chain, opts.RPC
	}
	if p.Onchain != nil && len(p.Onchain.TargetDevices)+len(prune) > 0 && chain == nil && rc == nil && opts != nil && opts.ChainFor != nil {
		if chain, rc, err = opts.ChainFor(ctx, p.Onchain.ChainID); err != nil {
			return nil, fmt.Errorf("phala: replica set: connecting to chain %d: %w", p.Onchain.ChainID, err)
		}
	}
	if p.Onchain != nil && len(p.Onchain.TargetDevices)+len(prune) > 0 && (chain != nil || rc != nil) {
		req, err := p.Onchain.prerequisite()
		if err != nil {
			return nil, fmt.Errorf("phala: replica set: on-chain work: %w", err)
		}
		for _, d := range prune {
			req.DeviceIDs = append(req.DeviceIDs, common.HexToHash(d))
		}
		var oo []onchain.Option
		if rc != nil {
			oo = append(oo, onchain.WithRPCClient(rc))
		}
		cs, err := onchain.ReadSetStatus(ctx, chain, req.App, req.ComposeHash, req.DeviceIDs, oo...)
		if err != nil {
			return nil, fmt.Errorf("phala: replica set: reading the DstackApp contract: %w", err)
		}
		st.chain = cs
		applyChainStatus(p.Onchain, cs)
		p.Onchain.RemoveDevices = []string{}
		for _, d := range prune {
			if cs.DevicesListed[common.HexToHash(d)] {
				p.Onchain.RemoveDevices = append(p.Onchain.RemoveDevices, d)
			}
		}
	}
	p.Fingerprint = fingerprint(st, p, prune)
	return p, nil
}

// pruneCandidates returns the devices (0x + 64 hex, in listing order) of the
// listed nodes on which no instance of the app runs once p is applied: every
// instance of the app that is not on its way out and not removed by p (any
// compose hash, protected or stopped ones included) keeps its node's device,
// and so does every create. When an instance that stays, or a create, is on
// a node whose device is unknown, nothing is pruned (that node might be one
// of the others under another id) and the reason is returned.
func pruneCandidates(st *setState, p *ReplicaSetPlan) ([]string, string) {
	removed := map[string]bool{}
	for _, r := range p.Removals {
		removed[r.VMUUID] = true
	}
	hosting := map[common.Hash]bool{}
	for _, cvm := range st.list {
		in := cvm.Instance()
		if goneStatus(in.Status) || removed[in.VMUUID] {
			continue
		}
		if app, ok := appHex(strings.TrimSpace(in.AppID)); ok && app != st.app {
			continue // not an instance of this app (see computePlan)
		}
		devs := instanceDevices(st, cvm)
		if len(devs) == 0 {
			return nil, fmt.Sprintf("no device pruned: the device of node %s, where %s stays, is unknown", nodeLabel(in.NodeName, in.NodeID, ""), in.VMUUID)
		}
		for _, d := range devs {
			hosting[d] = true
		}
	}
	for _, cr := range p.Creates {
		h, err := onchain.ParseHash32(cr.DeviceID)
		if err != nil {
			return nil, fmt.Sprintf("no device pruned: the device of node %s, which gets a replica, is unknown", nodeLabel(cr.NodeName, cr.NodeID, cr.Region))
		}
		hosting[h] = true
	}
	var out []string
	seen := map[common.Hash]bool{}
	for _, n := range st.nodes.Nodes {
		h, err := onchain.ParseHash32(n.DeviceID)
		if err != nil || hosting[h] || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h.Hex())
	}
	return out, ""
}

// instanceDevices returns the devices the listing and the CVM name for the
// instance's node (both, when they differ).
func instanceDevices(st *setState, cvm *CVM) []common.Hash {
	var out []common.Hash
	if cvm.NodeInfo != nil {
		if h, err := onchain.ParseHash32(cvm.NodeInfo.DeviceID); err == nil {
			out = append(out, h)
		}
	}
	if n := st.nodes.ByID(cvm.Instance().NodeID); n != nil {
		if h, err := onchain.ParseHash32(n.DeviceID); err == nil && (len(out) == 0 || out[0] != h) {
			out = append(out, h)
		}
	}
	return out
}

// readSetState reads the source, the app's instances and the nodes. The
// nodes are read concurrently with the rest; with knownApp (the app a plan
// was made for), a vm_uuid or name source is resolved concurrently with the
// listing of that app's instances too, so a re-plan is one round trip.
func (c *Client) readSetState(ctx context.Context, spec *ReplicaSet, knownApp string) (*setState, error) {
	src, err := parseSource(spec.Source)
	if err != nil {
		return nil, &SpecError{Field: "source", Value: oneLine(spec.Source, 80), Reason: "not a vm_uuid, app id or CVM name", Err: err}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		nodes    *NodeList
		nodesErr error
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		nodes, nodesErr = c.ListNodes(ctx)
	}()
	st, err := c.readSetInstances(ctx, spec, src, knownApp)
	if err != nil {
		cancel()
		<-done
		return nil, err
	}
	<-done
	if nodesErr != nil {
		return nil, nodesErr
	}
	st.nodes = nodes
	return st, nil
}

// readSetInstances reads the source and the app's instances.
func (c *Client) readSetInstances(ctx context.Context, spec *ReplicaSet, src sourceRef, knownApp string) (*setState, error) {
	want := ""
	if spec.ComposeHash != "" {
		want, _ = normComposeHash("compose_hash", spec.ComposeHash)
	}
	st := &setState{}
	var err error
	if src.kind == sourceApp {
		st.app = src.app
		if st.list, err = c.listAppCVMs(ctx, st.app); err != nil {
			return nil, err
		}
		cause := fmt.Errorf("phala: replica set: app_%s has no instance to replicate: %w", st.app, ErrCVMNotFound)
		// An entry naming another app is not one of the app's instances,
		// whatever the listing says: never the source.
		var ofApp []*CVM
		for _, cvm := range st.list {
			if app, ok := appHex(strings.TrimSpace(cvm.AppID)); !ok || app == st.app {
				ofApp = append(ofApp, cvm)
			}
		}
		if st.source, err = pickInstance("app_"+st.app, ofApp, want, cause); err != nil {
			return nil, err
		}
	} else {
		var (
			list    []*CVM
			listErr error
			done    = make(chan struct{})
		)
		if knownApp != "" {
			go func() {
				defer close(done)
				list, listErr = c.listAppCVMs(ctx, knownApp)
			}()
		} else {
			close(done)
		}
		st.source, err = c.resolveSource(ctx, src, "")
		<-done
		if err != nil {
			return nil, err
		}
		app, ok := appHex(strings.TrimSpace(st.source.AppID))
		if !ok {
			return nil, fmt.Errorf("phala: replica set: the source CVM has no usable app_id (%q): %w", oneLine(st.source.AppID, 64), ErrUnexpectedBody)
		}
		st.app = app
		if want != "" && !sameHash(st.source.ComposeHash, want) {
			return nil, specErr("compose_hash", spec.ComposeHash,
				"two compose hashes: the source instance runs %s; name the app as source to pick a configuration", oneLine(st.source.ComposeHash, 80))
		}
		if knownApp == app {
			st.list, err = list, listErr
		} else {
			st.list, err = c.listAppCVMs(ctx, st.app) // the source moved to another app: its instances
		}
		if err != nil {
			return nil, err
		}
	}
	if want == "" {
		if want, err = normComposeHash("compose_hash", st.source.ComposeHash); err != nil {
			return nil, fmt.Errorf("phala: replica set: the source CVM has no usable compose hash: %w", err)
		}
	}
	st.hash = want
	return st, nil
}

// conflictingEntries returns the vm_uuids (canonical) the listing names more
// than once with a different app, compose hash, node or kind of status.
func conflictingEntries(list []*CVM) map[string]bool {
	first := map[string]Instance{}
	out := map[string]bool{}
	class := func(s string) string {
		switch {
		case goneStatus(s):
			return "gone"
		case isLiveStatus(s):
			return "live"
		}
		return "dead"
	}
	for _, cvm := range list {
		in := cvm.Instance()
		if _, ok := canonicalUUID(in.VMUUID); !ok {
			continue
		}
		f, dup := first[in.VMUUID]
		if !dup {
			first[in.VMUUID] = in
			continue
		}
		if !strings.EqualFold(f.AppID, in.AppID) || !sameHash(f.ComposeHash, in.ComposeHash) || f.NodeID != in.NodeID || class(f.Status) != class(in.Status) {
			out[in.VMUUID] = true
		}
	}
	return out
}

// instanceTime returns when the instance was created, if the API says.
func instanceTime(c *CVM) (time.Time, bool) {
	if raw, ok := c.Extra["created_at"]; ok {
		if t, err := time.Parse(time.RFC3339, jsonString(raw)); err == nil {
			return t, true
		}
	}
	if c.Progress != nil {
		if t, err := time.Parse(time.RFC3339, c.Progress.StartedAt); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// goneStatus: on its way out already; neither counted nor removed.
func goneStatus(s string) bool {
	switch strings.ToLower(s) {
	case "terminated", "terminating", "deleted", "deleting":
		return true
	}
	return false
}

// computePlan is the pure part of planning: spec and state in, plan out.
func computePlan(spec *ReplicaSet, st *setState) (*ReplicaSetPlan, error) {
	p := &ReplicaSetPlan{
		Spec: *spec, AppID: st.app, ComposeHash: st.hash, OnchainKMS: st.source.OnchainKMS(),
		Keep: []SetInstance{}, Creates: []PlannedCreate{}, Removals: []PlannedRemoval{},
		source: st.source,
	}
	p.SourceVMUUID, _ = canonicalUUID(st.source.VMUUID)

	// Resolve every placement to its nodes.
	type target struct {
		nodes []*Node
	}
	targets := make([]target, len(spec.Placements))
	claimed := map[int64]int{} // node id -> node placement
	for i, pl := range spec.Placements {
		field := fmt.Sprintf("placements[%d]", i)
		switch {
		case pl.Node != "":
			ref, _ := parseNode(pl.Node)
			var n *Node
			if ref.name == "" {
				n = st.nodes.ByID(ref.id)
				if n == nil {
					return nil, &SpecError{Field: field + ".node", Value: pl.Node, Reason: "unknown node: GET /teepods/available does not list it",
						Err: &NodeNotFoundError{Name: pl.Node}}
				}
			} else {
				m := st.nodes.ByName(ref.name)
				switch len(m) {
				case 0:
					return nil, &SpecError{Field: field + ".node", Value: pl.Node, Reason: "unknown node", Err: &NodeNotFoundError{Name: pl.Node}}
				case 1:
					n = m[0]
				default:
					var ids []string
					for _, x := range m {
						ids = append(ids, fmt.Sprint(x.ID))
					}
					return nil, &SpecError{Field: field + ".node", Value: pl.Node,
						Reason: fmt.Sprintf("ambiguous: %d nodes have that name (ids %s); use an id", len(m), strings.Join(ids, ", ")),
						Err:    ErrAmbiguousNode}
				}
			}
			if j, dup := claimed[n.ID]; dup {
				return nil, specErr(field+".node", pl.Node, "node listed twice (also placements[%d])", j)
			}
			claimed[n.ID] = i
			targets[i].nodes = []*Node{n}
		case pl.Region != "":
			ns := st.nodes.InRegion(pl.Region)
			if len(ns) == 0 {
				return nil, specErr(field+".region", pl.Region, "unknown region: no node of GET /teepods/available is in it")
			}
			targets[i].nodes = ns
		default:
			for j := range st.nodes.Nodes {
				n := &st.nodes.Nodes[j]
				if p.OnchainKMS && !n.SupportsOnchainKMS {
					continue
				}
				targets[i].nodes = append(targets[i].nodes, n)
			}
		}
	}
	placementOf := func(nodeID int64) int {
		if i, ok := claimed[nodeID]; ok {
			return i
		}
		for i, pl := range spec.Placements {
			if pl.Region != "" {
				for _, n := range targets[i].nodes {
					if n.ID == nodeID {
						return i
					}
				}
			}
		}
		for i, pl := range spec.Placements {
			if pl.Anywhere {
				return i
			}
		}
		return -1
	}
	protected := map[string]bool{}
	for _, u := range spec.Protect {
		cu, _ := canonicalUUID(strings.TrimSpace(u))
		protected[cu] = true
	}

	// Group the instances of the compose hash.
	type group struct {
		live, dead []SetInstance
	}
	groups := make([]group, len(spec.Placements))
	var outside []SetInstance
	perNode := map[int64]int{}
	type timed struct {
		t  time.Time
		ok bool
	}
	times := map[string]timed{}
	conflicting := conflictingEntries(st.list)
	counted := map[string]bool{}
	for idx, cvm := range st.list {
		in := cvm.Instance()
		if _, ok := canonicalUUID(in.VMUUID); !ok {
			continue
		}
		if counted[in.VMUUID] {
			continue // listed twice: counted once
		}
		counted[in.VMUUID] = true
		if conflicting[in.VMUUID] {
			// Which copy tells the truth is unknown: neither counted nor removed.
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is listed more than once with different app, compose hash, node or status: left alone", in.VMUUID))
			continue
		}
		if !sameHash(in.ComposeHash, st.hash) || goneStatus(in.Status) {
			continue
		}
		app, appOK := appHex(strings.TrimSpace(in.AppID))
		if appOK && app != st.app {
			// The app's listing named another app: never counted, never removed.
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is listed for app_%s but belongs to app_%s: left alone", in.VMUUID, st.app, app))
			continue
		}
		si := SetInstance{VMUUID: in.VMUUID, Name: in.Name, Status: in.Status, NodeID: in.NodeID, NodeName: in.NodeName,
			Protected: protected[in.VMUUID], order: idx, ofApp: appOK}
		if devs := instanceDevices(st, cvm); len(devs) > 0 {
			si.DeviceID = devs[0].Hex()
		}
		if n := st.nodes.ByID(in.NodeID); n != nil {
			si.Region = n.Region
			if si.NodeName == "" {
				si.NodeName = n.Name
			}
		}
		t, ok := instanceTime(cvm)
		times[in.VMUUID] = timed{t, ok}
		si.Placement = placementOf(in.NodeID)
		live := isLiveStatus(in.Status)
		if live {
			perNode[in.NodeID]++
		}
		switch {
		case si.Placement < 0 && live && st.nodes.ByID(in.NodeID) == nil:
			// Its node is not in the node list: whether it is outside every
			// placement (a region's node, say) is unknown. Not counted, not removed.
			si.Placement = -1
			p.Keep = append(p.Keep, si)
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s runs on node %s, which GET /teepods/available does not list: not counted, left alone",
				in.VMUUID, nodeLabel(in.NodeName, in.NodeID, "")))
		case si.Placement < 0:
			outside = append(outside, si)
		case live:
			groups[si.Placement].live = append(groups[si.Placement].live, si)
		default:
			groups[si.Placement].dead = append(groups[si.Placement].dead, si)
		}
	}
	newer := func(a, b SetInstance) bool { // a newer than b
		ta, tb := times[a.VMUUID], times[b.VMUUID]
		if ta.ok && tb.ok && !ta.t.Equal(tb.t) {
			return ta.t.After(tb.t)
		}
		return a.order > b.order
	}

	remove := func(si SetInstance, reason string, live bool) {
		if si.Protected {
			p.Keep = append(p.Keep, si)
			if live || reason != "" {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s is protected and kept although it is %s", si.VMUUID, reason))
			}
			return
		}
		p.Removals = append(p.Removals, PlannedRemoval{SetInstance: si, Reason: reason, Live: live})
	}
	deadReason := func(s string) string {
		if strings.Contains(strings.ToLower(s), "stop") || strings.EqualFold(s, "exited") {
			return "stopped"
		}
		return "failed"
	}

	room := map[int64]int64{} // creates planned per node, against remaining_cvm_slots
	hasRoom := func(n *Node) bool {
		return n.RemainingCVMSlots == nil || *n.RemainingCVMSlots-room[n.ID] > 0
	}
	for i, pl := range spec.Placements {
		g := groups[i]
		for _, d := range g.dead {
			remove(d, deadReason(d.Status), false)
		}
		live := g.live
		if len(live) > pl.Count {
			// Keep the oldest; protected ones always.
			sort.SliceStable(live, func(a, b int) bool { return newer(live[b], live[a]) }) // oldest first
			excess := len(live) - pl.Count
			var keep, victims []SetInstance
			for k := len(live) - 1; k >= 0; k-- { // newest first
				if excess > 0 && !live[k].Protected {
					victims = append(victims, live[k])
					excess--
					continue
				}
				keep = append(keep, live[k])
			}
			if excess > 0 {
				p.Warnings = append(p.Warnings, fmt.Sprintf("placements[%d] (%s): %d more than declared are protected and kept", i, pl, excess))
			}
			for k := len(keep) - 1; k >= 0; k-- {
				p.Keep = append(p.Keep, keep[k])
			}
			for _, v := range victims {
				remove(v, "excess", true)
			}
			continue
		}
		p.Keep = append(p.Keep, live...)
		for k := len(live); k < pl.Count; k++ {
			var best *Node
			for _, n := range targets[i].nodes {
				if !hasRoom(n) {
					continue
				}
				if best == nil || perNode[n.ID] < perNode[best.ID] {
					best = n
				}
			}
			if best == nil {
				if len(targets[i].nodes) == 1 {
					best = targets[i].nodes[0]
				} else {
					// No room left anywhere: keep spreading; the API will refuse
					// the creates it cannot place and the apply reports them.
					for _, n := range targets[i].nodes {
						if best == nil || perNode[n.ID] < perNode[best.ID] {
							best = n
						}
					}
				}
				if best == nil {
					return nil, specErr(fmt.Sprintf("placements[%d]", i), pl.String(), "no node to place a replica on")
				}
				p.Warnings = append(p.Warnings, fmt.Sprintf("placements[%d] (%s): node %s reports no free slot", i, pl, best.Name))
			}
			perNode[best.ID]++
			room[best.ID]++
			p.Creates = append(p.Creates, PlannedCreate{Placement: i, NodeID: best.ID, NodeName: best.Name, Region: best.Region, DeviceID: best.DeviceID})
		}
	}
	sort.SliceStable(outside, func(a, b int) bool { return newer(outside[a], outside[b]) })
	for _, o := range outside {
		if isLiveStatus(o.Status) {
			remove(o, "outside every placement", true)
		} else {
			remove(o, deadReason(o.Status), false)
		}
	}
	// Failed and stopped first, then the newest.
	sort.SliceStable(p.Removals, func(a, b int) bool {
		ra, rb := p.Removals[a], p.Removals[b]
		if ra.Live != rb.Live {
			return !ra.Live
		}
		return newer(ra.SetInstance, rb.SetInstance)
	})

	if p.OnchainKMS {
		w := &OnchainWork{App: "0x" + st.app, ComposeHash: "0x" + st.hash, ComposeHashMissing: len(p.Creates) > 0, MissingDevices: []string{}, TargetDevices: []string{}}
		if st.source.KMSInfo != nil {
			w.ChainID = st.source.KMSInfo.ChainID
		}
		seen := map[string]bool{}
		for _, cr := range p.Creates {
			if cr.DeviceID == "" {
				p.Warnings = append(p.Warnings, fmt.Sprintf("node %s lists no device_id: its on-chain registration is unknown until the API's HTTP 465 answer", cr.NodeName))
				continue
			}
			h, err := onchain.ParseHash32(cr.DeviceID)
			if err != nil {
				p.Warnings = append(p.Warnings, fmt.Sprintf("node %s lists a malformed device_id", cr.NodeName))
				continue
			}
			if !seen[h.Hex()] {
				seen[h.Hex()] = true
				w.TargetDevices = append(w.TargetDevices, h.Hex())
			}
		}
		w.MissingDevices = append(w.MissingDevices, w.TargetDevices...)
		p.Onchain = w
	}
	return p, nil
}

func applyChainStatus(w *OnchainWork, cs *onchain.SetStatus) {
	w.Known, w.Block = true, cs.Block
	w.ComposeHashMissing = w.ComposeHashMissing && !cs.ComposeHashAllowed // only creates need it
	w.MissingDevices = []string{}
	for _, d := range w.TargetDevices {
		if !cs.DeviceAllowed(common.HexToHash(d)) {
			w.MissingDevices = append(w.MissingDevices, d)
		}
	}
}

// fingerprint hashes the state the plan depends on: the instances of the
// compose hash (vm_uuid, node, whether live), the nodes (id, name, region,
// device, whether they have room) and the on-chain state read. Progress of a
// replica (creating → running) and capacity numbers do not change it.
//
// With device pruning, the prune candidates and their on-chain listing count
// too, so a plan made without pruning is stale for an apply that prunes.
func fingerprint(st *setState, p *ReplicaSetPlan, prune []string) string {
	var lines []string
	lines = append(lines, "app "+st.app, "hash "+st.hash, "source "+p.SourceVMUUID)
	for _, c := range st.list {
		in := c.Instance()
		if !sameHash(in.ComposeHash, st.hash) {
			continue
		}
		class := "live"
		switch {
		case goneStatus(in.Status):
			class = "gone"
		case !isLiveStatus(in.Status):
			class = "dead"
		}
		lines = append(lines, fmt.Sprintf("cvm %s %d %s", in.VMUUID, in.NodeID, class))
	}
	for _, n := range st.nodes.Nodes {
		lines = append(lines, fmt.Sprintf("node %d %s %s %s %t %t", n.ID, strings.ToLower(n.Name), strings.ToLower(n.Region),
			strings.ToLower(n.DeviceID), n.HasRoom(), n.SupportsOnchainKMS))
	}
	if st.chain != nil {
		lines = append(lines, fmt.Sprintf("chain %t %t", st.chain.ComposeHashAllowed, st.chain.AllowAnyDevice))
		for _, d := range p.Onchain.TargetDevices {
			lines = append(lines, fmt.Sprintf("device %s %t", d, st.chain.DeviceAllowed(common.HexToHash(d))))
		}
	}
	if p.PruneDevices {
		lines = append(lines, "prune")
		for _, d := range prune {
			listed := st.chain == nil || st.chain.DevicesListed[common.HexToHash(d)]
			lines = append(lines, fmt.Sprintf("prune %s %t", d, listed))
		}
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}
