package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// Exit codes of the command, documented in the help text.
const (
	exitOK      = 0 // success
	exitError   = 1 // anything else (a file that cannot be read, ...)
	exitUsage   = 2 // bad command line or configuration
	exitAPI     = 3 // the Phala Cloud API refused or failed the request
	exitOnchain = 4 // an on-chain step failed or is still required
)

// onchainError marks an error of the on-chain step that carries no typed
// onchain error (for example an RPC endpoint that cannot be reached).
type onchainError struct{ err error }

func (e *onchainError) Error() string { return e.err.Error() }
func (e *onchainError) Unwrap() error { return e.err }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if isVerifyFailure(err) {
		return exitVerify
	}
	switch kind(err) {
	case "usage":
		return exitUsage
	case "onchain":
		return exitOnchain
	case "api":
		return exitAPI
	default:
		return exitError
	}
}

// kind classifies err: "usage", "onchain", "api" or "error".
//
//   - usage: the command line, the configuration or the env file is wrong
//     (including a missing API key, an env file a CVM would refuse, and an
//     env encryption key that cannot be verified for lack of a trusted root);
//   - onchain: registration on the DstackApp contract is required (no key
//     given) or failed, or the chain cannot be reached;
//   - api: Phala Cloud refused or failed the request, or answered something
//     that cannot be used or trusted;
//   - error: anything else (a file that cannot be read, a replica that
//     failed to boot).
//
// Automatic registration errors are on-chain unless the commit that follows
// the registration failed. On-chain types are tested before API types: an
// *onchain.ErrOnchainPrerequisite wraps the 465 *phala.APIError it came from,
// and it is the on-chain step that is missing.
func kind(err error) string {
	var are *phala.AutoRegistrationError
	if errors.As(err, &are) && !are.Committing {
		return "onchain"
	}
	var (
		ue   *usageError
		pre  *onchain.ErrOnchainPrerequisite
		oe   *onchainError
		not  *onchain.NotOwnerError
		fund *onchain.InsufficientFundsError
		rev  *onchain.RevertError
		rto  *onchain.ReceiptTimeoutError
		wc   *onchain.WrongChainError
		snc  *onchain.StateNotConfirmedError
		uce  *onchain.UnknownChainError
		hexE *onchain.HexError
		api  *phala.APIError
		ou   *phala.OutcomeUnknownError
		re   *phala.ResponseError
		rd   *phala.RedirectError
		pe   *envcrypt.ParseError
		ve   *envcrypt.VarError
		fe   *envcrypt.FreshnessError
		lie  *replyError
	)
	switch {
	case errors.As(err, &ue),
		errors.Is(err, phala.ErrMissingAPIKey),
		errors.Is(err, phala.ErrInsecureBaseURL),
		errors.Is(err, phala.ErrInvalidOption),
		errors.Is(err, phala.ErrInvalidArgument),
		errors.Is(err, phala.ErrNoKMSTrustRoot),
		errors.Is(err, onchain.ErrInvalidPrivateKey),
		errors.As(err, &pe), errors.As(err, &ve),
		errors.Is(err, envcrypt.ErrNotAllowed), errors.Is(err, envcrypt.ErrLimitExceeded),
		errors.Is(err, envcrypt.ErrInvalidName), errors.Is(err, envcrypt.ErrDuplicateName),
		errors.Is(err, envcrypt.ErrInvalidValue):
		return "usage"
	case errors.As(err, &pre), errors.As(err, &oe), errors.As(err, &not),
		errors.As(err, &fund), errors.As(err, &rev), errors.As(err, &rto),
		errors.As(err, &wc), errors.As(err, &snc), errors.As(err, &uce),
		errors.Is(err, onchain.ErrNoChainID), errors.Is(err, onchain.ErrNotDstackApp),
		errors.Is(err, onchain.ErrNothingToRegister), errors.Is(err, onchain.ErrNoKMSRootKey):
		return "onchain"
	case errors.As(err, &api), errors.As(err, &ou), errors.As(err, &re), errors.As(err, &rd), errors.As(err, &lie),
		errors.Is(err, phala.ErrPayloadMismatch), errors.Is(err, phala.ErrDeviceUnverified),
		errors.Is(err, phala.ErrUnexpectedBody), errors.Is(err, phala.ErrUnreadableCreated),
		errors.Is(err, phala.ErrNodeNotFound), errors.Is(err, phala.ErrAmbiguousNode),
		errors.Is(err, phala.ErrMultipleLiveComposeHashes), errors.Is(err, phala.ErrComposeHashNotFound),
		errors.Is(err, phala.ErrHashInvalidOrExpired), errors.Is(err, phala.ErrNoEnvEncryptionKey),
		errors.Is(err, phala.ErrKMSContractMismatch),
		errors.Is(err, envcrypt.ErrSignatureInvalid), errors.Is(err, envcrypt.ErrSignatureMismatch),
		errors.As(err, &fe), errors.Is(err, envcrypt.ErrInvalidPublicKey), errors.Is(err, envcrypt.ErrLowOrderPoint):
		return "api"
	case errors.As(err, &hexE):
		// A malformed hash or id that did not come from the command line
		// (those are usage errors) came from the API's answer.
		return "api"
	}
	return "error"
}

// codeOf returns the ERR-xx-yyy code that describes err: the API's, or the
// catalogue code of the condition the client detected itself.
func codeOf(err error) string {
	if api := apiErrorOf(err); api != nil && api.Code != "" {
		return string(api.Code)
	}
	for _, c := range []struct {
		target error
		code   phala.ErrorCode
	}{
		{phala.ErrNodeNotFound, phala.CodeNodeNotFound},
		{phala.ErrMultipleLiveComposeHashes, phala.CodeMultipleLiveComposeHashes},
		{phala.ErrHashInvalidOrExpired, phala.CodeHashInvalidOrExpired},
	} {
		if errors.Is(err, c.target) {
			return string(c.code)
		}
	}
	return ""
}

// redactor removes secrets from text before it is printed: the command
// never prints the API key or the private key, even if a library error
// were to quote one, nor the path and query of the RPC URL, where
// providers put their API keys.
type redactor struct{ pairs []string } // old, new, old, new, ...

func newRedactor(o *options) redactor {
	var r redactor
	if o == nil {
		return r
	}
	add := func(s, with string) {
		if len(s) >= 8 {
			r.pairs = append(r.pairs, s, with)
		}
	}
	if u := o.rpcURL; u != "" && redactURL(u) != u {
		add(u, redactURL(u))
	}
	add(string(o.apiKey), "[REDACTED]")
	if k := string(o.privateKey); k != "" {
		bare := strings.TrimPrefix(strings.TrimPrefix(k, "0x"), "0X")
		add(bare, "[REDACTED]")
		add(strings.ToLower(bare), "[REDACTED]")
		add(strings.ToUpper(bare), "[REDACTED]")
	}
	return r
}

func (r redactor) clean(s string) string {
	if len(r.pairs) == 0 {
		return s
	}
	return strings.NewReplacer(r.pairs...).Replace(s)
}

// jsonError is the error document written to stdout in --json mode.
type jsonError struct {
	Success bool          `json:"success"`
	Error   jsonErrorBody `json:"error"`
}

type jsonErrorBody struct {
	Type        string            `json:"type"`             // usage, api, onchain, error
	Code        string            `json:"code,omitempty"`   // ERR-xx-yyy for API errors
	Message     string            `json:"message"`          // what went wrong
	Status      int               `json:"status,omitempty"` // HTTP status for API errors
	RequestID   string            `json:"request_id,omitempty"`
	RetryAfter  string            `json:"retry_after,omitempty"` // the answer's Retry-After, e.g. "30s"
	Details     []jsonErrorDetail `json:"details,omitempty"`
	Suggestions []string          `json:"suggestions,omitempty"`
	Links       []jsonLink        `json:"links,omitempty"`
	Resume      *jsonResume       `json:"resume,omitempty"` // set when a commit can finish the job
	ExitCode    int               `json:"exit_code"`
}

type jsonErrorDetail struct {
	Field   string          `json:"field,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
	Message string          `json:"message,omitempty"`
}

type jsonLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// errorDoc builds the --json error document of err.
func errorDoc(err error) jsonError {
	doc := jsonError{Error: jsonErrorBody{Type: kind(err), Code: codeOf(err), Message: cliAdvice(err.Error()), ExitCode: exitCode(err)}}
	b := &doc.Error
	var pre *onchain.ErrOnchainPrerequisite
	if errors.As(err, &pre) {
		// The payload (with the commit token) is the stdout document; the
		// error says only what is missing.
		if api := apiErrorOf(pre.Cause); api != nil {
			b.Status, b.RequestID = api.StatusCode, api.RequestID
		}
		return doc
	}
	if api := apiErrorOf(err); api != nil {
		b.Status, b.RequestID = api.StatusCode, api.RequestID
		if api.RetryAfter > 0 {
			b.RetryAfter = api.RetryAfter.String()
		}
		b.Suggestions = api.Suggestions
		for _, d := range api.Details {
			b.Details = append(b.Details, jsonErrorDetail{Field: d.Field, Value: validRaw(detailRaw(d.Field, d.Value)), Message: d.Message})
		}
		for _, l := range api.Links {
			b.Links = append(b.Links, jsonLink{Label: l.Label, URL: l.URL})
		}
	}
	b.Resume = resumeOf(err)
	return doc
}

// jsonResume is what a failed automatic registration leaves to finish by
// hand: the commit can be sent later with these values.
type jsonResume struct {
	SourceVMUUID    string `json:"source_vm_uuid"`
	CommitToken     string `json:"commit_token"`
	ComposeHash     string `json:"compose_hash"`
	TransactionHash string `json:"transaction_hash,omitempty"` // the sent registration, if any
}

func resumeOf(err error) *jsonResume {
	var are *phala.AutoRegistrationError
	if !errors.As(err, &are) || are.Prerequisite == nil || are.Prerequisite.CommitToken == "" {
		return nil
	}
	r := &jsonResume{SourceVMUUID: are.VMUUID, CommitToken: are.Prerequisite.CommitToken, ComposeHash: are.Prerequisite.ComposeHash}
	if are.Registration != nil && (are.Registration.ComposeHashTx != (common.Hash{}) || are.Registration.DeviceTx != (common.Hash{})) {
		r.TransactionHash = are.Registration.CommitTransactionHash()
	}
	return r
}

func apiErrorOf(err error) *phala.APIError {
	var api *phala.APIError
	if errors.As(err, &api) {
		return api
	}
	return nil
}

// validRaw returns v if it is valid JSON (so that the document stays valid
// whatever the server sent), else v quoted as a string.
func validRaw(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || json.Valid(v) {
		return v
	}
	b, _ := json.Marshal(string(v))
	return b
}

// reportError prints err where its mode wants it: in --json mode the error
// document goes to stdout (it is the command's one output document), else the
// text report goes to stderr.
func reportError(stdout, stderr io.Writer, jsonMode bool, headline string, err error, r redactor) {
	if jsonMode {
		writeError(stdout, true, headline, err, r)
		return
	}
	writeError(stderr, false, headline, err, r)
}

// finishJSON writes the --json outcome of a command to w: doc, the document
// the command produced (possibly empty), and err, its failure. On success doc
// is written as it is. On failure the error is merged into doc's object as
// "error" with "success": false, so stdout still holds exactly one JSON
// document (for example the prepare payload of a 465 with what is missing);
// without a document the error document alone is written.
func finishJSON(w io.Writer, doc []byte, err error, r redactor) error {
	if err == nil {
		_, werr := w.Write(doc)
		return werr
	}
	errBody := errorDoc(err)
	var obj map[string]json.RawMessage
	if len(bytes.TrimSpace(doc)) == 0 || json.Unmarshal(doc, &obj) != nil || obj == nil {
		if len(bytes.TrimSpace(doc)) > 0 {
			// Not an object (never written today): keep it, raw, beside the error.
			obj = map[string]json.RawMessage{"output": validRaw(bytes.TrimSpace(doc))}
		} else {
			writeError(w, true, "", err, r)
			return nil
		}
	}
	body, merr := json.Marshal(errBody.Error)
	if merr != nil {
		return merr
	}
	obj["success"] = json.RawMessage("false")
	obj["error"] = body
	var sb strings.Builder
	if werr := writeJSON(&sb, obj); werr != nil {
		return werr
	}
	_, werr := io.WriteString(w, r.clean(sb.String()))
	return werr
}

// writeError prints err to w: the JSON document in --json mode, else a
// human-readable report under headline (like the phala CLI's "✗ Failed to
// create CVM replica"), with each documentation link printed once.
func writeError(w io.Writer, jsonMode bool, headline string, err error, r redactor) {
	if jsonMode {
		b, mErr := json.Marshal(errorDoc(err))
		if mErr != nil { // only plain types inside: unreachable
			b = []byte(`{"success":false,"error":{"type":"error","message":"cannot encode the error"}}`)
		}
		_, _ = io.WriteString(w, r.clean(string(b))+"\n")
		return
	}
	var sb strings.Builder
	if headline != "" {
		sb.WriteString("✗ " + headline + "\n")
	}
	var pre *onchain.ErrOnchainPrerequisite
	api := apiErrorOf(err)
	switch {
	case errors.As(err, &pre):
		fmt.Fprintf(&sb, "Error: %s\n", err)
	case api != nil:
		if api.Code != "" {
			fmt.Fprintf(&sb, "Error [%s]: %s\n", api.Code, api.Message)
		} else {
			fmt.Fprintf(&sb, "Error: %s\n", api.Message)
		}
		if outer := err.Error(); outer != api.Error() {
			fmt.Fprintf(&sb, "  %s\n", outer)
		}
		meta := fmt.Sprintf("HTTP %d", api.StatusCode)
		if api.RequestID != "" {
			meta += ", request ID " + api.RequestID
		}
		if api.RetryAfter > 0 {
			meta += ", retry after " + api.RetryAfter.String()
		}
		fmt.Fprintf(&sb, "  %s\n", meta)
		if len(api.Details) > 0 {
			sb.WriteString("Details:\n")
			for _, d := range api.Details {
				switch {
				case d.Message != "":
					fmt.Fprintf(&sb, "  - %s\n", d.Message)
				case d.Field == "" && len(d.Value) == 0:
					// Nothing to show (an item that was not a detail object).
				default:
					fmt.Fprintf(&sb, "  - %s: %s\n", d.Field, detailValue(detailRaw(d.Field, d.Value)))
				}
			}
		}
		if len(api.Suggestions) > 0 {
			sb.WriteString("Suggestions:\n")
			for _, s := range api.Suggestions {
				fmt.Fprintf(&sb, "  - %s\n", s)
			}
		}
		if len(api.Links) > 0 {
			sb.WriteString("Learn more:\n")
			for _, l := range api.Links {
				fmt.Fprintf(&sb, "  - %s: %s\n", l.Label, l.URL)
			}
		}
	default:
		if code := codeOf(err); code != "" {
			fmt.Fprintf(&sb, "Error [%s]: %s\n", code, err)
		} else {
			fmt.Fprintf(&sb, "Error: %s\n", err)
		}
	}
	if r := resumeOf(err); r != nil {
		sb.WriteString("The commit token is still valid: once the registration is on chain, commit with:\n")
		tx := r.TransactionHash
		if tx == "" {
			tx = "<tx-hash>"
		}
		fmt.Fprintf(&sb, "  phala-replicate %s --commit --token %s --compose-hash %s --transaction-hash %s\n",
			r.SourceVMUUID, shellQuote(r.CommitToken), with0x(r.ComposeHash), tx)
	}
	if kind(err) == "usage" {
		sb.WriteString("Run 'phala-replicate --help' for usage.\n")
	}
	_, _ = io.WriteString(w, r.clean(cliAdvice(sb.String())))
}

// hiddenDetail is what a secret detail value (see detailRaw) prints as.
const hiddenDetail = `"[REDACTED]"`

// detailRaw is the value of an error detail as the command may print it: the
// value of a field holding a token (the commit_token of a 465 the command could
// not use, a token a refusal echoes) is hidden, since an error is not the
// prepare payload the user asked for.
func detailRaw(field string, v json.RawMessage) json.RawMessage {
	if len(v) > 0 && strings.Contains(strings.ToLower(field), "token") && !isJSONNull(v) {
		return json.RawMessage(hiddenDetail)
	}
	return v
}

func isJSONNull(v json.RawMessage) bool { return strings.TrimSpace(string(v)) == "null" }

// sdkAdvice rewrites the advice of SDK errors, written for Go callers
// ("ListReplicas(ctx, …)", "run PrepareReplica again"), in the terms of
// this command and of the HTTP API.
var sdkAdvice = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`GetCVM\(ctx, "([^"]*)"\) reads the source and its AppID, then ListReplicas\(ctx, cvm\.AppID\) lists the app's instances`),
		"read the source's app_id (GET /cvms/$1), then list that app's instances"},
	{regexp.MustCompile(`ListReplicas\(ctx, "([^"]*)"\) lists the app's instances`), "list the instances of app $1"},
	{regexp.MustCompile(`ListReplicas\(ctx, appID\) with the source's app id \(GetCVM gives it\) lists the app's instances`),
		"list the source app's instances"},
	{regexp.MustCompile(`run PrepareReplica again`), "prepare again (--prepare-only)"},
	{regexp.MustCompile(`commit with AlreadyRegistered`), "commit with --transaction-hash " + onchain.AlreadyRegistered},
	{regexp.MustCompile(`choose one with ReplicateRequest\.ComposeHash`), "choose one with --compose-hash"},
	{regexp.MustCompile(`\(configure chain (\d+) with WithKMSChainBackend, WithKMSChainRPC or WithKMSChains to read it from the DstackKms contract ([^,]*), or pin it with WithTrustedKMSRootKeys\)`),
		"(pass --rpc-url with an endpoint of chain $1 to read it from the DstackKms contract $2, or pin it with --kms-root)"},
}

// cliAdvice applies sdkAdvice to s.
func cliAdvice(s string) string {
	for _, a := range sdkAdvice {
		s = a.re.ReplaceAllString(s, a.with)
	}
	return s
}

// detailValue renders a detail's raw JSON value for text output: strings
// without quotes, anything else as compact JSON.
func detailValue(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if len(v) == 0 {
		return "-"
	}
	return string(v)
}
