package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/onchain"
)

// Environment variables the command reads, as the official phala CLI does.
const (
	envAPIKey     = "PHALA_CLOUD_API_KEY"
	envAPIPrefix  = "PHALA_CLOUD_API_PREFIX"
	envPrivateKey = "PRIVATE_KEY"
	envRPCURL     = "ETH_RPC_URL"
	envCloudURL   = "CLOUD_URL"
)

// secret is a flag value that must never be printed: an API key or a private
// key. Every fmt verb shows it redacted.
type secret string

func (secret) String() string               { return "[REDACTED]" }
func (secret) GoString() string             { return "[REDACTED]" }
func (s secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[REDACTED]") }

// options are the parsed command line and environment of one invocation.
type options struct {
	source       string // the positional <cvm-id>
	nodeID       string // --node-id / --teepod-id: numeric ID or name
	composeHash  string // --compose-hash
	envFile      string // --env-file / -e
	privateKey   secret // --private-key, else PRIVATE_KEY
	keyFromFlag  bool   // the private key came from --private-key
	rpcURL       string // --rpc-url, else ETH_RPC_URL
	prepareOnly  bool   // --prepare-only
	commit       bool   // --commit
	token        secret // --token (commit token)
	txHash       string // --transaction-hash
	jsonOut      bool   // --json / -j
	apiKey       secret // --api-key, else PHALA_CLOUD_API_KEY
	apiPrefix    string // PHALA_CLOUD_API_PREFIX
	cloudURL     string // CLOUD_URL, for dashboard links
	safeFile     string // --safe-file
	wait         bool   // --wait
	verify       bool   // --verify (after --wait): verify each replica's attestation
	attestRoots  string // --attestation-roots FILE: PEM roots trusted instead of Intel's
	collateral   string // --collateral FILE (with --verify): Intel collateral for the TCB status
	pccs         string // --pccs URL (with --verify): fetch the collateral from a PCCS
	attestAt     string // --at TIME (with --verify): verify as of an RFC 3339 time
	count        int    // --count (1 = one replica)
	preparedFile string // --prepared-file
	kmsRoots     [][]byte
	kmsContract  string        // --kms-contract, checksummed; "" = not pinned
	skipKMSCheck bool          // --insecure-skip-kms-verify
	pollInterval time.Duration // --poll-interval (0 = the libraries' defaults)
}

// Format prints o for debugging without its secrets: fmt does not call
// the methods of unexported fields, so secret alone would not protect them.
func (o options) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "options{source:%q node:%q compose_hash:%q env_file:%q rpc_url:%q prepare_only:%t commit:%t json:%t count:%d wait:%t secrets:[REDACTED]}",
		o.source, o.nodeID, o.composeHash, o.envFile, redactURL(o.rpcURL), o.prepareOnly, o.commit, o.jsonOut, o.count, o.wait)
}

// redactURL keeps the scheme and host of an RPC or API URL: provider URLs
// often carry an API key in their path or query.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return shorten(s, 12)
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		out += "/…"
	}
	return out
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp is returned by parseArgs for -h/--help.
var errHelp = errors.New("help requested")

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// secretFlag is a flag.Value holding a secret; its String never shows it,
// so flag's error messages and defaults cannot leak it.
type secretFlag struct{ v *secret }

func (f secretFlag) String() string {
	if f.v == nil || *f.v == "" {
		return ""
	}
	return "[REDACTED]"
}
func (f secretFlag) Set(s string) error { *f.v = secret(s); return nil }

// newFlagSet declares the flags of the replicate command into o.
func newFlagSet(o *options, kmsRoots *stringList, count *string) *flag.FlagSet {
	fs := flag.NewFlagSet("phala-replicate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.nodeID, "node-id", "", "")
	fs.StringVar(&o.nodeID, "teepod-id", "", "")
	fs.StringVar(&o.composeHash, "compose-hash", "", "")
	fs.StringVar(&o.envFile, "env-file", "", "")
	fs.StringVar(&o.envFile, "e", "", "")
	fs.Var(secretFlag{&o.privateKey}, "private-key", "")
	fs.StringVar(&o.rpcURL, "rpc-url", "", "")
	fs.BoolVar(&o.prepareOnly, "prepare-only", false, "")
	fs.BoolVar(&o.commit, "commit", false, "")
	fs.Var(secretFlag{&o.token}, "token", "")
	fs.StringVar(&o.txHash, "transaction-hash", "", "")
	fs.BoolVar(&o.jsonOut, "json", false, "")
	fs.BoolVar(&o.jsonOut, "j", false, "")
	fs.Var(secretFlag{&o.apiKey}, "api-key", "")
	fs.Var(secretFlag{&o.apiKey}, "api-token", "")
	fs.StringVar(&o.safeFile, "safe-file", "", "")
	fs.BoolVar(&o.wait, "wait", false, "")
	fs.BoolVar(&o.verify, "verify", false, "")
	fs.StringVar(&o.attestRoots, "attestation-roots", "", "")
	fs.StringVar(&o.collateral, "collateral", "", "")
	fs.StringVar(&o.pccs, "pccs", "", "")
	fs.StringVar(&o.attestAt, "at", "", "")
	fs.StringVar(count, "count", "", "")
	fs.StringVar(&o.preparedFile, "prepared-file", "", "")
	fs.Var(kmsRoots, "kms-root", "")
	fs.StringVar(&o.kmsContract, "kms-contract", "", "")
	fs.BoolVar(&o.skipKMSCheck, "insecure-skip-kms-verify", false, "")
	fs.DurationVar(&o.pollInterval, "poll-interval", 0, "")
	return fs
}

// parseArgs parses the arguments of the replicate command (everything after
// the program name) and the environment. Flags and the positional <cvm-id>
// may come in any order, as with the official CLI; "--" ends the flags.
func parseArgs(args []string, getenv func(string) string) (*options, error) {
	o := &options{}
	var kmsRoots stringList
	var count string
	fs := newFlagSet(o, &kmsRoots, &count)

	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			// The flag package quotes what was typed ("flag provided but not
			// defined: -private-key\x1f0x…"): never let a key through.
			return nil, usagef("%s", redactLongHex(err.Error()))
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		// fs.Parse stops at the first non-flag, or after "--" (which it
		// consumes): in the latter case everything left is positional.
		consumedDashDash := len(rest) < len(args) && isAfterDashDash(args, rest)
		if consumedDashDash {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
	seen := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { seen[f.Name] = true })

	switch len(positional) {
	case 0:
	case 1:
		o.source = strings.TrimSpace(positional[0])
		if o.source == "" {
			return nil, usagef("the <cvm-id> argument is empty")
		}
	default:
		return nil, usagef("expected one <cvm-id> argument, got %d: %s", len(positional), redactLongHex(strings.Join(positional, " ")))
	}

	if err := o.resolveShared(seen, getenv); err != nil {
		return nil, err
	}
	o.nodeID = strings.TrimSpace(o.nodeID)
	o.composeHash = strings.TrimSpace(o.composeHash)
	o.txHash = strings.TrimSpace(o.txHash)
	o.token = secret(strings.TrimSpace(string(o.token)))

	o.count = 1
	if seen["count"] {
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 1 {
			return nil, usagef("--count must be a whole number of replicas, at least 1 (got %q)", count)
		}
		if n > maxCount {
			return nil, usagef("--count must be at most %d (got %d)", maxCount, n)
		}
		o.count = n
	}

	if err := o.resolveKMS(kmsRoots, seen); err != nil {
		return nil, err
	}

	if err := o.checkCombinations(seen); err != nil {
		return nil, err
	}
	return o, nil
}

// maxCount bounds --count, so a typo cannot order thousands of paid CVMs.
const maxCount = 100

// isAfterDashDash reports whether rest (what fs.Parse left) starts right
// after a "--" in args.
func isAfterDashDash(args, rest []string) bool {
	i := len(args) - len(rest) - 1
	return i >= 0 && args[i] == "--"
}

// checkCombinations rejects flags that contradict each other or would be
// silently ignored (the official CLI ignores them; we say so).
func (o *options) checkCombinations(seen map[string]bool) error {
	given := func(names ...string) string {
		for _, n := range names {
			if seen[n] && len(n) == 1 {
				return "-" + n
			}
			if seen[n] {
				return "--" + n
			}
		}
		return ""
	}
	if err := o.checkVerifyFlags(given); err != nil {
		return err
	}
	if o.commit && o.prepareOnly {
		return usagef("--commit and --prepare-only cannot be used together")
	}
	if o.commit {
		for _, names := range [][]string{{"node-id", "teepod-id"}, {"env-file", "e"}, {"count"}, {"safe-file"}} {
			if f := given(names...); f != "" {
				return usagef("%s cannot be used with --commit: the node and environment were fixed by the prepare call", f)
			}
		}
		if o.keyFromFlag {
			return usagef("--private-key cannot be used with --commit: commit sends no transaction (pass --transaction-hash)")
		}
		if o.preparedFile != "" {
			if seen["token"] {
				return usagef("--token cannot be used with --prepared-file: the commit token is read from the file")
			}
		} else {
			if o.token == "" {
				return usagef("--token is required for --commit mode (or pass --prepared-file)")
			}
			if o.composeHash == "" {
				return usagef("--compose-hash is required for --commit mode (or pass --prepared-file)")
			}
			if o.source == "" {
				return usagef("missing <cvm-id>: the source CVM the replica was prepared from")
			}
		}
		return nil
	}
	if o.source == "" {
		return usagef("missing <cvm-id>: the source CVM to replicate (a CVM UUID, app ID or name)")
	}
	if f := given("token", "transaction-hash"); f != "" {
		return usagef("%s is only used with --commit", f)
	}
	if o.prepareOnly {
		if f := given("count", "wait"); f != "" {
			return usagef("%s cannot be used with --prepare-only: no replica is created", f)
		}
		if o.keyFromFlag {
			return usagef("--private-key cannot be used with --prepare-only: prepare sends no transaction")
		}
		return nil
	}
	if o.preparedFile != "" {
		return usagef("--prepared-file is only used with --prepare-only (to save) or --commit (to load)")
	}
	if o.verify && !o.wait {
		return usagef("--verify needs --wait: a replica is verified once it runs")
	}
	if o.count > 1 && o.safeFile != "" {
		return usagef("--safe-file cannot be used with --count")
	}
	return nil
}

// checkVerifyFlags refuses the attestation flags without --verify, --verify
// without --wait, and a bad --collateral, --at or --attestation-roots before
// any replica is created.
func (o *options) checkVerifyFlags(given func(names ...string) string) error {
	if !o.verify {
		if f := given("collateral", "pccs", "at", "attestation-roots"); f != "" {
			return usagef("%s is used with --verify", f)
		}
		return nil
	}
	if !o.wait {
		return usagef("--verify needs --wait: a replica is verified once it runs")
	}
	_, err := o.verifyFlags().attestOptions()
	return err
}

// verifyFlags are the attestation flags of a replication with --verify.
func (o *options) verifyFlags() verifyFlags {
	return verifyFlags{composeHash: o.composeHash, roots: o.attestRoots, collateral: o.collateral, pccs: o.pccs, at: o.attestAt}
}

// longHex is a run of 48 or more hex digits: longer than any <cvm-id> (a UUID
// has 32, an app id 40), as long as a private key's 64.
var longHex = regexp.MustCompile(`[0-9a-fA-F]{48,}`)

// redactLongHex hides every longHex run in s, for messages that quote raw
// command-line input.
func redactLongHex(s string) string {
	return longHex.ReplaceAllStringFunc(s, func(m string) string { return fmt.Sprintf("[%d hex digits redacted]", len(m)) })
}

// validPrivateKey reports whether s is 64 hex digits with an optional 0x.
func validPrivateKey(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// parseKMSContract checks a --kms-contract value: the address of a DstackKms
// contract, 40 hex digits with or without 0x. It returns it checksummed.
func parseKMSContract(s string) (string, error) {
	s = strings.TrimSpace(s)
	addr, err := onchain.ParseAppAddress(s)
	if err != nil || addr == (common.Address{}) || strings.HasPrefix(s, "app_") {
		return "", usagef("--kms-contract must be a contract address, 40 hex digits with or without 0x (got %q)", shorten(s, 80))
	}
	return addr.Hex(), nil
}

// parseKMSRoot decodes a --kms-root value: a secp256k1 public key in hex,
// 33 bytes compressed (as DstackKms.kmsInfo() stores it) or 65 bytes
// uncompressed, 0x optional.
func parseKMSRoot(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	b, err := hex.DecodeString(t)
	if err != nil || (len(b) != 33 && len(b) != 65) {
		return nil, usagef("--kms-root must be a secp256k1 public key in hex (33 bytes compressed or 65 uncompressed), got %q", shorten(s, 80))
	}
	return b, nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// resolveKMS decodes the --kms-root values into o.kmsRoots and checks
// --kms-contract (seen names the flags given), for every command that verifies.
func (o *options) resolveKMS(kmsRoots stringList, seen map[string]bool) error {
	for _, k := range kmsRoots {
		b, err := parseKMSRoot(k)
		if err != nil {
			return err
		}
		o.kmsRoots = append(o.kmsRoots, b)
	}
	if seen["kms-contract"] {
		addr, err := parseKMSContract(o.kmsContract)
		if err != nil {
			return err
		}
		o.kmsContract = addr
	}
	return nil
}

// resolveShared fills what every command (replicate, plan, apply) takes from
// its flags or the environment, with the flag winning: the private key
// (validated, never echoed), the RPC URL, the API key, the API prefix and the
// dashboard URL; and checks --poll-interval. seen names the flags given.
func (o *options) resolveShared(seen map[string]bool, getenv func(string) string) error {
	o.keyFromFlag = seen["private-key"]
	if !o.keyFromFlag {
		o.privateKey = secret(getenv(envPrivateKey))
	}
	o.privateKey = secret(strings.TrimSpace(string(o.privateKey)))
	if o.privateKey != "" && !validPrivateKey(string(o.privateKey)) {
		where := "PRIVATE_KEY"
		if o.keyFromFlag {
			where = "--private-key"
		}
		return usagef("%s must be 64 hex digits, with or without 0x (the value is not shown)", where)
	}
	if o.rpcURL == "" {
		o.rpcURL = getenv(envRPCURL)
	}
	o.rpcURL = strings.TrimSpace(o.rpcURL)
	if !seen["api-key"] && !seen["api-token"] {
		o.apiKey = secret(getenv(envAPIKey))
	} else if strings.TrimSpace(string(o.apiKey)) == "" {
		return usagef("--api-key is empty")
	}
	o.apiKey = secret(strings.TrimSpace(string(o.apiKey)))
	o.apiPrefix = strings.TrimSpace(getenv(envAPIPrefix))
	o.cloudURL = strings.TrimRight(strings.TrimSpace(getenv(envCloudURL)), "/")
	if o.cloudURL == "" {
		o.cloudURL = "https://cloud.phala.com"
	}
	if seen["poll-interval"] && (o.pollInterval < 10*time.Millisecond || o.pollInterval > time.Minute) {
		return usagef("--poll-interval must be between 10ms and 1m (got %v)", o.pollInterval)
	}
	return nil
}
