package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/onchain"
)

// DeviceRemover takes devices off a DstackApp allow-list in one send and one
// confirmation wait; *onchain.Registrar implements it. ApplyReplicaSet uses
// it, with ApplyOptions.PruneDevices, when ApplyOptions.Registrar implements
// it too.
type DeviceRemover interface {
	RemoveDevices(ctx context.Context, req onchain.DeviceRemoval) (*onchain.SetRegistration, error)
}

// PruneOutcome is the device pruning of an apply (ApplyOptions.PruneDevices):
// what was taken off the DstackApp allow-list, or the one Safe batch that
// does it.
type PruneOutcome struct {
	// Devices are the devices removed (with a Registrar) or in SafeBatch
	// (0x + 64 hex).
	Devices []string `json:"devices"`
	// Kept are planned devices left listed because a removal on their node
	// failed or was skipped: an instance may still run there.
	Kept []string `json:"kept,omitempty"`
	// Registration lists the removeDevice transactions a Registrar sent.
	Registration *onchain.SetRegistration `json:"registration,omitempty"`
	// SafeBatch (no Registrar, or ApplyOptions.Prepare) holds every
	// removeDevice call for the Safe's owners to execute at once.
	SafeBatch *onchain.SafeBatch `json:"safe_batch,omitempty"`
	Err       error              `json:"-"`
}

// MarshalJSON adds "error" with Err's message.
func (o PruneOutcome) MarshalJSON() ([]byte, error) {
	type plain PruneOutcome
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(o), errorText(o.Err)})
}

// pruneDevices takes plan.Onchain.RemoveDevices off the allow-list once the
// removals are done, except the devices of a node where a removal did not
// succeed or where the app's listing, read again, still shows an instance
// (a DELETE answered 2xx is not proof that it is gone).
func (c *Client) pruneDevices(ctx context.Context, plan *ReplicaSetPlan, removals []RemovalOutcome, opts *ApplyOptions) *PruneOutcome {
	w := plan.Onchain
	out := &PruneOutcome{Devices: []string{}}
	keep := map[string]bool{}
	keepAll := false
	for _, r := range removals {
		if r.Err == nil && r.Skipped == "" {
			continue
		}
		if r.DeviceID == "" {
			keepAll = true // its node's device is unknown: it may be any of them
		}
		keep[strings.ToLower(r.DeviceID)] = true
	}
	// A DELETE answered 2xx does not prove the instance is gone: read the
	// listing again and keep the device of every instance still on it.
	list, err := c.listAppCVMs(ctx, plan.AppID)
	if err != nil {
		out.Kept = append(out.Kept, w.RemoveDevices...)
		out.Err = fmt.Errorf("phala: replica set: pruning devices: reading the app's instances after the removals (nothing was removed): %w", err)
		return out
	}
	removed := map[string]RemovalOutcome{}
	for _, r := range removals {
		removed[r.VMUUID] = r
	}
	for _, cvm := range list {
		in := cvm.Instance()
		if goneStatus(in.Status) {
			continue
		}
		if app, ok := appHex(strings.TrimSpace(in.AppID)); ok && app != plan.AppID {
			continue
		}
		if cvm.NodeInfo != nil {
			if h, err := onchain.ParseHash32(cvm.NodeInfo.DeviceID); err == nil {
				keep[strings.ToLower(h.Hex())] = true
			}
		}
		if r, ok := removed[in.VMUUID]; ok {
			if r.DeviceID == "" {
				keepAll = true
			}
			keep[strings.ToLower(r.DeviceID)] = true
		}
	}
	var ids []common.Hash
	for _, d := range w.RemoveDevices {
		if keepAll || keep[strings.ToLower(d)] {
			out.Kept = append(out.Kept, d)
			continue
		}
		out.Devices = append(out.Devices, d)
		ids = append(ids, common.HexToHash(d))
	}
	if len(ids) == 0 {
		return out
	}
	app, err := onchain.ParseAppAddress(w.App)
	if err != nil {
		out.Err = fmt.Errorf("phala: replica set: pruning devices: %w", err)
		return out
	}
	req := onchain.DeviceRemoval{App: app, ChainID: w.ChainID, DeviceIDs: ids}
	if opts.Registrar != nil && !opts.Prepare {
		dr, ok := opts.Registrar.(DeviceRemover)
		if !ok {
			out.Err = errors.New("phala: replica set: pruning devices: ApplyOptions.Registrar has no RemoveDevices method; nothing was removed")
			return out
		}
		out.Registration, out.Err = dr.RemoveDevices(ctx, req)
		if out.Err != nil {
			out.Err = fmt.Errorf("phala: replica set: pruning devices: %w", out.Err)
		}
		return out
	}
	// The plan's list is already filtered by the contract's state when it was
	// read; a batch is never empty here.
	out.SafeBatch, out.Err = onchain.SafeDeviceRemovalTransactions(req, nil, 0, opts.SafeOptions...)
	if out.Err != nil {
		out.Err = fmt.Errorf("phala: replica set: pruning devices: %w", out.Err)
	}
	return out
}
