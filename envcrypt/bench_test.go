package envcrypt_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/phalaforge/phala-go/envcrypt"
)

func BenchmarkEncrypt(b *testing.B) {
	_, pub := testKey(b, 1)
	for _, n := range []int{10, 100, 1000} {
		env := make([]envcrypt.EnvVar, n)
		allowed := make([]string, n)
		for i := range env {
			env[i] = envcrypt.EnvVar{Key: fmt.Sprintf("VAR_%04d", i), Value: strings.Repeat("v", 64)}
			allowed[i] = env[i].Key
		}
		b.Run(fmt.Sprintf("vars=%d", n), func(b *testing.B) {
			opt := envcrypt.WithAllowedEnvs(allowed)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := envcrypt.Encrypt(pub, env, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
