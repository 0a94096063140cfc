package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyRealDstackAttestation(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	tests := []struct {
		name        string
		opts        []Option
		wantStatus  TCBStatus
		wantChecked bool
		wantPinned  bool
	}{
		{name: "offline, nothing expected", opts: nil, wantStatus: TCBUnknown},
		{name: "offline, expected app and compose hash", wantStatus: TCBUnknown, wantChecked: true,
			opts: []Option{WithAppID(f.AppID), WithComposeHash(f.Compose)}},
		{name: "expectations with 0x and upper case", wantStatus: TCBUnknown, wantChecked: true,
			opts: []Option{WithAppID("0x" + strings.ToUpper(f.AppID)), WithComposeHash("0X" + strings.ToUpper(f.Compose))}},
		{name: "collateral judges the TCB", wantStatus: TCBUpToDate, wantChecked: true,
			opts: []Option{WithCollateral(f.Collateral), WithAppID(f.AppID), WithComposeHash(f.Compose),
				WithAcceptedTCBStatuses(TCBUpToDate)}},
		{name: "OS image pinned", wantStatus: TCBUnknown, wantPinned: true,
			opts: []Option{WithAllowedMRTD(strings.Repeat("00", 48), f.TCBInfo.MRTD), WithAllowedRTMR(0, f.TCBInfo.RTMR0),
				WithAllowedRTMR(1, f.TCBInfo.RTMR1), WithAllowedRTMR(2, f.TCBInfo.RTMR2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]Option{WithTime(dstackFixtureTime)}, tt.opts...)
			res, err := Verify(context.Background(), f.Evidence.clone(), opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, res.TCBStatus)
			assert.Equal(t, tt.wantChecked, res.AppIDChecked)
			assert.Equal(t, tt.wantChecked, res.ComposeHashChecked)
			assert.Equal(t, tt.wantPinned, res.OSImagePinned)
			// The measurements reported are the quote's, equal to what the API claims.
			assert.Equal(t, f.TCBInfo.MRTD, res.MRTD)
			assert.Equal(t, f.TCBInfo.RTMR0, res.RTMR0)
			assert.Equal(t, f.TCBInfo.RTMR1, res.RTMR1)
			assert.Equal(t, f.TCBInfo.RTMR2, res.RTMR2)
			assert.Equal(t, f.TCBInfo.RTMR3, res.RTMR3)
			assert.Equal(t, f.AppID, res.AppID)
			assert.Equal(t, f.Compose, res.ComposeHash)
			assert.Equal(t, "", res.InstanceID) // the fixture's app sets no_instance_id
			assert.Contains(t, res.KeyProvider, `"name":"local-sgx"`)
		})
	}
}

// TestVerifyRejectsTampering changes one thing of a real attestation at a time; each
// must fail at the check that guards it, naming the values compared.
// Offsets in a TDX v4 quote: a 48-byte header, then the TD report body (TEE TCB SVN 16,
// MRSEAM 48, MRSIGNERSEAM 48, SEAM attributes 8, TD attributes 8, XFAM 8, MRTD 48,
// MRCONFIGID 48, MROWNER 48, MROWNERCONFIG 48, RTMR0-3 48 each, report data 64), then
// the signed data's length (4) and the 64-byte ECDSA signature.
const (
	quoteRTMR3Offset      = 48 + 16 + 48 + 48 + 8 + 8 + 8 + 48*4 + 48*3
	quoteReportDataOffset = quoteRTMR3Offset + 48
	quoteSignatureOffset  = quoteReportDataOffset + 64 + 4
)

func TestVerifyRejectsTampering(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	composeIdx, appIdx := -1, -1
	for i, e := range f.Evidence.EventLog {
		switch e.Event {
		case "compose-hash":
			composeIdx = i
		case "app-id":
			appIdx = i
		}
	}
	require.NotEqual(t, -1, composeIdx)
	require.NotEqual(t, -1, appIdx)
	foreign := sha256.Sum256([]byte("another compose"))
	foreignHex := hex.EncodeToString(foreign[:])

	tests := []struct {
		name    string
		tamper  func(*Evidence)
		opts    []Option
		check   Check
		wantGot [2]string // Want and Got, when the test knows them
	}{
		{name: "one byte of the quote body flipped (report data)", check: CheckQuoteSignature,
			tamper: func(e *Evidence) { e.Quote[quoteReportDataOffset+10] ^= 1 }},
		{name: "one byte of RTMR3 in the quote flipped", check: CheckQuoteSignature,
			tamper: func(e *Evidence) { e.Quote[quoteRTMR3Offset] ^= 0x80 }},
		{name: "one byte of the quote signature flipped", check: CheckQuoteSignature,
			tamper: func(e *Evidence) { e.Quote[quoteSignatureOffset+5] ^= 1 }},
		{name: "quote truncated", check: CheckQuoteFormat,
			tamper: func(e *Evidence) { e.Quote = e.Quote[:1000] }},
		{name: "compose-hash event payload changed", check: CheckEventDigest,
			tamper: func(e *Evidence) {
				e.EventLog[composeIdx].EventPayload = foreignHex
			}},
		{name: "compose-hash event changed with its digest recomputed", check: CheckRTMR3,
			tamper: func(e *Evidence) {
				d := RuntimeEventDigest(RuntimeEventType, "compose-hash", foreign[:])
				e.EventLog[composeIdx].EventPayload = foreignHex
				e.EventLog[composeIdx].Digest = hex.EncodeToString(d[:])
			}},
		{name: "an IMR-3 event removed", check: CheckRTMR3,
			tamper: func(e *Evidence) {
				e.EventLog = append(e.EventLog[:appIdx:appIdx], e.EventLog[appIdx+1:]...)
			}},
		{name: "event name changed", check: CheckEventDigest,
			tamper: func(e *Evidence) { e.EventLog[appIdx].Event = "app-iD" }},
		{name: "app_compose with one character changed", check: CheckAppCompose,
			tamper: func(e *Evidence) { e.AppCompose = strings.Replace(e.AppCompose, "docker-compose", "docker-composf", 1) }},
		{name: "foreign expected compose hash", check: CheckComposeHash,
			opts:    []Option{WithComposeHash(foreignHex)},
			wantGot: [2]string{foreignHex, "2911e1f733466216dedb862d6d669e11256ee7a34ce4dbc66c4b807ba7a9c895"}},
		{name: "other app id expected", check: CheckAppID,
			opts:    []Option{WithAppID("0x" + strings.Repeat("ab", 20))},
			wantGot: [2]string{strings.Repeat("ab", 20), "2911e1f733466216dedb862d6d669e11256ee7a3"}},
		{name: "MRTD not in allow-list", check: CheckMRTD,
			opts: []Option{WithAllowedMRTD(strings.Repeat("11", 48))}},
		{name: "RTMR1 not in allow-list", check: CheckRTMR1,
			opts: []Option{WithAllowedRTMR(1, strings.Repeat("22", 48))}},
		{name: "TCB status required but no collateral", check: CheckTCBStatus,
			opts:    []Option{WithAcceptedTCBStatuses(TCBUpToDate)},
			wantGot: [2]string{"one of UpToDate", "Unknown"}},
		{name: "collateral expired at verification time", check: CheckCollateral,
			opts: []Option{WithCollateral(f.Collateral), WithTime(dstackFixtureTime.AddDate(0, 3, 0))}},
		{name: "collateral TCB info tampered", check: CheckCollateral,
			opts: []Option{WithCollateral(func() *Collateral {
				c := *f.Collateral
				c.TCBInfo = strings.Replace(c.TCBInfo, `"tcbStatus":"OutOfDate"`, `"tcbStatus":"UpToDate"`, 1)
				require.NotEqual(t, f.Collateral.TCBInfo, c.TCBInfo)
				return &c
			}())}},
		// With collateral go-tdx-guest runs once; a failure must still name the quote, not
		// the collateral, when the quote is at fault.
		{name: "one byte of the quote signature flipped, with collateral", check: CheckQuoteSignature,
			tamper: func(e *Evidence) { e.Quote[quoteSignatureOffset+5] ^= 1 },
			opts:   []Option{WithCollateral(f.Collateral)}},
		{name: "one byte of the quote signature flipped, collateral unreadable", check: CheckQuoteSignature,
			tamper: func(e *Evidence) { e.Quote[quoteSignatureOffset+5] ^= 1 },
			opts:   []Option{WithCollateral(&Collateral{PCKCRL: "not hex"})}},
		{name: "collateral unreadable", check: CheckCollateral,
			opts: []Option{WithCollateral(&Collateral{PCKCRL: "not hex"})}},
		{name: "certificates expired", check: CheckQuoteSignature,
			opts: []Option{WithTime(time.Date(2055, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{name: "trusted roots exclude Intel", check: CheckQuoteSignature,
			opts: []Option{WithTrustedRoots(testRootPool(t))}},
	}
	require.Equal(t, f.TCBInfo.RTMR3, hex.EncodeToString(f.Evidence.Quote[quoteRTMR3Offset:quoteRTMR3Offset+48]))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := f.Evidence.clone()
			if tt.tamper != nil {
				tt.tamper(&ev)
			}
			opts := append([]Option{WithTime(dstackFixtureTime)}, tt.opts...)
			res, err := Verify(context.Background(), ev, opts...)
			require.Error(t, err)
			assert.Nil(t, res)
			var ce *CheckError
			require.True(t, errors.As(err, &ce), "error %v is not a *CheckError", err)
			assert.Equal(t, tt.check, ce.Check, "error: %v", err)
			assert.ErrorIs(t, err, &CheckError{Check: tt.check})
			if tt.wantGot != [2]string{} {
				assert.Equal(t, tt.wantGot[0], ce.Want)
				assert.Equal(t, tt.wantGot[1], ce.Got)
				assert.Contains(t, err.Error(), ce.Want)
				assert.Contains(t, err.Error(), ce.Got)
			}
		})
	}
}

func TestVerifyQuoteGoTDXGuestSample(t *testing.T) {
	t.Parallel()
	quote := readTestdata(t, "tdx_prod_quote_SPR_E4.dat")
	res, err := VerifyQuote(context.Background(), quote, WithTime(goTDXGuestQuoteTime))
	require.NoError(t, err)
	assert.Equal(t, TCBUnknown, res.TCBStatus)
	assert.Len(t, res.MRTD, 96)
	assert.Empty(t, res.ComposeHash)

	for _, off := range []int{0x30 + 100, 0x30 + 500, len(quote) - 2000} {
		bad := append([]byte(nil), quote...)
		bad[off] ^= 0x01
		_, err := VerifyQuote(context.Background(), bad, WithTime(goTDXGuestQuoteTime))
		var ce *CheckError
		require.True(t, errors.As(err, &ce), "offset %d: %v", off, err)
		assert.Contains(t, []Check{CheckQuoteSignature, CheckQuoteFormat}, ce.Check)
	}
}

func TestEmbeddedRootIsIntelsCollateralRoot(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	pool, err := intelRoots()
	require.NoError(t, err)
	// the root of every issuer chain of real collateral is the embedded root
	for _, chain := range []string{f.Collateral.TCBInfoIssuerChain, f.Collateral.QEIdentityIssuerChain, f.Collateral.PCKCRLIssuerChain} {
		rest := []byte(chain)
		var last []byte
		for {
			var b []byte
			b, rest = nextPEM(rest)
			if b == nil {
				break
			}
			last = b
		}
		require.NotNil(t, last)
		embedded, _ := nextPEM(intelRootPEM)
		assert.Equal(t, string(embedded), string(last))
	}
	assert.NotNil(t, pool)
}

func TestOptionsRejectBadInput(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	for name, opt := range map[string]Option{
		"app id not hex":          WithAppID("not-hex"),
		"compose hash short":      WithComposeHash("abcd"),
		"mrtd pin short":          WithAllowedMRTD("abcd"),
		"rtmr index 3":            WithAllowedRTMR(3, strings.Repeat("00", 48)),
		"zero time":               WithTime(time.Time{}),
		"nil collateral":          WithCollateral(nil),
		"nil roots":               WithTrustedRoots(nil),
		"pccs not http":           WithPCCS("ftp://x", nil),
		"no accepted status":      WithAcceptedTCBStatuses(),
		"mrtd pin without values": WithAllowedMRTD(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(context.Background(), f.Evidence, opt)
			assert.ErrorIs(t, err, &CheckError{Check: CheckInput})
		})
	}
}

func TestVerifyHonoursCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Verify(ctx, loadDstack(t).Evidence)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestResultJSONNamesFields(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	res, err := Verify(context.Background(), f.Evidence, WithTime(dstackFixtureTime), WithComposeHash(f.Compose))
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"tcb_status":"Unknown"`)
	assert.Contains(t, string(b), `"compose_hash_checked":true`)
	assert.Contains(t, string(b), `"os_image_pinned":false`)
}
