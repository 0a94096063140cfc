package phalatest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/phalatest"
)

// send is a minimal client for the examples: one JSON request with the
// headers the API requires.
func send(srv *phalatest.Server, method, path, body string, header ...string) (*http.Response, map[string]any) {
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("X-API-Key", srv.APIKey())
	req.Header.Set("X-Phala-Version", "2026-01-21")
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func ExampleNewServer() {
	srv := phalatest.NewServer()
	defer srv.Close()
	node := srv.AddNode(phalatest.Node{Name: "tdx-1"})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})

	resp, vm := send(srv, "POST", "/cvms/"+src.VMUUID+"/replicas", fmt.Sprintf(`{"node_id": %d}`, node.ID))
	fmt.Println(resp.StatusCode, vm["status"], vm["teepod_name"])

	srv.Advance(phalatest.DefaultCreatingDelay + phalatest.DefaultStartingDelay)
	_, cvm := send(srv, "GET", "/cvms/"+vm["vm_uuid"].(string), "")
	fmt.Println(cvm["status"], len(srv.Replicas()))
	// Output:
	// 200 creating tdx-1
	// running 1
}

func ExampleServer_FailNext() {
	srv := phalatest.NewServer()
	defer srv.Close()
	srv.FailNext(phalatest.Fault{Method: "GET", PathPrefix: "/teepods/", Status: 429, RetryAfter: 2 * time.Second})

	resp, body := send(srv, "GET", "/teepods/available", "")
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), body["detail"].(map[string]any)["error_code"])
	resp, _ = send(srv, "GET", "/teepods/available", "")
	fmt.Println(resp.StatusCode)
	// Output:
	// 429 2 ERR-05-002
	// 200
}

func ExampleServer_Replica() {
	srv := phalatest.NewServer()
	defer srv.Close()
	srv.AddNode(phalatest.Node{})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud, Compose: phalatest.Compose{AllowedEnvs: []string{"DB_URL"}}})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID})

	blob, err := envcrypt.Encrypt(app.EnvPubkey, []envcrypt.EnvVar{
		{Key: "DB_URL", Value: "postgres://db"},
		{Key: "DEBUG", Value: "1"}, // not in allowed_envs: the CVM drops it
	})
	if err != nil {
		panic(err)
	}
	_, vm := send(srv, "POST", "/cvms/"+src.VMUUID+"/replicas", fmt.Sprintf(`{"encrypted_env": %q}`, blob))

	rep, _ := srv.Replica(vm["vm_uuid"].(string))
	v, _ := rep.DecryptedEnv.Lookup("DB_URL")
	fmt.Println(v, rep.DecryptedEnv.Skipped)
	// Output:
	// postgres://db [DEBUG]
}

// An on-chain KMS app that is not approved yet answers 465 with a commit
// token; here without a chain, so the payload has no onchain_status.
func ExampleServer_AddApp_onchain() {
	srv := phalatest.NewServer()
	defer srv.Close()
	node := srv.AddNode(phalatest.Node{DeviceID: strings.Repeat("d", 64)})
	app := srv.AddApp(phalatest.App{
		ID: "0x1111111111111111111111111111111111111111", KMS: phalatest.KMSBase, ChainID: 8453,
		Compose: phalatest.Compose{AllowedEnvs: []string{"API_KEY"}},
	})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})

	resp, body := send(srv, "POST", "/cvms/"+src.VMUUID+"/replicas", "{}", "X-Prepare-Only", "true")
	detail := body["detail"].(map[string]any)
	fmt.Println(resp.StatusCode, detail["error_code"])
	for _, d := range detail["details"].([]any) {
		f := d.(map[string]any)
		switch f["field"] {
		case "app_id", "device_id":
			fmt.Println(f["field"], f["value"])
		}
	}
	// Output:
	// 465 ERR-01-005
	// app_id 1111111111111111111111111111111111111111
	// device_id dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
}
