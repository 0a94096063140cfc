package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
)

// exitVerify is the exit code of a replica whose attestation failed a check.
const exitVerify = 5

// verifyFlags are the options of "phala-replicate verify" that --verify shares.
type verifyFlags struct {
	appID       string // --app-id: expected app id (default the CVM's)
	composeHash string // --compose-hash: expected compose hash (default the CVM's)
	collateral  string // --collateral FILE: Intel collateral (dcap-qvl JSON) for the TCB status
	pccs        string // --pccs URL: fetch collateral from a PCCS
	at          string // --at RFC3339: verify as of this time (for old evidence)
	roots       string // --attestation-roots FILE: PEM roots trusted instead of Intel's

	cvm *phala.CVM // the CVM as already read (--verify after --wait), or nil
}

// attestOptions turns the flags into options of package attest.
func (f verifyFlags) attestOptions() ([]attest.Option, error) {
	var opts []attest.Option
	if f.collateral != "" {
		b, err := os.ReadFile(f.collateral)
		if err != nil {
			return nil, fmt.Errorf("reading --collateral: %w", err)
		}
		col, err := attest.ParseCollateral(b)
		if err != nil {
			return nil, usagef("--collateral %s: %v", f.collateral, err)
		}
		opts = append(opts, attest.WithCollateral(col))
	}
	if f.roots != "" {
		b, err := os.ReadFile(f.roots)
		if err != nil {
			return nil, fmt.Errorf("reading --attestation-roots: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, usagef("--attestation-roots %s holds no PEM certificate", f.roots)
		}
		opts = append(opts, attest.WithTrustedRoots(pool))
	}
	if f.pccs != "" {
		if u, err := url.Parse(f.pccs); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, usagef("--pccs must be an http(s) URL, e.g. https://pccs.example:8081")
		}
		opts = append(opts, attest.WithPCCS(f.pccs, nil))
	}
	if f.at != "" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return nil, usagef("--at must be an RFC 3339 time, e.g. 2026-08-14T00:00:00Z")
		}
		opts = append(opts, attest.WithTime(t))
	}
	return opts, nil
}

// verificationDoc is the --json form of a passing verification.
type verificationDoc struct {
	Success bool `json:"success"`
	*phala.Verification
}

// runVerify runs "phala-replicate verify <cvm-id> [flags]": it verifies the CVM's
// attestation and prints what was proven.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, s settings) int {
	o := &options{apiPrefix: getenv(envAPIPrefix), apiKey: secret(getenv(envAPIKey))}
	var vf verifyFlags
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.jsonOut, "json", false, "")
	fs.BoolVar(&o.jsonOut, "j", false, "")
	fs.Var(secretFlag{&o.apiKey}, "api-key", "")
	fs.StringVar(&vf.appID, "app-id", "", "")
	fs.StringVar(&vf.composeHash, "compose-hash", "", "")
	fs.StringVar(&vf.collateral, "collateral", "", "")
	fs.StringVar(&vf.pccs, "pccs", "", "")
	fs.StringVar(&vf.at, "at", "", "")
	fs.StringVar(&vf.roots, "attestation-roots", "", "")
	var rest []string
	for list := args; ; {
		if err := fs.Parse(list); err != nil {
			reportError(stdout, stderr, wantsJSON(args), "", usagef("verify: %v", err), redactor{})
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		list = fs.Args()[1:]
	}
	if len(rest) != 1 {
		reportError(stdout, stderr, o.jsonOut, "", usagef("usage: phala-replicate verify <cvm-uuid> [--json] [--app-id ID] [--compose-hash HASH] [--collateral FILE | --pccs URL] [--at TIME]"), redactor{})
		return exitUsage
	}
	c := &command{o: o, stdout: stdout, stderr: stderr, now: time.Now, red: newRedactor(o), attest: s.attest}
	if err := c.newClient(ctx); err != nil {
		reportError(stdout, stderr, o.jsonOut, "", err, c.red)
		return exitCode(err)
	}
	v, err := c.verify(ctx, rest[0], vf)
	if err != nil {
		reportError(stdout, stderr, o.jsonOut, "Verification failed", err, c.red)
		return exitCode(err)
	}
	if o.jsonOut {
		if err := writeJSON(stdout, verificationDoc{Success: true, Verification: v}); err != nil {
			return exitError
		}
		return exitOK
	}
	writeVerification(stdout, v)
	return exitOK
}

// verify verifies the attestation of the CVM vmUUID with the flags' expectations.
func (c *command) verify(ctx context.Context, vmUUID string, vf verifyFlags) (*phala.Verification, error) {
	aopts, err := vf.attestOptions()
	if err != nil {
		return nil, err
	}
	c.progressf("Verifying the attestation of %s…\n", vmUUID)
	aopts = append(aopts, c.attest...)
	return c.client.VerifyReplica(ctx, vmUUID, phala.VerifyOptions{AppID: vf.appID, ComposeHash: vf.composeHash, CVM: vf.cvm, Attest: aopts})
}

// writeVerification prints what a passing verification proved, and what it did not.
func writeVerification(w io.Writer, v *phala.Verification) {
	r := v.Result
	tcb := string(r.TCBStatus)
	if r.TCBStatus == attest.TCBUnknown {
		tcb += " (no collateral: pass --collateral or --pccs to judge it)"
	}
	osImage := "reported, not pinned"
	if r.OSImagePinned {
		osImage = "pinned"
	}
	inst := "not compared (no instance id on both sides)"
	if v.InstanceChecked {
		inst = "matches the API's instance_id"
	}
	_, _ = fmt.Fprintf(w, "Verified CVM %s\n", v.VMUUID)
	_, _ = fmt.Fprintf(w, "  TDX quote:     signature chain verified up to the trusted root (Intel SGX Root CA unless --attestation-roots)\n")
	_, _ = fmt.Fprintf(w, "  TCB status:    %s\n", tcb)
	_, _ = fmt.Fprintf(w, "  RTMR3:         replayed from the event log (%s…)\n", short(r.RTMR3))
	_, _ = fmt.Fprintf(w, "  App ID:        %s (expected)\n", r.AppID)
	_, _ = fmt.Fprintf(w, "  Compose hash:  %s (expected)\n", r.ComposeHash)
	_, _ = fmt.Fprintf(w, "  Instance ID:   %s, %s\n", orDash(r.InstanceID), inst)
	_, _ = fmt.Fprintf(w, "  Key provider:  %s\n", orDash(r.KeyProvider))
	_, _ = fmt.Fprintf(w, "  OS image:      %s (MRTD %s…)\n", osImage, short(r.MRTD))
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// verifyOptions are the expectations of --verify for a replica created by this
// run: the --compose-hash given, else the replica's own, and the source's app id
// (a replica is an instance of its source's app), with the attestation options.
func (c *command) verifyOptions(ctx context.Context, vmUUID string) (*phala.VerifyOptions, error) {
	vf := c.o.verifyFlags()
	aopts, err := vf.attestOptions()
	if err != nil {
		return nil, err
	}
	app, err := c.sourceAppID(ctx)
	if err != nil {
		return nil, fmt.Errorf("replica %s: its source's app id, which its attestation must show, could not be read: %w", vmUUID, err)
	}
	return &phala.VerifyOptions{AppID: app, ComposeHash: vf.composeHash, Attest: append(aopts, c.attest...)}, nil
}

// recordVerification keeps a passing verification for the JSON output and, in
// text mode, prints what it proved.
func (c *command) recordVerification(v *phala.Verification) {
	c.verified = append(c.verified, v)
	if !c.o.jsonOut {
		writeVerification(c.stderr, v)
	}
}

// sourceAppID is the app id of the source: as the command line named it (app_<40
// hex>, 0x<40 hex> or 40 hex), else as the workflow read the source CVM, else read now
// (GET /cvms/{source}, once per run). It keeps an API that answers the new replica
// with a CVM of another app from having that app verified as the replica.
func (c *command) sourceAppID(ctx context.Context) (string, error) {
	if s := strings.TrimSpace(c.o.source); isAppID(s) {
		return s, nil // VerifyReplica accepts each form
	}
	if c.source == nil {
		src, err := c.client.GetCVM(ctx, c.o.source)
		if err != nil {
			return "", err
		}
		c.source = src
	}
	return c.source.AppID, nil
}

// withReplicaVerification adds to the JSON object of the replica vmUUID (an item
// of --count N --json) its "verification" when it passed, or its
// "verification_failure" (the failed check and the two values compared) when err
// is a failed check.
func (c *command) withReplicaVerification(doc json.RawMessage, vmUUID string, err error) (json.RawMessage, error) {
	var ce *attest.CheckError
	if isVerifyFailure(err) && errors.As(err, &ce) {
		return withField(doc, "verification_failure", &phala.VerificationError{VMUUID: vmUUID, Err: ce})
	}
	for _, v := range c.verified {
		if v.VMUUID == vmUUID {
			return withField(doc, "verification", v)
		}
	}
	return doc, nil
}

// isVerifyFailure reports whether err is a failed attestation check.
func isVerifyFailure(err error) bool {
	var ce *attest.CheckError
	return errors.As(err, &ce) && ce.Check != attest.CheckInput
}

// withVerification adds "verification": [...] to the JSON object doc when replicas
// were verified.
func withVerification(doc json.RawMessage, verified []*phala.Verification) (json.RawMessage, error) {
	if len(verified) == 0 {
		return doc, nil
	}
	return withField(doc, "verification", verified)
}

// withField adds "name": value to the JSON object doc.
func withField(doc json.RawMessage, name string, value any) (json.RawMessage, error) {
	b, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON output: %w", err)
	}
	d := bytes.TrimSpace(doc)
	if len(d) < 2 || d[len(d)-1] != '}' {
		return nil, fmt.Errorf("encoding the JSON output: not an object")
	}
	out := append([]byte(nil), d[:len(d)-1]...)
	if len(bytes.TrimSpace(d[1:len(d)-1])) > 0 {
		out = append(out, ',')
	}
	key, _ := json.Marshal(name)
	out = append(append(append(append(out, key...), ':'), b...), '}')
	return out, nil
}
