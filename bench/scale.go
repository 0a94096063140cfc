package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// scale prints the Scale table: wall time for 1, 10 and 100 replicas at
// concurrency 1, 4 and 16 under latency, and a node running out of slots.
func scale(ctx context.Context, out io.Writer, latency time.Duration) error {
	fmt.Fprintf(out, "\n## Scale under %s of latency per request\n\n", latency)
	fmt.Fprintf(out, "| replicas | concurrency | wall time | speed-up vs concurrency 1 | HTTP requests | replicas created |\n|---|---|---|---|---|---|\n")
	for _, n := range []int{1, 10, 100} {
		var base time.Duration
		for _, conc := range []int{1, 4, 16} {
			srv := phalatest.NewServer()
			node := srv.AddNode(phalatest.Node{Name: "big", Slots: 200, VCPU: 1000, MemoryMB: 1 << 22})
			app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
			src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
			c, err := srv.Client()
			if err != nil {
				srv.Close()
				return err
			}
			srv.SetLatency(latency)
			start := time.Now()
			res, err := c.Scale(ctx, src.VMUUID, n, phala.ReplicateRequest{Node: strconv.Itoa(node.ID)}, phala.ScaleOptions{Concurrency: conc})
			el := time.Since(start)
			reqs, created := len(srv.Requests()), len(srv.Replicas())
			srv.Close()
			if err != nil || len(res) != n || created != n {
				return fmt.Errorf("scale %d/%d: %d results, %d created: %v", n, conc, len(res), created, err)
			}
			if conc == 1 {
				base = el
			}
			fmt.Fprintf(out, "| %d | %d | %s | %.1f× | %d | %d |\n", n, conc, ms(el), float64(base)/float64(el), reqs, created)
		}
	}

	// A node with 8 free slots and 12 replicas asked for.
	fmt.Fprintf(out, "\nOut of slots midway (node with 8 free slots, 12 replicas requested):\n\n")
	fmt.Fprintf(out, "| concurrency | created (emulator) | created (results) | failed: out of slots | not attempted | duplicated | lost |\n|---|---|---|---|---|---|---|\n")
	for _, conc := range []int{1, 4, 16} {
		srv := phalatest.NewServer()
		home := srv.AddNode(phalatest.Node{Name: "home"})
		small := srv.AddNode(phalatest.Node{Name: "small", Slots: 8})
		app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
		src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: home.ID})
		c, err := srv.Client()
		if err != nil {
			srv.Close()
			return err
		}
		srv.SetLatency(latency)
		res, _ := c.Scale(ctx, src.VMUUID, 12, phala.ReplicateRequest{Node: strconv.Itoa(small.ID)}, phala.ScaleOptions{Concurrency: conc})
		reps := srv.Replicas()
		srv.Close()
		okIDs := map[string]bool{}
		var slots, skipped, other int
		for _, r := range res {
			switch {
			case r.Err == nil && r.VM != nil:
				okIDs[r.VM.VMUUID] = true
			case errors.Is(r.Err, phala.ErrNotAttempted):
				skipped++
			case errors.Is(r.Err, phala.ErrInsufficientSlots):
				slots++
			default:
				other++
			}
		}
		seen := map[string]int{}
		dup, lost := 0, 0
		for _, r := range reps {
			seen[r.VMUUID]++
			if seen[r.VMUUID] > 1 {
				dup++
			}
			if !okIDs[r.VMUUID] {
				lost++ // created on the server but not reported to the caller
			}
		}
		if other != 0 || len(res) != 12 {
			return fmt.Errorf("out of slots, concurrency %d: %d results, %d unexpected errors", conc, len(res), other)
		}
		fmt.Fprintf(out, "| %d | %d | %d | %d | %d | %d | %d |\n", conc, len(reps), len(okIDs), slots, skipped, dup, lost)
	}
	return nil
}
