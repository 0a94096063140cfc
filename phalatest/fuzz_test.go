package phalatest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzServe sends arbitrary paths, bodies and headers through the whole
// request pipeline: whatever the input, the server answers with a status
// and, for JSON answers, valid JSON; it never panics.
func FuzzServe(f *testing.F) {
	srv := NewServer(WithPrepareOnlyCommitToken(), WithProvisioningDelays(0, 0))
	defer srv.Close()
	srv.AddNode(Node{})
	app := srv.AddApp(App{KMS: KMSCloud, Compose: Compose{AllowedEnvs: []string{"A"}}})
	src := srv.AddCVM(CVM{AppID: app.ID})
	onchainApp := srv.AddApp(App{KMS: KMSBase, ID: strings.Repeat("ab", 20), ChainID: 8453})
	oc := srv.AddCVM(CVM{AppID: onchainApp.ID})

	f.Add("POST", "/api/v1/cvms/"+src.VMUUID+"/replicas", `{"node_id":1}`, "true", "2026-01-21")
	f.Add("POST", "/api/v1/cvms/"+oc.VMUUID+"/replicas", `{"encrypted_env":"00ff","compose_hash":"0x`+strings.Repeat("1", 64)+`"}`, "", "")
	f.Add("POST", "/api/v1/cvms/"+src.VMUUID+"/commit-replica", `{"token":"ct_x","compose_hash":"`+app.ComposeHash+`","transaction_hash":"0x12"}`, "", "2025-10-28")
	f.Add("GET", "/api/v1/cvms/app_"+app.ID, "", "", "2025-10-28")
	f.Add("GET", "/api/v1/kms/phala/pubkey/0x"+app.ID, "", "", "")
	f.Add("GET", "/api/v1/apps/%zz/cvms", "", "", "")
	f.Add("POST", "/api/v1/apps/"+app.ID+"/cvms/"+src.VMUUID+"/replicas", `{"teepod_id":"1e400"}`, "1", "x")
	f.Add("POST", "/api/v1/cvms/"+src.VMUUID+"/replicas", `[{"node_id":null}]`, "", "")

	f.Fuzz(func(t *testing.T, method, path, body, prepare, version string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://phalatest"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("X-API-Key", srv.APIKey())
		req.Header.Set("X-Prepare-Only", prepare)
		req.Header.Set("X-Phala-Version", version)
		rec := httptest.NewRecorder()
		srv.serveHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Header().Get("Content-Type") == "application/json" && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON answer: %q", rec.Body.Bytes())
		}
	})
}
