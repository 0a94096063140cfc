package phalatest

import (
	"net/http"
	"time"
)

// maxRecorded bounds the request log; older requests are dropped first.
const maxRecorded = 10000

// Request is one request the server received, recorded before any fault or
// check applied (so rejected and faulted requests are included).
type Request struct {
	Method string
	// Path is the decoded path relative to /api/v1 (e.g. "/cvms/x/replicas");
	// a path outside /api/v1 is kept whole.
	Path string
	// EscapedPath is Path as sent on the wire, percent-escapes kept.
	EscapedPath string
	Query       string      // raw query, without '?'
	Header      http.Header // a copy of the request headers
	Body        []byte      // the body as received
	Time        time.Time   // the server's time when it arrived
	RequestID   string      // the X-Request-ID header of the answer
}

// RequestIDHeader is the header in which every answer, injected faults
// included, carries an id unique to its request ("req_" and 24 hex digits),
// so that a client's handling of it (phala.APIError.RequestID, its log
// field) can be tested and matched with Request.RequestID. Whether and in
// which format Phala Cloud sends it is not documented: an assumption.
const RequestIDHeader = "X-Request-ID"

func newRequestID() string { return "req_" + randomHex(12) }

func (s *Server) record(r *http.Request, rel, relEscaped string, body []byte, requestID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRecorded {
		s.requests = append(s.requests[:0], s.requests[1:]...)
	}
	s.requests = append(s.requests, Request{
		Method:      r.Method,
		Path:        rel,
		EscapedPath: relEscaped,
		Query:       r.URL.RawQuery,
		Header:      r.Header.Clone(),
		Body:        append([]byte(nil), body...),
		Time:        s.nowLocked(),
		RequestID:   requestID,
	})
}

// Requests returns a copy of every request received so far, oldest first
// (at most the last 10000).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = append([]byte(nil), r.Body...)
		out[i] = r
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}
