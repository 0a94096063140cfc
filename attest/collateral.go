package attest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Collateral is the Intel collateral that lets a verifier judge a quote's TCB status:
// TCB info and QE identity (each with its signature and issuer chain) and the CRLs.
// Its JSON form is the one dcap-qvl and dstack users publish (byte fields in hex,
// tcb_info and qe_identity as the exact JSON text Intel signed).
type Collateral struct {
	PCKCRLIssuerChain     string `json:"pck_crl_issuer_chain"`     // PEM, signing cert then root
	RootCACRL             string `json:"root_ca_crl"`              // DER, hex
	PCKCRL                string `json:"pck_crl"`                  // DER, hex
	TCBInfoIssuerChain    string `json:"tcb_info_issuer_chain"`    // PEM
	TCBInfo               string `json:"tcb_info"`                 // JSON text as signed
	TCBInfoSignature      string `json:"tcb_info_signature"`       // hex
	QEIdentityIssuerChain string `json:"qe_identity_issuer_chain"` // PEM
	QEIdentity            string `json:"qe_identity"`              // JSON text as signed
	QEIdentitySignature   string `json:"qe_identity_signature"`    // hex
}

// ParseCollateral decodes collateral from its JSON form.
func ParseCollateral(data []byte) (*Collateral, error) {
	var c Collateral
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, &CheckError{Check: CheckCollateral, Err: err}
	}
	return &c, nil
}

// intel PCS URL prefixes as go-tdx-guest requests them.
const (
	pcsHost     = "https://api.trustedservices.intel.com"
	rootCRLPath = "/sgx/certification/v4/rootcacrl"
)

// collateralGetter answers go-tdx-guest's PCS requests from caller-supplied collateral,
// without any network access.
type collateralGetter struct {
	c       *Collateral
	pckCRL  []byte
	rootCRL []byte
}

func newCollateralGetter(c *Collateral) (*collateralGetter, error) {
	g := &collateralGetter{c: c}
	var err error
	if g.pckCRL, err = decodeHex(c.PCKCRL); err != nil || len(g.pckCRL) == 0 {
		return nil, &CheckError{Check: CheckCollateral, Err: errors.New("pck_crl missing or not hex")}
	}
	if g.rootCRL, err = decodeHex(c.RootCACRL); err != nil || len(g.rootCRL) == 0 {
		return nil, &CheckError{Check: CheckCollateral, Err: errors.New("root_ca_crl missing or not hex")}
	}
	for name, v := range map[string]string{
		"tcb_info": c.TCBInfo, "qe_identity": c.QEIdentity,
		"tcb_info_issuer_chain": c.TCBInfoIssuerChain, "qe_identity_issuer_chain": c.QEIdentityIssuerChain,
		"pck_crl_issuer_chain": c.PCKCRLIssuerChain,
	} {
		if strings.TrimSpace(v) == "" {
			return nil, &CheckError{Check: CheckCollateral, Err: fmt.Errorf("%s missing", name)}
		}
	}
	if !json.Valid([]byte(c.TCBInfo)) || !json.Valid([]byte(c.QEIdentity)) {
		return nil, &CheckError{Check: CheckCollateral, Err: errors.New("tcb_info or qe_identity is not JSON")}
	}
	return g, nil
}

// Get implements go-tdx-guest's trust.HTTPSGetter.
func (g *collateralGetter) Get(u string) (map[string][]string, []byte, error) {
	switch {
	case strings.Contains(u, "/tcb?"):
		return chainHeader("Tcb-Info-Issuer-Chain", g.c.TCBInfoIssuerChain),
			signedBody("tcbInfo", g.c.TCBInfo, g.c.TCBInfoSignature), nil
	case strings.HasSuffix(u, "/qe/identity"):
		return chainHeader("Sgx-Enclave-Identity-Issuer-Chain", g.c.QEIdentityIssuerChain),
			signedBody("enclaveIdentity", g.c.QEIdentity, g.c.QEIdentitySignature), nil
	case strings.Contains(u, "/pckcrl?"):
		return chainHeader("Sgx-Pck-Crl-Issuer-Chain", g.c.PCKCRLIssuerChain), g.pckCRL, nil
	default: // the root CA CRL, at the URL named in the root certificate
		return map[string][]string{}, g.rootCRL, nil
	}
}

func chainHeader(name, pem string) map[string][]string {
	return map[string][]string{name: {url.QueryEscape(pem)}}
}

// signedBody rebuilds an Intel PCS answer around the signed JSON text, kept byte for
// byte so that its signature still verifies.
func signedBody(field, signed, sig string) []byte {
	sigJSON, _ := json.Marshal(normHex(sig))
	return []byte(`{"` + field + `":` + signed + `,"signature":` + string(sigJSON) + `}`)
}

// pccsGetter fetches collateral from a PCCS (or Intel PCS) at base, which serves the
// same paths as Intel's PCS. It keeps the context of the Verify call.
type pccsGetter struct {
	ctx    context.Context
	base   string
	client *http.Client
}

// maxCollateralBody caps a collateral answer; real ones are tens of kilobytes.
const maxCollateralBody = 4 << 20

// Get implements go-tdx-guest's trust.HTTPSGetter.
func (g *pccsGetter) Get(u string) (map[string][]string, []byte, error) {
	target := u
	if strings.HasPrefix(u, pcsHost) {
		target = g.base + strings.TrimPrefix(u, pcsHost)
	} else {
		target = g.base + rootCRLPath
	}
	req, err := http.NewRequestWithContext(g.ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCollateralBody))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("collateral service answered %d for %s", resp.StatusCode, req.URL.Path)
	}
	if target == g.base+rootCRLPath {
		// PCCS serves the root CA CRL hex-encoded; Intel serves DER.
		if raw, err := hex.DecodeString(strings.TrimSpace(string(body))); err == nil {
			body = raw
		}
	}
	return resp.Header, body, nil
}
