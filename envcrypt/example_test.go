package envcrypt_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phalaforge/phala-go/envcrypt"
)

func ExampleEncrypt() {
	// The CVM's env encryption public key, as the API or KMS gives it. This one is from
	// dstack's own test vector, whose private key is below.
	const recipient = "b5ee2e67280ef8c9540850e90e6b7ee1b5e7ef011301bde95a2e6f953d04d201"

	env := []envcrypt.EnvVar{{Key: "DB_URL", Value: "postgres://db"}, {Key: "TOKEN", Value: "t0k3n"}}
	blob, err := envcrypt.Encrypt(recipient, env,
		envcrypt.WithAllowedEnvs([]string{"DB_URL", "TOKEN"}),
		// A fixed random source makes this example's output reproducible. Never do this
		// outside tests.
		envcrypt.WithRand(bytes.NewReader(bytes.Repeat([]byte{7}, 44))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(blob)

	// Inside the CVM, dstack-util decrypts with the private key.
	priv, _ := hex.DecodeString("7c282bf94b35dc47801dc953bfa0896fc2bd313381d3e8eca4e42f6536d2a96f")
	plaintext, err := envcrypt.Decrypt(priv, blob)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(plaintext))
	// Output:
	// 13be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6d0707070707070707070707077b8e0da883a63b70f5cedeaba2201f74054212b7b457b181e896dd78d13a65beca22fa4a015fb635bfee163e462c1b5502a7c6bf34af1172fde33cc99810edd590a210019b9feaba740435069d291a6b81834f608e8861daebd44e9efbc40e82fc94
	// {"env":[{"key":"DB_URL","value":"postgres://db"},{"key":"TOKEN","value":"t0k3n"}]}
}

func ExampleParseDotenv() {
	file := `# production settings
export DB_URL="postgres://db?sslmode=require"
TOKEN='s3cr3t#1'   # the API token
GREETING=hello world # inline comment
CERT="-----BEGIN-----
abc
-----END-----"
`
	env, err := envcrypt.ParseDotenv(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range env {
		fmt.Printf("%s=%q\n", v.Key, v.Value)
	}

	// Errors give the line and never the value.
	_, err = envcrypt.ParseDotenv(strings.NewReader("A=1\nB='unterminated secret\n"))
	fmt.Println(err)
	// Output:
	// DB_URL="postgres://db?sslmode=require"
	// TOKEN="s3cr3t#1"
	// GREETING="hello world"
	// CERT="-----BEGIN-----\nabc\n-----END-----"
	// envcrypt: dotenv line 2: value of "B": unterminated single-quoted value
}

func ExampleVerifyPublicKey() {
	// GET /kms/{kms}/pubkey/{app_id} answered this (dstack's test vector).
	resp := envcrypt.PublicKeyResponse{
		PublicKey: "e33a1832c6562067ff8f844a61e51ad051f1180b66ec2551fb0251735f3ee90a",
		Signature: "8542c49081fbf4e03f62034f13fbf70630bdf256a53032e38465a27c36fd6bed7a5e7111652004aef37f7fd92fbfc1285212c4ae6a6154203a48f5e16cad2cef00",
	}
	appID := "0x0000000000000000000000000000000000000000"

	// The KMS root key must come from somewhere the API cannot forge: the DstackKms
	// contract's kmsInfo().k256Pubkey, or a pinned value like this one.
	root, _ := hex.DecodeString("0217610d74cbd39b6143842c6d8bc310d79da1d82cc9d17f8876376221eda0c38f")

	signer, err := envcrypt.VerifyPublicKey(resp, appID, [][]byte{root}, time.Now())
	fmt.Printf("signer 0x%x, err %v\n", signer, err)

	// Checked against any other root key, the same response is refused.
	other, _ := hex.DecodeString("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	_, err = envcrypt.VerifyPublicKey(resp, appID, [][]byte{other}, time.Now())
	fmt.Println(errors.Is(err, envcrypt.ErrSignatureMismatch))
	// Output:
	// signer 0x0217610d74cbd39b6143842c6d8bc310d79da1d82cc9d17f8876376221eda0c38f, err <nil>
	// true
}

func ExampleDecryptEnv() {
	priv, _ := hex.DecodeString("7c282bf94b35dc47801dc953bfa0896fc2bd313381d3e8eca4e42f6536d2a96f")
	const pub = "b5ee2e67280ef8c9540850e90e6b7ee1b5e7ef011301bde95a2e6f953d04d201"

	// Without WithAllowedEnvs, Encrypt cannot know that the compose file omits DEBUG.
	blob, err := envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "TOKEN", Value: "t"}, {Key: "DEBUG", Value: "1"}})
	if err != nil {
		fmt.Println(err)
		return
	}

	// What the CVM does with it, given allowed_envs from its app-compose.json.
	env, err := envcrypt.DecryptEnv(priv, blob, []string{"TOKEN"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(env)

	// With the list, Encrypt refuses instead.
	_, err = envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "TOKEN", Value: "t"}, {Key: "DEBUG", Value: "1"}},
		envcrypt.WithAllowedEnvs([]string{"TOKEN"}))
	fmt.Println(err)
	// Output:
	// CVMEnv{set: [TOKEN], skipped: [DEBUG]}
	// envcrypt: 1 variable(s) not in allowed_envs, a CVM would silently drop them: "DEBUG"
}
