package attest

import (
	"context"
	"testing"
)

// BenchmarkVerify measures one verification of a real dstack attestation (quote of
// 5 kB, 29 events): offline (signature chain only), and with collateral (adds the TCB
// info and QE identity signatures, the CRLs and the TCB level match).
func BenchmarkVerify(b *testing.B) {
	f := loadDstack(b)
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"offline", []Option{WithTime(dstackFixtureTime), WithAppID(f.AppID), WithComposeHash(f.Compose)}},
		{"collateral", []Option{WithTime(dstackFixtureTime), WithAppID(f.AppID), WithComposeHash(f.Compose), WithCollateral(f.Collateral)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Verify(context.Background(), f.Evidence, bc.opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplayRTMR3 measures the event log part alone.
func BenchmarkReplayRTMR3(b *testing.B) {
	f := loadDstack(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := replayRTMR3(f.Evidence.EventLog); err != nil {
			b.Fatal(err)
		}
	}
}
