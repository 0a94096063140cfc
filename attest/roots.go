package attest

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
)

// intelRootPEM is Intel's SGX Root CA certificate (CN=Intel SGX Root CA, SHA-256
// fingerprint 44:A0:19:6B:...:74:D3), the same certificate go-tdx-guest embeds and the
// root of the issuer chains in Intel's collateral. It is public data.
//
//go:embed intel_sgx_root_ca.pem
var intelRootPEM []byte

// intelRoots returns a pool holding only Intel's SGX Root CA. Passing it explicitly
// keeps go-tdx-guest from logging that it falls back to its embedded copy.
func intelRoots() (*x509.CertPool, error) {
	block, _ := pem.Decode(intelRootPEM)
	if block == nil {
		return nil, errors.New("attest: embedded Intel root is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}
