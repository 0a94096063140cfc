package attest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pccsServer serves collateral the way a PCCS does (Intel PCS paths, issuer chains in
// headers, the root CA CRL hex-encoded) and counts requests.
func pccsServer(t *testing.T, c *Collateral) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	g, err := newCollateralGetter(c)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var header map[string][]string
		var body []byte
		switch {
		case r.URL.Path == "/tdx/certification/v4/tcb" && r.URL.Query().Get("fmspc") != "":
			header, body, _ = g.Get(pcsHost + r.URL.RequestURI())
		case r.URL.Path == "/tdx/certification/v4/qe/identity":
			header, body, _ = g.Get(pcsHost + r.URL.Path)
		case r.URL.Path == "/sgx/certification/v4/pckcrl":
			header, body, _ = g.Get(pcsHost + r.URL.RequestURI())
		case r.URL.Path == rootCRLPath:
			body = []byte(c.RootCACRL)
		default:
			http.NotFound(w, r)
			return
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestVerifyWithPCCS(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	srv, hits := pccsServer(t, f.Collateral)
	res, err := Verify(context.Background(), f.Evidence, WithTime(dstackFixtureTime), WithPCCS(srv.URL+"/", srv.Client()))
	require.NoError(t, err)
	assert.Equal(t, TCBUpToDate, res.TCBStatus)
	assert.Equal(t, int32(4), hits.Load()) // tcb info, qe identity, pck crl, root crl: once each

	// A PCCS that answers an error is a collateral failure, not a pass with status unknown.
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	_, err = Verify(context.Background(), f.Evidence, WithTime(dstackFixtureTime), WithPCCS(bad.URL, bad.Client()))
	assert.ErrorIs(t, err, &CheckError{Check: CheckCollateral})
}

// TestJudgeTCBReportsStatusOfMatchedLevel: the status reported is the matching level's,
// not hidden behind an error. judgeTCB runs only on collateral go-tdx-guest verified;
// here it is fed an edited copy directly.
func TestJudgeTCBReportsStatusOfMatchedLevel(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	q, err := parseQuote(f.Evidence.Quote)
	require.NoError(t, err)
	tests := []struct {
		name string
		edit func(*Collateral)
		want TCBStatus
	}{
		{"as published", func(*Collateral) {}, TCBUpToDate},
		{"matched platform level out of date", func(c *Collateral) {
			c.TCBInfo = replaceAfter(t, c.TCBInfo, `"sgxtcbcomponents"`, `"tcbStatus":"UpToDate"`, `"tcbStatus":"OutOfDate"`)
		}, TCBOutOfDate},
		{"TDX module level needs configuration", func(c *Collateral) {
			c.TCBInfo = replaceAfter(t, c.TCBInfo, `"id":"TDX_01"`, `"tcbStatus":"UpToDate"`, `"tcbStatus":"ConfigurationNeeded"`)
		}, "ConfigurationNeeded"},
		{"QE level revoked", func(c *Collateral) {
			c.QEIdentity = strings.Replace(c.QEIdentity, `"tcbStatus":"UpToDate"`, `"tcbStatus":"Revoked"`, 1)
		}, "Revoked"},
		{"no level matches", func(c *Collateral) {
			c.TCBInfo = strings.ReplaceAll(c.TCBInfo, `"pcesvn":`, `"pcesvn":9`)
		}, TCBUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *f.Collateral
			tt.edit(&c)
			g, err := newCollateralGetter(&c)
			require.NoError(t, err)
			rec := &recordingGetter{inner: g, bodies: map[string][]byte{}}
			_, _, _ = rec.Get(pcsHost + "/tdx/certification/v4/tcb?fmspc=x")
			_, _, _ = rec.Get(pcsHost + "/tdx/certification/v4/qe/identity")
			status, _, err := judgeTCB(q, rec)
			require.NoError(t, err)
			assert.Equal(t, tt.want, status)
		})
	}
}

func TestCollateralGetterRejectsIncompleteCollateral(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	for name, edit := range map[string]func(*Collateral){
		"no pck crl":       func(c *Collateral) { c.PCKCRL = "" },
		"root crl not hex": func(c *Collateral) { c.RootCACRL = "zz" },
		"no tcb info":      func(c *Collateral) { c.TCBInfo = "" },
		"qe identity text": func(c *Collateral) { c.QEIdentity = "not json" },
	} {
		c := *f.Collateral
		edit(&c)
		_, err := Verify(context.Background(), f.Evidence, WithTime(dstackFixtureTime), WithCollateral(&c))
		assert.ErrorIs(t, err, &CheckError{Check: CheckCollateral}, name)
	}
}

// replaceAfter replaces the first old after the first marker in s.
func replaceAfter(t *testing.T, s, marker, old, repl string) string {
	t.Helper()
	i := strings.Index(s, marker)
	require.GreaterOrEqual(t, i, 0, marker)
	j := strings.Index(s[i:], old)
	require.GreaterOrEqual(t, j, 0, old)
	return s[:i+j] + repl + s[i+j+len(old):]
}
