// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package onchain

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// DstackKmsKmsInfo is an auto generated low-level Go binding around an user-defined struct.
type DstackKmsKmsInfo struct {
	K256Pubkey []byte
	CaPubkey   []byte
	Quote      []byte
	Eventlog   []byte
}

// DstackKmsMetaData contains all meta data concerning the DstackKms contract.
var DstackKmsMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"OwnableInvalidOwner\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"OwnableUnauthorizedAccount\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bytes\",\"name\":\"k256Pubkey\",\"type\":\"bytes\"}],\"name\":\"KmsInfoSet\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferred\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"kmsInfo\",\"outputs\":[{\"internalType\":\"bytes\",\"name\":\"k256Pubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"caPubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"quote\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"eventlog\",\"type\":\"bytes\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes\",\"name\":\"k256Pubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"caPubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"quote\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"eventlog\",\"type\":\"bytes\"}],\"internalType\":\"structDstackKms.KmsInfo\",\"name\":\"info\",\"type\":\"tuple\"}],\"name\":\"setKmsInfo\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "DstackKms",
}

// DstackKms is an auto generated Go binding around an Ethereum contract.
type DstackKms struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *DstackKms) GetABI() abi.ABI {
	return c.abi
}

// NewDstackKms creates a new instance of DstackKms.
func NewDstackKms() *DstackKms {
	parsed, err := DstackKmsMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &DstackKms{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *DstackKms) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackKmsInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x09177063.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function kmsInfo() view returns(bytes k256Pubkey, bytes caPubkey, bytes quote, bytes eventlog)
func (dstackKms *DstackKms) PackKmsInfo() []byte {
	enc, err := dstackKms.abi.Pack("kmsInfo")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackKmsInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x09177063.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function kmsInfo() view returns(bytes k256Pubkey, bytes caPubkey, bytes quote, bytes eventlog)
func (dstackKms *DstackKms) TryPackKmsInfo() ([]byte, error) {
	return dstackKms.abi.Pack("kmsInfo")
}

// KmsInfoOutput serves as a container for the return parameters of contract
// method KmsInfo.
type KmsInfoOutput struct {
	K256Pubkey []byte
	CaPubkey   []byte
	Quote      []byte
	Eventlog   []byte
}

// UnpackKmsInfo is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x09177063.
//
// Solidity: function kmsInfo() view returns(bytes k256Pubkey, bytes caPubkey, bytes quote, bytes eventlog)
func (dstackKms *DstackKms) UnpackKmsInfo(data []byte) (KmsInfoOutput, error) {
	out, err := dstackKms.abi.Unpack("kmsInfo", data)
	outstruct := new(KmsInfoOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.K256Pubkey = *abi.ConvertType(out[0], new([]byte)).(*[]byte)
	outstruct.CaPubkey = *abi.ConvertType(out[1], new([]byte)).(*[]byte)
	outstruct.Quote = *abi.ConvertType(out[2], new([]byte)).(*[]byte)
	outstruct.Eventlog = *abi.ConvertType(out[3], new([]byte)).(*[]byte)
	return *outstruct, nil
}

// PackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function owner() view returns(address)
func (dstackKms *DstackKms) PackOwner() []byte {
	enc, err := dstackKms.abi.Pack("owner")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function owner() view returns(address)
func (dstackKms *DstackKms) TryPackOwner() ([]byte, error) {
	return dstackKms.abi.Pack("owner")
}

// UnpackOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (dstackKms *DstackKms) UnpackOwner(data []byte) (common.Address, error) {
	out, err := dstackKms.abi.Unpack("owner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackSetKmsInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7d025352.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setKmsInfo((bytes,bytes,bytes,bytes) info) returns()
func (dstackKms *DstackKms) PackSetKmsInfo(info DstackKmsKmsInfo) []byte {
	enc, err := dstackKms.abi.Pack("setKmsInfo", info)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetKmsInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7d025352.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setKmsInfo((bytes,bytes,bytes,bytes) info) returns()
func (dstackKms *DstackKms) TryPackSetKmsInfo(info DstackKmsKmsInfo) ([]byte, error) {
	return dstackKms.abi.Pack("setKmsInfo", info)
}

// DstackKmsKmsInfoSet represents a KmsInfoSet event raised by the DstackKms contract.
type DstackKmsKmsInfoSet struct {
	K256Pubkey []byte
	Raw        *types.Log // Blockchain specific contextual infos
}

const DstackKmsKmsInfoSetEventName = "KmsInfoSet"

// ContractEventName returns the user-defined event name.
func (DstackKmsKmsInfoSet) ContractEventName() string {
	return DstackKmsKmsInfoSetEventName
}

// UnpackKmsInfoSetEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event KmsInfoSet(bytes k256Pubkey)
func (dstackKms *DstackKms) UnpackKmsInfoSetEvent(log *types.Log) (*DstackKmsKmsInfoSet, error) {
	event := "KmsInfoSet"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackKms.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackKmsKmsInfoSet)
	if len(log.Data) > 0 {
		if err := dstackKms.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackKms.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// DstackKmsOwnershipTransferred represents a OwnershipTransferred event raised by the DstackKms contract.
type DstackKmsOwnershipTransferred struct {
	PreviousOwner common.Address
	NewOwner      common.Address
	Raw           *types.Log // Blockchain specific contextual infos
}

const DstackKmsOwnershipTransferredEventName = "OwnershipTransferred"

// ContractEventName returns the user-defined event name.
func (DstackKmsOwnershipTransferred) ContractEventName() string {
	return DstackKmsOwnershipTransferredEventName
}

// UnpackOwnershipTransferredEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)
func (dstackKms *DstackKms) UnpackOwnershipTransferredEvent(log *types.Log) (*DstackKmsOwnershipTransferred, error) {
	event := "OwnershipTransferred"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackKms.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackKmsOwnershipTransferred)
	if len(log.Data) > 0 {
		if err := dstackKms.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackKms.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (dstackKms *DstackKms) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], dstackKms.abi.Errors["OwnableInvalidOwner"].ID.Bytes()[:4]) {
		return dstackKms.UnpackOwnableInvalidOwnerError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackKms.abi.Errors["OwnableUnauthorizedAccount"].ID.Bytes()[:4]) {
		return dstackKms.UnpackOwnableUnauthorizedAccountError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// DstackKmsOwnableInvalidOwner represents a OwnableInvalidOwner error raised by the DstackKms contract.
type DstackKmsOwnableInvalidOwner struct {
	Owner common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OwnableInvalidOwner(address owner)
func DstackKmsOwnableInvalidOwnerErrorID() common.Hash {
	return common.HexToHash("0x1e4fbdf7f3ef8bcaa855599e3abf48b232380f183f08f6f813d9ffa5bd585188")
}

// UnpackOwnableInvalidOwnerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OwnableInvalidOwner(address owner)
func (dstackKms *DstackKms) UnpackOwnableInvalidOwnerError(raw []byte) (*DstackKmsOwnableInvalidOwner, error) {
	out := new(DstackKmsOwnableInvalidOwner)
	if err := dstackKms.abi.UnpackIntoInterface(out, "OwnableInvalidOwner", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackKmsOwnableUnauthorizedAccount represents a OwnableUnauthorizedAccount error raised by the DstackKms contract.
type DstackKmsOwnableUnauthorizedAccount struct {
	Account common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OwnableUnauthorizedAccount(address account)
func DstackKmsOwnableUnauthorizedAccountErrorID() common.Hash {
	return common.HexToHash("0x118cdaa7a341953d1887a2245fd6665d741c67c8c50581daa59e1d03373fa188")
}

// UnpackOwnableUnauthorizedAccountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OwnableUnauthorizedAccount(address account)
func (dstackKms *DstackKms) UnpackOwnableUnauthorizedAccountError(raw []byte) (*DstackKmsOwnableUnauthorizedAccount, error) {
	out := new(DstackKmsOwnableUnauthorizedAccount)
	if err := dstackKms.abi.UnpackIntoInterface(out, "OwnableUnauthorizedAccount", raw); err != nil {
		return nil, err
	}
	return out, nil
}
