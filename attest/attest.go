package attest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Evidence is what a CVM publishes about itself: its TDX quote, the event log of its
// measured boot, and the app_compose text whose hash it measured.
type Evidence struct {
	Quote      []byte  // raw TDX quote (see [DecodeQuote] for the hex form the API serves)
	EventLog   []Event // the event log; all IMR-3 entries are replayed
	AppCompose string  // app_compose exactly as served
}

// TCBStatus is a platform's TCB status as Intel's TCB info rates it ("UpToDate",
// "OutOfDate", "SWHardeningNeeded", "ConfigurationNeeded", "Revoked", ...), or
// TCBUnknown when no collateral was used.
type TCBStatus string

// TCB statuses named by this package.
const (
	TCBUnknown   TCBStatus = "Unknown" // no collateral: the status was not judged
	TCBUpToDate  TCBStatus = "UpToDate"
	TCBOutOfDate TCBStatus = "OutOfDate"
	// TCBUnsupported: the collateral has no TCB level (or QE/TDX module level) that
	// matches the platform.
	TCBUnsupported TCBStatus = "Unsupported"
)

// Result is what a passing verification measured. Hex values are lower case without 0x.
type Result struct {
	TCBStatus      TCBStatus `json:"tcb_status"`                 // TCBUnknown without collateral
	TCBAdvisoryIDs []string  `json:"tcb_advisory_ids,omitempty"` // Intel advisories of the matched TCB level

	MRTD       string `json:"mrtd"`        // the virtual firmware; pin with WithAllowedMRTD
	RTMR0      string `json:"rtmr0"`       // firmware configuration
	RTMR1      string `json:"rtmr1"`       // kernel
	RTMR2      string `json:"rtmr2"`       // kernel command line and initrd
	RTMR3      string `json:"rtmr3"`       // replayed from the event log and equal to the quote's
	ReportData string `json:"report_data"` // the quote's 64 bytes of report data, not judged

	AppID       string `json:"app_id"`       // measured app-id event, hex
	ComposeHash string `json:"compose_hash"` // measured compose-hash event, hex; = SHA-256(app_compose)
	InstanceID  string `json:"instance_id"`  // measured instance-id event, hex (empty if the app has none)
	KeyProvider string `json:"key_provider"` // measured key-provider event, as text

	// AppIDChecked and ComposeHashChecked say whether the caller gave an expected
	// value (WithAppID, WithComposeHash) and it matched; false means reported only.
	AppIDChecked       bool `json:"app_id_checked"`
	ComposeHashChecked bool `json:"compose_hash_checked"`
	// OSImagePinned says whether MRTD and RTMR0-2 were judged against allow-lists;
	// false means reported only.
	OSImagePinned bool `json:"os_image_pinned"`
}

// Option configures [Verify].
type Option func(*config) error

type config struct {
	now        func() time.Time
	roots      *x509.CertPool
	collateral *Collateral
	pccsURL    string
	httpClient *http.Client
	accepted   []TCBStatus
	appID      string
	compose    string
	pins       [4][]string // MRTD, RTMR0, RTMR1, RTMR2
}

// WithTime verifies certificates and collateral as of t instead of now (for evidence
// whose certificates or collateral have since expired, and for tests).
func WithTime(t time.Time) Option {
	return func(c *config) error {
		if t.IsZero() {
			return errors.New("attest: WithTime: zero time")
		}
		c.now = func() time.Time { return t }
		return nil
	}
}

// WithTrustedRoots trusts exactly the roots in pool instead of Intel's SGX root CA
// (embedded in go-tdx-guest). Use it for test chains; never needed for real quotes.
func WithTrustedRoots(pool *x509.CertPool) Option {
	return func(c *config) error {
		if pool == nil {
			return errors.New("attest: WithTrustedRoots: nil pool")
		}
		c.roots = pool
		return nil
	}
}

// WithCollateral judges the TCB status with the given collateral, offline. The
// collateral must be signed under the trusted root and be current at the verification
// time; its CRLs are checked against the quote's PCK chain.
func WithCollateral(col *Collateral) Option {
	return func(c *config) error {
		if col == nil {
			return errors.New("attest: WithCollateral: nil collateral")
		}
		c.collateral = col
		return nil
	}
}

// WithPCCS fetches collateral from a PCCS (or Intel's PCS) at baseURL, e.g.
// "https://pccs.example:8081", which serves /sgx/certification/v4 and
// /tdx/certification/v4. client may be nil for http.DefaultClient.
func WithPCCS(baseURL string, client *http.Client) Option {
	return func(c *config) error {
		if !strings.HasPrefix(baseURL, "https://") && !strings.HasPrefix(baseURL, "http://") {
			return errors.New("attest: WithPCCS: base URL must be http(s)")
		}
		if client == nil {
			client = http.DefaultClient
		}
		c.pccsURL, c.httpClient = strings.TrimRight(baseURL, "/"), client
		return nil
	}
}

// WithAcceptedTCBStatuses fails verification unless collateral was used and the TCB
// status is one of statuses. Without it the status is reported, never judged.
func WithAcceptedTCBStatuses(statuses ...TCBStatus) Option {
	return func(c *config) error {
		if len(statuses) == 0 {
			return errors.New("attest: WithAcceptedTCBStatuses: no status")
		}
		c.accepted = statuses
		return nil
	}
}

// WithAppID requires the measured app-id event to be appID (hex, 0x optional, any case).
func WithAppID(appID string) Option {
	return func(c *config) error {
		if _, err := decodeHex(appID); err != nil || normHex(appID) == "" {
			return fmt.Errorf("attest: WithAppID: app id must be hex")
		}
		c.appID = normHex(appID)
		return nil
	}
}

// WithComposeHash requires the measured compose hash to be hash (SHA-256, hex, 0x optional).
func WithComposeHash(hash string) Option {
	return func(c *config) error {
		b, err := decodeHex(hash)
		if err != nil || len(b) != sha256.Size {
			return fmt.Errorf("attest: WithComposeHash: want 32 bytes of hex")
		}
		c.compose = hex.EncodeToString(b)
		return nil
	}
}

// WithAllowedMRTD requires the quote's MRTD to be one of values (hex).
func WithAllowedMRTD(values ...string) Option { return pin(0, "WithAllowedMRTD", values) }

// WithAllowedRTMR requires RTMR index (0, 1 or 2) to be one of values (hex). RTMR3 is
// not pinned: it is replayed from the event log and judged through its events.
func WithAllowedRTMR(index int, values ...string) Option {
	if index < 0 || index > 2 {
		return func(*config) error { return fmt.Errorf("attest: WithAllowedRTMR: index %d not in 0-2", index) }
	}
	return pin(index+1, fmt.Sprintf("WithAllowedRTMR(%d)", index), values)
}

func pin(slot int, name string, values []string) Option {
	return func(c *config) error {
		if len(values) == 0 {
			return fmt.Errorf("attest: %s: no value", name)
		}
		for _, v := range values {
			b, err := decodeHex(v)
			if err != nil || len(b) != 48 {
				return fmt.Errorf("attest: %s: want 48 bytes of hex", name)
			}
			c.pins[slot] = append(c.pins[slot], hex.EncodeToString(b))
		}
		return nil
	}
}

// DecodeQuote decodes a quote served as hex (optional 0x prefix).
func DecodeQuote(s string) ([]byte, error) {
	b, err := decodeHex(s)
	if err != nil {
		return nil, &CheckError{Check: CheckInput, Err: fmt.Errorf("quote is not hex: %w", err)}
	}
	return b, nil
}

// Verify checks evidence and returns what it measured. It runs, in order: the quote's
// format and signature chain up to the trusted root; the collateral and TCB status if
// collateral was given; the TD attributes (a debug TD is refused); the event log (every runtime event's digest, then the RTMR3
// replay against the quote); the compose-hash event against SHA-256(app_compose); the
// caller's expected compose hash and app id; the MRTD/RTMR0-2 allow-lists; the
// accepted TCB statuses. The first failure is returned as a [*CheckError]. Verify never
// panics and reads the network only with [WithPCCS]. See the package doc for what a
// pass proves.
func Verify(ctx context.Context, ev Evidence, opts ...Option) (*Result, error) {
	cfg, res, quoteRTMR3, err := verifyQuoteStep(ctx, ev.Quote, opts)
	if err != nil {
		return nil, err
	}
	if err := verifyEvents(cfg, res, quoteRTMR3, ev); err != nil {
		return nil, err
	}
	return res, nil
}

// verifyEvents replays the event log against the quote's RTMR3 and checks the measured
// identity and the allow-lists, filling res.
func verifyEvents(cfg *config, res *Result, quoteRTMR3 string, ev Evidence) error {
	m, err := replayRTMR3(ev.EventLog)
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(m.rtmr3[:]); got != quoteRTMR3 {
		return &CheckError{Check: CheckRTMR3, Want: quoteRTMR3, Got: got}
	}
	res.RTMR3 = quoteRTMR3
	res.AppID = hex.EncodeToString(m.appID)
	res.ComposeHash = hex.EncodeToString(m.composeHash)
	res.InstanceID = hex.EncodeToString(m.instanceID)
	res.KeyProvider = string(m.keyProvider)

	sum := sha256.Sum256([]byte(ev.AppCompose))
	served := hex.EncodeToString(sum[:])
	if !m.found["compose-hash"] {
		return &CheckError{Check: CheckAppCompose, Want: served, Got: "no compose-hash event"}
	}
	if res.ComposeHash != served {
		return &CheckError{Check: CheckAppCompose, Event: "compose-hash", Want: res.ComposeHash, Got: served}
	}
	if cfg.compose != "" {
		if res.ComposeHash != cfg.compose {
			return &CheckError{Check: CheckComposeHash, Want: cfg.compose, Got: res.ComposeHash}
		}
		res.ComposeHashChecked = true
	}
	if cfg.appID != "" {
		if !m.found["app-id"] {
			return &CheckError{Check: CheckAppID, Want: cfg.appID, Got: "no app-id event"}
		}
		if res.AppID != cfg.appID {
			return &CheckError{Check: CheckAppID, Want: cfg.appID, Got: res.AppID}
		}
		res.AppIDChecked = true
	}
	return checkPins(cfg, res)
}

// VerifyQuote checks only a quote: its signature chain, the collateral if given, that
// the TD is not a debug TD, the MRTD/RTMR0-2 allow-lists and the accepted TCB statuses. The result's RTMR3 is the
// quote's, not replayed, and its identity fields are empty: without the event log
// nothing about the app is proven.
func VerifyQuote(ctx context.Context, quote []byte, opts ...Option) (*Result, error) {
	cfg, res, rtmr3, err := verifyQuoteStep(ctx, quote, opts)
	if err != nil {
		return nil, err
	}
	res.RTMR3 = rtmr3
	if err := checkPins(cfg, res); err != nil {
		return nil, err
	}
	return res, nil
}

// tdAttributeDebug is bit 0 of the TD attributes: the TD was launched for debugging.
const tdAttributeDebug = 0x01

func verifyQuoteStep(ctx context.Context, quote []byte, opts []Option) (*config, *Result, string, error) {
	cfg := &config{now: time.Now}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, nil, "", &CheckError{Check: CheckInput, Err: err}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, "", err
	}
	if cfg.roots == nil {
		pool, err := intelRoots()
		if err != nil {
			return nil, nil, "", &CheckError{Check: CheckInput, Err: err}
		}
		cfg.roots = pool
	}
	q, err := parseQuote(quote)
	if err != nil {
		return nil, nil, "", err
	}
	status, advisories, err := verifyQuote(ctx, q, cfg)
	if err != nil {
		return nil, nil, "", err
	}
	body := q.GetTdQuoteBody()
	if attrs := body.GetTdAttributes(); len(attrs) != 8 || attrs[0]&tdAttributeDebug != 0 {
		return nil, nil, "", &CheckError{Check: CheckTDAttributes, Want: "a production TD (DEBUG bit clear)",
			Got: "TD attributes " + hex.EncodeToString(attrs) + ": debug TD, its memory is open to the host"}
	}
	rtmrs := body.GetRtmrs()
	if len(rtmrs) != 4 {
		return nil, nil, "", &CheckError{Check: CheckQuoteFormat, Want: "4 RTMRs", Got: fmt.Sprintf("%d", len(rtmrs))}
	}
	res := &Result{
		TCBStatus:      status,
		TCBAdvisoryIDs: advisories,
		MRTD:           hex.EncodeToString(body.GetMrTd()),
		RTMR0:          hex.EncodeToString(rtmrs[0]),
		RTMR1:          hex.EncodeToString(rtmrs[1]),
		RTMR2:          hex.EncodeToString(rtmrs[2]),
		ReportData:     hex.EncodeToString(body.GetReportData()),
	}
	return cfg, res, hex.EncodeToString(rtmrs[3]), nil
}

// checkPins judges the OS image measurements and the TCB status against the caller's
// allow-lists.
func checkPins(cfg *config, res *Result) error {
	checks := [4]Check{CheckMRTD, CheckRTMR0, CheckRTMR1, CheckRTMR2}
	values := [4]string{res.MRTD, res.RTMR0, res.RTMR1, res.RTMR2}
	for i, allowed := range cfg.pins {
		if len(allowed) > 0 && !contains(allowed, values[i]) {
			return &CheckError{Check: checks[i], Want: "one of " + strings.Join(allowed, ","), Got: values[i]}
		}
	}
	res.OSImagePinned = len(cfg.pins[0]) > 0 && len(cfg.pins[1]) > 0 && len(cfg.pins[2]) > 0 && len(cfg.pins[3]) > 0
	if len(cfg.accepted) > 0 && !contains(cfg.accepted, res.TCBStatus) {
		want := make([]string, len(cfg.accepted))
		for i, s := range cfg.accepted {
			want[i] = string(s)
		}
		return &CheckError{Check: CheckTCBStatus, Want: "one of " + strings.Join(want, ","), Got: string(res.TCBStatus)}
	}
	return nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
