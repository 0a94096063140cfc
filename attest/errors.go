package attest

import "fmt"

// Check names one verification step. A [*CheckError] carries the step that failed.
type Check string

// The checks [Verify] runs, in the order it runs them.
const (
	// CheckInput: the evidence itself is unusable (empty quote, bad hex, option misuse).
	CheckInput Check = "input"
	// CheckQuoteFormat: the quote does not parse as a TDX version 4 quote.
	CheckQuoteFormat Check = "quote-format"
	// CheckQuoteSignature: the quote's signature, QE report or PCK chain up to the
	// trusted root does not verify.
	CheckQuoteSignature Check = "quote-signature"
	// CheckCollateral: the supplied or fetched collateral (TCB info, QE identity, CRLs)
	// is missing, malformed, expired, not signed by the trusted root, or revokes the chain.
	CheckCollateral Check = "collateral"
	// CheckTCBStatus: the platform's TCB status is not one the caller accepts
	// (see [WithAcceptedTCBStatuses]).
	CheckTCBStatus Check = "tcb-status"
	// CheckTDAttributes: the quote's TD attributes say the TD runs in debug mode, where
	// the host can read and change its memory: nothing it measured can be trusted.
	CheckTDAttributes Check = "td-attributes"
	// CheckEventLog: the event log is malformed (bad hex, wrong digest size, unknown IMR,
	// a measured identity event repeated).
	CheckEventLog Check = "event-log"
	// CheckEventDigest: a dstack runtime event's listed digest is not the digest of its
	// name and payload.
	CheckEventDigest Check = "event-digest"
	// CheckRTMR3: replaying the IMR-3 events does not give the quote's RTMR3.
	CheckRTMR3 Check = "rtmr3-replay"
	// CheckAppCompose: the measured compose-hash event is missing or is not the SHA-256
	// of the app_compose served with the evidence.
	CheckAppCompose Check = "app-compose"
	// CheckComposeHash: the measured compose hash is not the one the caller expects.
	CheckComposeHash Check = "compose-hash"
	// CheckAppID: the measured app-id event is missing or not the app id the caller expects.
	CheckAppID Check = "app-id"
	// CheckMRTD, CheckRTMR0, CheckRTMR1, CheckRTMR2: an OS image measurement is not in
	// the caller's allow-list.
	CheckMRTD  Check = "mrtd"
	CheckRTMR0 Check = "rtmr0"
	CheckRTMR1 Check = "rtmr1"
	CheckRTMR2 Check = "rtmr2"
)

// CheckError reports a failed verification step: which check, the value it wanted and
// the value it got (hex for measurements), and the underlying cause if any. Use
// errors.As to read it:
//
//	var ce *attest.CheckError
//	if errors.As(err, &ce) && ce.Check == attest.CheckComposeHash { ... }
type CheckError struct {
	Check Check  // the step that failed
	Event string // the event concerned, e.g. "event 12 (compose-hash)"; empty if none
	Want  string // the value expected (hex for measurements); empty if not a comparison
	Got   string // the value found
	Err   error  // underlying cause, e.g. from the quote library; may be nil
}

// Error describes the failed check and the two values compared. Values are public
// measurements and hashes; no secret ever reaches a CheckError.
func (e *CheckError) Error() string {
	msg := "attest: " + string(e.Check) + " check failed"
	if e.Event != "" {
		msg += " at " + e.Event
	}
	if e.Want != "" || e.Got != "" {
		msg += fmt.Sprintf(": want %s, got %s", orNone(e.Want), orNone(e.Got))
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *CheckError) Unwrap() error { return e.Err }

// Is reports whether target is a *CheckError for the same check, so that
// errors.Is(err, &attest.CheckError{Check: attest.CheckRTMR3}) works.
func (e *CheckError) Is(target error) bool {
	t, ok := target.(*CheckError)
	return ok && t.Check == e.Check && t.Want == "" && t.Got == "" && t.Event == "" && t.Err == nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
