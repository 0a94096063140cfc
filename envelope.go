package phala

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseErrorEnvelope builds an *APIError from a non-2xx body. It accepts every shape of
// the Phala Cloud error envelope and never panics:
//
//  1. {"detail": {"error_code": "ERR-..", "message": .., "details": [..], "suggestions": [..], "links": [..]}}
//  2. the same object at the top level, without a detail key;
//  3. {"detail": "text"};
//  4. {"detail": [FastAPI validation items]} (422), with field paths built from loc;
//  5. anything else: a generic message, with an excerpt when the body is not JSON.
//
// RequestID and RetryAfter are filled in by the caller.
func parseErrorEnvelope(status int, contentType string, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	parseEnvelopeInto(e, contentType, body)
	if strings.TrimSpace(e.Message) == "" {
		e.Message = statusMessage(status)
	}
	return e
}

func statusMessage(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "unknown API error"
}

func parseEnvelopeInto(e *APIError, contentType string, body []byte) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return // statusMessage
	}
	if !json.Valid(trimmed) {
		e.cause = ErrUnexpectedBody
		e.Message = "unexpected non-JSON response"
		if ct := oneLine(contentType, 64); ct != "" {
			e.Message += " (" + ct + ")"
		}
		if ex := excerpt(contentType, trimmed); ex != "" {
			e.Message += ": " + fmt.Sprintf("%q", ex)
		}
		return
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		// Valid JSON but not an object: a bare string is taken as the message.
		var s string
		if json.Unmarshal(trimmed, &s) == nil && strings.TrimSpace(s) != "" {
			e.Message = s
			return
		}
		e.cause = ErrUnexpectedBody
		e.Message = "unknown API error: " + fmt.Sprintf("%q", excerpt("", trimmed))
		return
	}

	detail, hasDetail := top["detail"]
	if hasDetail && isJSONNull(detail) {
		hasDetail = false
	}
	if !hasDetail {
		// Shape 2: the structured object at the top level; or a bare {"message": ..}.
		parseStructured(e, top)
		return
	}
	switch firstByte(detail) {
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(detail, &obj) == nil {
			parseStructured(e, obj)
		}
	case '"':
		var s string
		if json.Unmarshal(detail, &s) == nil {
			e.Message = s
		}
	case '[':
		parseValidation(e, detail)
	default:
		// detail of a type the API never sends (number, boolean): generic message.
	}
}

// parseStructured reads the ERR- envelope object leniently: each known key is taken
// when it has the expected type, others are ignored. A code without message is still
// kept so errors.Is works.
func parseStructured(e *APIError, obj map[string]json.RawMessage) {
	if code := jsonString(obj["error_code"]); strings.TrimSpace(code) != "" {
		e.Code = ErrorCode(oneLine(code, 64))
	}
	e.Message = jsonString(obj["message"])

	var items []json.RawMessage
	if json.Unmarshal(obj["details"], &items) == nil {
		for _, raw := range items {
			var item map[string]json.RawMessage
			if firstByte(raw) != '{' || json.Unmarshal(raw, &item) != nil {
				continue
			}
			d := ErrorDetail{Field: jsonString(item["field"]), Message: jsonString(item["message"])}
			if v, ok := item["value"]; ok {
				d.Value = append(json.RawMessage(nil), v...)
			}
			e.Details = append(e.Details, d)
		}
	}

	var suggestions []json.RawMessage
	if json.Unmarshal(obj["suggestions"], &suggestions) == nil {
		for _, raw := range suggestions {
			if s := jsonString(raw); s != "" {
				e.Suggestions = append(e.Suggestions, s)
			}
		}
	}

	var links []json.RawMessage
	if json.Unmarshal(obj["links"], &links) == nil {
		for _, raw := range links {
			var l map[string]json.RawMessage
			if firstByte(raw) != '{' || json.Unmarshal(raw, &l) != nil {
				continue
			}
			link := Link{Label: jsonString(l["label"]), URL: jsonString(l["url"])}
			if link.URL != "" || link.Label != "" {
				e.Links = append(e.Links, link)
			}
		}
	}
}

// parseValidation reads a FastAPI validation array: each item {loc, msg, type, input}
// becomes an ErrorDetail whose Field is loc without the strings body, query, path and
// header, joined with "."; when nothing is left, "required field" for type "missing",
// else the type, else "unknown".
func parseValidation(e *APIError, detail json.RawMessage) {
	var items []json.RawMessage
	if json.Unmarshal(detail, &items) != nil {
		return
	}
	var firstMsg string
	for _, raw := range items {
		var item map[string]json.RawMessage
		if firstByte(raw) != '{' || json.Unmarshal(raw, &item) != nil {
			continue
		}
		typ := jsonString(item["type"])
		var parts []string
		var loc []json.RawMessage
		if json.Unmarshal(item["loc"], &loc) == nil {
			for _, p := range loc {
				switch firstByte(p) {
				case '"':
					s := jsonString(p)
					switch s {
					case "body", "query", "path", "header":
						continue
					}
					parts = append(parts, s)
				case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
					parts = append(parts, string(p))
				}
			}
		}
		field := strings.Join(parts, ".")
		if field == "" {
			switch {
			case typ == "missing":
				field = "required field"
			case typ != "":
				field = typ
			default:
				field = "unknown"
			}
		}
		d := ErrorDetail{Field: field, Message: jsonString(item["msg"])}
		if v, ok := item["input"]; ok {
			d.Value = append(json.RawMessage(nil), v...)
		}
		if len(e.Details) == 0 {
			firstMsg = d.Message
		}
		e.Details = append(e.Details, d)
	}
	switch len(e.Details) {
	case 0:
		e.Message = "Validation failed"
	case 1:
		e.Message = "Validation failed: " + firstMsg
	default:
		e.Message = fmt.Sprintf("Validation failed (%d issues)", len(e.Details))
	}
}

// jsonString returns raw as a string when it is a JSON string, and "" otherwise.
func jsonString(raw json.RawMessage) string {
	if firstByte(raw) != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// excerptLen is the longest body excerpt quoted in an error.
const excerptLen = 160

// excerpt returns a short, printable, single-line excerpt of a body for an error
// message. HTML tags are removed so an HTML error page reads as its text.
func excerpt(contentType string, body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	// Look at a bounded prefix only.
	if len(body) > 4096 {
		body = body[:4096]
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	if strings.Contains(strings.ToLower(contentType), "html") || strings.HasPrefix(s, "<") {
		s = stripTags(s)
	}
	return oneLine(s, excerptLen)
}

// stripTags removes <...> sequences (and the content of script and style elements is
// left as text, which is fine for an excerpt).
func stripTags(s string) string {
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>' && inTag:
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oneLine makes s printable on one line: control and non-printable characters become
// spaces, runs of spaces collapse, and the result is cut to at most limit bytes (on a
// rune boundary, with "…" appended when cut).
func oneLine(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		if b.Len() > limit {
			break
		}
	}
	out := b.String()
	if len(out) <= limit {
		return out
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return strings.TrimRight(out[:cut], " ") + "…"
}
