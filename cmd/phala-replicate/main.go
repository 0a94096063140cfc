// Command phala-replicate creates replicas of Phala Cloud CVMs. It accepts
// the arguments of the official "phala cvms replicate" command, so scripts
// can switch to it, and adds what that command lacks: waiting for the
// replica, scaling, a Safe batch file and a saved prepared replica for
// multisig approval, and verification of the KMS signature on env
// encryption keys.
//
//	phala-replicate <cvm-id> [--node-id ID|NAME] [-e .env] [--wait]
//	phala-replicate <cvm-id> --private-key KEY [--rpc-url URL]
//	phala-replicate <cvm-id> --prepare-only --safe-file safe.json --prepared-file prepared.json
//	phala-replicate --commit --prepared-file prepared.json --transaction-hash 0x…
//	phala-replicate plan -f set.json
//	phala-replicate apply -f set.json [--auto-approve] [--wait]
//	phala-replicate apply --commit --prepared-file set.prepared.json --transaction-hash 0x…
//
// Run "phala-replicate --help" for every flag, the environment variables
// and the exit codes. With PHALA_CLOUD_API_KEY set, "phala-replicate demo
// <cvm-id>" replicates that CVM on Phala Cloud and waits until it runs.
//
// Without a key, "demo" runs every workflow against an in-process emulator
// of Phala Cloud and a simulated chain: no account is needed. That demo links
// go-ethereum's simulated backend, so it is only in a build with the demo
// tag; the installed command does not carry it:
//
//	go run -tags demo ./cmd/phala-replicate demo
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	phala "github.com/phalaforge/phala-go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runWith(ctx, args, stdout, stderr, getenv, settings{})
}

func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, s settings) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			if getenv(envAPIKey) != "" {
				return runCloudDemo(ctx, args[1:], stdout, stderr, getenv, s)
			}
			if len(args) > 1 {
				writeError(stderr, false, "", usagef("demo takes no arguments when %s is unset (it runs against the embedded emulator)", envAPIKey), redactor{})
				return exitUsage
			}
			if err := runDemo(ctx, stdout, stderr); err != nil {
				writeError(stderr, false, "Demo failed", err, redactor{})
				return exitCode(err)
			}
			return exitOK
		case "verify":
			return runVerify(ctx, args[1:], stdout, stderr, getenv, s)
		case "plan", "apply":
			return runSet(ctx, args[0], args[1:], stdout, stderr, getenv, s, stdinIO())
		case "version", "--version", "-version":
			_, _ = fmt.Fprintf(stdout, "phala-replicate %s (phala-go SDK)\n", phala.Version)
			return exitOK
		case "help":
			_, _ = io.WriteString(stdout, helpText)
			return exitOK
		}
	}
	o, err := parseArgs(args, getenv)
	if err == errHelp {
		_, _ = io.WriteString(stdout, helpText)
		return exitOK
	}
	if err != nil {
		reportError(stdout, stderr, wantsJSON(args), "", err, redactor{})
		return exitCode(err)
	}
	if o.pollInterval == 0 {
		o.pollInterval = s.pollInterval
	}
	red := newRedactor(o)
	// Whatever the server answers is printed through the redactor: an answer
	// echoing the API key never shows it.
	stdout = redactingWriter{w: stdout, r: red}
	c := &command{o: o, stdout: stdout, stderr: stderr, now: time.Now, red: red, attest: s.attest}
	if !o.jsonOut {
		if err := c.run(ctx); err != nil {
			writeError(stderr, false, c.headline(), err, c.red)
			return exitCode(err)
		}
		return exitOK
	}
	// --json: the outcome, failures included, is one document on stdout. The
	// command writes its document into a buffer; a failure is merged into it.
	var doc bytes.Buffer
	c.stdout = &doc
	err = c.run(ctx)
	if werr := finishJSON(stdout, doc.Bytes(), err, red); werr != nil {
		_, _ = fmt.Fprintf(stderr, "phala-replicate: writing the JSON output: %v\n", werr)
		return exitError
	}
	if err != nil {
		return exitCode(err)
	}
	return exitOK
}

// wantsJSON reports whether the command line asks for --json, for errors
// found before it could be parsed completely.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "-json", "-j", "--j", "--json=true", "-json=true", "-j=true":
			return true
		}
	}
	return false
}

// runCloudDemo is the demo when an API key is set: one real replication of
// the CVM the user names, waited for until it runs. It is the same as
// "phala-replicate <cvm-id> --wait [flags]"; without a source it explains
// what to do instead of guessing one of the user's CVMs.
func runCloudDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, s settings) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		reportError(stdout, stderr, wantsJSON(args), "", usagef("%s is set, so demo replicates on Phala Cloud: name the source, e.g. 'phala-replicate demo <cvm-id> [--node-id ID]' (unset %s to run the demo against the embedded emulator)", envAPIKey, envAPIKey), redactor{})
		return exitUsage
	}
	rest := append([]string(nil), args...)
	if !slices.Contains(rest, "--wait") && !slices.Contains(rest, "--prepare-only") {
		rest = append(rest, "--wait")
	}
	return runWith(ctx, rest, stdout, stderr, getenv, s)
}

// redactingWriter writes through a redactor. Each Write is cleaned on its
// own: the command writes whole lines or whole documents.
type redactingWriter struct {
	w io.Writer
	r redactor
}

func (w redactingWriter) Write(p []byte) (int, error) {
	if len(w.r.pairs) == 0 {
		return w.w.Write(p)
	}
	if _, err := io.WriteString(w.w, w.r.clean(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
