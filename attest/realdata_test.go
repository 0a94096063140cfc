package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realAttestation is one published dstack attestation of testdata (see SOURCES.md):
// the evidence, and what it measured, read by hand from the data itself.
type realAttestation struct {
	dir         string    // testdata/<dir>
	dstack      string    // the dstack generation, from its event names
	at          time.Time // when its certificates (and collateral, if any) were current
	appID       string    // payload of its app-id event
	compose     string    // its tcb_info's compose hash (= SHA-256 of its app_compose)
	instanceID  string    // payload of its instance-id event
	keyProvider string    // a piece of its key-provider event, "" if it has none
	runtime     []string  // names of its IMR-3 runtime events, in order
	status      TCBStatus // the TCB status its collateral gives; "" if its collateral has no CRLs
}

var realAttestations = []realAttestation{
	{
		dir: "near-mpc-2025-08", dstack: "0.5 (local-sgx key provider, an app event after system-ready)",
		at:      time.Date(2025, 8, 14, 0, 0, 0, 0, time.UTC),
		appID:   "4afacb5dff6e4a43ce828fb2b74755f6d27fb1c5",
		compose: "4afacb5dff6e4a43ce828fb2b74755f6d27fb1c5f85502e3c390f0d086132727",
		runtime: []string{"system-preparing", "app-id", "compose-hash", "instance-id", "boot-mr-done",
			"key-provider", "system-ready", "mpc-image-digest"},
		keyProvider: `"name":"local-sgx"`, status: TCBUpToDate,
	},
	{
		dir: "tee-solver", dstack: "0.5 (KMS key provider, mr-kms and os-image-hash events)",
		at:         time.Date(2025, 9, 3, 0, 0, 0, 0, time.UTC),
		appID:      "d35e277ab5ec51f71f5e395ab2e332ed8db5853a",
		compose:    "12a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7",
		instanceID: "4ee474f80e789d0a19c4177ded24e04419c9689f",
		runtime: []string{"system-preparing", "app-id", "compose-hash", "instance-id", "boot-mr-done",
			"mr-kms", "os-image-hash", "key-provider", "system-ready"},
		keyProvider: `"name":"kms"`, status: TCBUpToDate,
	},
	{
		dir: "near-tee-rng", dstack: "0.3 (tappd: rootfs-hash and ca-cert-hash events, no key-provider event)",
		at:         time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC),
		appID:      "17285b1c7797e193c3e876621e9755cc0c07ee31",
		compose:    "17285b1c7797e193c3e876621e9755cc0c07ee31225638978d55bb2d50f8f5f5",
		instanceID: "ac488e879344f8dd58d29caaa01635e5fea6eb66",
		runtime:    []string{"rootfs-hash", "app-id", "compose-hash", "ca-cert-hash", "instance-id"},
	},
}

type realTCBInfo struct {
	MRTD       string  `json:"mrtd"`
	RTMR0      string  `json:"rtmr0"`
	RTMR1      string  `json:"rtmr1"`
	RTMR2      string  `json:"rtmr2"`
	RTMR3      string  `json:"rtmr3"`
	AppCompose string  `json:"app_compose"`
	EventLog   []Event `json:"event_log"`
}

// load reads the attestation's quote (a JSON byte array or hex), tcb_info and
// collateral.
func (r realAttestation) load(t testing.TB) (Evidence, realTCBInfo, *Collateral) {
	t.Helper()
	var quote []byte
	if b, err := os.ReadFile(filepath.Join("testdata", r.dir, "quote.json")); err == nil {
		require.NoError(t, json.Unmarshal(b, &quote))
	} else {
		q, err := DecodeQuote(string(readTestdata(t, path.Join(r.dir, "quote.hex"))))
		require.NoError(t, err)
		quote = q
	}
	var ti realTCBInfo
	require.NoError(t, json.Unmarshal(readTestdata(t, path.Join(r.dir, "tcb_info.json")), &ti))
	col, err := ParseCollateral(readTestdata(t, path.Join(r.dir, "collateral.json")))
	require.NoError(t, err)
	return Evidence{Quote: quote, EventLog: ti.EventLog, AppCompose: ti.AppCompose}, ti, col
}

// TestVerifyPublishedAttestations verifies each published attestation with the
// expectations its own data gives, offline and with its collateral.
func TestVerifyPublishedAttestations(t *testing.T) {
	t.Parallel()
	for _, r := range realAttestations {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			ev, ti, col := r.load(t)
			sum := sha256.Sum256([]byte(ti.AppCompose))
			require.Equal(t, r.compose, hex.EncodeToString(sum[:]), "the data's own compose hash")

			res, err := Verify(context.Background(), ev, WithTime(r.at), WithAppID("0x"+strings.ToUpper(r.appID)),
				WithComposeHash(r.compose), WithAllowedMRTD(ti.MRTD), WithAllowedRTMR(0, ti.RTMR0),
				WithAllowedRTMR(1, ti.RTMR1), WithAllowedRTMR(2, ti.RTMR2))
			require.NoError(t, err)
			assert.Equal(t, r.appID, res.AppID)
			assert.Equal(t, r.compose, res.ComposeHash)
			assert.Equal(t, r.instanceID, res.InstanceID)
			assert.True(t, res.AppIDChecked)
			assert.True(t, res.ComposeHashChecked)
			assert.True(t, res.OSImagePinned)
			assert.Equal(t, TCBUnknown, res.TCBStatus)
			assert.Equal(t, ti.RTMR3, res.RTMR3, "the quote's RTMR3 is the one the tcb_info reports")
			if r.keyProvider == "" {
				assert.Empty(t, res.KeyProvider)
			} else {
				assert.Contains(t, res.KeyProvider, r.keyProvider)
			}
			var names []string
			for _, e := range ev.EventLog {
				if e.IMR == 3 {
					assert.Equal(t, RuntimeEventType, e.EventType)
					names = append(names, e.Event)
				}
			}
			assert.Equal(t, r.runtime, names)

			res, err = Verify(context.Background(), ev, WithTime(r.at), WithCollateral(col))
			if r.status == "" {
				assert.ErrorIs(t, err, &CheckError{Check: CheckCollateral}, "collateral without CRLs")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, r.status, res.TCBStatus)
		})
	}
}

// TestPublishedAttestationsRejectTampering changes one thing of each published
// attestation at a time: each must fail at the check that guards it.
func TestPublishedAttestationsRejectTampering(t *testing.T) {
	t.Parallel()
	foreign := sha256.Sum256([]byte("another compose"))
	indexOf := func(ev Evidence, name string) int {
		for i, e := range ev.EventLog {
			if e.IMR == 3 && e.Event == name {
				return i
			}
		}
		return -1
	}
	imr3 := func(ev Evidence) []int {
		var out []int
		for i, e := range ev.EventLog {
			if e.IMR == 3 {
				out = append(out, i)
			}
		}
		return out
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, r realAttestation, e *Evidence)
		opts   func(r realAttestation) []Option
		check  Check
	}{
		{name: "one byte of the quote's report data", check: CheckQuoteSignature,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) { e.Quote[quoteReportDataOffset] ^= 1 }},
		{name: "one byte of the quote's MRTD", check: CheckQuoteSignature,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) { e.Quote[quoteRTMR3Offset-4*48-47] ^= 0x10 }},
		{name: "one byte of the quote's signature", check: CheckQuoteSignature,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) { e.Quote[quoteSignatureOffset] ^= 0x40 }},
		{name: "quote cut in the certification data", check: CheckQuoteFormat,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) { e.Quote = e.Quote[:len(e.Quote)/2] }},
		{name: "compose-hash payload changed", check: CheckEventDigest,
			tamper: func(t *testing.T, _ realAttestation, e *Evidence) {
				i := indexOf(*e, "compose-hash")
				require.NotEqual(t, -1, i)
				e.EventLog[i].EventPayload = hex.EncodeToString(foreign[:])
			}},
		{name: "app-id payload changed with its digest recomputed", check: CheckRTMR3,
			tamper: func(t *testing.T, _ realAttestation, e *Evidence) {
				i := indexOf(*e, "app-id")
				require.NotEqual(t, -1, i)
				other := []byte(strings.Repeat("\xab", 20))
				d := RuntimeEventDigest(RuntimeEventType, "app-id", other)
				e.EventLog[i].EventPayload, e.EventLog[i].Digest = hex.EncodeToString(other), hex.EncodeToString(d[:])
			}},
		{name: "two IMR-3 events swapped", check: CheckRTMR3,
			tamper: func(t *testing.T, _ realAttestation, e *Evidence) {
				i := imr3(*e)
				require.GreaterOrEqual(t, len(i), 2)
				e.EventLog[i[0]], e.EventLog[i[1]] = e.EventLog[i[1]], e.EventLog[i[0]]
			}},
		{name: "last IMR-3 event removed", check: CheckRTMR3,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) {
				i := imr3(*e)
				last := i[len(i)-1]
				e.EventLog = append(e.EventLog[:last:last], e.EventLog[last+1:]...)
			}},
		{name: "an IMR-3 event moved to RTMR2", check: CheckRTMR3,
			tamper: func(t *testing.T, _ realAttestation, e *Evidence) {
				i := indexOf(*e, "compose-hash")
				require.NotEqual(t, -1, i)
				e.EventLog[i].IMR = 2
			}},
		{name: "a second app-id event appended", check: CheckEventLog,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) {
				other := []byte(strings.Repeat("\xcd", 20))
				d := RuntimeEventDigest(RuntimeEventType, "app-id", other)
				e.EventLog = append(e.EventLog, Event{IMR: 3, EventType: RuntimeEventType, Digest: hex.EncodeToString(d[:]),
					Event: "app-id", EventPayload: hex.EncodeToString(other)})
			}},
		{name: "event log empty", check: CheckRTMR3,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) { e.EventLog = nil }},
		{name: "app_compose not the measured one", check: CheckAppCompose,
			tamper: func(_ *testing.T, _ realAttestation, e *Evidence) { e.AppCompose += " " }},
		{name: "other app id expected", check: CheckAppID,
			opts: func(r realAttestation) []Option { return []Option{WithAppID(strings.Repeat("ab", 20))} }},
		{name: "other compose hash expected", check: CheckComposeHash,
			opts: func(r realAttestation) []Option { return []Option{WithComposeHash(hex.EncodeToString(foreign[:]))} }},
		{name: "certificates not yet valid", check: CheckQuoteSignature,
			opts: func(r realAttestation) []Option {
				return []Option{WithTime(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC))}
			}},
	}
	for _, r := range realAttestations {
		for _, tt := range tests {
			t.Run(r.dir+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ev, _, _ := r.load(t)
				if tt.tamper != nil {
					tt.tamper(t, r, &ev)
				}
				opts := []Option{WithTime(r.at), WithAppID(r.appID), WithComposeHash(r.compose)}
				if tt.opts != nil {
					opts = append(opts, tt.opts(r)...)
				}
				res, err := Verify(context.Background(), ev, opts...)
				require.Error(t, err)
				assert.Nil(t, res)
				var ce *CheckError
				require.True(t, errors.As(err, &ce), "%v is not a *CheckError", err)
				assert.Equal(t, tt.check, ce.Check, "error: %v", err)
				assert.ErrorIs(t, err, &CheckError{Check: tt.check})
			})
		}
	}
}

// TestVerifyRefusesDebugTD: a correctly signed quote of a TD whose attributes say
// debug (the host can read and write its memory) proves nothing about what it runs.
func TestVerifyRefusesDebugTD(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t)
	for _, r := range realAttestations {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			ev, _, _ := r.load(t)
			opts := []Option{WithTrustedRoots(s.roots), WithAppID(r.appID), WithComposeHash(r.compose)}

			// The same body re-signed under the test chain passes: only the debug bit differs below.
			ev.Quote = s.sign(t, ev.Quote, nil)
			_, err := Verify(context.Background(), ev, opts...)
			require.NoError(t, err)

			ev.Quote = s.sign(t, ev.Quote, func(body []byte) { body[tdAttributesOffset] |= 0x01 })
			for name, verify := range map[string]func() error{
				"Verify":      func() error { _, err := Verify(context.Background(), ev, opts...); return err },
				"VerifyQuote": func() error { _, err := VerifyQuote(context.Background(), ev.Quote, opts[0]); return err },
			} {
				err := verify()
				var ce *CheckError
				require.True(t, errors.As(err, &ce), "%s: %v", name, err)
				assert.Equal(t, CheckTDAttributes, ce.Check, "%s: %v", name, err)
				assert.Contains(t, err.Error(), "debug")
			}
		})
	}
}

// tdAttributesOffset is the offset of the 8 TD attributes in the TD report body.
const tdAttributesOffset = 16 + 48 + 48 + 8

// TestReportDataIsReportedNotJudged: two quotes of the same CVM that differ only in
// report data both verify with the same event log (no freshness, as the package doc
// says); Result.ReportData tells them apart, for a caller that binds a nonce or key.
func TestReportDataIsReportedNotJudged(t *testing.T) {
	t.Parallel()
	r := realAttestations[1]
	require.Equal(t, "tee-solver", r.dir)
	ev, _, _ := r.load(t)
	bob, err := DecodeQuote(string(readTestdata(t, "tee-solver/quote_bob.hex")))
	require.NoError(t, err)
	var reportData []string
	for _, q := range [][]byte{ev.Quote, bob} {
		e := ev.clone()
		e.Quote = q
		res, err := Verify(context.Background(), e, WithTime(r.at), WithAppID(r.appID), WithComposeHash(r.compose))
		require.NoError(t, err)
		assert.Equal(t, r.instanceID, res.InstanceID)
		assert.Equal(t, hex.EncodeToString(q[quoteReportDataOffset:quoteReportDataOffset+64]), res.ReportData)
		reportData = append(reportData, res.ReportData)
	}
	assert.NotEqual(t, reportData[0], reportData[1])
}
