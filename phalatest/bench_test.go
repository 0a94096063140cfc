package phalatest_test

import (
	"bytes"
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
