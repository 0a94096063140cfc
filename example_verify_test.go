package phala_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/phalatest"
)

// Verify a replica's attestation. The emulator signs its quotes under a test root
// that nothing trusts by default: the example trusts it explicitly. Against Phala
// Cloud, leave attest.WithTrustedRoots out (Intel's root is the default) and pass
// the compose hash you approved.
func ExampleClient_VerifyReplica() {
	srv, c, src := emulator()
	defer srv.Close()
	ctx := context.Background()
	trustTestRoot := attest.WithTrustedRoots(srv.AttestationRoots())

	v, err := c.VerifyReplica(ctx, src.VMUUID, phala.VerifyOptions{
		ComposeHash: src.ComposeHash, // the source's, not the API's word for the replica
		Attest:      []attest.Option{trustTestRoot},
	})
	if err != nil {
		log.Fatal(err)
	}
	r := v.Result
	fmt.Println("app id and compose hash checked:", r.AppIDChecked && r.ComposeHashChecked)
	fmt.Println("instance id checked:", v.InstanceChecked)
	fmt.Println("TCB status:", r.TCBStatus, "(no collateral)")
	fmt.Println("OS image pinned:", r.OSImagePinned)

	// The same CVM measuring another compose file fails, naming the check.
	srv.SetAttestationFault(src.VMUUID, phalatest.AttestationForeignComposeHash)
	_, err = c.VerifyReplica(ctx, src.VMUUID, phala.VerifyOptions{
		ComposeHash: src.ComposeHash, Attest: []attest.Option{trustTestRoot},
	})
	var ce *attest.CheckError
	if errors.As(err, &ce) {
		fmt.Println("failed check:", ce.Check, "- expected the source's:", ce.Want == v.ExpectedComposeHash)
	}
	// Output:
	// app id and compose hash checked: true
	// instance id checked: true
	// TCB status: Unknown (no collateral)
	// OS image pinned: false
	// failed check: compose-hash - expected the source's: true
}
