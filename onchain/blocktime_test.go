package onchain

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

func header(number, unix uint64) *blockRef {
	return &blockRef{Number: (*hexutil.Big)(new(big.Int).SetUint64(number)), Time: hexutil.Uint64(unix)}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestEstimateBlockTime: the mean block time between two headers, kept
// within 100 ms..30 s; headers that cannot tell are reported as such.
func TestEstimateBlockTime(t *testing.T) {
	tests := []struct {
		name         string
		newer, older *blockRef
		want         time.Duration
		ok           bool
	}{
		{name: "parent, 2 s apart", newer: header(101, 1_000_002), older: header(100, 1_000_000), want: 2 * time.Second, ok: true},
		{name: "16 blocks, 12 s apart", newer: header(116, 1_000_192), older: header(100, 1_000_000), want: 12 * time.Second, ok: true},
		{name: "16 blocks in 4 s: 250 ms", newer: header(116, 1_000_004), older: header(100, 1_000_000), want: 250 * time.Millisecond, ok: true},
		{name: "16 blocks in 1 s: clamped up", newer: header(116, 1_000_001), older: header(100, 1_000_000), want: 100 * time.Millisecond, ok: true},
		{name: "huge gap: clamped down", newer: header(101, 1_000_000+86_400), older: header(100, 1_000_000), want: 30 * time.Second, ok: true},
		{name: "gap beyond any duration", newer: header(101, 1<<62), older: header(100, 0), want: 30 * time.Second, ok: true},
		{name: "same timestamp", newer: header(101, 1_000_000), older: header(100, 1_000_000)},
		{name: "parent in the future", newer: header(101, 1_000_000), older: header(100, 1_000_005)},
		{name: "same block", newer: header(100, 1_000_002), older: header(100, 1_000_000)},
		{name: "older above newer", newer: header(100, 1_000_002), older: header(101, 1_000_000)},
		{name: "older missing", newer: header(101, 1_000_002)},
		{name: "older without number", newer: header(101, 1_000_002), older: &blockRef{Time: 1_000_000}},
		{name: "newer missing", older: header(100, 1_000_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := estimateBlockTime(tt.newer, tt.older)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// TestBlockTimeMeasured: on a chain the package does not know, without
// WithBlockTime, the Registrar measures the block time from the latest
// block its status batch read and a header below it (read in the first
// receipt poll), and paces its polls with it; headers that cannot tell
// leave the 2-second default.
func TestBlockTimeMeasured(t *testing.T) {
	// Blocks committed faster than one a second get timestamps one second
	// apart on the simulated chain: the block time it shows is 1 s.
	chain := newChain(t, onchaintest.WithHTTP(), onchaintest.WithAutoCommit(5*time.Millisecond))
	for range 3 {
		chain.Commit()
	}
	tests := []struct {
		name    string
		opts    []Option
		want    time.Duration
		headers int // header reads in receipt polls
	}{
		{name: "measured", want: time.Second, headers: 1},
		{name: "WithBlockTime: nothing to measure", opts: []Option{WithBlockTime(300 * time.Millisecond)}, want: 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{})
			counter, url := newRPCCounter(t, chain.URL())
			rc, err := rpc.DialContext(ctx, url)
			require.NoError(t, err)
			defer rc.Close()
			r, err := NewRegistrar(chain.Client, chain.Transactor(0), append(tt.opts, WithRPCClient(rc))...)
			require.NoError(t, err)
			_, err = r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
			require.NoError(t, err)

			assert.Equal(t, tt.want, r.blockTime())
			_, _, _, pollHeaders := counter.split()
			assert.Equal(t, tt.headers, sum(pollHeaders), "header reads per poll: %v", pollHeaders)
			// The poll cap follows: a sixteenth of the block time for two
			// blocks, then the block time.
			p := r.newPacer()
			assert.Equal(t, min(max(tt.want/16, firstPoll), tt.want), p.fine)
			assert.Equal(t, tt.want, p.slow)
		})
	}

	t.Run("headers that cannot tell: 2 s", func(t *testing.T) {
		r, err := NewRegistrar(chain.Client, chain.Transactor(0), WithRPCClient(chain.RPCClient()))
		require.NoError(t, err)
		r.sawHead(header(20, 1_000_000))
		p := r.newProbe()
		require.NotNil(t, p)
		assert.Equal(t, []any{"0x4", false}, p.elem[0].Args, "16 blocks below the latest")
		p.older = header(4, 1_000_000) // same timestamp
		r.learn(testCtx(t), p)
		assert.Equal(t, 2*time.Second, r.blockTime())
		assert.Equal(t, 2*time.Second, r.pollCap())
		assert.Nil(t, r.newProbe(), "measured once")
	})
}
