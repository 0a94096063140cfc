package phala_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

func nodesServer(t *testing.T, status int, body string) *phala.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/teepods/available" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := phala.NewClient(phala.WithAPIKey("phak_test"), phala.WithBaseURL(srv.URL+"/api/v1"),
		phala.WithRetryPolicy(phala.RetryPolicy{MaxAttempts: 1}))
	require.NoError(t, err)
	return c
}

func TestListNodesDecodesTheWireAnswer(t *testing.T) {
	body := `{"tier":"pro","capacity":{"max_instances":10,"max_vcpu":"64","max_memory":null},
	  "nodes":[
	    {"teepod_id":7,"name":"prod7","listed":true,"resource_score":0.5,"remaining_vcpu":12,
	     "remaining_memory":4096,"remaining_cvm_slots":0,"region_identifier":"us-west",
	     "support_onchain_kms":true,"fmspc":null,"device_id":"0xabc","default_kms":"kms-phala",
	     "kms_list":["kms-phala","kms-base"],"dedicated_for_team_id":null,
	     "images":[{"name":"dstack-0.5.3","is_dev":false,"version":[0,5,3],"os_image_hash":"aa"}],
	     "new_field":{"x":1}},
	    {"id":"9","name":"eu1","listed":false,"remaining_cvm_slots":"3"},
	    "not an object",
	    {"name":"bare"}],
	  "kms_list":[{"id":"kms-base","slug":"base","url":"https://kms","version":"v1","chain_id":8453,
	     "kms_contract_address":"0x01","gateway_app_id":null}],
	  "later":true}`
	c := nodesServer(t, http.StatusOK, body)

	list, err := c.ListNodes(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "pro", list.Tier)
	require.NotNil(t, list.Capacity)
	require.NotNil(t, list.Capacity.MaxVCPU)
	assert.EqualValues(t, 64, *list.Capacity.MaxVCPU, "numbers sent as strings are accepted")
	assert.Nil(t, list.Capacity.MaxMemoryMB)
	require.Len(t, list.Nodes, 3, "an entry that is not an object is dropped, not fatal")
	assert.Contains(t, string(list.Extra["invalid_nodes"]), "not an object")
	assert.Contains(t, list.Extra, "later", "unknown top-level fields are kept")

	n := list.Nodes[0]
	assert.EqualValues(t, 7, n.ID)
	assert.Equal(t, "prod7", n.Name)
	assert.Equal(t, "us-west", n.Region)
	assert.Equal(t, "0xabc", n.DeviceID)
	assert.True(t, n.SupportsOnchainKMS)
	assert.Equal(t, []string{"kms-phala", "kms-base"}, n.KMSList)
	require.NotNil(t, n.RemainingCVMSlots)
	assert.False(t, n.HasRoom(), "remaining_cvm_slots 0 means no room")
	require.Len(t, n.Images, 1)
	assert.Equal(t, []int{0, 5, 3}, n.Images[0].Version)
	assert.JSONEq(t, `{"x":1}`, string(n.Extra["new_field"]))

	assert.EqualValues(t, 9, list.Nodes[1].ID, "id is used when teepod_id is absent")
	assert.True(t, list.Nodes[1].HasRoom())
	assert.True(t, list.Nodes[2].HasRoom(), "no capacity hint: assume room")
	assert.Zero(t, list.Nodes[2].ID)

	require.Len(t, list.KMSList, 1)
	assert.EqualValues(t, 8453, list.KMSList[0].ChainID)

	assert.Equal(t, "prod7", list.ByID(7).Name)
	assert.Nil(t, list.ByID(8))
	assert.Len(t, list.ByName("PROD7"), 1)
	assert.Len(t, list.InRegion("US-WEST"), 1)
	assert.Empty(t, list.InRegion("eu"))

	out, err := json.Marshal(list.Nodes[0])
	require.NoError(t, err)
	assert.Contains(t, string(out), `"region_identifier":"us-west"`)
}

func TestListNodesErrors(t *testing.T) {
	t.Run("api error", func(t *testing.T) {
		c := nodesServer(t, http.StatusForbidden, `{"detail":{"error_code":"ERR-03-005","message":"denied"}}`)
		_, err := c.ListNodes(context.Background())
		var apiErr *phala.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	})
	t.Run("not an object", func(t *testing.T) {
		c := nodesServer(t, http.StatusOK, `[1,2]`)
		_, err := c.ListNodes(context.Background())
		require.Error(t, err)
		assert.True(t, errors.Is(err, phala.ErrUnexpectedBody), "got %v", err)
	})
}

func TestListNodesAgainstEmulator(t *testing.T) {
	srv := phalatest.NewServer()
	defer srv.Close()
	srv.AddNode(phalatest.Node{ID: 41, Name: "eu-a", Region: "eu-central", Slots: 2})
	c, err := srv.Client()
	require.NoError(t, err)
	list, err := c.ListNodes(context.Background())
	require.NoError(t, err)
	n := list.ByID(41)
	require.NotNil(t, n)
	assert.Equal(t, "eu-central", n.Region)
	assert.NotEmpty(t, n.DeviceID)
	require.NotNil(t, n.RemainingCVMSlots)
	assert.EqualValues(t, 2, *n.RemainingCVMSlots)
}

// A node list that contradicts itself is refused rather than guessed at; an
// identical repeat is one node; nodes without an id are not duplicates.
func TestNodeListDuplicatesAndShape(t *testing.T) {
	dev := func(b string) string { return `"0x` + strings.Repeat(b, 32) + `"` }
	tests := []struct {
		name  string
		nodes string
		ids   []int64
		fails bool
	}{
		{"identical repeat", `[{"teepod_id":5,"name":"a","device_id":` + dev("aa") + `},{"teepod_id":5,"name":"A","device_id":` + dev("AA") + `}]`, []int64{5}, false},
		{"another device", `[{"teepod_id":5,"name":"a","device_id":` + dev("aa") + `},{"teepod_id":5,"name":"a","device_id":` + dev("bb") + `}]`, nil, true},
		{"another name", `[{"teepod_id":5,"name":"a"},{"id":5,"name":"b"}]`, nil, true},
		{"another region", `[{"teepod_id":5,"name":"a","region_identifier":"x"},{"teepod_id":5,"name":"a","region_identifier":"y"}]`, nil, true},
		{"no ids", `[{"name":"a"},{"name":"b"}]`, []int64{0, 0}, false},
		{"nodes not an array", `"a"`, nil, true},
		{"nodes an object", `{"teepod_id":5}`, nil, true},
		{"nodes null", `null`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l phala.NodeList
			err := json.Unmarshal([]byte(`{"tier":"free","nodes":`+tt.nodes+`}`), &l)
			if tt.fails {
				require.Error(t, err)
				c := nodesServer(t, http.StatusOK, `{"nodes":`+tt.nodes+`}`)
				_, err := c.ListNodes(context.Background())
				assert.ErrorIs(t, err, phala.ErrUnexpectedBody)
				return
			}
			require.NoError(t, err)
			var ids []int64
			for _, n := range l.Nodes {
				ids = append(ids, n.ID)
			}
			assert.Equal(t, tt.ids, ids)
		})
	}
}
