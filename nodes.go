package phala

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/phalaforge/phala-go/onchain"
)

// Node is a node (teepod) the workspace can deploy to, as GET /teepods/available
// lists it. Decoding is lenient: unknown fields are kept in Extra, numbers sent as
// strings are accepted, and a field of an unusable type is moved to Extra.
//
// The capacity fields are hints from the moment of the listing, nil when the
// answer does not carry them.
type Node struct {
	ID       int64  `json:"id"`   // teepod_id (or id on answers that only carry that)
	Name     string `json:"name"` //
	Region   string `json:"region_identifier,omitempty"`
	DeviceID string `json:"device_id,omitempty"` // 32-byte hex; the id a DstackApp allowlists
	Listed   bool   `json:"listed"`              //
	// SupportsOnchainKMS is the node's support_onchain_kms flag.
	SupportsOnchainKMS bool     `json:"support_onchain_kms"`
	FMSPC              string   `json:"fmspc,omitempty"`
	DefaultKMS         string   `json:"default_kms,omitempty"`
	KMSList            []string `json:"kms_list,omitempty"` // ids of the KMSes the node serves

	ResourceScore      *float64 `json:"resource_score,omitempty"`
	RemainingVCPU      *int64   `json:"remaining_vcpu,omitempty"`
	RemainingMemoryMB  *int64   `json:"remaining_memory,omitempty"`
	RemainingCVMSlots  *int64   `json:"remaining_cvm_slots,omitempty"`
	DedicatedForTeamID *int64   `json:"dedicated_for_team_id,omitempty"`

	Images []NodeImage `json:"images,omitempty"`

	// Extra holds the fields this type does not know, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// nodeWire is Node with both id keys the API may send.
type nodeWire struct {
	TeepodID           *int64      `json:"teepod_id"`
	AltID              *int64      `json:"id"`
	Name               string      `json:"name"`
	Region             string      `json:"region_identifier"`
	DeviceID           string      `json:"device_id"`
	Listed             bool        `json:"listed"`
	SupportsOnchainKMS bool        `json:"support_onchain_kms"`
	FMSPC              string      `json:"fmspc"`
	DefaultKMS         string      `json:"default_kms"`
	KMSList            []string    `json:"kms_list"`
	ResourceScore      *float64    `json:"resource_score"`
	RemainingVCPU      *int64      `json:"remaining_vcpu"`
	RemainingMemoryMB  *int64      `json:"remaining_memory"`
	RemainingCVMSlots  *int64      `json:"remaining_cvm_slots"`
	DedicatedForTeamID *int64      `json:"dedicated_for_team_id"`
	Images             []NodeImage `json:"images"`
}

// UnmarshalJSON implements json.Unmarshaler leniently (see [Node]). It fails only
// when data is not a JSON object.
func (n *Node) UnmarshalJSON(data []byte) error {
	var w nodeWire
	extra, err := decodeLenient(data, &w)
	if err != nil {
		return fmt.Errorf("phala: node object: %w", err)
	}
	*n = Node{
		Name: w.Name, Region: w.Region, DeviceID: w.DeviceID, Listed: w.Listed,
		SupportsOnchainKMS: w.SupportsOnchainKMS, FMSPC: w.FMSPC, DefaultKMS: w.DefaultKMS,
		KMSList: w.KMSList, ResourceScore: w.ResourceScore, RemainingVCPU: w.RemainingVCPU,
		RemainingMemoryMB: w.RemainingMemoryMB, RemainingCVMSlots: w.RemainingCVMSlots,
		DedicatedForTeamID: w.DedicatedForTeamID, Images: w.Images, Extra: extra,
	}
	switch {
	case w.TeepodID != nil:
		n.ID = *w.TeepodID
	case w.AltID != nil:
		n.ID = *w.AltID
	}
	return nil
}

// HasRoom reports whether the listing says the node can take one more CVM: true
// when remaining_cvm_slots is positive or not given.
func (n *Node) HasRoom() bool {
	return n.RemainingCVMSlots == nil || *n.RemainingCVMSlots > 0
}

// NodeImage is an OS image a node offers.
type NodeImage struct {
	Name        string `json:"name"`
	IsDev       bool   `json:"is_dev"`
	Version     []int  `json:"version,omitempty"` // 3 or 4 numbers
	OSImageHash string `json:"os_image_hash,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (i *NodeImage) UnmarshalJSON(data []byte) error { return decodeNested(data, i) }

// NodeList is the answer of GET /teepods/available: the nodes the workspace can
// deploy to, the workspace's tier and capacity, and the KMSes it can use.
type NodeList struct {
	Tier     string            `json:"tier,omitempty"`
	Capacity *WorkspaceLimits  `json:"capacity,omitempty"`
	Nodes    []Node            `json:"nodes"`
	KMSList  []onchain.KMSInfo `json:"kms_list,omitempty"`
	// Extra holds the fields this type does not know, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently. A node entry that is not an
// object is dropped and kept raw in Extra["invalid_nodes"]; a node listed again
// identically (id, name, region, device_id) is kept once. Two things fail: a
// "nodes" that is not an array (or null), and one node id (other than 0)
// listed twice with a different name, region or device_id, since which node a
// name or region places a replica on, or which device to allow, would be a
// guess.
func (l *NodeList) UnmarshalJSON(data []byte) error {
	var w struct {
		Tier     string            `json:"tier"`
		Capacity *WorkspaceLimits  `json:"capacity"`
		Nodes    []json.RawMessage `json:"nodes"`
		KMSList  []onchain.KMSInfo `json:"kms_list"`
	}
	extra, err := decodeLenient(data, &w)
	if err != nil {
		return fmt.Errorf("phala: node list: %w", err)
	}
	if raw, bad := extra["nodes"]; bad && !isJSONNull(raw) {
		return fmt.Errorf("phala: node list: \"nodes\" is not an array")
	}
	*l = NodeList{Tier: w.Tier, Capacity: w.Capacity, KMSList: w.KMSList, Extra: extra}
	var invalid []json.RawMessage
	byID := map[int64]int{}
	for _, raw := range w.Nodes {
		var n Node
		if err := json.Unmarshal(raw, &n); err != nil || isJSONNull(raw) {
			invalid = append(invalid, raw)
			continue
		}
		if j, dup := byID[n.ID]; dup && n.ID != 0 {
			f := l.Nodes[j]
			if !strings.EqualFold(f.Name, n.Name) || !strings.EqualFold(f.Region, n.Region) || !sameDevice(f.DeviceID, n.DeviceID) {
				return fmt.Errorf("phala: node list: node id %d is listed twice, as %q and %q", n.ID, oneLine(f.Name, 64), oneLine(n.Name, 64))
			}
			continue
		}
		byID[n.ID] = len(l.Nodes)
		l.Nodes = append(l.Nodes, n)
	}
	if len(invalid) > 0 {
		if l.Extra == nil {
			l.Extra = map[string]json.RawMessage{}
		}
		l.Extra["invalid_nodes"], _ = json.Marshal(invalid)
	}
	return nil
}

// sameDevice reports whether two device ids are the same 32 bytes (or, when
// either is not a device id, the same text).
func sameDevice(a, b string) bool {
	ha, errA := onchain.ParseHash32(a)
	hb, errB := onchain.ParseHash32(b)
	if errA != nil || errB != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return ha == hb
}

// ByID returns the node with that id, or nil.
func (l *NodeList) ByID(id int64) *Node {
	if l == nil {
		return nil
	}
	for i := range l.Nodes {
		if l.Nodes[i].ID == id {
			return &l.Nodes[i]
		}
	}
	return nil
}

// ByName returns the nodes whose name equals name case-insensitively (the
// phala CLI's rule for --node-id names).
func (l *NodeList) ByName(name string) []*Node {
	if l == nil {
		return nil
	}
	var out []*Node
	for i := range l.Nodes {
		if strings.EqualFold(l.Nodes[i].Name, name) {
			out = append(out, &l.Nodes[i])
		}
	}
	return out
}

// InRegion returns the nodes whose region_identifier equals region
// case-insensitively, in the order of the listing.
func (l *NodeList) InRegion(region string) []*Node {
	if l == nil {
		return nil
	}
	var out []*Node
	for i := range l.Nodes {
		if strings.EqualFold(l.Nodes[i].Region, region) {
			out = append(out, &l.Nodes[i])
		}
	}
	return out
}

// WorkspaceLimits is the capacity object of GET /teepods/available.
type WorkspaceLimits struct {
	MaxInstances *int64 `json:"max_instances,omitempty"`
	MaxVCPU      *int64 `json:"max_vcpu,omitempty"`
	MaxMemoryMB  *int64 `json:"max_memory,omitempty"`
	MaxDiskGB    *int64 `json:"max_disk,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (w *WorkspaceLimits) UnmarshalJSON(data []byte) error { return decodeNested(data, w) }

// ListNodes returns the nodes the workspace can deploy to: GET /teepods/available,
// one request (retried like every GET). Unknown fields are kept, never fatal.
func (c *Client) ListNodes(ctx context.Context) (*NodeList, error) {
	var list NodeList
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/teepods/available"}, &list); err != nil {
		return nil, err
	}
	return &list, nil
}
