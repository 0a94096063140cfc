package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dstackFixtureTime is a moment when the dstack fixture's PCK chain and collateral were
// current (its collateral was issued 2026-08-13 and is valid for a month).
var dstackFixtureTime = time.Date(2026, 8, 14, 0, 0, 0, 0, time.UTC)

// goTDXGuestQuoteTime is a moment when go-tdx-guest's sample quote's chain was valid.
var goTDXGuestQuoteTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// dstackFixture is a real dstack attestation: quote, event log, app_compose, collateral.
type dstackFixture struct {
	Evidence   Evidence
	Collateral *Collateral
	AppID      string
	Compose    string
	TCBInfo    struct {
		MRTD        string  `json:"mrtd"`
		RTMR0       string  `json:"rtmr0"`
		RTMR1       string  `json:"rtmr1"`
		RTMR2       string  `json:"rtmr2"`
		RTMR3       string  `json:"rtmr3"`
		ComposeHash string  `json:"compose_hash"`
		AppCompose  string  `json:"app_compose"`
		EventLog    []Event `json:"event_log"`
	}
}

func loadDstack(t testing.TB) *dstackFixture {
	t.Helper()
	f := &dstackFixture{}
	var quote []byte
	require.NoError(t, json.Unmarshal(readTestdata(t, "dstack_quote.json"), &quote))
	require.NoError(t, json.Unmarshal(readTestdata(t, "dstack_tcb_info.json"), &f.TCBInfo))
	col, err := ParseCollateral(readTestdata(t, "dstack_collateral.json"))
	require.NoError(t, err)
	f.Collateral = col
	f.Evidence = Evidence{Quote: quote, EventLog: f.TCBInfo.EventLog, AppCompose: f.TCBInfo.AppCompose}
	f.Compose = f.TCBInfo.ComposeHash
	f.AppID = "2911e1f733466216dedb862d6d669e11256ee7a3" // the fixture's app-id event payload
	return f
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// clone returns a deep copy of evidence so a test can tamper with it.
func (e Evidence) clone() Evidence {
	out := Evidence{Quote: append([]byte(nil), e.Quote...), AppCompose: e.AppCompose}
	out.EventLog = append([]Event(nil), e.EventLog...)
	return out
}

// nextPEM returns the re-encoded first PEM block of b and the rest.
func nextPEM(b []byte) ([]byte, []byte) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, nil
	}
	return pem.EncodeToMemory(block), rest
}

// testRootPool returns a pool with a freshly generated self-signed root, standing for
// any root that is not Intel's.
func testRootPool(t testing.TB) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Intel SGX Root CA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
