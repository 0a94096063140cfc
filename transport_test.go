package phala

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        []Option
		req         request
		wantVersion string
		wantUA      string
		wantCT      string
		wantBody    string
		wantExtra   string
	}{
		{
			name:        "GET with defaults",
			req:         request{method: "GET", path: "/cvms/abc"},
			wantVersion: "2026-01-21",
			wantUA:      "phala-go/" + Version,
		},
		{
			name:        "POST with body and extra header",
			req:         request{method: "POST", path: "/cvms/abc/replicas", body: map[string]any{"node_id": 7, "compose_hash": "<&>"}, header: http.Header{"X-Prepare-Only": {"true"}}},
			wantVersion: "2026-01-21",
			wantUA:      "phala-go/" + Version,
			wantCT:      "application/json",
			wantBody:    `{"compose_hash":"<&>","node_id":7}`,
			wantExtra:   "true",
		},
		{
			name:        "empty body object is sent as {}",
			req:         request{method: "POST", path: "/x", body: struct{}{}},
			wantVersion: "2026-01-21",
			wantUA:      "phala-go/" + Version,
			wantCT:      "application/json",
			wantBody:    `{}`,
		},
		{
			name:        "custom version and user agent",
			opts:        []Option{WithAPIVersion("2025-10-28"), WithUserAgent("my-tool/2")},
			req:         request{method: "GET", path: "/x"},
			wantVersion: "2025-10-28",
			wantUA:      "my-tool/2",
		},
		{
			name:        "a request header cannot replace the API key",
			req:         request{method: "GET", path: "/x", header: http.Header{"X-Api-Key": {"other"}}},
			wantVersion: "2026-01-21",
			wantUA:      "phala-go/" + Version,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t, tt.opts...)
			var n counter
			mux.HandleFunc("/", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, tt.req.method)
				assert.Equal(t, tt.req.path, r.URL.Path)
				assert.Equal(t, []string{testKey}, r.Header.Values("X-API-Key"))
				testHeader(t, r, "X-Phala-Version", tt.wantVersion)
				testHeader(t, r, "Accept", "application/json")
				testHeader(t, r, "User-Agent", tt.wantUA)
				testHeader(t, r, "Content-Type", tt.wantCT)
				testHeader(t, r, "X-Prepare-Only", tt.wantExtra)
				body, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				assert.Equal(t, tt.wantBody, string(body), "exact body bytes")
				writeJSON(w, http.StatusOK, `{}`)
			}))
			_, err := c.do(context.Background(), tt.req, nil)
			require.NoError(t, err)
			assert.EqualValues(t, 1, n.get())
		})
	}
}

func TestPathf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		args   []string
		want   string
	}{
		{"/cvms/%s", []string{"abc"}, "/cvms/abc"},
		{"/cvms/%s/replicas", []string{"a/b"}, "/cvms/a%2Fb/replicas"},
		{"/cvms/%s", []string{"a b?c#d"}, "/cvms/a%20b%3Fc%23d"},
		{"/cvms/%s", []string{".."}, "/cvms/%2E%2E"},
		{"/cvms/%s", []string{"."}, "/cvms/%2E"},
		{"/cvms/%s", []string{"...x"}, "/cvms/...x"},
		{"/cvms/%s", []string{"ü"}, "/cvms/%C3%BC"},
		{"/kms/%s/pubkey/%s", []string{"base", "app_1"}, "/kms/base/pubkey/app_1"},
		{"/cvms/%s", []string{"100%"}, "/cvms/100%25"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, pathf(tt.format, tt.args...), "%s %q", tt.format, tt.args)
	}
}

func TestPathEscapingReachesServer(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var n counter
	mux.HandleFunc("GET /cvms/{id}", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "a/b c/..", r.PathValue("id"))
		assert.Equal(t, "/cvms/a%2Fb%20c%2F..", r.URL.EscapedPath())
		writeJSON(w, http.StatusOK, `{}`)
	}))
	_, err := c.do(context.Background(), request{path: pathf("/cvms/%s", "a/b c/..")}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n.get())
}

func TestBadRequestPath(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	_, err := c.do(context.Background(), request{path: "cvms/abc"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must start with /")
}

func TestUnencodableBody(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var n counter
	mux.HandleFunc("/", n.wrap(func(w http.ResponseWriter, r *http.Request) {}))
	_, err := c.do(context.Background(), request{method: "POST", path: "/x", body: map[string]any{"f": func() {}}}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encoding request body")
	assert.Zero(t, n.get(), "nothing is sent")
}

func TestSuccessfulResponses(t *testing.T) {
	t.Parallel()
	type vm struct {
		Name string `json:"name"`
		ID   int    `json:"id"`
	}
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		out         bool
		want        vm
		wantErr     error
		wantExcerpt string
	}{
		{name: "JSON object", status: 200, contentType: "application/json", body: `{"name":"web","id":3,"extra":true}`, out: true, want: vm{"web", 3}},
		{name: "JSON with charset", status: 201, contentType: "application/json; charset=utf-8", body: `{"name":"a"}`, out: true, want: vm{Name: "a"}},
		{name: "problem+json", status: 200, contentType: "application/problem+json", body: `{"id":1}`, out: true, want: vm{ID: 1}},
		{name: "no content type", status: 200, body: `{"id":2}`, out: true, want: vm{ID: 2}},
		{name: "nil out ignores body", status: 200, contentType: "text/plain", body: `whatever`},
		{name: "204 without body", status: 204, out: true},
		{name: "empty body with out", status: 200, contentType: "application/json", out: true, wantErr: ErrUnexpectedBody},
		{name: "HTML 200", status: 200, contentType: "text/html", body: "<html><body><h1>Welcome</h1></body></html>", out: true, wantErr: ErrUnexpectedBody, wantExcerpt: "Welcome"},
		{name: "invalid JSON", status: 200, contentType: "application/json", body: `{"name":`, out: true, wantErr: ErrUnexpectedBody, wantExcerpt: `{"name":`},
		{name: "wrong JSON type", status: 200, contentType: "application/json", body: `{"id":"three"}`, out: true, wantErr: ErrUnexpectedBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-ID", "req-42")
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				} else {
					w.Header()["Content-Type"] = nil // no sniffing: really absent
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			var got vm
			var out any
			if tt.out {
				out = &got
			}
			res, err := c.do(context.Background(), request{path: "/x"}, out)
			require.NotNil(t, res, "a response is returned whenever an answer arrived")
			assert.Equal(t, tt.status, res.StatusCode)
			assert.Equal(t, "req-42", res.RequestID)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			var re *ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.status, re.StatusCode)
			assert.Equal(t, "req-42", re.RequestID)
			assert.Contains(t, re.Excerpt, tt.wantExcerpt)
			assert.NotContains(t, re.Excerpt, "<")
			assert.Contains(t, err.Error(), "[request req-42]")
		})
	}
}

func TestOversizeBody(t *testing.T) {
	t.Parallel()
	big := `{"detail":"` + strings.Repeat("x", 4096) + `"}`
	tests := []struct {
		name   string
		status int
	}{
		{"success", http.StatusOK},
		{"error", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t, WithMaxResponseBytes(1024))
			mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tt.status, big)
			})
			var out map[string]any
			_, err := c.do(context.Background(), request{path: "/x"}, &out)
			require.ErrorIs(t, err, ErrResponseTooLarge)
			assert.Nil(t, out)
			if tt.status >= 400 {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.status, apiErr.StatusCode)
			} else {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
			}
			assert.Less(t, len(err.Error()), 400, "the body is not quoted whole")
		})
	}

	// A body of exactly the limit is read.
	c, mux, _ := setup(t, WithMaxResponseBytes(int64(len(big))))
	mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, big) })
	var out map[string]any
	_, err := c.do(context.Background(), request{path: "/x"}, &out)
	require.NoError(t, err)
}

func TestHTMLErrorPage(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var n counter
	page := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	mux.HandleFunc("/cvms/abc", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Request-ID", "edge-9")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, page)
	}))
	_, err := c.do(context.Background(), request{path: "/cvms/abc"}, nil)
	assert.EqualValues(t, 3, n.get(), "a 502 on GET is retried")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, IsServerError(err))
	assert.ErrorIs(t, err, ErrUnexpectedBody)
	assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
	assert.Empty(t, apiErr.Code)
	assert.Equal(t, `phala: HTTP 502: unexpected non-JSON response (text/html): "502 Bad Gateway 502 Bad Gateway nginx" [request edge-9]`, err.Error())
}

func TestRequestIDSurfaces(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "7f3a-11")
		writeJSON(w, http.StatusConflict, `{"detail":{"error_code":"ERR-02-005","message":"Insufficient slots on node 3"}}`)
	})
	res, err := c.do(context.Background(), request{method: "POST", path: "/x", body: struct{}{}}, nil)
	require.NotNil(t, res)
	assert.Equal(t, "7f3a-11", res.RequestID)
	assert.Equal(t, "phala: ERR-02-005 (HTTP 409): Insufficient slots on node 3 [request 7f3a-11]", err.Error())
	assert.ErrorIs(t, err, ErrInsufficientSlots)
	assert.True(t, IsBusinessError(err))
}

func TestAPIKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux, _ := setup(t, WithLogger(logger))
	// A hostile server echoes the key everywhere it can.
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-Key")
		w.Header().Set("X-Request-ID", "id-"+key)
		writeJSON(w, http.StatusUnauthorized, `{"detail":{"error_code":"ERR-03-005","message":"bad key `+key+`","suggestions":["rotate `+key+`"],"details":[{"field":"key","message":"`+key+`"}]}}`)
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<p>your key is "+r.Header.Get("X-API-Key")+"</p>")
	})
	secretBody := map[string]string{"encrypted_env": "plaintext-secret-value"}
	_, err1 := c.do(context.Background(), request{method: "POST", path: "/echo", body: secretBody}, nil)
	var out map[string]any
	_, err2 := c.do(context.Background(), request{path: "/html"}, &out)
	for _, err := range []error{err1, err2} {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), testKey)
		assert.Contains(t, err.Error(), "[REDACTED]")
	}
	var apiErr *APIError
	require.ErrorAs(t, err1, &apiErr)
	assert.True(t, apiErr.IsAuthError())
	assert.NotContains(t, mustJSON(t, apiErr.Suggestions), testKey)
	assert.NotContains(t, mustJSON(t, apiErr.Details), testKey)

	assert.NotContains(t, logs.String(), testKey)
	assert.NotContains(t, logs.String(), "plaintext-secret-value")
	assert.NotContains(t, logs.String(), "encrypted_env")
}

func TestDebugLogging(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux, _ := setup(t, WithLogger(logger))
	var n counter
	mux.HandleFunc("/cvms/abc", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "r-"+string(rune('0'+n.get())))
		if n.get() == 1 {
			writeJSON(w, http.StatusServiceUnavailable, `{}`)
			return
		}
		writeJSON(w, http.StatusOK, `{}`)
	}))
	_, err := c.do(context.Background(), request{path: "/cvms/abc"}, nil)
	require.NoError(t, err)

	var lines []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m))
		lines = append(lines, m)
	}
	require.Len(t, lines, 2, "one line per attempt")
	for i, want := range []struct {
		status float64
		reqID  string
	}{{503, "r-1"}, {200, "r-2"}} {
		l := lines[i]
		assert.Equal(t, "DEBUG", l["level"])
		assert.Equal(t, "GET", l["method"])
		assert.Equal(t, "/cvms/abc", l["path"])
		assert.EqualValues(t, i+1, l["attempt"])
		assert.Equal(t, want.status, l["status"])
		assert.Equal(t, want.reqID, l["request_id"])
		assert.Contains(t, l, "duration")
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()

	t.Run("same host is followed with the key", func(t *testing.T) {
		t.Parallel()
		c, mux, _ := setup(t)
		mux.HandleFunc("GET /old", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, basePath+"/new", http.StatusFound)
		})
		var n counter
		mux.HandleFunc("GET /new", n.wrap(func(w http.ResponseWriter, r *http.Request) {
			testHeader(t, r, "X-API-Key", testKey)
			writeJSON(w, http.StatusOK, `{"ok":true}`)
		}))
		var out struct{ OK bool }
		_, err := c.do(context.Background(), request{path: "/old"}, &out)
		require.NoError(t, err)
		assert.True(t, out.OK)
		assert.EqualValues(t, 1, n.get())
	})

	for _, method := range []string{"GET", "POST"} {
		t.Run("cross host is refused for "+method, func(t *testing.T) {
			t.Parallel()
			var other counter
			elsewhere := httptest.NewServer(other.wrap(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("the other host was contacted (key %q)", r.Header.Get("X-API-Key"))
			}))
			t.Cleanup(elsewhere.Close)
			c, mux, _ := setup(t)
			var n counter
			mux.HandleFunc("/old", n.wrap(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
			}))
			_, err := c.do(context.Background(), request{method: method, path: "/old", body: map[string]int{"a": 1}}, nil)
			var re *RedirectError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, strings.TrimSuffix(elsewhere.URL, "/"), re.To)
			assert.Zero(t, other.get())
			assert.EqualValues(t, 1, n.get(), "a refused redirect is not retried")
			assert.NotContains(t, err.Error(), testKey)
		})
	}

	t.Run("redirect loop stops", func(t *testing.T) {
		t.Parallel()
		c, mux, _ := setup(t)
		mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, basePath+"/loop", http.StatusFound)
		})
		_, err := c.do(context.Background(), request{path: "/loop"}, nil)
		var re *RedirectError
		require.ErrorAs(t, err, &re)
		assert.Contains(t, re.Reason, "10 redirects")
	})

	t.Run("caller's CheckRedirect still runs and is not replaced", func(t *testing.T) {
		t.Parallel()
		veto := errors.New("no redirects please")
		var called counter
		caller := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { called.inc(); return veto }}
		c, mux, _ := setup(t, WithHTTPClient(caller))
		mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, basePath+"/new", http.StatusFound)
		})
		_, err := c.do(context.Background(), request{path: "/old"}, nil)
		require.ErrorIs(t, err, veto)
		assert.NotZero(t, called.get())
		// The caller's client itself is untouched.
		assert.Zero(t, caller.Timeout)
		assert.ErrorIs(t, caller.CheckRedirect(nil, nil), veto)
	})
}

func TestCheckRedirectUnit(t *testing.T) {
	t.Parallel()
	mk := func(raw string) *http.Request {
		r, err := http.NewRequest("GET", raw, nil)
		require.NoError(t, err)
		r.Header.Set("X-API-Key", testKey)
		return r
	}
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"https://api.example/api/v1/a", "https://api.example/api/v1/b", true},
		{"https://api.example/a", "https://API.EXAMPLE/b", true},
		{"https://api.example/a", "http://api.example/b", false},
		{"https://api.example/a", "https://api.example:8443/b", false},
		{"https://api.example/a", "https://evil.example/b", false},
		{"https://api.example/a", "https://api.example.evil/b", false},
	}
	for _, tt := range tests {
		next := mk(tt.to)
		err := checkRedirect(next, []*http.Request{mk(tt.from)})
		if tt.ok {
			assert.NoError(t, err, "%s -> %s", tt.from, tt.to)
			assert.Equal(t, testKey, next.Header.Get("X-API-Key"))
		} else {
			assert.Error(t, err, "%s -> %s", tt.from, tt.to)
			assert.Empty(t, next.Header.Get("X-API-Key"), "key stripped from the refused request")
		}
	}
}

func BenchmarkDoGET(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"id":"abc","name":"web","status":"running"}`)
	}))
	defer srv.Close()
	c, err := NewClient(WithAPIKey(testKey), WithBaseURL(srv.URL+basePath))
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var out struct{ ID, Name, Status string }
		if _, err := c.do(ctx, request{path: "/cvms/abc"}, &out); err != nil {
			b.Fatal(err)
		}
	}
}
