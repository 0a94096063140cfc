// Package attest verifies a dstack CVM's attestation: that its TDX quote was signed by
// genuine Intel TDX hardware, that its event log is the one the quote measured, and that
// it runs the app and compose file the caller expects. It depends on no other package
// of this module and can be used alone.
//
//	res, err := attest.Verify(ctx, attest.Evidence{Quote: q, EventLog: log, AppCompose: compose},
//		attest.WithAppID(appID), attest.WithComposeHash(composeHash))
//
// # What Verify checks
//
//  1. The quote is a TDX version 4 quote whose signature, QE report and PCK certificate
//     chain verify up to Intel's SGX Root CA (or the roots of [WithTrustedRoots]), with
//     certificates valid at the verification time (now, or [WithTime]). Parsing and
//     signature checks are google/go-tdx-guest's.
//  2. With collateral ([WithCollateral], or [WithPCCS] to fetch it): the TCB info and QE
//     identity are signed under the same root and current, the CRLs revoke nothing in
//     the chain, and the platform's TCB status is read from the matching TCB level.
//     The status is reported in [Result.TCBStatus]; it fails verification only with
//     [WithAcceptedTCBStatuses].
//  3. The quote's TD attributes do not say debug: a debug TD's memory is open to the
//     host, so nothing it measured means anything ([CheckTDAttributes]).
//  4. Every dstack runtime event (event type 0x08000001) has the digest
//     SHA-384(type as 4 little-endian bytes ‖ ":" ‖ name ‖ ":" ‖ payload), and replaying
//     every IMR-3 event from 48 zero bytes gives the quote's RTMR3.
//  5. The compose-hash event is SHA-256 of the app_compose served, and, if asked, the
//     compose hash ([WithComposeHash]) and the app-id event ([WithAppID]) are the
//     caller's.
//  6. If asked, MRTD and RTMR0-2 are in the caller's allow-lists ([WithAllowedMRTD],
//     [WithAllowedRTMR]).
//
// # What a pass proves, and what it does not
//
// A pass proves that a TDX module on a CPU holding an Intel-certified PCK key produced
// this quote, that the event log replays to the quote's RTMR3, and therefore that the
// CVM measured the given app id, compose hash, instance id and key provider at boot.
//
// It does not prove:
//   - that the platform is patched: without collateral [Result.TCBStatus] is
//     [TCBUnknown]; with collateral it is reported and judged only if you pass
//     [WithAcceptedTCBStatuses];
//   - that the OS image is one you trust: MRTD and RTMR0-2 are reported, and judged only
//     against the allow-lists you pass ([Result.OSImagePinned] says whether all four
//     were pinned). RTMR0-2 are not replayed from the event log;
//   - that the app is the one you expect, unless you pass [WithAppID] and
//     [WithComposeHash] ([Result.AppIDChecked], [Result.ComposeHashChecked]);
//   - freshness or channel binding: the quote's 64 bytes of report data are reported in
//     [Result.ReportData] but not checked; a replayed old quote of the same CVM passes.
//     Bind it yourself (a nonce or a TLS key hash the CVM put in report data) when that
//     matters;
//   - that no certificate was revoked, unless collateral (with its CRLs) was used;
//   - anything about events after boot: events measured into RTMR3 later must be in the
//     log, or the replay fails.
//
// # Errors
//
// Every failure is a [*CheckError] naming the check ([Check]) and the two values
// compared:
//
//	var ce *attest.CheckError
//	if errors.As(err, &ce) && ce.Check == attest.CheckComposeHash {
//		log.Printf("replica runs compose %s, approved %s", ce.Got, ce.Want)
//	}
//
// Verify never panics on any input and reads the network only with [WithPCCS].
//
// # Why go-tdx-guest
//
// Quote parsing, the PCK chain, the QE report and the collateral signatures are the
// parts where a hand-written verifier goes wrong quietly; go-tdx-guest is maintained by
// Google for exactly this, tested against Intel's formats, and embeds Intel's root. This
// package adds only what is dstack's (event log, identity) and one step the released
// go-tdx-guest (v0.3.1) cannot do on real collateral: it compares the FMSPC case-
// sensitively (fixed upstream after the release) and reports a non-UpToDate TCB only
// as an error, so the TCB level is matched here, on the collateral go-tdx-guest verified.
package attest
