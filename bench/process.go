package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// cliProc is one command-line program run as a whole process against a world's
// emulator: ours (the built cmd/phala-replicate) or the official CLI.
type cliProc struct {
	name    string
	path    string
	prefix  []string // arguments before the replicate arguments
	version []string // arguments that print the version and make no request
}

// oursProc is the phala-replicate binary at path; it takes the official
// command's replicate arguments after the program name.
func oursProc(path string) cliProc {
	return cliProc{name: "phala-replicate", path: path, prefix: []string{"--json"}, version: []string{"version"}}
}

// officialProc is the official CLI's phala binary at path.
func officialProc(path string) cliProc {
	return cliProc{name: "phala", path: path, prefix: []string{"cvms", "replicate", "--json"}, version: []string{"--version"}}
}

// buildOurs builds cmd/phala-replicate as installed (no build tag) into a
// temporary directory; cleanup removes it.
func buildOurs(ctx context.Context) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "phala-replicate-bench")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "phala-replicate")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/phala-replicate")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./cmd/phala-replicate: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return path, cleanup, nil
}

// run runs p's replicate command with args against w's emulator, in a fresh
// HOME, and returns its wall time (process start to exit).
func (p cliProc) run(ctx context.Context, w *world, args []string) (time.Duration, error) {
	home, err := os.MkdirTemp("", "phala-cli-home")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, p.path, append(append([]string(nil), p.prefix...), args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "PHALA_CLOUD_API_PREFIX="+w.srv.URL(), "PHALA_CLOUD_API_KEY="+w.srv.APIKey(),
		"NO_UPDATE_NOTIFIER=1", "PHALA_DISABLE_TELEMETRY=1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err = cmd.Run()
	el := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", p.name, err, strings.TrimSpace(firstLine(stderr.String())))
	}
	return el, nil
}

// wallTimes runs argv n times and returns each wall time.
func wallTimes(ctx context.Context, n int, argv ...string) ([]time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "NO_UPDATE_NOTIFIER=1", "PHALA_DISABLE_TELEMETRY=1")
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
		ds = append(ds, time.Since(start))
	}
	return ds, nil
}

// pairResult is one scenario's alternating pairs: wall times per side, the
// theirs/ours ratio of each pair, and the HTTP requests each side sent.
type pairResult struct {
	ours, theirs         []time.Duration
	ratios               []float64
	oursHTTP, theirsHTTP int
}

// runPairs runs sc n times as a pair of whole processes, ours then theirs, each
// on a fresh world with the emulator at latency.
func runPairs(ctx context.Context, sc scenario, ours, theirs cliProc, n int, latency time.Duration) (pairResult, error) {
	var r pairResult
	one := func(p cliProc) (time.Duration, int, error) {
		w, err := newWorld(ctx, sc)
		if err != nil {
			return 0, 0, err
		}
		defer w.close()
		if err := w.prepare(ctx, sc); err != nil {
			return 0, 0, fmt.Errorf("setup: %w", err)
		}
		w.srv.SetLatency(latency)
		el, err := p.run(ctx, w, sc.cliArgs(w))
		return el, len(w.srv.Requests()), err
	}
	for i := 0; i < n; i++ {
		o, oh, err := one(ours)
		if err != nil {
			return r, err
		}
		t, th, err := one(theirs)
		if err != nil {
			return r, err
		}
		r.ours, r.theirs = append(r.ours, o), append(r.theirs, t)
		r.ratios = append(r.ratios, float64(t)/float64(o))
		r.oursHTTP, r.theirsHTTP = oh, th
	}
	return r, nil
}

// spread formats min / median / max of ds in milliseconds.
func spread(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	f := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("%.0f / %.0f / %.0f ms", f(s[0]), f(s[len(s)/2]), f(s[len(s)-1]))
}

// ratioSpread formats min / median / max of rs.
func ratioSpread(rs []float64) string {
	s := append([]float64(nil), rs...)
	sort.Float64s(s)
	return fmt.Sprintf("%.1f / %.1f / %.1f×", s[0], s[len(s)/2], s[len(s)-1])
}

// cliVsCLI prints the whole-process comparison of ours and theirs on every
// scenario the official CLI can run, then each side's start-up alone, and
// returns the results by scenario name (a failed scenario is printed, not
// returned).
func cliVsCLI(ctx context.Context, out io.Writer, scenarios []scenario, ours, theirs cliProc, runs int, latency time.Duration) (map[string]pairResult, error) {
	res := make(map[string]pairResult)
	fmt.Fprintf(out, "\n## CLI vs CLI: whole processes\n\n")
	fmt.Fprintf(out, "%d alternating pairs per row (%s, then %s, each on a fresh emulator at %s per request); min / median / max; ratio = %s/%s of each pair.\n\n",
		runs, ours.name, theirs.name, latency, theirs.name, ours.name)
	fmt.Fprintf(out, "| workflow | %s HTTP | %s HTTP | %s wall | %s wall | ratio %s/%s |\n", ours.name, theirs.name, ours.name, theirs.name, theirs.name, ours.name)
	fmt.Fprintf(out, "|---|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		if sc.cliArgs == nil {
			continue
		}
		r, err := runPairs(ctx, sc, ours, theirs, runs, latency)
		if err != nil {
			fmt.Fprintf(out, "| %s | – | – | – | – | failed: %s |\n", sc.name, err)
			continue
		}
		res[sc.name] = r
		fmt.Fprintf(out, "| %s | %d | %d | %s | %s | %s |\n", sc.name, r.oursHTTP, r.theirsHTTP, spread(r.ours), spread(r.theirs), ratioSpread(r.ratios))
	}

	fmt.Fprintf(out, "\nStart-up alone, %d runs each, min / median / max:\n\n", runs)
	fmt.Fprintf(out, "| command | wall |\n|---|---|\n")
	starts := [][]string{
		append([]string{ours.path}, ours.version...),
		append([]string{theirs.path}, theirs.version...),
	}
	if theirs.name == "phala" {
		starts = append(starts, []string{"node", "-e", "0"})
	}
	for _, argv := range starts {
		ds, err := wallTimes(ctx, runs, argv...)
		label := "`" + filepath.Base(argv[0]) + " " + strings.Join(argv[1:], " ") + "`"
		if err != nil {
			fmt.Fprintf(out, "| %s | failed: %v |\n", label, err)
			continue
		}
		fmt.Fprintf(out, "| %s | %s |\n", label, spread(ds))
	}
	return res, nil
}
