package onchain

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/internal/redact"
)

// AlreadyRegistered is the transaction_hash sent on commit when nothing had to
// be written on chain.
const AlreadyRegistered = "already-registered"

// ErrMalformedPrerequisite is wrapped by PrerequisiteFromDetails when a field of
// the 465 payload has a JSON type that cannot be interpreted.
var ErrMalformedPrerequisite = errors.New("onchain: malformed on-chain prerequisite payload")

// OnchainStatus is the on-chain state of an app's prerequisites: whether the
// compose hash is allowed, whether the device is allowed (allowAnyDevice or
// allowedDeviceIds), and both together. It is the onchain_status object of the
// 465 payload; decoding treats values the way the phala CLI does (a JSON
// true, non-zero number, non-empty string, object or array counts as true).
type OnchainStatus struct {
	ComposeHashAllowed bool `json:"compose_hash_allowed"`
	DeviceIDAllowed    bool `json:"device_id_allowed"`
	IsAllowed          bool `json:"is_allowed"`
}

// UnmarshalJSON implements json.Unmarshaler. Extra keys are ignored.
func (s *OnchainStatus) UnmarshalJSON(data []byte) error {
	if isJSONNull(data) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("onchain: onchain_status is not a JSON object: %w", err)
	}
	*s = OnchainStatus{
		ComposeHashAllowed: truthy(raw["compose_hash_allowed"]),
		DeviceIDAllowed:    truthy(raw["device_id_allowed"]),
		IsAllowed:          truthy(raw["is_allowed"]),
	}
	return nil
}

// truthy applies JavaScript truthiness to a raw JSON value.
func truthy(v json.RawMessage) bool {
	var x any
	if len(v) == 0 || json.Unmarshal(v, &x) != nil {
		return false
	}
	switch t := x.(type) {
	case bool:
		return t
	case float64:
		return t != 0
	case string:
		return t != ""
	case nil:
		return false
	default: // objects and arrays
		return true
	}
}

// ErrOnchainPrerequisite is the HTTP 465 answer of a replicate (or update)
// call: the app's DstackApp contract must allow the compose hash and the
// device before the server will commit. It carries the payload of
// detail.details[] exactly as the server sent it (hex strings unnormalised);
// use ComposeHashBytes, DeviceIDBytes and AppAddress for validated values.
//
// Get it with errors.As:
//
//	var pre *onchain.ErrOnchainPrerequisite
//	if errors.As(err, &pre) { ... }
type ErrOnchainPrerequisite struct {
	CommitToken  string // opaque token for the commit call; never printed by Error
	ComposeHash  string // compose_hash as sent (0x optional)
	AppID        string // app_id as sent (the DstackApp address)
	DeviceID     string // device_id as sent; empty when the server gave none
	CommitURL    string // dashboard URL to approve and commit
	APICommitURL string // API URL of the commit call

	OnchainStatus *OnchainStatus // nil when the server sent none
	KMSInfo       *KMSInfo       // nil when the server sent none

	Cause error // the error it came from (the root package's *APIError); Unwrap returns it
}

// Error says in one line what has to be registered on chain.
func (e *ErrOnchainPrerequisite) Error() string {
	var b strings.Builder
	b.WriteString("onchain: registration required on the DstackApp contract")
	if e.AppID != "" {
		fmt.Fprintf(&b, " %s", displayHex(e.AppID))
	}
	b.WriteString(": ")
	composeMissing, deviceMissing := e.missing()
	var parts []string
	if composeMissing {
		parts = append(parts, "compose hash "+orUnknown(e.ComposeHash)+" not allowed")
	}
	if deviceMissing {
		parts = append(parts, "device "+orUnknown(e.DeviceID)+" not allowed")
	}
	switch {
	case len(parts) > 0 && e.OnchainStatus == nil:
		b.WriteString(strings.Join(parts, ", ") + " (on-chain status not reported; check with Status)")
	case len(parts) > 0:
		b.WriteString(strings.Join(parts, ", "))
	default:
		b.WriteString("the server reports the compose hash and device as allowed; commit with " + AlreadyRegistered)
	}
	return b.String()
}

// Unwrap returns Cause.
func (e *ErrOnchainPrerequisite) Unwrap() error { return e.Cause }

// missing reports which writes the server's onchain_status says are needed.
// Without a status both are assumed missing (a device only if one is known).
func (e *ErrOnchainPrerequisite) missing() (composeHash, device bool) {
	if e.OnchainStatus == nil {
		return true, e.DeviceID != ""
	}
	return !e.OnchainStatus.ComposeHashAllowed, !e.OnchainStatus.DeviceIDAllowed
}

func with0x(s string) string {
	if s == "" || has0x(s) || strings.HasPrefix(s, "app_") {
		return s
	}
	return "0x" + s
}

func orUnknown(s string) string {
	if s == "" {
		return "(not given)"
	}
	return displayHex(s)
}

// displayHex shows a server-sent identifier in a one-line message: with 0x
// when it is plain text of a sane length, quoted and shortened otherwise, so
// a malformed payload cannot break or forge lines of a log.
func displayHex(s string) string {
	if len(s) > 80 {
		return quoteShort(s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return quoteShort(s)
		}
	}
	return with0x(s)
}

// GoString spells out the payload for the %#v verb, except the commit token
// (which lets anyone holding it commit the replica) and the cause (whose
// body holds the token too), so neither reaches a debug print.
func (e *ErrOnchainPrerequisite) GoString() string {
	if e == nil {
		return "(*onchain.ErrOnchainPrerequisite)(nil)"
	}
	token := ""
	if e.CommitToken != "" {
		token = redacted
	}
	var b strings.Builder
	fmt.Fprintf(&b, "&onchain.ErrOnchainPrerequisite{CommitToken:%q, ComposeHash:%q, AppID:%q, DeviceID:%q, CommitURL:%q, APICommitURL:%q",
		token, e.hideToken(e.ComposeHash), e.hideToken(e.AppID), e.hideToken(e.DeviceID), e.hideToken(e.CommitURL), e.hideToken(e.APICommitURL))
	if e.OnchainStatus != nil {
		fmt.Fprintf(&b, ", OnchainStatus:&%#v", *e.OnchainStatus)
	} else {
		b.WriteString(", OnchainStatus:nil")
	}
	if e.KMSInfo != nil {
		k := *e.KMSInfo
		fmt.Fprintf(&b, ", KMSInfo:&onchain.KMSInfo{ChainID:%d, DstackKMSAddress:%q, DstackAppAddress:%q, RPCEndpoint:%q}",
			k.ChainID, e.hideToken(k.DstackKMSAddress), e.hideToken(k.DstackAppAddress), redactURL(k.RPCEndpoint))
	} else {
		b.WriteString(", KMSInfo:nil")
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ", Cause:%T", e.Cause)
	}
	b.WriteString("}")
	return b.String()
}

const redacted = "[REDACTED]"

// hideToken replaces the commit token in s, for a server that would echo it in
// another field (a commit URL carrying it as a parameter, say).
func (e *ErrOnchainPrerequisite) hideToken(s string) string {
	if e == nil || len(e.CommitToken) < 4 || !strings.Contains(s, e.CommitToken) {
		return s
	}
	return strings.ReplaceAll(s, e.CommitToken, redacted)
}

// Format implements [fmt.Formatter] so that no verb prints the commit token:
// %v, %+v, %s, %q, %x and %X format the Error text, %#v formats GoString, and
// the other verbs (%d, …) write the Error text as %s would.
func (e *ErrOnchainPrerequisite) Format(f fmt.State, verb rune) {
	msg := "<nil>"
	if e != nil {
		msg = e.Error()
	}
	redact.Format(f, verb, msg, e.GoString())
}

// LogValue implements [slog.LogValuer]: the message and the payload's public
// fields, with the commit token redacted.
func (e *ErrOnchainPrerequisite) LogValue() slog.Value {
	if e == nil {
		return slog.StringValue("<nil>")
	}
	attrs := []slog.Attr{
		slog.String("error", e.Error()),
		slog.String("app_id", e.hideToken(e.AppID)),
		slog.String("compose_hash", e.hideToken(e.ComposeHash)),
		slog.String("device_id", e.hideToken(e.DeviceID)),
	}
	if e.CommitToken != "" {
		attrs = append(attrs, slog.String("commit_token", redacted))
	}
	return slog.GroupValue(attrs...)
}

// prerequisiteJSON is the JSON form of an ErrOnchainPrerequisite.
type prerequisiteJSON struct {
	Error         string         `json:"error"`
	CommitToken   string         `json:"commit_token,omitempty"` // "[REDACTED]" when set
	ComposeHash   string         `json:"compose_hash,omitempty"`
	AppID         string         `json:"app_id,omitempty"`
	DeviceID      string         `json:"device_id,omitempty"`
	CommitURL     string         `json:"commit_url,omitempty"`
	APICommitURL  string         `json:"api_commit_url,omitempty"`
	OnchainStatus *OnchainStatus `json:"onchain_status,omitempty"`
	KMSInfo       *KMSInfo       `json:"kms_info,omitempty"`
	Cause         string         `json:"cause,omitempty"`
}

// MarshalJSON encodes the error as an object: "error" is its message, the
// payload's fields follow under their wire names, "commit_token" is
// "[REDACTED]" and "cause" is the cause's message. The token is left out on
// purpose: an error may end up in a log or a JSON report. To store a 465 in
// order to commit later, keep the root package's PreparedReplica, whose JSON
// form holds the token.
func (e *ErrOnchainPrerequisite) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	out := prerequisiteJSON{
		Error:         e.Error(),
		ComposeHash:   e.hideToken(e.ComposeHash),
		AppID:         e.hideToken(e.AppID),
		DeviceID:      e.hideToken(e.DeviceID),
		CommitURL:     e.hideToken(e.CommitURL),
		APICommitURL:  e.hideToken(e.APICommitURL),
		OnchainStatus: e.OnchainStatus,
	}
	if e.CommitToken != "" {
		out.CommitToken = redacted
	}
	if e.KMSInfo != nil {
		k := *e.KMSInfo
		k.RPCEndpoint = redactURL(k.RPCEndpoint)
		k.Extra = nil // raw server keys, possibly echoing anything
		out.KMSInfo = &k
	}
	if e.Cause != nil {
		out.Cause = e.hideToken(e.Cause.Error())
	}
	return json.Marshal(out)
}

// ComposeHashBytes returns the compose hash as 32 bytes ([*HexError] if it is
// missing or malformed).
func (e *ErrOnchainPrerequisite) ComposeHashBytes() (common.Hash, error) {
	return parseHash32("compose_hash", e.ComposeHash)
}

// DeviceIDBytes returns the device id as 32 bytes ([*HexError] if it is missing
// or malformed; an empty device id is an error, never the zero hash).
func (e *ErrOnchainPrerequisite) DeviceIDBytes() (common.Hash, error) {
	return parseHash32("device_id", e.DeviceID)
}

// AppAddress returns the DstackApp contract address: app_id, or
// kms_info.dstack_app_address when app_id is empty. If both are given they
// must agree.
func (e *ErrOnchainPrerequisite) AppAddress() (common.Address, error) {
	var fromKMS string
	if e.KMSInfo != nil {
		fromKMS = e.KMSInfo.DstackAppAddress
	}
	if e.AppID == "" && fromKMS == "" {
		return common.Address{}, &HexError{What: "app_id", Input: "", Reason: "empty (and no kms_info.dstack_app_address)"}
	}
	if e.AppID == "" {
		return ParseAppAddress(fromKMS)
	}
	addr, err := ParseAppAddress(e.AppID)
	if err != nil {
		return common.Address{}, err
	}
	if fromKMS != "" {
		other, err := ParseAppAddress(fromKMS)
		if err == nil && other != addr {
			return common.Address{}, fmt.Errorf("onchain: app_id %s and kms_info.dstack_app_address %s disagree", addr, other)
		}
	}
	return addr, nil
}

// PrerequisiteFromDetails builds an ErrOnchainPrerequisite from the field/value
// map of a 465 answer's detail.details[] (later duplicates already resolved by
// the caller). It is lenient: any field may be absent or null; string fields
// also accept numbers and booleans (as text); kms_info and onchain_status must
// be objects when present. Hex values are kept as sent. A value of an
// unusable JSON type gives an error wrapping [ErrMalformedPrerequisite].
// Cause is left nil for the caller to set.
func PrerequisiteFromDetails(details map[string]json.RawMessage) (*ErrOnchainPrerequisite, error) {
	p := &ErrOnchainPrerequisite{}
	for key, dst := range map[string]*string{
		"commit_token":   &p.CommitToken,
		"compose_hash":   &p.ComposeHash,
		"app_id":         &p.AppID,
		"device_id":      &p.DeviceID,
		"commit_url":     &p.CommitURL,
		"api_commit_url": &p.APICommitURL,
	} {
		v, ok := details[key]
		if !ok {
			continue
		}
		s, err := detailString(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformedPrerequisite, key, err)
		}
		*dst = strings.TrimSpace(s)
	}
	if v, ok := details["kms_info"]; ok && !isJSONNull(v) {
		var k KMSInfo
		if err := json.Unmarshal(v, &k); err != nil {
			return nil, fmt.Errorf("%w: kms_info: %v", ErrMalformedPrerequisite, err)
		}
		p.KMSInfo = &k
	}
	if v, ok := details["onchain_status"]; ok && !isJSONNull(v) {
		var s OnchainStatus
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("%w: onchain_status: %v", ErrMalformedPrerequisite, err)
		}
		p.OnchainStatus = &s
	}
	return p, nil
}

// detailString reads a string-like JSON value the way the CLI's String() does.
func detailString(v json.RawMessage) (string, error) {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return "", errors.New("not valid JSON")
	}
	switch t := x.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case float64:
		// Keep the number's own text (no float rounding).
		return strings.TrimSpace(string(v)), nil
	default:
		return "", fmt.Errorf("want a string, got a JSON %s", jsonKind(x))
	}
}

func jsonKind(x any) string {
	switch x.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	default:
		return fmt.Sprintf("%T", x)
	}
}
