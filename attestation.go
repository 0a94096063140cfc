package phala

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/phalaforge/phala-go/attest"
)

// ErrAttestationUnavailable is matched by [*AttestationUnavailableError]: the CVM has
// no attestation to verify yet (offline, not booted, or the API answered without a
// quote or TCB info).
var ErrAttestationUnavailable = errors.New("phala: attestation unavailable")

// AttestationUnavailableError reports a CVM whose attestation cannot be verified yet.
// It is an outcome, not a parse failure: wait for the CVM to run and try again. It
// matches [ErrAttestationUnavailable].
type AttestationUnavailableError struct {
	CVM      string // the id asked for
	IsOnline bool   // the answer's is_online
	Reason   string // e.g. "offline", "no tcb_info", "no quote", or the API's error text
}

// Error implements error.
func (e *AttestationUnavailableError) Error() string {
	return fmt.Sprintf("phala: attestation of CVM %q unavailable: %s", oneLine(e.CVM, 80), oneLine(e.Reason, 200))
}

// Is reports whether target is ErrAttestationUnavailable.
func (e *AttestationUnavailableError) Is(target error) bool {
	return target == ErrAttestationUnavailable
}

// CVMAttestation is the answer of GET /cvms/{id}/attestation. Decoding is lenient:
// unknown fields are kept in Extra.
type CVMAttestation struct {
	Name            string           `json:"name"`
	IsOnline        bool             `json:"is_online"`
	IsPublic        bool             `json:"is_public"`
	Error           string           `json:"error"` // why there is no attestation, when the API says
	AppCertificates []AppCertificate `json:"app_certificates"`
	TCBInfo         *TCBInfo         `json:"tcb_info"`     // nil while the CVM is not running; also read from a JSON string holding the object
	ComposeFile     string           `json:"compose_file"` //

	// Extra holds the fields this type does not know, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (a *CVMAttestation) UnmarshalJSON(data []byte) error {
	*a = CVMAttestation{}
	extra, err := decodeLenient(data, a)
	if err != nil {
		return fmt.Errorf("phala: attestation object: %w", err)
	}
	a.TCBInfo = tcbInfoFromString(a.TCBInfo, extra)
	a.Extra = extra
	return nil
}

// tcbInfoFromString decodes a tcb_info served as a JSON string holding the object (the
// form dstack's guest agent serves), which lenient decoding left in extra. It returns
// tcb unchanged otherwise.
func tcbInfoFromString(tcb *TCBInfo, extra map[string]json.RawMessage) *TCBInfo {
	raw, ok := extra["tcb_info"]
	if !ok {
		return tcb
	}
	var inner string
	if json.Unmarshal(raw, &inner) != nil {
		return tcb
	}
	var t TCBInfo
	if json.Unmarshal([]byte(inner), &t) != nil || isJSONNull([]byte(inner)) {
		return tcb
	}
	delete(extra, "tcb_info")
	return &t
}

// AppCertificate is one certificate of a CVM's app chain; the app's leaf carries the
// TDX quote.
type AppCertificate struct {
	SerialNumber       string   `json:"serial_number"`
	NotBefore          string   `json:"not_before"` // ISO 8601
	NotAfter           string   `json:"not_after"`  // ISO 8601
	Fingerprint        string   `json:"fingerprint"`
	SignatureAlgorithm string   `json:"signature_algorithm"`
	SANs               []string `json:"sans"`
	IsCA               bool     `json:"is_ca"`
	PositionInChain    *int     `json:"position_in_chain"`
	Quote              string   `json:"quote"` // hex TDX quote, empty when the certificate has none
	AppID              string   `json:"app_id"`
	CertUsage          string   `json:"cert_usage"`

	// Extra holds the fields this type does not know (subject, issuer, ...), raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (c *AppCertificate) UnmarshalJSON(data []byte) error {
	*c = AppCertificate{}
	extra, err := decodeLenient(data, c)
	if err != nil {
		return fmt.Errorf("phala: app certificate: %w", err)
	}
	c.Extra = extra
	return nil
}

// TCBInfo is a CVM's measurements as the API reports them, with the event log and the
// app_compose text that the measurements cover. The API's word only: [attest.Verify]
// takes the measurements from the quote.
type TCBInfo struct {
	MRTD       string         `json:"mrtd"`
	RootfsHash string         `json:"rootfs_hash"`
	RTMR0      string         `json:"rtmr0"`
	RTMR1      string         `json:"rtmr1"`
	RTMR2      string         `json:"rtmr2"`
	RTMR3      string         `json:"rtmr3"`
	EventLog   []attest.Event `json:"event_log"`   // also accepted as a JSON string holding the array
	AppCompose string         `json:"app_compose"` // exactly as measured

	// Extra holds the fields this type does not know, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently; event_log may be an array or a
// string holding one.
func (t *TCBInfo) UnmarshalJSON(data []byte) error {
	*t = TCBInfo{}
	extra, err := decodeLenient(data, t)
	if err != nil {
		return fmt.Errorf("phala: tcb_info: %w", err)
	}
	if raw, ok := extra["event_log"]; ok {
		// decodeLenient moves a value of another type (a string) to extra.
		if events, err := attest.ParseEventLog(raw); err == nil {
			t.EventLog = events
			delete(extra, "event_log")
		}
	}
	t.Extra = extra
	return nil
}

// Quote returns the hex quote of the attestation: that of the certificate at position 0
// of the chain, else the first certificate that carries one; "" if none does.
func (a *CVMAttestation) Quote() string {
	first := ""
	for _, c := range a.AppCertificates {
		if strings.TrimSpace(c.Quote) == "" {
			continue
		}
		if c.PositionInChain != nil && *c.PositionInChain == 0 {
			return c.Quote
		}
		if first == "" {
			first = c.Quote
		}
	}
	return first
}

// Evidence returns what [attest.Verify] needs, or an [*AttestationUnavailableError]
// when the CVM is offline or the answer carries no quote or TCB info. Evidence the
// answer carries but that cannot be read is a failed check, an [*attest.CheckError]:
// a quote that is not hex or app_certificates of another shape fail
// [attest.CheckQuoteFormat], a tcb_info or event_log of another shape
// [attest.CheckEventLog], an app_compose that is not a string [attest.CheckAppCompose].
func (a *CVMAttestation) Evidence(cvm string) (attest.Evidence, error) {
	unavailable := func(reason string) (attest.Evidence, error) {
		if a.Error != "" {
			reason += ": " + a.Error
		}
		return attest.Evidence{}, &AttestationUnavailableError{CVM: cvm, IsOnline: a.IsOnline, Reason: reason}
	}
	failed := func(err error) (attest.Evidence, error) {
		return attest.Evidence{}, fmt.Errorf("phala: attestation of CVM %q: %w", oneLine(cvm, 80), err)
	}
	if !a.IsOnline {
		return unavailable("offline")
	}
	// Evidence the answer carries in a shape that cannot be read is a failed check, not
	// an attestation still to come.
	if err := malformedEvidence(a.Extra, a.TCBInfo, a.AppCertificates); err != nil {
		return failed(err)
	}
	switch {
	case a.TCBInfo == nil:
		return unavailable("no tcb_info")
	case a.Quote() == "":
		return unavailable("no quote")
	}
	quote, err := decodeServedQuote(a.Quote())
	if err != nil {
		return failed(err)
	}
	return attest.Evidence{Quote: quote, EventLog: a.TCBInfo.EventLog, AppCompose: a.TCBInfo.AppCompose}, nil
}

// malformedEvidence returns the failed check for evidence that an attestation answer
// carries but that did not decode (lenient decoding keeps such fields in Extra): a
// tcb_info that is not an object or an event_log that is not a list of events fails
// the event-log check, app_certificates or a quote that is not of the schema's type the
// quote-format check, an app_compose that is not a string the app-compose check.
func malformedEvidence(extra map[string]json.RawMessage, tcb *TCBInfo, certs []AppCertificate) error {
	bad := func(check attest.Check, field, want string, raw json.RawMessage) error {
		return &attest.CheckError{Check: check, Want: field + " as " + want, Got: field + " as " + jsonKind(raw)}
	}
	if raw, ok := extra["tcb_info"]; ok {
		return bad(attest.CheckEventLog, "tcb_info", "an object", raw)
	}
	if raw, ok := extra["app_certificates"]; ok {
		return bad(attest.CheckQuoteFormat, "app_certificates", "a list of certificates", raw)
	}
	for _, c := range certs {
		if raw, ok := c.Extra["quote"]; ok {
			return bad(attest.CheckQuoteFormat, "quote", "a hex string", raw)
		}
	}
	if tcb != nil {
		if raw, ok := tcb.Extra["event_log"]; ok {
			return bad(attest.CheckEventLog, "event_log", "a list of events", raw)
		}
		if raw, ok := tcb.Extra["app_compose"]; ok {
			return bad(attest.CheckAppCompose, "app_compose", "a string", raw)
		}
	}
	return nil
}

// jsonKind names the JSON type of raw, for an error message (never its content).
func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "a list of another shape"
	case b[0] == '"':
		return "a string of another shape"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// decodeServedQuote decodes the hex quote the API served. A quote that is not hex is
// the server's evidence failing the quote-format check (attest.DecodeQuote reports a
// caller's bad input).
func decodeServedQuote(s string) ([]byte, error) {
	quote, err := attest.DecodeQuote(s)
	if err != nil {
		return nil, &attest.CheckError{Check: attest.CheckQuoteFormat, Want: "a hex quote", Got: "not hex", Err: errors.Unwrap(err)}
	}
	return quote, nil
}

// GetCVMAttestation fetches GET /cvms/{id}/attestation. id is a vm_uuid, an app id or a
// CVM name, as for [Client.GetCVM]. An offline CVM is a normal answer (IsOnline false);
// [CVMAttestation.Evidence] turns it into an [*AttestationUnavailableError].
func (c *Client) GetCVMAttestation(ctx context.Context, id string) (*CVMAttestation, error) {
	src, err := parseSource(id)
	if err != nil {
		return nil, err
	}
	var a CVMAttestation
	if _, err := c.do(ctx, request{method: http.MethodGet, path: pathf("/cvms/%s/attestation", src.id)}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// AppAttestations is the answer of GET /apps/{app_id}/attestations: the attestation of
// every instance of an app. Decoding is lenient: unknown fields are kept in Extra.
type AppAttestations struct {
	AppID           string                `json:"app_id"`
	ContractAddress string                `json:"contract_address"`
	Instances       []InstanceAttestation `json:"instances"`

	// Extra holds the fields this type does not know (kms_info, guest agent info, ...), raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (a *AppAttestations) UnmarshalJSON(data []byte) error {
	*a = AppAttestations{}
	extra, err := decodeLenient(data, a)
	if err != nil {
		return fmt.Errorf("phala: app attestations: %w", err)
	}
	a.Extra = extra
	return nil
}

// InstanceAttestation is one instance of [AppAttestations].
type InstanceAttestation struct {
	VMUUID          string           `json:"vm_uuid"`
	Name            string           `json:"name"`
	InstanceID      string           `json:"instance_id"`
	Status          string           `json:"status"`
	ImageVersion    string           `json:"image_version"`
	Quote           string           `json:"quote"` // hex
	PPID            string           `json:"ppid"`
	DeviceID        string           `json:"device_id"`
	TCBInfo         *TCBInfo         `json:"tcb_info"`
	AppCertificates []AppCertificate `json:"app_certificates"`
	ComposeFile     string           `json:"compose_file"`
	Error           string           `json:"error"`

	// Extra holds the fields this type does not know, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (i *InstanceAttestation) UnmarshalJSON(data []byte) error {
	*i = InstanceAttestation{}
	extra, err := decodeLenient(data, i)
	if err != nil {
		return fmt.Errorf("phala: instance attestation: %w", err)
	}
	i.TCBInfo = tcbInfoFromString(i.TCBInfo, extra)
	i.Extra = extra
	return nil
}

// Evidence returns what [attest.Verify] needs, an [*AttestationUnavailableError]
// when the instance carries no quote or TCB info, or, as [CVMAttestation.Evidence], an
// [*attest.CheckError] when it carries evidence that cannot be read.
func (i *InstanceAttestation) Evidence() (attest.Evidence, error) {
	id := i.VMUUID
	failed := func(err error) (attest.Evidence, error) {
		return attest.Evidence{}, fmt.Errorf("phala: attestation of instance %q: %w", oneLine(id, 80), err)
	}
	if raw, ok := i.Extra["quote"]; ok {
		return failed(&attest.CheckError{Check: attest.CheckQuoteFormat, Want: "quote as a hex string", Got: "quote as " + jsonKind(raw)})
	}
	if err := malformedEvidence(i.Extra, i.TCBInfo, nil); err != nil {
		return failed(err)
	}
	if i.TCBInfo == nil || strings.TrimSpace(i.Quote) == "" {
		reason := "no quote or tcb_info"
		if i.Error != "" {
			reason += ": " + i.Error
		}
		return attest.Evidence{}, &AttestationUnavailableError{CVM: id, Reason: reason}
	}
	quote, err := decodeServedQuote(i.Quote)
	if err != nil {
		return failed(err)
	}
	return attest.Evidence{Quote: quote, EventLog: i.TCBInfo.EventLog, AppCompose: i.TCBInfo.AppCompose}, nil
}

// GetAppAttestations fetches GET /apps/{app_id}/attestations. appID is app_<40 hex>,
// 0x<40 hex> or 40 hex digits.
func (c *Client) GetAppAttestations(ctx context.Context, appID string) (*AppAttestations, error) {
	app, err := parseAppID("appID", appID)
	if err != nil {
		return nil, err
	}
	var a AppAttestations
	if _, err := c.do(ctx, request{method: http.MethodGet, path: pathf("/apps/%s/attestations", app)}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
