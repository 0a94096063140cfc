package attest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/pcs"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/verify"
	"github.com/google/go-tdx-guest/verify/trust"
)

// parseQuote decodes a TDX version 4 quote. It never panics, whatever the bytes.
func parseQuote(raw []byte) (q *pb.QuoteV4, err error) {
	defer func() {
		if r := recover(); r != nil {
			q, err = nil, &CheckError{Check: CheckQuoteFormat, Err: fmt.Errorf("quote parser panicked: %v", r)}
		}
	}()
	if len(raw) == 0 {
		return nil, &CheckError{Check: CheckInput, Want: "a quote", Got: "empty quote"}
	}
	parsed, err := abi.QuoteToProto(raw)
	if err != nil {
		return nil, &CheckError{Check: CheckQuoteFormat, Err: err}
	}
	v4, ok := parsed.(*pb.QuoteV4)
	if !ok {
		return nil, &CheckError{Check: CheckQuoteFormat, Want: "TDX quote version 4", Got: fmt.Sprintf("%T", parsed)}
	}
	if err := abi.CheckQuoteV4(v4); err != nil {
		return nil, &CheckError{Check: CheckQuoteFormat, Err: err}
	}
	return v4, nil
}

// verifyQuote checks the quote's signatures up to the trusted root, and, if collateral
// is available, the collateral and the TCB status. It returns the status.
//
// With collateral go-tdx-guest runs once: its run with collateral checks every
// signature its offline run does. Only when that run fails short of its last steps is
// the quote checked offline as well, to tell a bad quote (CheckQuoteSignature) from
// bad collateral (CheckCollateral).
func verifyQuote(ctx context.Context, q *pb.QuoteV4, cfg *config) (status TCBStatus, advisories []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			status, advisories = TCBUnknown, nil
			err = &CheckError{Check: CheckQuoteSignature, Err: fmt.Errorf("quote verifier panicked: %v", r)}
		}
	}()
	now := cfg.now()
	offline := func() error {
		if err := verify.TdxQuote(q, &verify.Options{Now: now, TrustedRoots: cfg.roots}); err != nil {
			return &CheckError{Check: CheckQuoteSignature, Err: err}
		}
		return nil
	}
	var getter trust.HTTPSGetter
	switch {
	case cfg.collateral != nil:
		g, err := newCollateralGetter(cfg.collateral)
		if err != nil {
			if qerr := offline(); qerr != nil { // a bad quote is reported first
				return TCBUnknown, nil, qerr
			}
			return TCBUnknown, nil, err
		}
		getter = g
	case cfg.pccsURL != "":
		getter = &pccsGetter{ctx: ctx, base: cfg.pccsURL, client: cfg.httpClient}
	default:
		return TCBUnknown, nil, offline()
	}
	rec := &recordingGetter{inner: getter, bodies: map[string][]byte{}}
	withColl := &verify.Options{Now: now, TrustedRoots: cfg.roots, GetCollateral: true, CheckRevocations: true, Getter: rec}
	if verr := verify.TdxQuote(q, withColl); verr != nil && !isTailError(verr) {
		if err := offline(); err != nil {
			return TCBUnknown, nil, err
		}
		return TCBUnknown, nil, &CheckError{Check: CheckCollateral, Err: verr}
	}
	// go-tdx-guest has verified the PCK chain, the CRLs, the signatures of the TCB info
	// and QE identity it fetched (recorded by rec) and the quote. Judge the platform
	// against that collateral here: go-tdx-guest v0.3.1 stops at a case difference in
	// the FMSPC (fixed upstream, not yet released) and reports a non-UpToDate status
	// only as an error.
	return judgeTCB(q, rec)
}

// isTailError reports whether err comes from go-tdx-guest's last steps, which
// judgeTCB repeats: the FMSPC/TCB info match and the TCB status of platform and QE.
func isTailError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "FMSPC from PCK Certificate(") ||
		strings.HasPrefix(msg, "TDX TCB info reported by Intel PCS failed TCB status check") ||
		strings.HasPrefix(msg, "QE Identity reported by Intel PCS failed TCB status check")
}

// recordingGetter keeps what go-tdx-guest fetched, so that the TCB status is judged
// on exactly the collateral it verified.
type recordingGetter struct {
	inner  trust.HTTPSGetter
	bodies map[string][]byte
}

func (r *recordingGetter) Get(u string) (map[string][]string, []byte, error) {
	h, b, err := r.inner.Get(u)
	if err == nil {
		switch {
		case strings.Contains(u, "/tcb?"):
			r.bodies["tcb"] = b
		case strings.HasSuffix(u, "/qe/identity"):
			r.bodies["qe"] = b
		}
	}
	return h, b, err
}

// judgeTCB matches the quote against the verified TCB info and QE identity and returns
// the platform's TCB status: the platform level's, or if that is UpToDate the TDX
// module's, or if that is UpToDate the QE's.
func judgeTCB(q *pb.QuoteV4, rec *recordingGetter) (TCBStatus, []string, error) {
	fail := func(format string, args ...any) (TCBStatus, []string, error) {
		return TCBUnknown, nil, &CheckError{Check: CheckCollateral, Err: fmt.Errorf(format, args...)}
	}
	var info pcs.TdxTcbInfo
	if err := json.Unmarshal(rec.bodies["tcb"], &info); err != nil {
		return fail("tcb info: %v", err)
	}
	var qe pcs.QeIdentity
	if err := json.Unmarshal(rec.bodies["qe"], &qe); err != nil {
		return fail("qe identity: %v", err)
	}
	chain := q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetPckCertificateChainData().GetPckCertChain()
	pck, err := firstCert(chain)
	if err != nil {
		return fail("pck certificate: %v", err)
	}
	ext, err := pcs.PckCertificateExtensions(pck)
	if err != nil {
		return fail("pck certificate extensions: %v", err)
	}
	ti, body := info.TcbInfo, q.GetTdQuoteBody()
	if !strings.EqualFold(ext.FMSPC, ti.Fmspc) {
		return fail("fmspc: PCK certificate %s, TCB info %s", ext.FMSPC, ti.Fmspc)
	}
	if !strings.EqualFold(ext.PCEID, ti.PceID) {
		return fail("pce id: PCK certificate %s, TCB info %s", ext.PCEID, ti.PceID)
	}
	if !bytes.Equal(ti.TdxModule.Mrsigner.Bytes, body.GetMrSignerSeam()) {
		return fail("mrsignerseam: TCB info %x, quote %x", ti.TdxModule.Mrsigner.Bytes, body.GetMrSignerSeam())
	}
	if !maskedEqual(body.GetSeamAttributes(), ti.TdxModule.AttributesMask.Bytes, ti.TdxModule.Attributes.Bytes) {
		return fail("seam attributes do not match the TCB info")
	}
	tee := body.GetTeeTcbSvn()
	if len(tee) != 16 {
		return fail("tee tcb svn: %d bytes", len(tee))
	}
	var level *pcs.TcbLevel
	for i := range ti.TcbLevels {
		if levelMatches(ti.TcbLevels[i].Tcb, ext, tee) {
			level = &ti.TcbLevels[i]
			break
		}
	}
	if level == nil {
		return TCBUnsupported, nil, nil
	}
	status, advisories := TCBStatus(level.TcbStatus), level.AdvisoryIDs
	if status == TCBUpToDate && tee[1] > 0 {
		status = moduleStatus(ti.TdxModuleIdentities, tee)
	}
	qr := q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport()
	id := qe.EnclaveIdentity
	if len(id.MiscselectMask.Bytes) != 4 || len(id.Miscselect.Bytes) != 4 {
		return fail("qe identity: miscselect is not 4 bytes")
	}
	if qr.GetMiscSelect()&binary.LittleEndian.Uint32(id.MiscselectMask.Bytes) != binary.LittleEndian.Uint32(id.Miscselect.Bytes) {
		return fail("qe report miscselect does not match the QE identity")
	}
	if !maskedEqual(qr.GetAttributes(), id.AttributesMask.Bytes, id.Attributes.Bytes) {
		return fail("qe report attributes do not match the QE identity")
	}
	if !bytes.Equal(qr.GetMrSigner(), id.Mrsigner.Bytes) {
		return fail("qe mrsigner: QE identity %x, QE report %x", id.Mrsigner.Bytes, qr.GetMrSigner())
	}
	if qr.GetIsvProdId() != uint32(id.IsvProdID) {
		return fail("qe isvprodid: QE identity %d, QE report %d", id.IsvProdID, qr.GetIsvProdId())
	}
	if status == TCBUpToDate {
		status = TCBUnsupported
		for _, l := range id.TcbLevels {
			if l.Tcb.Isvsvn <= qr.GetIsvSvn() {
				status = TCBStatus(l.TcbStatus)
				break
			}
		}
	}
	return status, advisories, nil
}

// moduleStatus returns the status of the TDX module's level (identity "TDX_<version>",
// first level whose ISV SVN is at most the module's).
func moduleStatus(ids []pcs.TdxModuleIdentity, tee []byte) TCBStatus {
	want := "TDX_" + hex.EncodeToString(tee[1:2])
	for _, id := range ids {
		if !strings.EqualFold(id.ID, want) {
			continue
		}
		for _, l := range id.TcbLevels {
			if uint32(tee[0]) >= l.Tcb.Isvsvn {
				return TCBStatus(l.TcbStatus)
			}
		}
	}
	return TCBUnsupported
}

func maskedEqual(value, mask, want []byte) bool {
	if len(value) != len(mask) || len(mask) != len(want) {
		return false
	}
	for i := range value {
		if value[i]&mask[i] != want[i] {
			return false
		}
	}
	return true
}

// levelMatches applies Intel's TDX TCB level rule: every SGX component and the PCE SVN
// of the PCK certificate, and every TEE TCB SVN of the quote (from index 2 when the
// TDX module version, index 1, is set), is at least the level's.
func levelMatches(t pcs.Tcb, ext *pcs.PckExtensions, tee []byte) bool {
	if len(t.SgxTcbcomponents) != len(ext.TCB.CPUSvnComponents) || len(t.TdxTcbcomponents) != len(tee) {
		return false
	}
	for i, c := range t.SgxTcbcomponents {
		if ext.TCB.CPUSvnComponents[i] < c.Svn {
			return false
		}
	}
	if ext.TCB.PCESvn < t.Pcesvn {
		return false
	}
	start := 0
	if tee[1] > 0 {
		start = 2
	}
	for i := start; i < len(tee); i++ {
		if tee[i] < t.TdxTcbcomponents[i].Svn {
			return false
		}
	}
	return true
}

// firstCert parses the first PEM certificate of a chain.
func firstCert(chain []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(chain)
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
