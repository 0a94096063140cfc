package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
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

	if err := scaleConns(ctx, out, latency); err != nil {
		return err
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

// scaleConns counts the TCP connections two successive Scale calls open at
// concurrency c (2c replicas each), through a counting TCP relay in front of
// the emulator. Every connection is reused from the first wave on: the goal
// is c in all.
func scaleConns(ctx context.Context, out io.Writer, latency time.Duration) error {
	fmt.Fprintf(out, "\nTCP connections opened by two successive Scale calls of 2 × concurrency replicas each (%s latency; goal: the concurrency):\n\n", latency)
	fmt.Fprintf(out, "| concurrency | replicas created | TCP connections opened | goal |\n|---|---|---|---|\n")
	for _, conc := range []int{16, 64, 128} {
		srv := phalatest.NewServer()
		node := srv.AddNode(phalatest.Node{Name: "big", Slots: 1000, VCPU: 10000, MemoryMB: 1 << 24})
		app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
		src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
		relay, err := newConnRelay(srv.URL())
		if err != nil {
			srv.Close()
			return err
		}
		c, err := phala.NewClient(phala.WithAPIKey(srv.APIKey()), phala.WithBaseURL(relay.url))
		if err != nil {
			relay.close()
			srv.Close()
			return err
		}
		srv.SetLatency(latency)
		for i := 0; i < 2 && err == nil; i++ {
			_, err = c.Scale(ctx, src.VMUUID, 2*conc, phala.ReplicateRequest{Node: strconv.Itoa(node.ID)}, phala.ScaleOptions{Concurrency: conc})
		}
		created, opened := len(srv.Replicas()), relay.opened.Load()
		relay.close()
		srv.Close()
		if err != nil {
			return fmt.Errorf("connections at concurrency %d: %w", conc, err)
		}
		fmt.Fprintf(out, "| %d | %d | %d | %d |\n", conc, created, opened, conc)
	}
	return nil
}

// connRelay relays TCP connections to an HTTP server and counts them.
type connRelay struct {
	ln     net.Listener
	url    string
	opened atomic.Int64
}

func newConnRelay(target string) (*connRelay, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	r := &connRelay{ln: ln, url: "http://" + ln.Addr().String() + u.Path}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			r.opened.Add(1)
			go func() {
				defer in.Close()
				up, err := net.Dial("tcp", u.Host)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, in); up.Close() }()
				_, _ = io.Copy(in, up)
			}()
		}
	}()
	return r, nil
}

func (r *connRelay) close() { _ = r.ln.Close() }
