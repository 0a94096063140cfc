package phala_test

import (
	"context"
	"testing"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/phalatest"
)

// BenchmarkVerifyReplicaAt50msLatency is what --verify adds to a replication: one
// VerifyReplica (GET /cvms/{id} and GET /cvms/{id}/attestation, then the checks)
// against the emulator with 50 ms of latency per request. The figure is dominated by
// the two round trips; BenchmarkVerify in package attest gives the checks alone.
func BenchmarkVerifyReplicaAt50msLatency(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts func(cvm phalatest.CVM) phala.VerifyOptions
	}{
		{"replica's own expectations", func(phalatest.CVM) phala.VerifyOptions { return phala.VerifyOptions{} }},
		{"caller's expectations", func(cvm phalatest.CVM) phala.VerifyOptions {
			return phala.VerifyOptions{AppID: cvm.AppID, ComposeHash: cvm.ComposeHash}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := phalatest.NewServer()
			defer srv.Close()
			node := srv.AddNode(phalatest.Node{Name: "tdx-1"})
			app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
			cvm := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
			c, err := srv.Client()
			if err != nil {
				b.Fatal(err)
			}
			srv.SetLatency(50 * time.Millisecond)
			opts := bc.opts(cvm)
			opts.Attest = []attest.Option{attest.WithTrustedRoots(srv.AttestationRoots())}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.VerifyReplica(context.Background(), cvm.VMUUID, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
