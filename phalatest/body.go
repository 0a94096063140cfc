package phalatest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// bodyFields decodes a JSON object body the way FastAPI does before model
// validation: an empty body is {}, anything else must be a JSON object.
func bodyFields(body []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || !json.Valid(body) {
			pos := int64(0)
			if syn != nil {
				pos = syn.Offset
			}
			return nil, &validationError{items: []validationItem{{
				Loc: []any{"body", pos}, Msg: "JSON decode error", Type: "json_invalid",
			}}}
		}
		return nil, &validationError{items: []validationItem{{
			Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from",
			Type: "model_attributes_type",
		}}}
	}
	if fields == nil { // the body was JSON null
		return nil, &validationError{items: []validationItem{{
			Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from", Type: "model_attributes_type",
		}}}
	}
	return fields, nil
}

func isNull(v json.RawMessage) bool { return v == nil || string(bytes.TrimSpace(v)) == "null" }

// optString reads an optional string field (absent or null = nil).
func optString(fields map[string]json.RawMessage, name string, errs *[]validationItem) *string {
	v, ok := fields[name]
	if !ok || isNull(v) {
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		*errs = append(*errs, validationItem{Loc: []any{"body", name}, Msg: "Input should be a valid string", Type: "string_type", Input: rawInput(v)})
		return nil
	}
	return &s
}

// optInt reads an optional integer field with pydantic's lax rules: a JSON
// integer, a float without fractional part, or a decimal string.
func optInt(fields map[string]json.RawMessage, name string, errs *[]validationItem) *int {
	v, ok := fields[name]
	if !ok || isNull(v) {
		return nil
	}
	bad := func(msg, typ string) *int {
		*errs = append(*errs, validationItem{Loc: []any{"body", name}, Msg: msg, Type: typ, Input: rawInput(v)})
		return nil
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return bad("Input should be a valid integer", "int_type")
	}
	switch t := x.(type) {
	case json.Number:
		if n, err := strconv.Atoi(t.String()); err == nil {
			return &n
		}
		f, err := t.Float64()
		if err != nil || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return bad("Input should be a valid integer, got a number with a fractional part", "int_from_float")
		}
		n := int(f)
		return &n
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			return bad("Input should be a valid integer, unable to parse string as an integer", "int_parsing")
		}
		return &n
	default:
		return bad("Input should be a valid integer", "int_type")
	}
}

// rawInput echoes a field's value in a validation error, shortened.
func rawInput(v json.RawMessage) any {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return nil
	}
	if s, ok := x.(string); ok {
		return truncateForMessage(s)
	}
	if _, ok := x.(map[string]any); ok {
		return "{…}"
	}
	if _, ok := x.([]any); ok {
		return "[…]"
	}
	return x
}

func missing(name string) validationItem {
	return validationItem{Loc: []any{"body", name}, Msg: "Field required", Type: "missing"}
}

// replicaRequest is the body of POST /cvms/{vm_uuid}/replicas (and the
// app-scoped variant, which the legacy client sends with teepod_id).
type replicaRequest struct {
	nodeID       *int
	encryptedEnv string // "" = inherit the source's env
	composeHash  string // normalised; "" = not given
}

func parseReplicaRequest(body []byte) (*replicaRequest, error) {
	fields, err := bodyFields(body)
	if err != nil {
		return nil, err
	}
	var errs []validationItem
	rr := &replicaRequest{nodeID: optInt(fields, "node_id", &errs)}
	if rr.nodeID == nil {
		rr.nodeID = optInt(fields, "teepod_id", &errs)
	}
	if env := optString(fields, "encrypted_env", &errs); env != nil {
		h := strings.TrimPrefix(strings.TrimPrefix(*env, "0x"), "0X")
		if len(h)%2 != 0 || !isHex(h) {
			errs = append(errs, validationItem{Loc: []any{"body", "encrypted_env"}, Msg: "Value error, encrypted_env must be a hex string", Type: "value_error"})
		}
		rr.encryptedEnv = *env
	}
	if ch := optString(fields, "compose_hash", &errs); ch != nil && *ch != "" {
		h, ok := normHash(*ch)
		if !ok {
			errs = append(errs, validationItem{Loc: []any{"body", "compose_hash"}, Msg: "Value error, compose_hash must be 64 hex digits, 0x optional", Type: "value_error", Input: truncateForMessage(*ch)})
		}
		rr.composeHash = h
	}
	if len(errs) > 0 {
		return nil, &validationError{items: errs}
	}
	return rr, nil
}

// commitRequest is the body of POST /cvms/{vm_uuid}/commit-replica.
type commitRequest struct {
	token       string
	composeHash string // as sent
	txHash      string // "" = not sent: a state-only check, like already-registered
}

func parseCommitRequest(body []byte) (*commitRequest, error) {
	fields, err := bodyFields(body)
	if err != nil {
		return nil, err
	}
	var errs []validationItem
	cr := &commitRequest{}
	if t := optString(fields, "token", &errs); t != nil {
		cr.token = *t
	} else if _, ok := fields["token"]; !ok {
		errs = append(errs, missing("token"))
	}
	if h := optString(fields, "compose_hash", &errs); h != nil {
		cr.composeHash = *h
	} else if _, ok := fields["compose_hash"]; !ok {
		errs = append(errs, missing("compose_hash"))
	}
	if tx := optString(fields, "transaction_hash", &errs); tx != nil {
		cr.txHash = *tx
	}
	if len(errs) > 0 {
		return nil, &validationError{items: errs}
	}
	return cr, nil
}
