package phalatest

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/phalaforge/phala-go/onchain"
)

var errNoChain = errors.New("phalatest: no backend for the app's chain (WithChain)")

// readStatus reads the app's DstackApp contract for the compose hash and
// the device, through the backend of the app's chain, at the latest block, or
// at minBlock when the node's head is still below it (a commit's transaction
// whose receipt the node already serves: go-ethereum indexes a block's
// receipts a moment before it moves its head).
func (s *Server) readStatus(ctx context.Context, a *app, deviceID, composeHash string, minBlock uint64) (*onchain.AppStatus, error) {
	backend := s.cfg.chains[a.ChainID]
	if backend == nil {
		return nil, errNoChain
	}
	dev, err := onchain.ParseHash32(deviceID)
	if err != nil {
		return nil, err
	}
	ch, err := onchain.ParseHash32(composeHash)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.chainReadTimeout)
	defer cancel()
	if minBlock == 0 {
		return onchain.Status(ctx, backend, a.address(), dev, ch)
	}
	// Read the head here instead of in Status (one header read either way).
	block := minBlock
	head, err := backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	if head != nil && head.Number != nil {
		block = max(block, head.Number.Uint64())
	}
	return onchain.Status(ctx, backend, a.address(), dev, ch, onchain.AtBlock(block))
}

// verifyTx checks that txHash is a successful transaction in which the
// app's DstackApp contract emitted ComposeHashAdded(composeHash) or
// DeviceAdded(deviceID). Only the logs are checked, not the transaction's
// recipient, so a transaction sent through a Safe (to the Safe, which calls
// the contract) verifies as well as a direct one. It returns the
// transaction's block.
func (s *Server) verifyTx(ctx context.Context, backend ChainBackend, a *app, txHash, deviceID, composeHash string) (uint64, *apiError) {
	fail := func(format string, args ...any) *apiError {
		return newError(StatusTxVerificationFailed, CodeTxVerificationFailed, format, args...).
			with("transaction_hash", truncateForMessage(txHash)).
			suggest(fmt.Sprintf("Send the hash of the addComposeHash (or addDevice) transaction once it is mined, or %q if nothing had to be sent", onchain.AlreadyRegistered))
	}
	h, err := onchain.ParseHash32(txHash)
	if err != nil {
		return 0, fail("transaction_hash is not a 32-byte hex transaction hash")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.chainReadTimeout)
	defer cancel()
	receipt, err := backend.TransactionReceipt(ctx, h)
	if err != nil || receipt == nil {
		return 0, fail("Transaction %s was not found on chain %d (not mined yet?)", h.Hex(), a.ChainID)
	}
	if receipt.Status != types.ReceiptStatusSuccessful {
		return 0, fail("Transaction %s failed on chain (status %d)", h.Hex(), receipt.Status)
	}
	dev := common.HexToHash(deviceID)
	ch := common.HexToHash(composeHash)
	if !emitsApproval(receipt, a.address(), ch, dev) {
		return 0, fail("Transaction %s did not add compose hash %s or device %s to the DstackApp contract %s", h.Hex(), composeHash, deviceID, a.address().Hex())
	}
	if receipt.BlockNumber == nil {
		return 0, nil
	}
	return receipt.BlockNumber.Uint64(), nil
}

// emitsApproval reports whether receipt holds a ComposeHashAdded(compose)
// or DeviceAdded(device) log emitted by app.
func emitsApproval(receipt *types.Receipt, app common.Address, compose, device common.Hash) bool {
	d := onchain.NewDstackApp()
	for _, l := range receipt.Logs {
		if l == nil || l.Address != app {
			continue
		}
		if ev, err := d.UnpackComposeHashAddedEvent(l); err == nil && ev.ComposeHash == compose {
			return true
		}
		if ev, err := d.UnpackDeviceAddedEvent(l); err == nil && ev.DeviceId == device {
			return true
		}
	}
	return false
}
