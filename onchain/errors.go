package onchain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// ErrNoChainID is returned by EnsureRegistered when neither [WithChainID]
// nor the prerequisite's kms_info.chain_id says which chain the app is on.
var ErrNoChainID = errors.New("onchain: unknown chain: the prerequisite has no kms_info.chain_id; pass WithChainID")

// WrongChainError means the chain a registration would go to is not the
// one the app's KMS lives on: the backend is connected to another chain,
// or the chain given with [WithChainID] is not the one the prerequisite's
// kms_info names (Configured is then set). Nothing was signed or sent.
type WrongChainError struct {
	Want uint64 // the app's chain
	Got  uint64 // the backend's chain (0: not read)
	// Configured is the chain given with WithChainID when it differs from
	// Want, the chain the prerequisite's kms_info names; 0 otherwise.
	Configured uint64
}

// Error implements error.
func (e *WrongChainError) Error() string {
	if e.Configured != 0 {
		return fmt.Sprintf("onchain: the Registrar was configured WithChainID(%d), but the prerequisite's kms_info names chain %d; nothing was signed",
			e.Configured, e.Want)
	}
	return fmt.Sprintf("onchain: the RPC endpoint is on chain %d, but the app's KMS is on chain %d", e.Got, e.Want)
}

// PendingTransactionsError means the signer's account has transactions in
// the pool that this Registrar did not send (its pending nonce is above
// its latest one): another process, or an earlier Registrar, may be
// registering the same thing. Sending now could register twice or queue
// behind a stuck transaction, so nothing was sent. Wait until they are
// mined (or replace them), then retry.
type PendingTransactionsError struct {
	Account common.Address
	Latest  uint64 // the account's nonce at the latest block
	Pending uint64 // the account's nonce counting pending transactions
}

// Error implements error.
func (e *PendingTransactionsError) Error() string {
	return fmt.Sprintf("onchain: account %s has %d pending transaction(s) this Registrar did not send (nonces %d to %d); "+
		"nothing was sent: wait until they are mined, then retry", e.Account, e.Pending-e.Latest, e.Latest, e.Pending-1)
}

// NonceReusedError means the signer has a fixed Nonce (TransactOpts.Nonce)
// that this Registrar already used for an earlier transaction: sending at
// it again would replace or collide with that transaction. Nothing was
// sent. Set a new Nonce, or leave it nil so the Registrar picks one.
type NonceReusedError struct {
	Account common.Address
	Nonce   uint64
	TxHash  common.Hash // the earlier transaction sent at Nonce
}

// Error implements error.
func (e *NonceReusedError) Error() string {
	return fmt.Sprintf("onchain: the signer's fixed nonce %d of %s was already used by this Registrar for transaction %s; "+
		"nothing was sent: set a new nonce or leave it nil", e.Nonce, e.Account, e.TxHash.Hex())
}

// NotOwnerError means the signer is not owner() of the DstackApp contract,
// so its writes would revert. Nothing was sent. When OwnerIsContract is
// true the owner is most likely a multisig: use [SafeTransactions].
type NotOwnerError struct {
	App             common.Address
	Signer          common.Address
	Owner           common.Address
	OwnerIsContract bool
}

// Error implements error.
func (e *NotOwnerError) Error() string {
	msg := fmt.Sprintf("onchain: signer %s is not the owner of DstackApp %s; the owner is %s", e.Signer, e.App, e.Owner)
	if e.OwnerIsContract {
		msg += " (a contract, probably a multisig: have it execute the calls from SafeTransactions)"
	}
	return msg
}

// InsufficientFundsError means the signer's balance does not cover the
// estimated cost (estimated gas × max fee per gas) of the writes. Nothing
// was sent.
type InsufficientFundsError struct {
	Account  common.Address
	Balance  *big.Int // wei
	Required *big.Int // wei
	Methods  []string // the writes that were priced
}

// Error implements error.
func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("onchain: account %s has %s ETH but %s needs up to %s ETH (estimated gas × max fee)",
		e.Account, formatEther(e.Balance), strings.Join(e.Methods, " + "), formatEther(e.Required))
}

// ReceiptTimeoutError means the transactions were sent but not mined (or not
// confirmed) within the receipt timeout. They may still be mined: check
// their hashes before sending again.
type ReceiptTimeoutError struct {
	TxHashes []common.Hash
	Timeout  time.Duration
}

// Error implements error.
func (e *ReceiptTimeoutError) Error() string {
	hs := make([]string, len(e.TxHashes))
	for i, h := range e.TxHashes {
		hs[i] = h.Hex()
	}
	return fmt.Sprintf("onchain: transactions %s not mined and confirmed within %v; they may still be mined, check them before retrying",
		strings.Join(hs, ", "), e.Timeout)
}

// StateNotConfirmedError means the transactions were mined, yet reading the
// contract at their block does not show the compose hash and device as
// allowed (for example another owner removed them in the same block).
type StateNotConfirmedError struct {
	Status AppStatus
}

// Error implements error.
func (e *StateNotConfirmedError) Error() string {
	return fmt.Sprintf("onchain: after registration, block %d still shows compose_hash_allowed=%t device_id_allowed=%t",
		e.Status.Block, e.Status.ComposeHashAllowed, e.Status.DeviceIDAllowed)
}

// formatEther renders wei as an exact decimal ETH amount.
func formatEther(wei *big.Int) string {
	if wei == nil {
		return "0"
	}
	neg := wei.Sign() < 0
	s := new(big.Int).Abs(wei).String()
	if len(s) <= 18 {
		s = strings.Repeat("0", 19-len(s)) + s
	}
	intPart, frac := s[:len(s)-18], strings.TrimRight(s[len(s)-18:], "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
