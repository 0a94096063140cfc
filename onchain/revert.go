package onchain

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// ErrReverted is matched (with errors.Is) by every [*RevertError].
var ErrReverted = errors.New("onchain: execution reverted")

var (
	errorStringSelector = []byte{0x08, 0xc3, 0x79, 0xa0} // Error(string)
	panicSelector       = []byte{0x4e, 0x48, 0x7b, 0x71} // Panic(uint256)
)

// RevertError is a contract call or transaction that reverted, with the
// revert data decoded: a revert string (Error(string)), a Solidity panic
// code, one of the DstackApp ABI's custom errors (Custom holds the decoded
// binding value, e.g. *DstackAppOwnableUnauthorizedAccount), or nothing
// (empty revert data, which is also what calling a function the contract
// does not have gives).
type RevertError struct {
	Method string      // the DstackApp method, e.g. "addComposeHash"
	TxHash common.Hash // zero when the revert came from a call or gas estimation
	Data   []byte      // raw revert data (may be empty)
	Reason string      // human-readable decoding; empty when Data is empty
	Custom any         // decoded custom error value, nil if none
}

// Error implements error.
func (e *RevertError) Error() string {
	var b strings.Builder
	b.WriteString("onchain: ")
	if e.Method != "" {
		b.WriteString(e.Method + " ")
	}
	b.WriteString("reverted")
	if e.TxHash != (common.Hash{}) {
		b.WriteString(" in transaction " + e.TxHash.Hex())
	}
	if e.Reason == "" {
		b.WriteString(" without a reason")
	} else {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// Is reports whether target is [ErrReverted].
func (e *RevertError) Is(target error) bool { return target == ErrReverted }

// DecodeRevert decodes revert data returned by the DstackApp contract (or any
// contract using Error(string) and Panic(uint256)) into a *RevertError. It
// never panics, whatever data holds.
func DecodeRevert(data []byte) *RevertError {
	e := &RevertError{Data: append([]byte(nil), data...)}
	switch {
	case len(data) == 0:
	case len(data) < 4:
		e.Reason = fmt.Sprintf("malformed revert data 0x%x", data)
	case bytes.Equal(data[:4], errorStringSelector):
		if s, err := abi.UnpackRevert(data); err == nil {
			e.Reason = fmt.Sprintf("%q", s)
		} else {
			e.Reason = fmt.Sprintf("malformed Error(string) 0x%x", data)
		}
	case bytes.Equal(data[:4], panicSelector):
		if len(data) == 36 {
			e.Reason = fmt.Sprintf("panic 0x%x", new(big.Int).SetBytes(data[4:]))
		} else {
			e.Reason = fmt.Sprintf("malformed Panic(uint256) 0x%x", data)
		}
	default:
		e.Reason, e.Custom = decodeCustomError(data)
	}
	return e
}

// decodeCustomError decodes data (at least 4 bytes) with the DstackApp ABI's
// errors. The generated UnpackError indexes data[:4]; the caller guarantees
// the length.
func decodeCustomError(data []byte) (string, any) {
	app := NewDstackApp()
	contractABI := app.GetABI()
	for name, abiErr := range contractABI.Errors {
		if !bytes.Equal(abiErr.ID[:4], data[:4]) {
			continue
		}
		args, err := abiErr.Unpack(data)
		if err != nil {
			return fmt.Sprintf("malformed %s 0x%x", abiErr.Sig, data), nil
		}
		custom, err := app.UnpackError(data)
		if err != nil {
			custom = nil
		}
		return renderError(name, args), custom
	}
	return fmt.Sprintf("unknown custom error 0x%x", data), nil
}

func renderError(name string, args any) string {
	vals, ok := args.([]any)
	if !ok {
		return name
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch t := v.(type) {
		case [32]byte:
			parts[i] = common.Hash(t).Hex()
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}

// revertData reports whether err is an execution revert and returns its data
// (empty when the node gave none).
func revertData(err error) ([]byte, bool) {
	if err == nil {
		return nil, false
	}
	if data, ok := ethclient.RevertErrorData(err); ok {
		return data, true
	}
	var rpcErr rpc.Error
	if errors.As(err, &rpcErr) && rpcErr.ErrorCode() == 3 {
		return nil, true
	}
	if strings.Contains(err.Error(), "execution reverted") {
		return nil, true
	}
	return nil, false
}
