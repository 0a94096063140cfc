package phala

import (
	"strings"

	"github.com/phalaforge/phala-go/onchain"
)

// Instance is one CVM instance as every call describes it, whichever API object
// it was read from: [Client.Replicate], [Client.CommitReplica] and [Client.Scale]
// return a [*VM] (the replicate answer), while [Client.GetCVM],
// [Client.WaitForReplica] and [Client.ListReplicas] return a [*CVM] (the CVM
// object), and the two name the same facts differently (TeepodID and TeepodName
// against NodeInfo.ID and NodeInfo.Name). [VM.Instance] and [CVM.Instance] give
// the same fields for both; use them when code handles instances of either
// origin, and the VM or CVM fields for what only one of them carries.
//
// Identifiers are normalised so that values from both objects compare equal:
// VMUUID in the lowercase dashed form, AppID as 40 lowercase hex digits,
// ComposeHash as 64 lowercase hex digits, both without a prefix. A value that
// is not well formed is kept as the API sent it.
type Instance struct {
	VMUUID      string `json:"vm_uuid"`                // pass it to WaitForReplica
	Name        string `json:"name,omitempty"`         //
	AppID       string `json:"app_id,omitempty"`       // 40 hex digits
	ComposeHash string `json:"compose_hash,omitempty"` // 64 hex digits
	Status      string `json:"status,omitempty"`       // e.g. "creating", "running", "error"
	BootError   string `json:"boot_error,omitempty"`   // only a CVM object carries it
	NodeID      int64  `json:"node_id,omitempty"`      // the node (teepod) ID; ReplicateRequest.NodeID takes it
	NodeName    string `json:"node_name,omitempty"`    //
}

// Instance returns the replica's common fields: node from TeepodID / TeepodName,
// else from the Teepod object. A nil VM gives the zero Instance.
func (v *VM) Instance() Instance {
	if v == nil {
		return Instance{}
	}
	in := Instance{
		VMUUID: normUUIDField(v.VMUUID), Name: v.Name, AppID: normAppField(v.AppID),
		ComposeHash: normHashField(v.ComposeHash), Status: v.Status,
		NodeID: v.TeepodID, NodeName: v.TeepodName,
	}
	if v.Teepod != nil {
		if in.NodeID == 0 {
			in.NodeID = v.Teepod.ID
		}
		if in.NodeName == "" {
			in.NodeName = v.Teepod.Name
		}
	}
	return in
}

// Instance returns the CVM's common fields, the node from NodeInfo. A nil CVM
// gives the zero Instance.
func (c *CVM) Instance() Instance {
	if c == nil {
		return Instance{}
	}
	in := Instance{
		VMUUID: normUUIDField(c.VMUUID), Name: c.Name, AppID: normAppField(c.AppID),
		ComposeHash: normHashField(c.ComposeHash), Status: c.Status, BootError: c.BootError,
	}
	if c.NodeInfo != nil {
		in.NodeID, in.NodeName = c.NodeInfo.ID, c.NodeInfo.Name
	}
	return in
}

func normUUIDField(s string) string {
	if u, ok := canonicalUUID(strings.TrimSpace(s)); ok {
		return u
	}
	return s
}

func normAppField(s string) string {
	if h, ok := appHex(strings.TrimSpace(s)); ok {
		return h
	}
	return s
}

func normHashField(s string) string {
	if h, err := onchain.ParseHash32(strings.TrimSpace(s)); err == nil {
		return strings.TrimPrefix(h.Hex(), "0x")
	}
	return s
}
