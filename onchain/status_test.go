package onchain

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

func TestStatus(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	device := common.HexToHash("0xde01")
	compose := common.HexToHash("0xc001")
	other := common.HexToHash("0x0123")

	tests := []struct {
		name   string
		cfg    onchaintest.AppConfig
		device common.Hash
		want   AppStatus
	}{
		{"nothing allowed", onchaintest.AppConfig{}, device,
			AppStatus{}},
		{"compose hash only", onchaintest.AppConfig{ComposeHash: compose}, device,
			AppStatus{ComposeHashAllowed: true}},
		{"device only", onchaintest.AppConfig{DeviceID: device}, device,
			AppStatus{DeviceIDAllowed: true, DeviceListed: true}},
		{"both", onchaintest.AppConfig{DeviceID: device, ComposeHash: compose}, device,
			AppStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, DeviceListed: true, IsAllowed: true}},
		{"another device listed", onchaintest.AppConfig{DeviceID: other, ComposeHash: compose}, device,
			AppStatus{ComposeHashAllowed: true}},
		{"any device", onchaintest.AppConfig{AllowAnyDevice: true, ComposeHash: compose}, device,
			AppStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, AllowAnyDevice: true, IsAllowed: true}},
		{"any device, zero device id", onchaintest.AppConfig{AllowAnyDevice: true, ComposeHash: compose}, common.Hash{},
			AppStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, AllowAnyDevice: true, IsAllowed: true}},
		{"v2 requiring up-to-date TCB", onchaintest.AppConfig{RequireTCBUpToDate: true, ComposeHash: compose, DeviceID: device}, device,
			AppStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, DeviceListed: true, IsAllowed: true, RequireTCBUpToDate: true}},
		{"v1 contract", onchaintest.AppConfig{Legacy: true, ComposeHash: compose, DeviceID: device}, device,
			AppStatus{ComposeHashAllowed: true, DeviceIDAllowed: true, DeviceListed: true, IsAllowed: true}},
	}
	for _, tt := range tests {
		app := deployApp(t, chain, tt.cfg)
		for _, mode := range []struct {
			name string
			opts []Option
		}{
			{"sequential", nil},
			{"batched", []Option{WithRPCClient(chain.RPCClient())}},
		} {
			t.Run(tt.name+"/"+mode.name, func(t *testing.T) {
				head, err := chain.Client.BlockNumber(ctx)
				require.NoError(t, err)
				got, err := Status(ctx, chain.Client, app, tt.device, compose, mode.opts...)
				require.NoError(t, err)
				want := tt.want
				want.Block = head
				assert.Equal(t, want, *got)
				assert.Equal(t, OnchainStatus{want.ComposeHashAllowed, want.DeviceIDAllowed, want.IsAllowed}, got.OnchainStatus())
			})
		}
	}
}

func TestStatusReadsOneBlock(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	d := NewDstackApp()
	device := common.HexToHash("0xde02")
	compose := common.HexToHash("0xc002")
	app := deployApp(t, chain, onchaintest.AppConfig{})
	before, err := chain.Client.BlockNumber(ctx)
	require.NoError(t, err)

	transact(t, chain, 0, app, d.PackAddComposeHash(compose))
	transact(t, chain, 0, app, d.PackAddDevice(device))

	for _, opts := range [][]Option{nil, {WithRPCClient(chain.RPCClient())}} {
		old, err := Status(ctx, chain.Client, app, device, compose, append(opts, AtBlock(before))...)
		require.NoError(t, err)
		assert.Equal(t, AppStatus{Block: before}, *old, "reads at the pinned block ignore later writes")

		now, err := Status(ctx, chain.Client, app, device, compose, opts...)
		require.NoError(t, err)
		assert.True(t, now.IsAllowed)
		assert.Equal(t, before+2, now.Block)
	}
}

func TestStatusNotADstackApp(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	kms, err := chain.DeployDstackKms(ctx, chain.Transactor(0), onchaintest.KMSInfo{})
	require.NoError(t, err)
	for name, addr := range map[string]common.Address{
		"account without code": chain.Accounts[1].Address,
		"other contract":       kms,
	} {
		for _, opts := range [][]Option{nil, {WithRPCClient(chain.RPCClient())}} {
			_, err := Status(ctx, chain.Client, addr, common.Hash{}, common.Hash{}, opts...)
			assert.ErrorIs(t, err, ErrNotDstackApp, name)
		}
	}
}

func TestStatusBadOptions(t *testing.T) {
	_, err := Status(context.Background(), nil, common.Address{}, common.Hash{}, common.Hash{}, WithRPCClient(nil))
	assert.ErrorContains(t, err, "nil client")
	_, err = Status(context.Background(), nil, common.Address{}, common.Hash{}, common.Hash{})
	assert.ErrorContains(t, err, "nil reader")
}

func TestStatusContextCanceled(t *testing.T) {
	chain := newChain(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, opts := range [][]Option{nil, {WithRPCClient(chain.RPCClient())}, {AtBlock(1)}} {
		_, err := Status(ctx, chain.Client, app, common.Hash{}, common.Hash{}, opts...)
		assert.ErrorIs(t, err, context.Canceled)
	}
}

// cancelingReader answers each read, then cancels the caller's context:
// the answer and the cancellation race, as they may inside go-ethereum's
// client.
type cancelingReader struct {
	StatusReader
	cancel context.CancelFunc
}

func (r cancelingReader) HeaderByNumber(_ context.Context, n *big.Int) (*types.Header, error) {
	defer r.cancel()
	return r.StatusReader.HeaderByNumber(context.Background(), n)
}

func (r cancelingReader) CallContract(_ context.Context, msg ethereum.CallMsg, n *big.Int) ([]byte, error) {
	defer r.cancel()
	return r.StatusReader.CallContract(context.Background(), msg, n)
}

// cancelingTransport reads each whole answer, then cancels the caller's
// context before handing the answer over.
type cancelingTransport struct {
	cancel context.CancelFunc
}

func (c cancelingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	defer c.cancel()
	resp, err := http.DefaultTransport.RoundTrip(r.Clone(context.Background()))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// A status whose answers arrive as the context is canceled is not
// reported: the caller gave up.
func TestStatusCanceledWhileAnswering(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP())
	app := deployApp(t, chain, onchaintest.AppConfig{})
	tests := []struct {
		name    string
		batched bool
		opts    []Option
	}{
		{"sequential", false, nil},
		{"sequential at a block", false, []Option{AtBlock(1)}},
		{"batched", true, nil},
		{"batched at a block", true, []Option{AtBlock(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var reader StatusReader = cancelingReader{StatusReader: chain.Client, cancel: cancel}
			opts := tt.opts
			if tt.batched {
				rc, err := rpc.DialOptions(context.Background(), chain.URL(), rpc.WithHTTPClient(&http.Client{Transport: cancelingTransport{cancel}}))
				require.NoError(t, err)
				defer rc.Close()
				reader, opts = nil, append([]Option{WithRPCClient(rc)}, opts...)
			}
			st, err := Status(ctx, reader, app, common.Hash{}, common.Hash{}, opts...)
			assert.Nil(t, st)
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
}

// countingTransport counts HTTP requests, i.e. JSON-RPC round trips.
type countingTransport struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// dialCounting connects to the chain's HTTP endpoint through a request
// counter.
func dialCounting(t testing.TB, chain *onchaintest.Chain) (*ethclient.Client, *rpc.Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{base: http.DefaultTransport}
	rc, err := rpc.DialOptions(context.Background(), chain.URL(), rpc.WithHTTPClient(&http.Client{Transport: ct}))
	require.NoError(t, err)
	t.Cleanup(rc.Close)
	return ethclient.NewClient(rc), rc, ct
}

func TestStatusRoundTrips(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP())
	app := deployApp(t, chain, onchaintest.AppConfig{ComposeHash: common.HexToHash("0xc3")})
	client, rc, ct := dialCounting(t, chain)
	ctx := testCtx(t)

	tests := []struct {
		name string
		opts []Option
		want int64
	}{
		{"sequential", nil, 5},                                             // header + 4 eth_call
		{"sequential at a block", []Option{AtBlock(1)}, 4},                 // 4 eth_call
		{"batched", []Option{WithRPCClient(rc)}, 1},                        // 1 batch: block, calls, block
		{"batched at a block", []Option{WithRPCClient(rc), AtBlock(1)}, 1}, // 1 batch
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct.n.Store(0)
			st, err := Status(ctx, client, app, common.Hash{}, common.HexToHash("0xc3"), tt.opts...)
			require.NoError(t, err)
			assert.True(t, st.ComposeHashAllowed)
			assert.Equal(t, tt.want, ct.n.Load(), "HTTP round trips")
			t.Logf("%s: %d round trips", tt.name, ct.n.Load())
		})
	}
}

func BenchmarkStatus(b *testing.B) {
	chain := newChain(b, onchaintest.WithHTTP())
	app := deployApp(b, chain, onchaintest.AppConfig{ComposeHash: common.HexToHash("0xc3")})
	client, rc, ct := dialCounting(b, chain)
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		opts []Option
	}{
		{"sequential", nil},
		{"batched", []Option{WithRPCClient(rc)}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ct.n.Store(0)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Status(ctx, client, app, common.Hash{}, common.HexToHash("0xc3"), bb.opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ct.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

// blockMidBatch is an HTTP transport that, once, sends a JSON-RPC batch in
// two parts and mines a block on the chain between them: the last element
// sees a block the others did not, as when a block arrives while a node
// works through a batch.
type blockMidBatch struct {
	chain *onchaintest.Chain
	base  http.RoundTripper
	done  atomic.Bool
	n     atomic.Int64 // requests from the client
}

func (b *blockMidBatch) RoundTrip(r *http.Request) (*http.Response, error) {
	b.n.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var batch []json.RawMessage
	if json.Unmarshal(body, &batch) != nil || len(batch) < 3 || b.done.Swap(true) {
		return b.base.RoundTrip(withBody(r, body))
	}
	first, err := b.send(r, batch[:len(batch)-1])
	if err != nil {
		return nil, err
	}
	b.chain.Commit()
	last, err := b.send(r, batch[len(batch)-1:])
	if err != nil {
		return nil, err
	}
	merged, err := json.Marshal(append(first, last...))
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(merged)), ContentLength: int64(len(merged)), Request: r}, nil
}

func (b *blockMidBatch) send(r *http.Request, part []json.RawMessage) ([]json.RawMessage, error) {
	body, err := json.Marshal(part)
	if err != nil {
		return nil, err
	}
	resp, err := b.base.RoundTrip(withBody(r, body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func withBody(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	return c
}

func TestStatusBatchedBlockArrivesMidBatch(t *testing.T) {
	chain := newChain(t, onchaintest.WithHTTP())
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	compose := common.HexToHash("0xc4")
	// Pending until the block mined inside the batch.
	_, err := chain.Transact(ctx, chain.Transactor(0), app, NewDstackApp().PackAddComposeHash(compose))
	require.NoError(t, err)

	tr := &blockMidBatch{chain: chain, base: http.DefaultTransport}
	rc, err := rpc.DialOptions(ctx, chain.URL(), rpc.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	t.Cleanup(rc.Close)
	head, err := chain.Client.BlockNumber(ctx)
	require.NoError(t, err)

	st, err := Status(ctx, nil, app, common.Hash{}, compose, WithRPCClient(rc))
	require.NoError(t, err)
	assert.True(t, tr.done.Load(), "the batch was split")
	assert.Equal(t, head+1, st.Block, "the newer block")
	assert.True(t, st.ComposeHashAllowed, "values read again at the newer block, not the stale ones")
	assert.Equal(t, int64(2), tr.n.Load(), "one extra round trip")

	// Without a new block, one round trip.
	tr.n.Store(0)
	st, err = Status(ctx, nil, app, common.Hash{}, compose, WithRPCClient(rc))
	require.NoError(t, err)
	assert.Equal(t, head+1, st.Block)
	assert.True(t, st.ComposeHashAllowed)
	assert.Equal(t, int64(1), tr.n.Load())
}
