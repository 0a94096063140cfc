package phalatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// maxPendingFaults bounds the fault queue.
const maxPendingFaults = 1024

// Fault describes a failure injected into the next matching requests; see
// Server.FailNext. A fault matches a request when Method (if set) equals its
// method and the path relative to /api/v1 starts with PathPrefix (if set).
type Fault struct {
	Method     string // e.g. "POST"; "" matches any method
	PathPrefix string // e.g. "/cvms/"; relative to /api/v1, "" matches any path

	// Status, if non-zero, is answered instead of handling the request
	// (nothing changes on the server). 429 is sent with the structured
	// envelope (ERR-05-002); other statuses with FastAPI's
	// {"detail": "<status text>"}, or an HTML page when HTMLBody is set.
	Status     int
	RetryAfter time.Duration // sends Retry-After (whole seconds, rounded up) with Status
	HTMLBody   bool          // answer Status with a text/html page, as a proxy in front of the API does

	// Latency delays the request before anything else happens (added to
	// SetLatency's). The delay ends early if the client goes away or the
	// server closes.
	Latency time.Duration

	// DropAfterProcessing handles the request normally (a replica may be
	// created, a token consumed) and then closes the connection without
	// sending the answer: the client cannot know what happened.
	DropAfterProcessing bool
	// Truncate handles the request normally and then sends the status line,
	// the headers with the full Content-Length and only half of the body
	// before closing the connection.
	Truncate bool

	// AfterProcessing, with Status, handles the request normally first (a
	// replica may be created, a token consumed) and answers Status instead
	// of the real answer, as a gateway whose upstream answered too late: a
	// proxy 503 (or 502, 504, a redirect) after the API acted.
	AfterProcessing bool
	// Location, with a 3xx Status, is sent as the Location header: a path
	// ("/api/v1/cvms/<vm_uuid>") redirects to this server, a full URL may
	// name another host.
	Location string

	// DeviceID, when set, makes the server lie: the request is handled
	// normally and, when the answer is an HTTP 465, its device_id is replaced
	// by DeviceID (the commit token still names the real target node), as a
	// compromised or buggy backend asking for a foreign device to be
	// allow-listed would.
	DeviceID string

	// Count is how many matching requests the fault applies to (0 = 1).
	Count int
}

// processFirst reports whether the request is handled before the fault
// shapes its answer.
func (f *Fault) processFirst() bool {
	return f.DropAfterProcessing || f.Truncate || f.AfterProcessing || f.DeviceID != ""
}

// answerAfterProcessing applies the faults that rewrite or replace the answer
// rec of a processed request. It reports whether it wrote the answer; when it
// did not, the caller drops or truncates rec.
func (s *Server) answerAfterProcessing(w http.ResponseWriter, r *http.Request, rel string, rec *httptest.ResponseRecorder, f *Fault) bool {
	if f.DeviceID != "" && rec.Code == StatusPrepare {
		lieAboutDevice(rec, f.DeviceID)
		s.log.Info("phalatest: the 465 names a foreign device", "method", r.Method, "path", rel)
	}
	switch {
	case f.DropAfterProcessing || f.Truncate:
		return false
	case f.AfterProcessing:
		s.writeFault(w, f)
		s.log.Info("phalatest: injected fault after processing", "method", r.Method, "path", rel, "status", f.Status)
		return true
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return true
}

// lieAboutDevice replaces the device_id detail of the 465 body in rec.
func lieAboutDevice(rec *httptest.ResponseRecorder, device string) {
	var body map[string]any
	if json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		return
	}
	detail, _ := body["detail"].(map[string]any)
	details, _ := detail["details"].([]any)
	for _, d := range details {
		if m, ok := d.(map[string]any); ok && m["field"] == "device_id" {
			m["value"] = device
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return
	}
	rec.Body.Reset()
	rec.Body.Write(b)
}

type pendingFault struct {
	Fault
	left int
}

// FailNext queues f for the next Count requests that match it. Faults apply
// in the order queued: a request takes the first matching one. At most 1024
// faults may be pending; FailNext panics beyond that or on negative values.
func (s *Server) FailNext(f Fault) {
	if f.Count < 0 || f.Latency < 0 || f.RetryAfter < 0 || f.Status < 0 || f.Status > 999 || (f.Status != 0 && f.Status < 100) ||
		(f.AfterProcessing && f.Status == 0) || (f.Location != "" && (f.Status < 300 || f.Status > 399)) {
		panicf("FailNext: invalid fault %+v", f)
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) >= maxPendingFaults {
		panicf("FailNext: more than %d pending faults", maxPendingFaults)
	}
	s.faults = append(s.faults, &pendingFault{Fault: f, left: f.Count})
}

// SetLatency delays every request by d (0 turns it off). The delay ends
// early if the client goes away or the server closes.
func (s *Server) SetLatency(d time.Duration) {
	if d < 0 {
		panic("phalatest: SetLatency: negative duration")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// PendingFaults returns how many injected failures are still to be used.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.left
	}
	return n
}

// takeFault consumes one use of the first fault matching the request and
// returns it with the total latency to apply.
func (s *Server) takeFault(method, path string) (*Fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	latency := s.latency
	for i, pf := range s.faults {
		if pf.Method != "" && !strings.EqualFold(pf.Method, method) {
			continue
		}
		if !strings.HasPrefix(path, pf.PathPrefix) {
			continue
		}
		pf.left--
		if pf.left == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		f := pf.Fault
		return &f, latency + f.Latency
	}
	return nil, latency
}

func (s *Server) writeFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	if f.Location != "" {
		w.Header().Set("Location", f.Location)
	}
	text := http.StatusText(f.Status)
	if text == "" {
		text = "Error"
	}
	switch {
	case f.HTMLBody:
		page := fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", f.Status, text, f.Status, text)
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(page))
	case f.Status == http.StatusTooManyRequests:
		writeAPIError(w, newError(f.Status, CodeTokenRateLimit, "Rate limit exceeded, retry later"))
	default:
		writeDetailString(w, f.Status, text)
	}
}

// dropConnection closes the client connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// writeTruncated sends rec's status and headers with the full
// Content-Length but only half of its body, then closes the connection.
func writeTruncated(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	body := rec.Body.Bytes()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}
