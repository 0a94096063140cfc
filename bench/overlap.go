package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
)

// sequentialRegistrar hides (*onchain.Registrar).EnsureRegisteredChecked, so
// the SDK checks the 465 first and only then lets the Registrar read the chain:
// what a phala.Registrar of one's own gets.
type sequentialRegistrar struct{ r *onchain.Registrar }

func (s sequentialRegistrar) EnsureRegistered(ctx context.Context, p *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	return s.r.EnsureRegistered(ctx, p)
}

// overlap measures auto-registration ("both missing") with the latency on
// JSON-RPC as well as HTTP, with the 465's check (GET of the source, GET
// /teepods/available) beside the Registrar's first chain read and after it.
func overlap(ctx context.Context, out io.Writer, runs int, latency time.Duration) error {
	sc := scenario{name: "auto-registered, both missing", onchain: true, missing: "both"}
	fmt.Fprintf(out, "\n### Auto-registration with %s on every HTTP request and every JSON-RPC round trip\n\n", latency)
	fmt.Fprintf(out, "Median (min–max) of %d runs, \"both missing\", node by ID. Critical path: the round trips that wait on one another, HTTP and JSON-RPC, one receipt poll included.\n\n", runs)
	fmt.Fprintf(out, "| the 465's check | HTTP | JSON-RPC round trips | critical path | × latency | wall time | wall − critical path × latency |\n")
	fmt.Fprintf(out, "|---|---|---|---|---|---|---|\n")
	for _, v := range []struct {
		name string
		// the round trips one after the other: POST, then 2 GETs of the
		// check and the state batch (beside or after), the send batch, a
		// receipt poll, the re-read, the commit.
		critical int
		wrap     bool
	}{
		{"before the chain read (a Registrar without EnsureRegisteredChecked)", 1 + 2 + 1 + 1 + 1 + 1 + 1, true},
		{"beside the chain read (*onchain.Registrar)", 1 + 2 + 1 + 1 + 1 + 1, false},
	} {
		var walls []time.Duration
		var httpN, rpcN int64
		for i := 0; i < runs; i++ {
			w, err := newWorld(ctx, sc)
			if err != nil {
				return err
			}
			w.srv.SetLatency(latency)
			w.rpc.delay.Store(int64(latency))
			var reg phala.Registrar = w.registrar
			if v.wrap {
				reg = sequentialRegistrar{w.registrar}
			}
			start := time.Now()
			_, err = w.client.Replicate(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: strconv.Itoa(w.node.ID), Registrar: reg})
			el := time.Since(start)
			httpN, rpcN = int64(len(w.srv.Requests())), w.rpc.posts.Load()
			w.close()
			if err != nil {
				return fmt.Errorf("overlap (%s): %w", v.name, err)
			}
			walls = append(walls, el)
		}
		ideal := time.Duration(v.critical) * latency
		med := median(walls)
		fmt.Fprintf(out, "| %s | %d | %d | %d | %s | %s (%s–%s) | %s |\n", v.name, httpN, rpcN, v.critical, ms(ideal),
			ms(med), ms(minOf(walls)), ms(maxOf(walls)), ms(med-ideal))
	}
	return nil
}

func minOf(ds []time.Duration) time.Duration { return slices.Min(ds) }
func maxOf(ds []time.Duration) time.Duration { return slices.Max(ds) }
