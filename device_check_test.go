package phala

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Devices of the workspace's nodes in the device tests: node 7 runs deviceHex.
const (
	device8       = "8888888888888888888888888888888888888888888888888888888888888888"
	foreignDevice = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
)

// testNode is one entry of a GET /teepods/available answer.
type testNode struct {
	id     int64
	name   string
	device string // "" = no device_id
}

// workspaceNodes are node 7 (deviceHex) and node 8 (device8).
var workspaceNodes = []testNode{{7, "prod-7", deviceHex}, {8, "prod-8", device8}}

// serveNodes answers GET /teepods/available with nodes.
func serveNodes(rec *recorder, mux *http.ServeMux, nodes ...testNode) {
	list := make([]any, len(nodes))
	for i, n := range nodes {
		o := map[string]any{"teepod_id": n.id, "name": n.name, "listed": true, "support_onchain_kms": true}
		if n.device != "" {
			o["device_id"] = n.device
		}
		list[i] = o
	}
	rec.handle(mux, "GET /teepods/available", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(map[string]any{"tier": "pro", "nodes": list}))
	})
}

// strictRegistrar fails the test if anything asks it to sign.
type strictRegistrar struct{ t *testing.T }

func (s strictRegistrar) EnsureRegistered(context.Context, *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	s.t.Error("EnsureRegistered was called for an unchecked payload")
	return nil, errors.New("must not be called")
}

// A 465 naming a device the caller did not choose is never signed: with the
// node given by ID, by name, or scheduled by the platform; for Replicate with
// a Registrar, PrepareReplica and Scale.
func TestForeignDeviceIsNeverSigned(t *testing.T) {
	t.Parallel()
	kms := "0x" + strings.Repeat("5", 40)
	tests := []struct {
		name       string
		device     string // in the 465
		nodes      []testNode
		node       string
		call       string // "replicate", "prepare", "scale"
		wantField  string // "device_id" for a mismatch, "" for unverified
		wantExpect string
		wantCands  []string
		wantLines  []string // after the POST and the GET of the source
	}{
		{name: "foreign device, node by ID", device: foreignDevice, nodes: workspaceNodes, node: "7", call: "replicate",
			wantField: "device_id", wantExpect: deviceHex, wantLines: []string{"GET /teepods/available"}},
		{name: "another workspace node's device, node by ID", device: device8, nodes: workspaceNodes, node: "7", call: "replicate",
			wantField: "device_id", wantExpect: deviceHex, wantLines: []string{"GET /teepods/available"}},
		{name: "another workspace node's device, node by name", device: device8, nodes: workspaceNodes, node: "PROD-7", call: "replicate",
			wantField: "device_id", wantExpect: deviceHex},
		{name: "foreign device, scheduled node", device: foreignDevice, nodes: workspaceNodes, call: "replicate",
			wantField: "device_id", wantCands: []string{deviceHex, device8}, wantLines: []string{"GET /teepods/available"}},
		{name: "foreign device, prepare only", device: foreignDevice, nodes: workspaceNodes, node: "7", call: "prepare",
			wantField: "device_id", wantExpect: deviceHex, wantLines: []string{"GET /teepods/available"}},
		{name: "foreign device, scale", device: "0x" + strings.ToUpper(foreignDevice), nodes: workspaceNodes, call: "scale",
			wantField: "device_id", wantCands: []string{deviceHex, device8}, wantLines: []string{"GET /teepods/available"}},
		{name: "chosen node not in the list", device: deviceHex, nodes: workspaceNodes[1:], node: "7", call: "replicate",
			wantLines: []string{"GET /teepods/available"}},
		{name: "chosen node lists no device", device: deviceHex, nodes: []testNode{{7, "prod-7", ""}}, node: "7", call: "replicate",
			wantLines: []string{"GET /teepods/available"}},
		{name: "no node lists a device, scheduled", device: deviceHex, nodes: []testNode{{7, "prod-7", ""}}, call: "prepare",
			wantLines: []string{"GET /teepods/available"}},
		{name: "node list unreadable", device: deviceHex, node: "7", call: "replicate",
			wantLines: []string{"GET /teepods/available"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHexID, hashA, tt.device, token, 8453, false, false))
			})
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
			})
			rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
				t.Error("nothing may be committed after a rejected payload")
			})
			if tt.nodes != nil {
				serveNodes(rec, mux, tt.nodes...)
			} else {
				rec.handle(mux, "GET /teepods/available", func(w http.ResponseWriter, r *http.Request, _ string) {
					apiError(w, http.StatusForbidden, "ERR-05-001", "forbidden")
				})
			}
			req := ReplicateRequest{Node: tt.node}
			var err error
			switch tt.call {
			case "replicate":
				req.Registrar = strictRegistrar{t}
				_, err = c.Replicate(context.Background(), srcUUID, req)
			case "prepare":
				var p *PreparedReplica
				p, err = c.PrepareReplica(context.Background(), srcUUID, req)
				assert.Nil(t, p, "no prepared replica to build a Safe batch from")
			case "scale":
				req.Registrar = strictRegistrar{t}
				var res []ScaleResult
				res, err = c.Scale(context.Background(), srcUUID, 3, req, ScaleOptions{})
				require.Len(t, res, 3)
				assert.Error(t, res[0].Err)
				assert.ErrorIs(t, res[1].Err, ErrNotAttempted, "Scale stops at the rejected payload")
			}
			require.Error(t, err)
			var pre *ErrOnchainPrerequisite
			assert.False(t, errors.As(err, &pre), "a rejected payload must not be usable as a prerequisite")
			assert.Contains(t, err.Error(), "nothing was signed")
			assert.NotContains(t, err.Error(), token)
			if tt.wantField != "" {
				var mm *PayloadMismatchError
				require.ErrorAs(t, err, &mm)
				assert.ErrorIs(t, err, ErrPayloadMismatch)
				assert.Equal(t, tt.wantField, mm.Field)
				assert.Equal(t, tt.device, mm.Payload)
				assert.Equal(t, tt.wantExpect, mm.Expected)
				assert.Equal(t, tt.wantCands, mm.Candidates)
				assert.Contains(t, err.Error(), tt.device)
				if tt.wantExpect != "" {
					assert.Contains(t, err.Error(), tt.wantExpect)
				}
				for _, d := range tt.wantCands {
					assert.Contains(t, err.Error(), d)
				}
			} else {
				var un *DeviceUnverifiedError
				require.ErrorAs(t, err, &un)
				assert.ErrorIs(t, err, ErrDeviceUnverified)
				assert.NotErrorIs(t, err, ErrPayloadMismatch)
				assert.Equal(t, tt.device, un.DeviceID)
			}
			lines := rec.lines()
			if tt.node != "" && tt.node != "7" {
				// The node was resolved by name: its list is reused.
				require.NotEmpty(t, lines)
				assert.Equal(t, "GET /teepods/available", lines[0])
				lines = lines[1:]
			}
			want := append([]string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID}, tt.wantLines...)
			assert.Equal(t, want, lines, "one node list per call, no commit")
		})
	}
}

// The device of the node asked for (by ID, any hex form) and, for a
// scheduled node, of any available node passes; Scale reads the list once.
func TestOwnDevicePasses(t *testing.T) {
	t.Parallel()
	kms := "0x" + strings.Repeat("5", 40)
	tests := []struct {
		name   string
		device string
		node   string
		n      int
	}{
		{"node by ID, 0x and upper case", "0x" + strings.ToUpper(deviceHex), "7", 1},
		{"scheduled, the other node", device8, "", 1},
		{"scale on a fixed node reads the list once", deviceHex, "7", 3},
		{"scale scheduled reads the list once", device8, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			var posts atomic.Int32
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHexID, hashA, tt.device, token+string(rune('a'+posts.Add(1))), 8453, false, false))
			})
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
			})
			rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
			})
			serveNodes(rec, mux, workspaceNodes...)
			reg := &fakeRegistrar{reg: &onchain.Registration{}}
			res, err := c.Scale(context.Background(), srcUUID, tt.n, ReplicateRequest{Node: tt.node, Registrar: reg}, ScaleOptions{})
			require.NoError(t, err)
			require.Len(t, res, tt.n)
			assert.Equal(t, tt.n, reg.count())
			nodeReads := 0
			for _, l := range rec.lines() {
				if l == "GET /teepods/available" {
					nodeReads++
				}
			}
			assert.Equal(t, 1, nodeReads, "one GET /teepods/available per replication")
		})
	}
}

// The chain is checked against the source even when nothing else needed the
// source (ReplicateAppInstance with a compose hash), before any signature; a
// payload naming no chain gets the source's.
func TestChainCheckedWithoutPriorSourceFetch(t *testing.T) {
	t.Parallel()
	kms := "0x" + strings.Repeat("5", 40)
	post := "POST /apps/" + appHexID + "/cvms/" + srcUUID + "/replicas"

	t.Run("payload chain differs from the source's", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /apps/{app}/cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 1, false, false))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		serveNodes(rec, mux, workspaceNodes...)
		_, err := c.ReplicateAppInstance(context.Background(), appHexID, srcUUID,
			ReplicateRequest{Node: "7", ComposeHash: hashA, Registrar: strictRegistrar{t}})
		var mm *PayloadMismatchError
		require.ErrorAs(t, err, &mm)
		assert.Equal(t, "kms_info.chain_id", mm.Field)
		assert.Equal(t, "1", mm.Payload)
		assert.Equal(t, "8453", mm.Expected)
		assert.Equal(t, []string{post, "GET /cvms/" + srcUUID}, rec.lines(), "the source is read once, the device list not needed")
	})

	t.Run("payload with no chain gets the source's", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /apps/{app}/cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			body := prepareBody(appHexID, hashA, deviceHex, token, 0, false, false)
			writeJSON(w, 465, strings.Replace(body, `"chain_id":0,`, "", 1))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
		})
		serveNodes(rec, mux, workspaceNodes...)
		reg := &fakeRegistrar{reg: &onchain.Registration{}}
		_, err := c.ReplicateAppInstance(context.Background(), appHexID, srcUUID,
			ReplicateRequest{Node: "7", ComposeHash: hashA, Registrar: reg})
		require.NoError(t, err)
		require.Equal(t, 1, reg.count())
		require.NotNil(t, reg.calls[0].KMSInfo)
		assert.Equal(t, uint64(8453), reg.calls[0].KMSInfo.ChainID, "the Registrar checks its chain against the source's")
	})
}

// With the real Registrar on a simulated chain, a 465 naming a device the
// caller did not choose sends no transaction; one differing in chain, with no
// earlier read of the source, neither.
func TestLyingPrerequisiteSendsNoTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(10 * time.Millisecond))
	t.Cleanup(func() { chain.Close() })
	app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
	require.NoError(t, err)
	appHex := strings.ToLower(app.Hex()[2:])
	registrar, err := onchain.NewRegistrar(chain.Client, chain.Transactor(0), onchain.WithPollInterval(10*time.Millisecond))
	require.NoError(t, err)
	kms := "0x" + strings.Repeat("5", 40)

	tests := []struct {
		name    string
		device  string
		chainID int
		node    string
		appInst bool
		field   string
	}{
		{"foreign device", foreignDevice, onchaintest.ChainID, "7", false, "device_id"},
		{"another node's device", device8, onchaintest.ChainID, "7", false, "device_id"},
		{"foreign device, scheduled", foreignDevice, onchaintest.ChainID, "", false, "device_id"},
		{"other chain, source never fetched", deviceHex, 8453, "7", true, "kms_info.chain_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, rec := setupRec(t)
			pattern := "POST /cvms/{uuid}/replicas"
			if tt.appInst {
				pattern = "POST /apps/{app}/cvms/{uuid}/replicas"
			}
			rec.handle(mux, pattern, func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHex, hashA, tt.device, token, tt.chainID, false, false))
			})
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHex, hashA, onchainKMS(onchaintest.ChainID, kms))))
			})
			serveNodes(rec, mux, workspaceNodes...)
			nonce, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
			require.NoError(t, err)

			req := ReplicateRequest{Node: tt.node, Registrar: registrar}
			if tt.appInst {
				req.ComposeHash = hashA
				_, err = c.ReplicateAppInstance(ctx, appHex, srcUUID, req)
			} else {
				_, err = c.Replicate(ctx, srcUUID, req)
			}
			var mm *PayloadMismatchError
			require.ErrorAs(t, err, &mm)
			assert.Equal(t, tt.field, mm.Field)
			after, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
			require.NoError(t, err)
			assert.Equal(t, nonce, after, "no transaction was sent")
		})
	}
}

// The multisig path: a PrepareReplica whose 465 names a foreign device gives no
// PreparedReplica, so no Safe batch can be built from it; the device of the
// chosen node gives one whose batch adds exactly that device.
func TestPreparedBatchHoldsOnlyTheChosenDevice(t *testing.T) {
	t.Parallel()
	kms := "0x" + strings.Repeat("5", 40)
	for _, tt := range []struct {
		name   string
		device string
		ok     bool
	}{{"chosen device", deviceHex, true}, {"foreign device", foreignDevice, false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHexID, hashA, tt.device, token, 8453, true, false))
			})
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
			})
			serveNodes(rec, mux, workspaceNodes...)
			p, err := c.PrepareReplica(context.Background(), srcUUID, ReplicateRequest{Node: "prod-7"})
			if !tt.ok {
				require.ErrorIs(t, err, ErrPayloadMismatch)
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			batch, err := onchain.SafeTransactions(p.Prerequisite(), 0)
			require.NoError(t, err)
			require.Len(t, batch.Transactions, 1)
			assert.Equal(t, "addDevice", batch.Transactions[0].ContractMethod.Name)
			b, err := json.Marshal(batch)
			require.NoError(t, err)
			assert.Contains(t, strings.ToLower(string(b)), deviceHex)
			assert.NotContains(t, strings.ToLower(string(b)), device8)
		})
	}
}
