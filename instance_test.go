package phala_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The replica Replicate returns (a VM) and the same replica read back by GetCVM,
// ListReplicas and WaitForReplica (a CVM) give one Instance: same node id and
// name, app id, compose hash and vm_uuid.
func TestInstanceIsTheSameFromVMAndCVM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(0, 0))
	t.Cleanup(srv.Close)
	srv.AddNode(phalatest.Node{Name: "tdx-1"})
	node := srv.AddNode(phalatest.Node{Name: "tdx-2"})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID})
	c, err := srv.Client()
	require.NoError(t, err)

	vm, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{NodeID: int64(node.ID)})
	require.NoError(t, err)
	fromVM := vm.Instance()
	assert.Equal(t, phala.Instance{
		VMUUID: vm.VMUUID, Name: vm.Name, AppID: app.ID, ComposeHash: app.ComposeHash,
		Status: vm.Status, NodeID: int64(node.ID), NodeName: "tdx-2",
	}, fromVM)

	got, err := c.GetCVM(ctx, vm.VMUUID)
	require.NoError(t, err)
	waited, err := c.WaitForReplica(ctx, vm.VMUUID, phala.WaitOptions{})
	require.NoError(t, err)
	list, err := c.ListReplicas(ctx, app.ID)
	require.NoError(t, err)
	var listed *phala.CVM
	for _, cvm := range list {
		if cvm.Instance().VMUUID == fromVM.VMUUID {
			listed = cvm
		}
	}
	require.NotNil(t, listed, "the replica is listed")

	for name, cvm := range map[string]*phala.CVM{"GetCVM": got, "WaitForReplica": waited, "ListReplicas": listed} {
		in := cvm.Instance()
		in.Status = fromVM.Status // the status moves on; everything else is the same
		assert.Equal(t, fromVM, in, name)
	}
}

func TestInstanceNormalisesIdentifiers(t *testing.T) {
	t.Parallel()
	const (
		uuid = "9c8b7a69-5847-4362-a150-f1e2d3c4b5a6"
		app  = "7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d"
		hash = "3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a"
	)
	want := phala.Instance{VMUUID: uuid, AppID: app, ComposeHash: hash, NodeID: 7, NodeName: "prod-7"}
	tests := []struct {
		name string
		got  phala.Instance
		want phala.Instance
	}{
		{"VM with teepod fields",
			(&phala.VM{VMUUID: strings.ToUpper(uuid), AppID: "0x" + strings.ToUpper(app), ComposeHash: "0x" + hash,
				TeepodID: 7, TeepodName: "prod-7"}).Instance(), want},
		{"VM with only the teepod object",
			(&phala.VM{VMUUID: strings.ReplaceAll(uuid, "-", ""), AppID: "app_" + app, ComposeHash: strings.ToUpper(hash),
				Teepod: &phala.Teepod{ID: 7, Name: "prod-7"}}).Instance(), want},
		{"CVM",
			(&phala.CVM{VMUUID: uuid, AppID: app, ComposeHash: hash, NodeInfo: &phala.NodeInfo{ID: 7, Name: "prod-7"}}).Instance(), want},
		{"CVM boot error",
			(&phala.CVM{VMUUID: uuid, Status: "error", BootError: "bad env"}).Instance(),
			phala.Instance{VMUUID: uuid, Status: "error", BootError: "bad env"}},
		{"malformed values kept as sent",
			(&phala.CVM{VMUUID: "not-a-uuid", AppID: "xyz", ComposeHash: "0xabc"}).Instance(),
			phala.Instance{VMUUID: "not-a-uuid", AppID: "xyz", ComposeHash: "0xabc"}},
		{"nil VM", (*phala.VM)(nil).Instance(), phala.Instance{}},
		{"nil CVM", (*phala.CVM)(nil).Instance(), phala.Instance{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

// ReplicateRequest.NodeID takes the numeric id the SDK's types carry, and is
// sent as node_id without a node lookup.
func TestReplicateNodeID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := phalatest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddNode(phalatest.Node{Name: "tdx-1"})
	node := srv.AddNode(phalatest.Node{Name: "tdx-2"})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID})
	c, err := srv.Client()
	require.NoError(t, err)

	first, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{NodeID: int64(node.ID)})
	require.NoError(t, err)
	assert.Equal(t, int64(node.ID), first.Instance().NodeID)
	// A replica next to an existing one: the node id read back goes straight in.
	second, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{NodeID: first.Instance().NodeID})
	require.NoError(t, err)
	assert.Equal(t, int64(node.ID), second.TeepodID)
	assert.Equal(t, []string{"POST /cvms/" + src.VMUUID + "/replicas", "POST /cvms/" + src.VMUUID + "/replicas"},
		requestLines(srv), "a node id needs no GET /teepods/available")

	// The request prints, logs and marshals with its node id.
	req := phala.ReplicateRequest{NodeID: 7}
	raw, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"node_id":7,"registrar":false}`, string(raw))
	assert.Contains(t, req.String(), "NodeID: 7")

	bad := []struct {
		name string
		req  phala.ReplicateRequest
	}{
		{"negative", phala.ReplicateRequest{NodeID: -1}},
		{"with a node name", phala.ReplicateRequest{NodeID: 2, Node: "tdx-2"}},
		{"with a node id string", phala.ReplicateRequest{NodeID: 2, Node: "2"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Requests())
			_, err := c.Replicate(ctx, src.VMUUID, tt.req)
			require.ErrorIs(t, err, phala.ErrInvalidArgument)
			var ia *phala.InvalidArgumentError
			require.ErrorAs(t, err, &ia)
			assert.Equal(t, "NodeID", ia.Arg)
			assert.Len(t, srv.Requests(), before, "nothing is sent")
		})
	}
}
