package phalatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// AttestationFault makes GET /cvms/{id}/attestation of one CVM serve evidence that a
// verifier must reject. Set it with [Server.SetAttestationFault].
type AttestationFault int

// Attestation faults.
const (
	// AttestationGenuine serves a correct attestation (the default).
	AttestationGenuine AttestationFault = iota
	// AttestationTamperedEventLog changes the payload of the compose-hash event after
	// the quote was made, leaving its digest: the event digest check fails.
	AttestationTamperedEventLog
	// AttestationForeignComposeHash makes the CVM measure another compose file (a
	// consistent quote, event log and app_compose): the expected compose hash fails.
	AttestationForeignComposeHash
	// AttestationBadSignature flips one bit of the quote's signature.
	AttestationBadSignature
)

// attestState is the emulator's test attestation authority, created on first use.
type attestState struct {
	once   sync.Once
	ca     *testCA
	err    error
	faults map[string]AttestationFault // by vm_uuid; guarded by Server.mu
	apps   map[string]AttestationFault // by app id, for CVMs without their own; guarded by Server.mu
}

// testCA is a PCK chain shaped like Intel's (same subject names and extensions) under
// a root generated in-process. Nothing trusts it unless a test passes its root.
type testCA struct {
	root     *x509.Certificate
	chainPEM []byte // PCK leaf, intermediate, root
	pckKey   *ecdsa.PrivateKey
	attKey   *ecdsa.PrivateKey // the quoting enclave's attestation key
}

func (s *Server) attestCA() (*testCA, error) {
	s.att.once.Do(func() { s.att.ca, s.att.err = newTestCA() })
	return s.att.ca, s.att.err
}

// AttestationRoots returns a pool holding the root of the emulator's test PCK chain,
// to pass to attest.WithTrustedRoots. The quotes the emulator serves verify only under
// it: Intel's root, the default of package attest, rejects them.
func (s *Server) AttestationRoots() *x509.CertPool {
	ca, err := s.attestCA()
	if err != nil {
		panic("phalatest: creating the test attestation authority: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.root)
	return pool
}

// SetAttestationFault makes the attestation of the CVM vmUUID carry fault (until set
// back to AttestationGenuine).
func (s *Server) SetAttestationFault(vmUUID string, fault AttestationFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.att.faults == nil {
		s.att.faults = map[string]AttestationFault{}
	}
	s.att.faults[canonicalOrSame(vmUUID)] = fault
}

// SetAppAttestationFault makes the attestation of every CVM of the app appID carry
// fault, replicas created later included, unless SetAttestationFault set one for
// the CVM. It lets a test fault the replicas a workflow (or a CLI run) creates
// before their vm_uuids are known.
func (s *Server) SetAppAttestationFault(appID string, fault AttestationFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.att.apps == nil {
		s.att.apps = map[string]AttestationFault{}
	}
	id, ok := normAppID(appID)
	if !ok {
		id = appID
	}
	s.att.apps[id] = fault
}

// OSImageMeasurements returns the MRTD and RTMR0-2 (hex) the emulator's quotes carry
// for CVMs of the OS image (e.g. DefaultImage), for tests that pin them.
func OSImageMeasurements(image string) (mrtd, rtmr0, rtmr1, rtmr2 string) {
	m := func(reg string) string {
		sum := sha512.Sum384([]byte("phalatest:" + image + ":" + reg))
		return hex.EncodeToString(sum[:])
	}
	return m("mrtd"), m("rtmr0"), m("rtmr1"), m("rtmr2")
}

// getAttestation serves GET /cvms/{id}/attestation: for a running CVM a TDX v4 quote
// signed under the test chain, the dstack event log whose IMR-3 events replay to its
// RTMR3, and the app_compose measured; for any other status is_online false and no
// TCB info.
func (s *Server) getAttestation(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	c, err := s.lookupCVMLocked(req.ws, req.segs[1], CodeCVMNotInWorkspace)
	if err != nil {
		s.mu.Unlock()
		return 0, nil, err
	}
	status := s.statusLocked(c)
	fault, own := s.att.faults[c.uuid]
	if !own {
		fault = s.att.apps[c.app.ID]
	}
	appID, instanceID, image := c.app.ID, c.instanceID, c.image
	appCompose := string(c.compose.AppComposeJSON())
	name := c.name
	s.mu.Unlock()

	out := map[string]any{"name": name, "is_online": false, "is_public": true, "error": nil,
		"app_certificates": nil, "tcb_info": nil, "compose_file": nil}
	if status != StatusRunning {
		out["error"] = "CVM is " + status
		return http.StatusOK, out, nil
	}
	ca, caErr := s.attestCA()
	if caErr != nil {
		return 0, nil, caErr
	}
	if fault == AttestationForeignComposeHash {
		appCompose = appCompose[:len(appCompose)-1] + `,"phalatest_foreign":true}`
	}
	events, rtmr3 := dstackEventLog(appID, instanceID, appCompose)
	mrtd, r0, r1, r2 := OSImageMeasurements(image)
	quote, qErr := ca.quote(mrtd, [4]string{r0, r1, r2, hex.EncodeToString(rtmr3[:])})
	if qErr != nil {
		return 0, nil, qErr
	}
	switch fault {
	case AttestationBadSignature:
		quote[quoteSignatureOffset] ^= 0x01
	case AttestationTamperedEventLog:
		for _, e := range events {
			if e["event"] == "compose-hash" {
				e["event_payload"] = hex.EncodeToString(make([]byte, 32))
			}
		}
	}
	pos := 0
	out["is_online"] = true
	out["app_certificates"] = []any{map[string]any{
		"subject":       map[string]any{"common_name": name, "organization": nil, "country": nil, "state": nil, "locality": nil},
		"issuer":        map[string]any{"common_name": "phalatest KMS", "organization": nil, "country": nil},
		"serial_number": "01", "not_before": "2026-01-01T00:00:00Z", "not_after": "2036-01-01T00:00:00Z",
		"version": "v3", "fingerprint": "", "signature_algorithm": "ecdsa-with-SHA256", "sans": nil,
		"is_ca": false, "position_in_chain": pos, "quote": hex.EncodeToString(quote), "app_id": appID, "cert_usage": "app",
	}}
	out["tcb_info"] = map[string]any{"mrtd": mrtd, "rootfs_hash": nil, "rtmr0": r0, "rtmr1": r1, "rtmr2": r2,
		"rtmr3": hex.EncodeToString(rtmr3[:]), "event_log": events, "app_compose": appCompose}
	out["compose_file"] = appCompose
	return http.StatusOK, out, nil
}

// getAppAttestations serves GET /apps/{app_id}/attestations: one entry per instance of
// the app, each with the quote and TCB info GET /cvms/{id}/attestation would serve.
func (s *Server) getAppAttestations(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	raw := req.segs[1]
	appID, ok := normAppID(raw)
	var a *app
	if ok {
		a = s.appByID[appID]
	}
	if a == nil || a.workspace != req.ws {
		s.mu.Unlock()
		return 0, nil, newError(http.StatusNotFound, CodeCVMNotFound, "App %s not found", truncateForMessage(raw)).
			with("app_id", truncateForMessage(raw))
	}
	var uuids []string
	for _, c := range s.appCVMsLocked(a) {
		uuids = append(uuids, c.uuid)
	}
	s.mu.Unlock()

	instances := []any{}
	for _, u := range uuids {
		_, one, err := s.getAttestation(&apiRequest{r: req.r, ws: req.ws, version: req.version, segs: []string{"cvms", u, "attestation"}})
		if err != nil {
			return 0, nil, err
		}
		att := one.(map[string]any)
		inst := map[string]any{"vm_uuid": u, "name": att["name"], "tcb_info": att["tcb_info"],
			"compose_file": att["compose_file"], "error": att["error"]}
		if certs, ok := att["app_certificates"].([]any); ok && len(certs) > 0 {
			inst["quote"] = certs[0].(map[string]any)["quote"]
		}
		instances = append(instances, inst)
	}
	return http.StatusOK, map[string]any{"app_id": appID, "contract_address": "0x" + appID,
		"kms_info": nil, "instances": instances, "kms_guest_agent_info": nil,
		"gateway_guest_agent_info": nil, "qemu_version": nil}, nil
}

// runtimeEventType is dstack's event type for the events it measures into RTMR3.
const runtimeEventType = 0x08000001

// dstackEventLog returns the event log a dstack CVM of the app would show and the
// RTMR3 it replays to: runtime events with digest SHA-384(type LE ‖ ":" ‖ name ‖ ":" ‖
// payload), extended from 48 zero bytes.
func dstackEventLog(appID, instanceID, appCompose string) ([]map[string]any, [48]byte) {
	app, _ := hex.DecodeString(appID)
	inst, _ := hex.DecodeString(instanceID)
	compose := sha256.Sum256([]byte(appCompose))
	runtime := []struct {
		name    string
		payload []byte
	}{
		{"system-preparing", nil},
		{"app-id", app},
		{"compose-hash", compose[:]},
		{"instance-id", inst},
		{"boot-mr-done", nil},
		{"key-provider", []byte(`{"name":"kms","id":"phalatest"}`)},
		{"system-ready", nil},
	}
	var rtmr3 [48]byte
	fw := sha512.Sum384([]byte("phalatest firmware"))
	events := []map[string]any{{"imr": 0, "event_type": 0x80000001, "digest": hex.EncodeToString(fw[:]), "event": "", "event_payload": ""}}
	for _, e := range runtime {
		h := sha512.New384()
		var le [4]byte
		binary.LittleEndian.PutUint32(le[:], runtimeEventType)
		h.Write(le[:])
		h.Write([]byte(":" + e.name + ":"))
		h.Write(e.payload)
		var d [48]byte
		h.Sum(d[:0])
		rtmr3 = sha512.Sum384(append(rtmr3[:], d[:]...))
		events = append(events, map[string]any{"imr": 3, "event_type": runtimeEventType,
			"digest": hex.EncodeToString(d[:]), "event": e.name, "event_payload": hex.EncodeToString(e.payload)})
	}
	return events, rtmr3
}

// TDX v4 quote layout (Intel's TDX DCAP quote format).
const (
	quoteHeaderSize      = 48
	quoteBodySize        = 584
	quoteSignatureOffset = quoteHeaderSize + quoteBodySize + 4
	enclaveReportSize    = 384
)

// quote builds a TDX v4 quote with the given MRTD and RTMRs: header and TD report body
// signed by the attestation key, whose hash the QE report (signed by the PCK key)
// carries, followed by the PEM chain.
func (ca *testCA) quote(mrtd string, rtmrs [4]string) ([]byte, error) {
	header := make([]byte, quoteHeaderSize)
	binary.LittleEndian.PutUint16(header[0:], 4)                     // version
	binary.LittleEndian.PutUint16(header[2:], 2)                     // ECDSA-256-with-P-256
	binary.LittleEndian.PutUint32(header[4:], 0x81)                  // TDX
	copy(header[12:28], mustHex("939a7233f79c4ca9940a0db3957f0607")) // Intel QE vendor id

	body := make([]byte, quoteBodySize)
	body[0], body[1] = 0x03, 0x00 // TEE TCB SVN
	off := 16 + 48 + 48 + 8 + 8 + 8
	copy(body[off:], mustHex(mrtd))
	off += 48 * 4
	for _, r := range rtmrs {
		copy(body[off:], mustHex(r))
		off += 48
	}

	signed := append(append([]byte(nil), header...), body...)
	sig, err := signRaw(ca.attKey, signed)
	if err != nil {
		return nil, err
	}
	attPub := rawPublicKey(&ca.attKey.PublicKey)

	authData := []byte("phalatest qe auth data")
	report := make([]byte, enclaveReportSize)
	binary.LittleEndian.PutUint16(report[0x100:], 2) // ISV PRODID of the TDX QE
	h := sha256.Sum256(append(append([]byte(nil), attPub...), authData...))
	copy(report[enclaveReportSize-64:], h[:])
	reportSig, err := signRaw(ca.pckKey, report)
	if err != nil {
		return nil, err
	}

	var pckData []byte
	pckData = binary.LittleEndian.AppendUint16(pckData, 5)
	pckData = binary.LittleEndian.AppendUint32(pckData, uint32(len(ca.chainPEM)))
	pckData = append(pckData, ca.chainPEM...)

	var qeCert []byte
	qeCert = append(qeCert, report...)
	qeCert = append(qeCert, reportSig...)
	qeCert = binary.LittleEndian.AppendUint16(qeCert, uint16(len(authData)))
	qeCert = append(qeCert, authData...)
	qeCert = append(qeCert, pckData...)

	var sigData []byte
	sigData = append(sigData, sig...)
	sigData = append(sigData, attPub...)
	sigData = binary.LittleEndian.AppendUint16(sigData, 6)
	sigData = binary.LittleEndian.AppendUint32(sigData, uint32(len(qeCert)))
	sigData = append(sigData, qeCert...)

	out := append(signed, binary.LittleEndian.AppendUint32(nil, uint32(len(sigData)))...)
	return append(out, sigData...), nil
}

// signRaw signs SHA-256(msg) and returns r‖s, 32 bytes each.
func signRaw(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	r, sv, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	sv.FillBytes(out[32:])
	return out, nil
}

func rawPublicKey(k *ecdsa.PublicKey) []byte {
	out := make([]byte, 64)
	k.X.FillBytes(out[:32])
	k.Y.FillBytes(out[32:])
	return out
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic("phalatest: bad hex constant: " + err.Error())
	}
	return b
}

// SGX extension OIDs of a PCK certificate (Intel's PCK certificate profile).
func sgxOID(arcs ...int) asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}, arcs...)
}

type oidValue struct {
	Type  asn1.ObjectIdentifier
	Value any
}

// sgxExtension encodes the SGX extension of a PCK certificate: PPID, TCB (16
// components, PCE SVN, CPU SVN), PCE ID and FMSPC.
func sgxExtension() (pkix.Extension, error) {
	var tcb []any
	for i := 1; i <= 16; i++ {
		tcb = append(tcb, oidValue{sgxOID(2, i), 2})
	}
	tcb = append(tcb, oidValue{sgxOID(2, 17), 11}, oidValue{sgxOID(2, 18), make([]byte, 16)})
	tcbSeq, err := asn1.Marshal(tcb)
	if err != nil {
		return pkix.Extension{}, err
	}
	items := []any{
		oidValue{sgxOID(1), make([]byte, 16)},
		struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		}{sgxOID(2), asn1.RawValue{FullBytes: tcbSeq}},
		oidValue{sgxOID(3), []byte{0, 0}},
		oidValue{sgxOID(4), mustHex("00806f050000")},
	}
	val, err := asn1.Marshal(items)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: sgxOID(), Value: val}, nil
}

func newTestCA() (*testCA, error) {
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	name := func(cn string) pkix.Name {
		return pkix.Name{CommonName: cn, Organization: []string{"phalatest (not Intel)"}, Country: []string{"US"}}
	}
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	rootKey, err := newKey()
	if err != nil {
		return nil, err
	}
	interKey, err := newKey()
	if err != nil {
		return nil, err
	}
	pckKey, err := newKey()
	if err != nil {
		return nil, err
	}
	attKey, err := newKey()
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: name("Intel SGX Root CA"),
		NotBefore: now, NotAfter: later, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SignatureAlgorithm: x509.ECDSAWithSHA256}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: name("Intel SGX PCK Platform CA"),
		NotBefore: now, NotAfter: later, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SignatureAlgorithm: x509.ECDSAWithSHA256}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, err
	}
	ext, err := sgxExtension()
	if err != nil {
		return nil, err
	}
	pckTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: name("Intel SGX PCK Certificate"),
		NotBefore: now, NotAfter: later, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
		SubjectKeyId: []byte("phalatest pck"), CRLDistributionPoints: []string{"https://phalatest.invalid/pckcrl"},
		ExtraExtensions: []pkix.Extension{ext}, SignatureAlgorithm: x509.ECDSAWithSHA256}
	pckDER, err := x509.CreateCertificate(rand.Reader, pckTmpl, inter, &pckKey.PublicKey, interKey)
	if err != nil {
		return nil, err
	}
	var chain []byte
	for _, der := range [][]byte{pckDER, interDER, rootDER} {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return &testCA{root: root, chainPEM: chain, pckKey: pckKey, attKey: attKey}, nil
}

// canonicalOrSame returns the canonical vm_uuid form of s (lowercase, dashes), or s.
func canonicalOrSame(s string) string {
	if u, ok := canonicalUUID(s); ok {
		return u
	}
	return s
}

// AttestationRootPEM returns the root of the emulator's test PCK chain as PEM, for a
// program in another process (e.g. phala-replicate --attestation-roots FILE).
func (s *Server) AttestationRootPEM() []byte {
	ca, err := s.attestCA()
	if err != nil {
		panic("phalatest: creating the test attestation authority: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.root.Raw})
}
