package onchain_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

var (
	exampleCompose = common.HexToHash("0x4f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8")
	exampleDevice  = common.HexToHash("0x9c1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f10")
)

// prepare465 builds the detail.details[] map of a 465 answer, as the root
// package hands it to PrerequisiteFromDetails.
func prepare465(app common.Address, chainID uint64) map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"compose_hash":   json.RawMessage(fmt.Sprintf("%q", exampleCompose.Hex()[2:])),
		"app_id":         json.RawMessage(fmt.Sprintf("%q", app.Hex()[2:])),
		"device_id":      json.RawMessage(fmt.Sprintf("%q", exampleDevice.Hex()[2:])),
		"commit_token":   json.RawMessage(`"ct_example"`),
		"kms_info":       json.RawMessage(fmt.Sprintf(`{"chain_id": %d, "rpc_endpoint": "https://rpc.example"}`, chainID)),
		"onchain_status": json.RawMessage(`{"compose_hash_allowed": false, "device_id_allowed": false, "is_allowed": false}`),
	}
}

func ExampleStatus() {
	ctx := context.Background()
	chain := onchaintest.NewChain()
	defer chain.Close()
	app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{ComposeHash: exampleCompose})
	if err != nil {
		log.Fatal(err)
	}

	// All reads in one JSON-RPC batch, at one block.
	st, err := onchain.Status(ctx, chain.Client, app, exampleDevice, exampleCompose, onchain.WithRPCClient(chain.RPCClient()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("compose hash allowed:", st.ComposeHashAllowed)
	fmt.Println("device allowed:", st.DeviceIDAllowed)
	fmt.Println("allowed:", st.IsAllowed)
	// Output:
	// compose hash allowed: true
	// device allowed: false
	// allowed: false
}

func ExampleRegistrar_EnsureRegistered() {
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(10 * time.Millisecond))
	defer chain.Close()
	app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
	if err != nil {
		log.Fatal(err)
	}

	// The replicate call answered 465; the root package gives us this.
	prereq, err := onchain.PrerequisiteFromDetails(prepare465(app, onchaintest.ChainID))
	if err != nil {
		log.Fatal(err)
	}

	// In production: signer, err := onchain.SignerFromHex(os.Getenv("PRIVATE_KEY"), onchain.ChainIDBase),
	// or SignerFromKeystore, or SignerFromClef.
	r, err := onchain.NewRegistrar(chain.Client, chain.Transactor(0),
		onchain.WithPollInterval(10*time.Millisecond),
		onchain.WithProgress(func(e onchain.Event) { fmt.Println(e.Kind, e.Method) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	reg, err := r.EnsureRegistered(ctx, prereq)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("commit with the compose-hash tx:", reg.CommitTransactionHash() == reg.ComposeHashTx.Hex())

	// Running it again sends nothing.
	again, err := r.EnsureRegistered(ctx, prereq)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second run:", again.CommitTransactionHash())
	// Output:
	// submitted addDevice
	// submitted addComposeHash
	// mined addDevice
	// mined addComposeHash
	// confirmed addDevice
	// confirmed addComposeHash
	// commit with the compose-hash tx: true
	// second run: already-registered
}

func ExampleSafeTransactions() {
	app := common.HexToAddress("0xa1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
	prereq, err := onchain.PrerequisiteFromDetails(prepare465(app, onchain.ChainIDBase))
	if err != nil {
		log.Fatal(err)
	}
	batch, err := onchain.SafeTransactions(prereq, 0,
		onchain.WithCreatedAt(time.UnixMilli(1_790_000_000_000)),
		// A fresh reading (onchain.Status) may show the device is already allowed.
		onchain.WithStatus(onchain.OnchainStatus{DeviceIDAllowed: true}),
	)
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(batch); err != nil {
		log.Fatal(err)
	}

	// The same call as raw calldata, for any other multisig or timelock.
	calls, err := onchain.RegistrationCalls(prereq, onchain.WithStatus(onchain.OnchainStatus{DeviceIDAllowed: true}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %x\n", calls[0].To, calls[0].Data)
	// Output:
	// {
	//   "version": "1.0",
	//   "chainId": "8453",
	//   "createdAt": 1790000000000,
	//   "meta": {
	//     "name": "Allow replica on DstackApp 0xa1B2c3d4E5f60718293a4B5C6d7E8F9012345678",
	//     "description": "Phala Cloud on-chain prerequisite: addComposeHash(0x4f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8)",
	//     "txBuilderVersion": "1.17.1",
	//     "createdFromSafeAddress": "",
	//     "createdFromOwnerAddress": "",
	//     "checksum": "0x4da4f3bfbececede027fd1754faba704b8272caa1ff15af288df147000f9bd85"
	//   },
	//   "transactions": [
	//     {
	//       "to": "0xa1B2c3d4E5f60718293a4B5C6d7E8F9012345678",
	//       "value": "0",
	//       "data": "0xdfc772234f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
	//       "contractMethod": {
	//         "inputs": [
	//           {
	//             "internalType": "bytes32",
	//             "name": "composeHash",
	//             "type": "bytes32"
	//           }
	//         ],
	//         "name": "addComposeHash",
	//         "payable": false
	//       },
	//       "contractInputsValues": {
	//         "composeHash": "0x4f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
	//       }
	//     }
	//   ]
	// }
	// 0xa1B2c3d4E5f60718293a4B5C6d7E8F9012345678 dfc772234f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8
}

func ExamplePrerequisiteFromDetails() {
	app := common.HexToAddress("0xa1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
	prereq, err := onchain.PrerequisiteFromDetails(prepare465(app, onchain.ChainIDBase))
	if err != nil {
		log.Fatal(err)
	}
	// The root package returns it as an error; callers match it with errors.As.
	var err465 error = prereq
	var pre *onchain.ErrOnchainPrerequisite
	if errors.As(err465, &pre) {
		fmt.Println(pre.KMSInfo.ChainID)
		fmt.Println(pre.Error())
	}
	// Output:
	// 8453
	// onchain: registration required on the DstackApp contract 0xa1B2c3d4E5f60718293a4B5C6d7E8F9012345678: compose hash 0x4f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8 not allowed, device 0x9c1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f10 not allowed
}

// A signer from an encrypted key file, as "geth account new" or clef write them,
// registering a replica's prerequisites on the DstackApp its account owns.
func ExampleSignerFromKeystore() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "keystore")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Create a key file. The scrypt cost is lowered for the example; real files
	// use keystore.StandardScryptN and StandardScryptP.
	const passphrase = "correct horse battery staple"
	account, err := keystore.NewKeyStore(dir, 2, 1).NewAccount(passphrase)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("key file in the directory:", filepath.Dir(account.URL.Path) == dir)

	keyJSON, err := os.ReadFile(account.URL.Path)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := onchain.SignerFromKeystore(keyJSON, passphrase, onchaintest.ChainID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signs as the key's account:", signer.From == account.Address)

	// On a simulated chain the account is funded and owns a DstackApp.
	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(10*time.Millisecond),
		onchaintest.WithFunds(account.Address, big.NewInt(1e18)))
	defer chain.Close()
	app, err := chain.DeployDstackApp(ctx, signer, onchaintest.AppConfig{})
	if err != nil {
		log.Fatal(err)
	}
	prereq, err := onchain.PrerequisiteFromDetails(prepare465(app, onchaintest.ChainID))
	if err != nil {
		log.Fatal(err)
	}
	r, err := onchain.NewRegistrar(chain.Client, signer, onchain.WithPollInterval(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	reg, err := r.EnsureRegistered(ctx, prereq)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("commit with the compose-hash tx:", reg.CommitTransactionHash() == reg.ComposeHashTx.Hex())

	// A wrong passphrase is a typed error, which never shows the passphrase.
	_, err = onchain.SignerFromKeystore(keyJSON, "wrong", onchaintest.ChainID)
	fmt.Println(errors.Is(err, onchain.ErrInvalidKeystore), errors.Is(err, keystore.ErrDecrypt))
	// Output:
	// key file in the directory: true
	// signs as the key's account: true
	// commit with the compose-hash tx: true
	// true true
}
