package phala

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/phalaforge/phala-go/onchain"
)

// Errors of source, node and argument validation. The typed errors below match them
// with errors.Is.
var (
	// ErrInvalidArgument is matched by every [*InvalidArgumentError]: an argument was
	// rejected before any request was sent.
	ErrInvalidArgument = errors.New("phala: invalid argument")
	// ErrAmbiguousNode is matched by [*AmbiguousNodeError].
	ErrAmbiguousNode = errors.New("phala: node name is ambiguous")
	// ErrComposeHashNotFound is matched by [*ComposeHashNotFoundError].
	ErrComposeHashNotFound = errors.New("phala: no instance of the app has that compose hash")
)

// InvalidArgumentError reports an argument rejected before any request: a malformed
// vm_uuid, app id, compose hash, transaction hash, node or source name. Value is the
// rejected input (identifiers are public), shortened; it is never a secret.
type InvalidArgumentError struct {
	Arg    string // which argument, e.g. "source" or "ComposeHash"
	Value  string // the rejected input, shortened and made printable
	Reason string // what is wrong
}

// Error implements error.
func (e *InvalidArgumentError) Error() string {
	return fmt.Sprintf("phala: invalid %s %q: %s", e.Arg, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalidArgument.
func (e *InvalidArgumentError) Is(target error) bool { return target == ErrInvalidArgument }

func invalidArg(arg, value, format string, args ...any) *InvalidArgumentError {
	return &InvalidArgumentError{Arg: arg, Value: oneLine(value, 80), Reason: fmt.Sprintf(format, args...)}
}

// NodeCandidate is a node (teepod) of GET /teepods/available, as named in node
// resolution errors.
type NodeCandidate struct {
	ID   int64
	Name string
}

// NodeNotFoundError reports a node name that matches none of the nodes available to
// the workspace. It matches [ErrNodeNotFound].
type NodeNotFoundError struct {
	Name      string          // the name asked for
	Available []NodeCandidate // every available node
}

// Error names the available nodes.
func (e *NodeNotFoundError) Error() string {
	return fmt.Sprintf("phala: node %q not found; available nodes: %s", oneLine(e.Name, 80), candidates(e.Available))
}

// Is reports whether target is ErrNodeNotFound.
func (e *NodeNotFoundError) Is(target error) bool { return target == ErrNodeNotFound }

// AmbiguousNodeError reports a node name that matches several nodes
// (case-insensitively). Use a node ID instead. It matches [ErrAmbiguousNode].
type AmbiguousNodeError struct {
	Name    string
	Matches []NodeCandidate
}

// Error names the matching nodes.
func (e *AmbiguousNodeError) Error() string {
	return fmt.Sprintf("phala: node name %q is ambiguous (%d matches: %s); use a node ID",
		oneLine(e.Name, 80), len(e.Matches), candidates(e.Matches))
}

// Is reports whether target is ErrAmbiguousNode.
func (e *AmbiguousNodeError) Is(target error) bool { return target == ErrAmbiguousNode }

func candidates(list []NodeCandidate) string {
	if len(list) == 0 {
		return "none"
	}
	parts := make([]string, len(list))
	for i, n := range list {
		parts[i] = fmt.Sprintf("%s (ID %d)", oneLine(n.Name, 64), n.ID)
	}
	return strings.Join(parts, ", ")
}

// MultipleComposeHashesError reports an app whose live instances run several
// configurations while no compose hash was given: the source is ambiguous. Pass one
// of ComposeHashes as ReplicateRequest.ComposeHash. It matches
// [ErrMultipleLiveComposeHashes].
type MultipleComposeHashesError struct {
	AppID         string   // the app, as app_<40 hex>
	ComposeHashes []string // the distinct live compose hashes, as the API sent them
	Cause         error    // the API error that led here (ERR-03-010 or ERR-03-009), or nil
}

// Error lists the compose hashes.
func (e *MultipleComposeHashesError) Error() string {
	return fmt.Sprintf("phala: app %s has %d live compose hashes (%s); choose one with ReplicateRequest.ComposeHash",
		e.AppID, len(e.ComposeHashes), strings.Join(e.ComposeHashes, ", "))
}

// Is reports whether target is ErrMultipleLiveComposeHashes.
func (e *MultipleComposeHashesError) Is(target error) bool {
	return target == ErrMultipleLiveComposeHashes
}

// Unwrap returns Cause.
func (e *MultipleComposeHashesError) Unwrap() error { return e.Cause }

// ComposeHashNotFoundError reports that no instance of the app runs the requested
// compose hash. It matches [ErrComposeHashNotFound].
type ComposeHashNotFoundError struct {
	AppID       string
	ComposeHash string   // the requested hash
	Live        []string // the compose hashes the app's instances have
}

// Error lists the compose hashes the app has.
func (e *ComposeHashNotFoundError) Error() string {
	live := "none"
	if len(e.Live) > 0 {
		live = strings.Join(e.Live, ", ")
	}
	return fmt.Sprintf("phala: no instance of app %s has compose hash %s (instances have: %s)", e.AppID, e.ComposeHash, live)
}

// Is reports whether target is ErrComposeHashNotFound.
func (e *ComposeHashNotFoundError) Is(target error) bool { return target == ErrComposeHashNotFound }

// sourceKind says how a source argument names the CVM.
type sourceKind int

const (
	sourceUUID sourceKind = iota // a vm_uuid: one instance, usable without a lookup
	sourceApp                    // an app id: may have several instances
	sourceName                   // a CVM name (or another identifier the API resolves)
)

// sourceRef is a parsed source argument.
type sourceRef struct {
	kind sourceKind
	id   string // path segment for GET /cvms/{id}
	uuid string // canonical vm_uuid, for sourceUUID
	app  string // 40 lowercase hex digits, for sourceApp
}

// maxNameLen bounds a CVM or node name; real names are at most 63 characters.
const maxNameLen = 255

// parseSource interprets what a user types as a source CVM:
//
//   - a vm_uuid: 32 hex digits, with or without dashes in the 8-4-4-4-12 places, of
//     any UUID version; it is normalised to the lowercase dashed form (the form the
//     API returns in vm_uuid);
//   - an app id: app_<40 hex>, 0x<40 hex> or bare <40 hex>, normalised to
//     app_<40 lowercase hex>;
//   - anything else is a CVM name, sent as is (escaped).
//
// Empty input, and input holding '/', '\\', '?', '#', '%', ".." or control
// characters, is rejected before any request.
func parseSource(s string) (sourceRef, error) {
	s = strings.TrimSpace(s)
	if u, ok := canonicalUUID(s); ok {
		return sourceRef{kind: sourceUUID, id: u, uuid: u}, nil
	}
	if app, ok := appHex(s); ok {
		return sourceRef{kind: sourceApp, id: "app_" + app, app: app}, nil
	}
	if err := checkName("source", s); err != nil {
		return sourceRef{}, err
	}
	return sourceRef{kind: sourceName, id: s}, nil
}

// checkName validates a name that goes into a URL path or a comparison.
func checkName(arg, s string) error {
	switch {
	case s == "":
		return invalidArg(arg, s, "must not be empty")
	case len(s) > maxNameLen:
		return invalidArg(arg, s, "longer than %d bytes", maxNameLen)
	case !utf8.ValidString(s):
		return invalidArg(arg, s, "not valid UTF-8")
	case strings.ContainsAny(s, `/\?#%`):
		return invalidArg(arg, s, `must not contain '/', '\', '?', '#' or '%%'`)
	case strings.Contains(s, ".."):
		return invalidArg(arg, s, `must not contain ".."`)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }):
		return invalidArg(arg, s, "must not contain control characters")
	}
	return nil
}

// canonicalUUID accepts 32 hex digits with or without the four dashes of the
// 8-4-4-4-12 layout and returns the lowercase dashed form.
func canonicalUUID(s string) (string, bool) {
	var digits string
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		digits = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
		digits = s
	default:
		return "", false
	}
	if !isHex(digits) {
		return "", false
	}
	d := strings.ToLower(digits)
	return d[0:8] + "-" + d[8:12] + "-" + d[12:16] + "-" + d[16:20] + "-" + d[20:], true
}

// parseVMUUID validates a vm_uuid argument and returns its canonical form.
func parseVMUUID(arg, s string) (string, error) {
	u, ok := canonicalUUID(strings.TrimSpace(s))
	if !ok {
		return "", invalidArg(arg, s, "not a UUID (32 hex digits, dashes optional)")
	}
	return u, nil
}

// appHex accepts app_<40 hex>, 0x<40 hex> (0X too) and bare 40 hex digits and
// returns the 40 digits in lowercase.
func appHex(s string) (string, bool) {
	switch {
	case strings.HasPrefix(s, "app_"):
		s = s[4:]
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		s = s[2:]
	}
	if len(s) != 40 || !isHex(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// parseAppID validates an app id argument and returns its 40 lowercase hex digits.
func parseAppID(arg, s string) (string, error) {
	h, ok := appHex(strings.TrimSpace(s))
	if !ok {
		return "", invalidArg(arg, s, "not an app id (app_<40 hex>, 0x<40 hex> or 40 hex digits)")
	}
	return h, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s)%2 == 0
}

// normComposeHash validates a compose hash (64 hex digits, 0x optional) and returns
// the form sent to the API: as given, trimmed, with a 0X prefix written 0x.
func normComposeHash(arg, s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, err := onchain.ParseHash32(s); err != nil {
		return "", invalidArg(arg, s, "not a compose hash (64 hex digits, 0x optional)")
	}
	if strings.HasPrefix(s, "0X") {
		s = "0x" + s[2:]
	}
	return s, nil
}

// sameHash reports whether two 32-byte hex values are equal, ignoring case and an
// optional 0x. Malformed values are never equal to anything.
func sameHash(a, b string) bool {
	ha, errA := onchain.ParseHash32(a)
	hb, errB := onchain.ParseHash32(b)
	return errA == nil && errB == nil && ha == hb
}

// nodeRef is a parsed node argument.
type nodeRef struct {
	set  bool
	id   int64
	name string // when set and not an id
}

// parseNode interprets a node argument as the phala CLI does: empty means "let the
// platform schedule"; decimal digits are a node ID sent as is ("007" is 7); anything
// else is a node name.
func parseNode(s string) (nodeRef, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nodeRef{}, nil
	}
	if strings.Trim(s, "0123456789") == "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nodeRef{}, invalidArg("Node", s, "node ID out of range")
		}
		return nodeRef{set: true, id: id}, nil
	}
	if err := checkName("Node", s); err != nil {
		return nodeRef{}, err
	}
	return nodeRef{set: true, name: s}, nil
}

// resolveNode returns the node ID for n, calling GET /teepods/available for a name;
// it then returns that node list too (nil otherwise), so the device of a 465 can be
// checked without a second request. Names match case-insensitively and exactly (no
// trimming of the node's name).
func (c *Client) resolveNode(ctx context.Context, n nodeRef) (*int64, *NodeList, error) {
	if !n.set {
		return nil, nil, nil
	}
	if n.name == "" {
		id := n.id
		return &id, nil, nil
	}
	avail, err := c.ListNodes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("phala: resolving node %q: %w", oneLine(n.name, 80), err)
	}
	var all, matches []NodeCandidate
	for _, node := range avail.Nodes {
		cand := NodeCandidate{ID: node.ID, Name: node.Name}
		all = append(all, cand)
		if strings.EqualFold(node.Name, n.name) {
			matches = append(matches, cand)
		}
	}
	switch len(matches) {
	case 0:
		return nil, nil, &NodeNotFoundError{Name: n.name, Available: all}
	case 1:
		id := matches[0].ID
		return &id, avail, nil
	default:
		return nil, nil, &AmbiguousNodeError{Name: n.name, Matches: matches}
	}
}

// GetCVM returns the CVM that id names: GET /cvms/{id}. id is what users type for a
// source: a vm_uuid (dashes optional), an app id (app_<40 hex>, 0x<40 hex> or 40 hex)
// of an app with one CVM, or a unique CVM name. An app id naming several CVMs is the
// API's ERR-03-010 (matching [ErrMultipleCVMsMatch]; [Client.ListReplicas] lists
// them), a name shared by several CVMs its ERR-03-002 ([ErrMultipleCVMsSameName]).
// A CVM whose answer carries no valid vm_uuid is an error wrapping
// [ErrUnexpectedBody]: nothing could address it.
func (c *Client) GetCVM(ctx context.Context, id string) (*CVM, error) {
	src, err := parseSource(id)
	if err != nil {
		return nil, err
	}
	cvm, err := c.getCVM(ctx, src.id)
	if err != nil {
		return nil, err
	}
	return checkVMUUID(src.id, cvm)
}

// checkVMUUID returns cvm if it carries a valid vm_uuid, the only handle the
// replication endpoints take; otherwise an error wrapping ErrUnexpectedBody.
func checkVMUUID(id string, cvm *CVM) (*CVM, error) {
	if _, ok := canonicalUUID(cvm.VMUUID); !ok {
		return nil, fmt.Errorf("phala: CVM %q has no valid vm_uuid (%q): %w", oneLine(id, 80), oneLine(cvm.VMUUID, 80), ErrUnexpectedBody)
	}
	return cvm, nil
}

// getCVM fetches GET /cvms/{id}; id is a path segment (escaped here). When id is
// a vm_uuid, an answer naming another vm_uuid is refused (wrapping
// ErrUnexpectedBody): the status, app, compose hash or chain of another CVM must
// not pass for this one's.
func (c *Client) getCVM(ctx context.Context, id string) (*CVM, error) {
	var cvm CVM
	if _, err := c.do(ctx, request{method: http.MethodGet, path: pathf("/cvms/%s", id)}, &cvm); err != nil {
		return nil, err
	}
	if want, ok := canonicalUUID(id); ok {
		if got, ok := canonicalUUID(cvm.VMUUID); ok && got != want {
			return nil, fmt.Errorf("phala: GET /cvms/%s answered another CVM (vm_uuid %s): %w", want, got, ErrUnexpectedBody)
		}
	}
	return &cvm, nil
}

// resolveSource fetches the CVM src names. For an app id naming several CVMs
// (ERR-03-010) it lists the app's instances and picks the one whose compose hash is
// composeHash; without one, it succeeds only if all live instances share one compose
// hash. The returned CVM has a valid vm_uuid.
func (c *Client) resolveSource(ctx context.Context, src sourceRef, composeHash string) (*CVM, error) {
	cvm, err := c.getCVM(ctx, src.id)
	if err != nil {
		if src.kind != sourceApp || !errors.Is(err, ErrMultipleCVMsMatch) {
			return nil, err
		}
		list, lerr := c.listAppCVMs(ctx, src.app)
		if lerr != nil {
			return nil, fmt.Errorf("phala: app %s matches several CVMs (%v) and listing them failed: %w", src.id, err, lerr)
		}
		// An entry naming another app is not one of this app's instances,
		// whatever the listing says.
		ofApp := list[:0:0]
		for _, c := range list {
			if c != nil && !namesOtherApp(c.AppID, src.app) {
				ofApp = append(ofApp, c)
			}
		}
		if cvm, err = pickInstance(src.id, ofApp, composeHash, err); err != nil {
			return nil, err
		}
	}
	if src.kind == sourceApp && namesOtherApp(cvm.AppID, src.app) {
		return nil, fmt.Errorf("phala: source %s: the API answered a CVM of app %s: %w", src.id, oneLine(cvm.AppID, 80), ErrUnexpectedBody)
	}
	return checkVMUUID(src.id, cvm)
}

// namesOtherApp reports whether appID (as the API wrote it) names an app other than
// app (40 lowercase hex). An app id that cannot be read names no other app.
func namesOtherApp(appID, app string) bool {
	got, ok := appHex(strings.TrimSpace(appID))
	return ok && got != app
}

// isLiveStatus reports whether a CVM status is that of a live instance: anything
// but a failed, stopped or deleted one. Unknown statuses count as live.
func isLiveStatus(s string) bool {
	switch strings.ToLower(s) {
	case "error", "failed", "boot_failed", "exited", "stopped", "stopping",
		"terminated", "terminating", "deleted", "deleting":
		return false
	}
	return true
}

// pickInstance chooses the source among an app's instances (replication-wire.md
// §3.2, without the CLI's "take the first one"): only instances with a vm_uuid
// count, live ones preferred; with composeHash the instance must have it; without,
// the live instances must share a single compose hash. Among equal candidates a
// running one is preferred, then the first listed.
func pickInstance(appID string, list []*CVM, composeHash string, cause error) (*CVM, error) {
	var withUUID, live []*CVM
	for _, c := range list {
		if c == nil {
			continue
		}
		if _, ok := canonicalUUID(c.VMUUID); !ok {
			continue
		}
		withUUID = append(withUUID, c)
		if isLiveStatus(c.Status) {
			live = append(live, c)
		}
	}
	cands := live
	if len(cands) == 0 {
		cands = withUUID
	}
	hashes := distinctHashes(cands)
	if composeHash != "" {
		var matches []*CVM
		for _, c := range cands {
			if sameHash(c.ComposeHash, composeHash) {
				matches = append(matches, c)
			}
		}
		if len(matches) == 0 {
			return nil, &ComposeHashNotFoundError{AppID: appID, ComposeHash: composeHash, Live: hashes}
		}
		return preferRunning(matches), nil
	}
	switch {
	case len(cands) == 0:
		return nil, cause
	case len(hashes) > 1:
		return nil, &MultipleComposeHashesError{AppID: appID, ComposeHashes: hashes, Cause: cause}
	}
	return preferRunning(cands), nil
}

func preferRunning(list []*CVM) *CVM {
	for _, c := range list {
		if strings.EqualFold(c.Status, StatusRunning) {
			return c
		}
	}
	return list[0]
}

// distinctHashes lists the non-empty compose hashes of list, once each (compared as
// hashes), in list order, as the API sent them.
func distinctHashes(list []*CVM) []string {
	var out []string
	for _, c := range list {
		h := strings.TrimSpace(c.ComposeHash)
		if h == "" {
			continue
		}
		dup := false
		for _, seen := range out {
			if seen == h || sameHash(seen, h) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, h)
		}
	}
	return out
}
