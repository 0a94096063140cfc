package phalatest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// APIPrefix is the path under which the API is mounted, as on Phala Cloud
// (https://cloud-api.phala.com/api/v1).
const APIPrefix = "/api/v1"

// Versions accepted in X-Phala-Version. A request without the header is
// answered as Version20260121.
const (
	Version20251028 = "2025-10-28"
	Version20260121 = "2026-01-21"
)

// maxBodySize bounds a request body: an encrypted_env is at most 256 KiB,
// 512 KiB as hex.
const maxBodySize = 2 << 20

// Server is an in-process emulator of the Phala Cloud replication API,
// listening on a loopback address. Seed it with AddWorkspace, AddNode,
// AddApp and AddCVM, point a client at URL with APIKey, and inspect what
// happened with Requests, Replicas and Replica. All methods are safe for
// concurrent use.
type Server struct {
	ts      *httptest.Server
	cfg     config
	log     *slog.Logger
	closing chan struct{}
	once    sync.Once

	kmsRoot   *ecdsa.PrivateKey
	kmsSecret []byte // derives the per-app X25519 env keys
	rpcs      []*ethclient.Client

	mu         sync.Mutex
	offset     time.Duration
	workspaces []*workspace
	wsByID     map[string]*workspace
	wsByKey    map[string]*workspace
	defaultWS  *workspace
	nodes      []*node
	nodeByID   map[int]*node
	apps       []*app
	appByID    map[string]*app
	cvms       []*cvm
	cvmByUUID  map[string]*cvm
	cvmIdx     cvmIndex // the CVMs by id, name, app and node (index.go)
	nextCVM    int
	tokens     map[string]*commitToken
	faults     []*pendingFault
	latency    time.Duration
	requests   []Request
	bootFails  []string
	deleted    []Replica
	att        attestState // test attestation authority and faults (attestation.go)
}

// NewServer starts and returns a new Server with a default workspace
// (credit DefaultCredit) and no nodes or apps. The caller should call Close
// when finished, to shut it down. It panics with a "phalatest: …" message
// if an option is invalid or the server cannot start.
func NewServer(opts ...Option) *Server {
	cfg := config{
		clock:            time.Now,
		logger:           slog.New(slog.DiscardHandler),
		creating:         DefaultCreatingDelay,
		starting:         DefaultStartingDelay,
		chainReadTimeout: 10 * time.Second,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			panic("phalatest: " + err.Error())
		}
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.logger,
		closing:   make(chan struct{}),
		wsByID:    map[string]*workspace{},
		wsByKey:   map[string]*workspace{},
		nodeByID:  map[int]*node{},
		appByID:   map[string]*app{},
		cvmByUUID: map[string]*cvm{},
		tokens:    map[string]*commitToken{},
		kmsSecret: []byte(randomHex(32)),
	}
	for chainID, u := range cfg.rpcURLs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ec, err := ethclient.DialContext(ctx, u)
		cancel()
		if err != nil {
			s.closeRPCs()
			panicf("WithChainRPC: dialling chain %d: %v", chainID, err)
		}
		s.rpcs = append(s.rpcs, ec)
		if s.cfg.chains == nil {
			s.cfg.chains = map[uint64]ChainBackend{}
		}
		s.cfg.chains[chainID] = ec
	}
	s.kmsRoot = cfg.kmsRoot
	if s.kmsRoot == nil {
		k, err := crypto.GenerateKey()
		if err != nil {
			panic("phalatest: generating the KMS root key: " + err.Error())
		}
		s.kmsRoot = k
	}
	s.defaultWS = s.addWorkspace(Workspace{Name: "Default Workspace", Slug: "default", Credit: DefaultCredit, APIKey: cfg.apiKey})
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL returns the base URL of the API, http://127.0.0.1:port/api/v1, with no
// trailing slash: give it to a client as its base URL.
func (s *Server) URL() string { return s.ts.URL + APIPrefix }

// APIKey returns the API key of the default workspace, the one every
// request must send in X-API-Key (unless it acts in another workspace).
func (s *Server) APIKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultWS.APIKey
}

// Close shuts the server down, aborting injected latencies, and waits for
// in-flight requests. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.Close()
		s.closeRPCs()
	})
}

func (s *Server) closeRPCs() {
	for _, c := range s.rpcs {
		c.Close()
	}
	s.rpcs = nil
}

// Now returns the server's current time: its clock plus every Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return s.cfg.clock().Add(s.offset) }

// Advance moves the server's time forward by d (on top of its clock), which
// moves replicas through their statuses and commit tokens towards expiry.
func (s *Server) Advance(d time.Duration) {
	if d < 0 {
		panic("phalatest: Advance: negative duration")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// apiRequest is a request that passed authentication and version checks.
type apiRequest struct {
	r       *http.Request
	ws      *workspace
	version string
	segs    []string // unescaped path segments after /api/v1
	body    []byte
}

// serveHTTP runs every request: record, latency and faults, then the API.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer, faults included, carries a request id of its own.
	id := newRequestID()
	w.Header().Set(RequestIDHeader, id)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodySize+1))
	if err != nil {
		writeDetailString(w, http.StatusBadRequest, "Could not read the request body")
		return
	}
	rel, relEscaped := stripPrefix(r.URL)
	s.record(r, rel, relEscaped, body, id)

	f, latency := s.takeFault(r.Method, rel)
	if latency > 0 && !s.sleep(r, latency) {
		return
	}
	if f != nil && f.Status != 0 && !f.AfterProcessing {
		s.writeFault(w, f)
		s.log.Info("phalatest: injected fault", "method", r.Method, "path", rel, "status", f.Status)
		return
	}
	if f != nil && f.processFirst() {
		rec := httptest.NewRecorder()
		rec.Header().Set(RequestIDHeader, id)
		s.serveAPI(rec, r, rel, body)
		if s.answerAfterProcessing(w, r, rel, rec, f) {
			return
		}
		if f.DropAfterProcessing {
			s.log.Info("phalatest: dropping the connection after processing", "method", r.Method, "path", rel)
			dropConnection(w)
			return
		}
		s.log.Info("phalatest: truncating the response", "method", r.Method, "path", rel)
		writeTruncated(w, rec)
		return
	}
	s.serveAPI(w, r, rel, body)
}

// sleep waits d, or less if the client goes away or the server closes; it
// reports whether the full delay elapsed.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// stripPrefix returns the path relative to APIPrefix, decoded and escaped
// (the whole path when it is outside the prefix).
func stripPrefix(u *url.URL) (rel, relEscaped string) {
	rel, relEscaped = u.Path, u.EscapedPath()
	if r, ok := strings.CutPrefix(rel, APIPrefix); ok && (r == "" || r[0] == '/') {
		rel = r
	}
	if r, ok := strings.CutPrefix(relEscaped, APIPrefix); ok && (r == "" || r[0] == '/') {
		relEscaped = r
	}
	return rel, relEscaped
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rel string, body []byte) {
	status, code := s.dispatch(w, r, body)
	attrs := []any{"method", r.Method, "path", rel, "status", status}
	if code != "" {
		attrs = append(attrs, "error_code", code)
	}
	s.log.Info("phalatest: request", attrs...)
}

// dispatch routes the request (404 and 405 as FastAPI answers them, before
// any check), checks the API key and the version, runs the handler and
// writes the answer; it returns the status and error code sent.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, body []byte) (int, string) {
	escaped := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(escaped, APIPrefix+"/")
	if !ok {
		writeDetailString(w, http.StatusNotFound, "Not Found")
		return http.StatusNotFound, ""
	}
	if len(body) > maxBodySize {
		writeDetailString(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return http.StatusRequestEntityTooLarge, ""
	}
	var segs []string
	for _, p := range strings.Split(strings.TrimSuffix(rest, "/"), "/") {
		seg, err := url.PathUnescape(p)
		if err != nil {
			writeDetailString(w, http.StatusNotFound, "Not Found")
			return http.StatusNotFound, ""
		}
		segs = append(segs, seg)
	}

	h, allowed := route(r.Method, segs)
	if h == nil {
		if allowed {
			writeDetailString(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return http.StatusMethodNotAllowed, ""
		}
		writeDetailString(w, http.StatusNotFound, "Not Found")
		return http.StatusNotFound, ""
	}
	ws := s.workspaceForKey(r.Header.Get("X-API-Key"))
	if ws == nil {
		e := newError(http.StatusUnauthorized, CodeUnauthorized, "Invalid or missing API key").
			suggest("Send a valid API key in the X-API-Key header")
		writeAPIError(w, e)
		return e.status, e.code
	}
	version := r.Header.Get("X-Phala-Version")
	switch version {
	case "":
		version = Version20260121
	case Version20251028, Version20260121:
	default:
		e := newError(http.StatusBadRequest, CodeInvalidRequest, "Unsupported API version %q. Supported versions: %s, %s", truncateForMessage(version), Version20251028, Version20260121).
			with("X-Phala-Version", truncateForMessage(version))
		writeAPIError(w, e)
		return e.status, e.code
	}

	status, out, err := h(s, &apiRequest{r: r, ws: ws, version: version, segs: segs, body: body})
	var ae *apiError
	var ve *validationError
	switch {
	case errors.As(err, &ae):
		writeAPIError(w, ae)
		return ae.status, ae.code
	case errors.As(err, &ve):
		writeValidation(w, ve)
		return http.StatusUnprocessableEntity, ""
	case err != nil:
		writeDetailString(w, http.StatusInternalServerError, "Internal Server Error")
		s.log.Error("phalatest: internal error", "error", err)
		return http.StatusInternalServerError, ""
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return status, ""
	}
	writeJSON(w, status, out)
	return status, ""
}

type handler func(s *Server, req *apiRequest) (int, any, error)

// route picks the handler for method and path; allowed reports a known path
// with another method.
func route(method string, segs []string) (h handler, allowed bool) {
	var want string
	switch {
	case len(segs) == 2 && segs[0] == "cvms" && method == http.MethodDelete:
		want, h = http.MethodDelete, (*Server).deleteCVM
	case len(segs) == 2 && segs[0] == "cvms":
		want, h = http.MethodGet, (*Server).getCVM
	case len(segs) == 3 && segs[0] == "apps" && segs[2] == "cvms":
		want, h = http.MethodGet, (*Server).getAppCVMs
	case len(segs) == 2 && segs[0] == "teepods" && segs[1] == "available":
		want, h = http.MethodGet, (*Server).getAvailableNodes
	case len(segs) == 4 && segs[0] == "kms" && segs[2] == "pubkey":
		want, h = http.MethodGet, (*Server).getPubkey
	case len(segs) == 3 && segs[0] == "cvms" && segs[2] == "attestation":
		want, h = http.MethodGet, (*Server).getAttestation
	case len(segs) == 3 && segs[0] == "apps" && segs[2] == "attestations":
		want, h = http.MethodGet, (*Server).getAppAttestations
	case len(segs) == 3 && segs[0] == "cvms" && segs[2] == "replicas":
		want, h = http.MethodPost, (*Server).postReplicas
	case len(segs) == 3 && segs[0] == "cvms" && segs[2] == "commit-replica":
		want, h = http.MethodPost, (*Server).postCommit
	case len(segs) == 5 && segs[0] == "apps" && segs[2] == "cvms" && segs[4] == "replicas":
		want, h = http.MethodPost, (*Server).postAppReplicas
	default:
		return nil, false
	}
	if method != want {
		return nil, true
	}
	return h, true
}

func truncateForMessage(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		return s[:maxLen] + "…"
	}
	return s
}
