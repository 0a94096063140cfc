package attest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzVerifyQuote feeds arbitrary bytes to VerifyQuote: it must return a result or a
// *CheckError, never panic. Seeds: a real dstack quote and go-tdx-guest's sample quote.
func FuzzVerifyQuote(f *testing.F) {
	f.Add(loadDstack(f).Evidence.Quote)
	f.Add(readTestdata(f, "tdx_prod_quote_SPR_E4.dat"))
	f.Add([]byte{4, 0, 2, 0, 0x81, 0, 0, 0})
	f.Fuzz(func(t *testing.T, quote []byte) {
		res, err := VerifyQuote(context.Background(), quote, WithTime(dstackFixtureTime))
		if (res == nil) == (err == nil) {
			t.Fatalf("want exactly one of result and error, got %v and %v", res, err)
		}
		var ce *CheckError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("want a *CheckError, got %T: %v", err, err)
		}
	})
}

// FuzzVerifyEventLog feeds arbitrary event log JSON and app_compose to the event log
// and identity checks that follow a verified quote (the real dstack quote's RTMR3): they
// must return an error or pass, never panic. The quote check itself is skipped so that
// each input costs microseconds.
func FuzzVerifyEventLog(f *testing.F) {
	d := loadDstack(f)
	logJSON, err := json.Marshal(d.Evidence.EventLog)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(logJSON, d.Evidence.AppCompose)
	f.Add([]byte(`"[{\"imr\":3,\"event_type\":134217729,\"event\":\"app-id\"}]"`), "{}")
	f.Fuzz(func(t *testing.T, eventLog []byte, appCompose string) {
		events, err := ParseEventLog(eventLog)
		if err != nil {
			return
		}
		cfg := &config{}
		for _, o := range []Option{WithAppID(d.AppID), WithComposeHash(d.Compose)} {
			if err := o(cfg); err != nil {
				t.Fatal(err)
			}
		}
		res := &Result{}
		err = verifyEvents(cfg, res, d.TCBInfo.RTMR3, Evidence{EventLog: events, AppCompose: appCompose})
		if err == nil && (res.ComposeHash != d.Compose || res.AppID != d.AppID) {
			t.Fatalf("passed with compose %s app %s", res.ComposeHash, res.AppID)
		}
	})
}
