//go:build anvil

package anvilcheck

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// BenchmarkAutoRegisterAnvil measures auto-registration on anvil as the CLI
// runs it: each op Dials (chain id check), makes a fresh Registrar with the
// JSON-RPC client and registers an app whose device and compose hash are
// both missing (two transactions, one receipt wait, the re-read). Besides
// ns/op it reports the slowest op (max-ms/op) and, for 1-second blocks, the
// goal of one block + 10% (goal-ms/op). Run it with a fixed count:
//
//	go test -tags anvil -run '^$' -bench AutoRegisterAnvil -benchtime 20x ./internal/anvilcheck/
func BenchmarkAutoRegisterAnvil(b *testing.B) {
	tests := []struct {
		name  string
		args  []string
		block time.Duration // 0: automine
		url   func(*Node) string
	}{
		{"automine/http", nil, 0, func(n *Node) string { return n.URL }},
		{"automine/ws", nil, 0, func(n *Node) string { return n.WSURL }},
		{"1s-blocks/http", []string{"--block-time", "1"}, time.Second, func(n *Node) string { return n.URL }},
		{"1s-blocks/ws", []string{"--block-time", "1"}, time.Second, func(n *Node) string { return n.WSURL }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			n := Start(b, tt.args...)
			owner := n.NewKey(b, Ether(1000))
			apps := make([]common.Address, b.N)
			for i := range apps {
				apps[i] = n.Deploy(b, owner, onchaintest.AppConfig{})
			}
			ctx := Ctx(b)
			var slowest time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: ChainID, RPCURL: tt.url(n)})
				if err != nil {
					b.Fatal(err)
				}
				r, err := onchain.NewRegistrar(ec, owner.Signer(), onchain.WithRPCClient(rc), onchain.WithCheckedChainID(ChainID))
				if err != nil {
					b.Fatal(err)
				}
				reg, err := r.EnsureRegistered(ctx, Prereq(apps[i], device, compose))
				if err != nil {
					b.Fatal(err)
				}
				if reg.DeviceTx == (common.Hash{}) || reg.ComposeHashTx == (common.Hash{}) {
					b.Fatalf("op %d sent %+v, want both writes", i, reg)
				}
				slowest = max(slowest, time.Since(start))
				ec.Close()
			}
			b.StopTimer()
			b.ReportMetric(float64(slowest)/float64(time.Millisecond), "max-ms/op")
			if tt.block > 0 {
				b.ReportMetric(float64(tt.block+tt.block/10)/float64(time.Millisecond), "goal-ms/op")
			}
		})
	}
}
