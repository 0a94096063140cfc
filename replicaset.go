package phala

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/phalaforge/phala-go/envcrypt"
)

// ErrInvalidSpec is matched by [*SpecError].
var ErrInvalidSpec = errors.New("phala: invalid replica set")

// SpecError reports a replica set refused before any request that writes.
// Field names the offending part of the spec the way the file spells it, e.g.
// "placements[1].node".
type SpecError struct {
	Field  string `json:"field"`
	Value  string `json:"value,omitempty"` // the rejected input, shortened; never an env value
	Reason string `json:"reason"`
	Err    error  `json:"-"` // the underlying error, e.g. a *NodeNotFoundError
}

// Error names the field and says what is wrong.
func (e *SpecError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("phala: replica set: %s %q: %s", e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("phala: replica set: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidSpec.
func (e *SpecError) Is(target error) bool { return target == ErrInvalidSpec }

// Unwrap returns Err.
func (e *SpecError) Unwrap() error { return e.Err }

func specErr(field, value, format string, args ...any) *SpecError {
	return &SpecError{Field: field, Value: oneLine(value, 80), Reason: fmt.Sprintf(format, args...)}
}

// Placement is one line of a replica set: Count replicas on one node (Node, an id
// or a name), on the nodes of one region (Region), or anywhere (Anywhere). Set
// exactly one of the three.
type Placement struct {
	Node     string `json:"node,omitempty" yaml:"node,omitempty"`
	Region   string `json:"region,omitempty" yaml:"region,omitempty"`
	Anywhere bool   `json:"anywhere,omitempty" yaml:"anywhere,omitempty"`
	Count    int    `json:"count" yaml:"count"`
}

// String describes the placement as the plan prints it.
func (p Placement) String() string {
	switch {
	case p.Node != "":
		return "node " + p.Node
	case p.Region != "":
		return "region " + p.Region
	default:
		return "anywhere"
	}
}

// ReplicaSet declares how many replicas of an app's configuration run where.
// [Client.PlanReplicaSet] compares it with what runs and [Client.ApplyReplicaSet]
// converges to it. It is read from JSON or YAML with [ParseReplicaSet]:
//
//	{"source": "app_…", "compose_hash": "…",
//	 "placements": [{"region": "us-west", "count": 3}, {"node": "prod6", "count": 2}],
//	 "protect": ["<vm_uuid>"]}
//
// Only instances of the set's compose hash are counted, created or removed;
// instances of the app running another configuration are left alone.
type ReplicaSet struct {
	// Source is what Replicate takes: a vm_uuid, an app id or a unique CVM name.
	// New replicas are copies of it; the set is the source's app.
	Source string `json:"source"`
	// ComposeHash selects the configuration (64 hex digits, 0x optional). It is
	// needed when the app's live instances run several; a source naming one
	// instance means that instance's own (another value here is refused).
	ComposeHash string `json:"compose_hash,omitempty"`
	// Placements say where the replicas run. A node may be named by at most one
	// placement; instances are matched to node placements first, then region
	// placements, then an anywhere placement.
	Placements []Placement `json:"placements"`
	// Env replaces the environment of the replicas the set creates (as
	// ReplicateRequest.Env); EncryptedEnv is an already encrypted blob. Set at
	// most one. Existing replicas keep theirs.
	Env          []envcrypt.EnvVar `json:"env,omitempty"`
	EncryptedEnv string            `json:"encrypted_env,omitempty"`
	// Protect lists vm_uuids the set never removes.
	Protect []string `json:"protect,omitempty"`
}

// String describes the set without the values of Env.
func (s ReplicaSet) String() string {
	keys := make([]string, len(s.Env))
	for i, v := range s.Env {
		keys[i] = v.Key
	}
	return fmt.Sprintf("phala.ReplicaSet{Source: %q, ComposeHash: %q, Placements: %v, Env: %v, EncryptedEnv: %d hex digits, Protect: %v}",
		s.Source, s.ComposeHash, s.Placements, keys, len(s.EncryptedEnv), s.Protect)
}

// GoString is like String.
func (s ReplicaSet) GoString() string { return s.String() }

// Format implements [fmt.Formatter]: every verb prints String, so no verb
// prints an env value.
func (s ReplicaSet) Format(f fmt.State, verb rune) { formatSafe(f, verb, s.String(), s.String()) }

// LogValue describes the set for log/slog without the values of Env.
func (s ReplicaSet) LogValue() slog.Value { return slog.StringValue(s.String()) }

// replicaSetFile is the file form: env as an object of names to values.
type replicaSetFile struct {
	Source       string            `json:"source" yaml:"source"`
	ComposeHash  string            `json:"compose_hash" yaml:"compose_hash"`
	Placements   []Placement       `json:"placements" yaml:"placements"`
	Env          map[string]string `json:"env" yaml:"env"`
	EncryptedEnv string            `json:"encrypted_env" yaml:"encrypted_env"`
	Protect      []string          `json:"protect" yaml:"protect"`
}

// ParseReplicaSet reads a replica set from JSON, or from YAML when data is not
// a JSON document (go.yaml.in/yaml/v3). The keys are those of [ReplicaSet]'s
// JSON form, except that "env" is an object of names to values. Unknown keys
// and a key given twice (for example two "compose_hash") are refused, as is
// anything [ReplicaSet.Validate] refuses; every error is a [*SpecError].
func ParseReplicaSet(data []byte) (*ReplicaSet, error) {
	var f replicaSetFile
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := checkDuplicateKeys(trimmed); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, &SpecError{Field: "(file)", Reason: "not a replica set: " + oneLine(err.Error(), 200), Err: err}
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, specErr("(file)", "", "data after the JSON object")
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(trimmed))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			// yaml/v3 refuses duplicate keys ("mapping key ... already defined").
			return nil, &SpecError{Field: "(file)", Reason: "not a replica set: " + oneLine(err.Error(), 200), Err: err}
		}
	}
	s := &ReplicaSet{Source: f.Source, ComposeHash: f.ComposeHash, Placements: f.Placements,
		EncryptedEnv: f.EncryptedEnv, Protect: f.Protect}
	keys := make([]string, 0, len(f.Env))
	for k := range f.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Env = append(s.Env, envcrypt.EnvVar{Key: k, Value: f.Env[k]})
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkDuplicateKeys refuses a JSON document in which an object holds a key
// twice (encoding/json would silently keep the last).
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys    map[string]bool // nil for an array
		path    string
		lastKey string
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or a syntax error the decoder reports
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.wantKey {
			k, _ := tok.(string)
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].keys != nil {
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			field := strings.TrimPrefix(top.path+"."+k, ".")
			if top.keys[k] {
				return specErr(field, "", "given twice")
			}
			top.keys[k], top.lastKey, top.wantKey = true, k, false
			continue
		}
		childPath := ""
		if top != nil {
			childPath = strings.TrimPrefix(top.path+"."+top.lastKey, ".")
			if top.keys == nil {
				childPath = top.path + "[]"
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, path: childPath, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{path: childPath})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// Validate checks what can be checked without the API: the source and compose
// hash are well formed, every placement names exactly one of node, region and
// anywhere with a count of at least 0, no node is listed twice (by the same
// spelling), at most one anywhere placement, env and encrypted env are not both
// set, and protected vm_uuids are well formed. Node and region names are checked
// against the node list by PlanReplicaSet. Errors are *SpecError.
func (s *ReplicaSet) Validate() error {
	if s == nil {
		return specErr("(spec)", "", "nil replica set")
	}
	if strings.TrimSpace(s.Source) == "" {
		return specErr("source", "", "required: a vm_uuid, an app id or a CVM name")
	}
	if _, err := parseSource(s.Source); err != nil {
		return &SpecError{Field: "source", Value: oneLine(s.Source, 80), Reason: "not a vm_uuid, app id or CVM name", Err: err}
	}
	if s.ComposeHash != "" {
		if _, err := normComposeHash("compose_hash", s.ComposeHash); err != nil {
			return &SpecError{Field: "compose_hash", Value: oneLine(s.ComposeHash, 80), Reason: "not 64 hex digits", Err: err}
		}
	}
	if len(s.Placements) == 0 {
		return specErr("placements", "", "at least one placement is required (use count 0 to remove every replica of a node or region)")
	}
	nodes := map[string]int{}
	regions := map[string]int{}
	anywhere := -1
	for i, p := range s.Placements {
		field := fmt.Sprintf("placements[%d]", i)
		set := 0
		for _, b := range []bool{p.Node != "", p.Region != "", p.Anywhere} {
			if b {
				set++
			}
		}
		if set != 1 {
			return specErr(field, "", "set exactly one of node, region and anywhere")
		}
		if p.Count < 0 {
			return specErr(field+".count", fmt.Sprint(p.Count), "must not be negative")
		}
		switch {
		case p.Node != "":
			if _, err := parseNode(p.Node); err != nil {
				return &SpecError{Field: field + ".node", Value: oneLine(p.Node, 80), Reason: "not a node id or name", Err: err}
			}
			k := strings.ToLower(strings.TrimSpace(p.Node))
			if j, dup := nodes[k]; dup {
				return specErr(field+".node", p.Node, "node listed twice (also placements[%d])", j)
			}
			nodes[k] = i
		case p.Region != "":
			k := strings.ToLower(strings.TrimSpace(p.Region))
			if j, dup := regions[k]; dup {
				return specErr(field+".region", p.Region, "region listed twice (also placements[%d])", j)
			}
			regions[k] = i
		default:
			if anywhere >= 0 {
				return specErr(field+".anywhere", "", "only one anywhere placement (also placements[%d])", anywhere)
			}
			anywhere = i
		}
	}
	switch {
	case len(s.Env) > 0 && s.EncryptedEnv != "":
		return specErr("encrypted_env", "", "set env or encrypted_env, not both")
	case len(s.Env) > 0:
		if err := envcrypt.Validate(s.Env); err != nil {
			return &SpecError{Field: "env", Reason: oneLine(err.Error(), 200), Err: err}
		}
	case s.EncryptedEnv != "":
		if _, err := normEncryptedEnv(s.EncryptedEnv); err != nil {
			return &SpecError{Field: "encrypted_env", Reason: "not an encrypted env blob", Err: err}
		}
	}
	for i, u := range s.Protect {
		if _, ok := canonicalUUID(strings.TrimSpace(u)); !ok {
			return specErr(fmt.Sprintf("protect[%d]", i), u, "not a vm_uuid")
		}
	}
	return nil
}

// Total is the number of replicas the set declares.
func (s *ReplicaSet) Total() int {
	n := 0
	for _, p := range s.Placements {
		n += p.Count
	}
	return n
}
