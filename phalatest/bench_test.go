package phalatest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/phalatest"
)

// BenchmarkReplicate measures one replicate round trip over loopback HTTP,
// including the env decryption the emulator does for each replica.
func BenchmarkReplicate(b *testing.B) {
	srv := phalatest.NewServer()
	defer srv.Close()
	srv.SetCredit("", 1e12)
	srv.AddNode(phalatest.Node{VCPU: 1 << 30, MemoryMB: 1 << 40, Slots: 1 << 30})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud, Compose: phalatest.Compose{AllowedEnvs: []string{"A", "B"}}})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID})
	blob, err := envcrypt.Encrypt(app.EnvPubkey, []envcrypt.EnvVar{{Key: "A", Value: "1"}, {Key: "B", Value: "2"}})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"encrypted_env":"` + blob + `"}`)
	url := srv.URL() + "/cvms/" + src.VMUUID + "/replicas"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("X-API-Key", srv.APIKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkStoredCVMs measures the requests of a replication (the source by
// name, the app's instances, the nodes, the POST) with 100 and with 10000
// CVMs stored: the server indexes what it looks up, so the cost per request
// does not grow with the number of CVMs it holds.
func BenchmarkStoredCVMs(b *testing.B) {
	for _, stored := range []int{100, 10000} {
		b.Run(fmt.Sprintf("cvms=%d", stored), func(b *testing.B) {
			srv := phalatest.NewServer()
			defer srv.Close()
			srv.SetCredit("", 1e12)
			srv.AddNode(phalatest.Node{VCPU: 1 << 30, MemoryMB: 1 << 40, Slots: 1 << 30})
			filler := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
			for i := 0; i < stored-4; i++ {
				srv.AddCVM(phalatest.CVM{AppID: filler.ID})
			}
			// The replicas join the source's app; another app is listed, so the
			// listing does not grow with b.N.
			listed := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
			for i := 0; i < 3; i++ {
				srv.AddCVM(phalatest.CVM{AppID: listed.ID})
			}
			app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
			src := srv.AddCVM(phalatest.CVM{AppID: app.ID, Name: "bench-source"})
			send := func(method, path string) {
				req, _ := http.NewRequest(method, srv.URL()+path, nil)
				req.Header.Set("X-API-Key", srv.APIKey())
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				send(http.MethodGet, "/cvms/bench-source")
				send(http.MethodGet, "/apps/"+listed.ID+"/cvms")
				send(http.MethodGet, "/teepods/available")
				send(http.MethodPost, "/cvms/"+src.VMUUID+"/replicas")
			}
		})
	}
}
