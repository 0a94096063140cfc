// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package testcontracts

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
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"initialOwner\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"OwnableInvalidOwner\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"OwnableUnauthorizedAccount\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bytes\",\"name\":\"k256Pubkey\",\"type\":\"bytes\"}],\"name\":\"KmsInfoSet\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferred\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"kmsInfo\",\"outputs\":[{\"internalType\":\"bytes\",\"name\":\"k256Pubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"caPubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"quote\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"eventlog\",\"type\":\"bytes\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes\",\"name\":\"k256Pubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"caPubkey\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"quote\",\"type\":\"bytes\"},{\"internalType\":\"bytes\",\"name\":\"eventlog\",\"type\":\"bytes\"}],\"internalType\":\"structDstackKms.KmsInfo\",\"name\":\"info\",\"type\":\"tuple\"}],\"name\":\"setKmsInfo\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "DstackKms",
	Bin: "0x6080604052348015600e575f5ffd5b50604051610812380380610812833981016040819052602b9160a4565b6001600160a01b038116605757604051631e4fbdf760e01b81525f600482015260240160405180910390fd5b600480546001600160a01b0319166001600160a01b0383169081179091556040515f907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0908290a35060cf565b5f6020828403121560b3575f5ffd5b81516001600160a01b038116811460c8575f5ffd5b9392505050565b610736806100dc5f395ff3fe608060405234801561000f575f5ffd5b506004361061003f575f3560e01c806309177063146100435780637d025352146100645780638da5cb5b14610079575b5f5ffd5b61004b610094565b60405161005b94939291906103b6565b60405180910390f35b6100776100723660046104d5565b6102c7565b005b6004546040516001600160a01b03909116815260200161005b565b5f805481906100a2906105c2565b80601f01602080910402602001604051908101604052809291908181526020018280546100ce906105c2565b80156101195780601f106100f057610100808354040283529160200191610119565b820191905f5260205f20905b8154815290600101906020018083116100fc57829003601f168201915b50505050509080600101805461012e906105c2565b80601f016020809104026020016040519081016040528092919081815260200182805461015a906105c2565b80156101a55780601f1061017c576101008083540402835291602001916101a5565b820191905f5260205f20905b81548152906001019060200180831161018857829003601f168201915b5050505050908060020180546101ba906105c2565b80601f01602080910402602001604051908101604052809291908181526020018280546101e6906105c2565b80156102315780601f1061020857610100808354040283529160200191610231565b820191905f5260205f20905b81548152906001019060200180831161021457829003601f168201915b505050505090806003018054610246906105c2565b80601f0160208091040260200160405190810160405280929190818152602001828054610272906105c2565b80156102bd5780601f10610294576101008083540402835291602001916102bd565b820191905f5260205f20905b8154815290600101906020018083116102a057829003601f168201915b5050505050905084565b6004546001600160a01b031633146102f85760405163118cdaa760e01b815233600482015260240160405180910390fd5b805181905f90819061030a9082610651565b506020820151600182019061031f9082610651565b50604082015160028201906103349082610651565b50606082015160038201906103499082610651565b505081516040517f77cdad119a452bbd96c45635758fc4af8a6bde3deaccf3fada634ddf9a162706925061037d9190610710565b60405180910390a150565b5f81518084528060208401602086015e5f602082860101526020601f19601f83011685010191505092915050565b608081525f6103c86080830187610388565b82810360208401526103da8187610388565b905082810360408401526103ee8186610388565b905082810360608401526104028185610388565b979650505050505050565b634e487b7160e01b5f52604160045260245ffd5b6040516080810167ffffffffffffffff811182821017156104445761044461040d565b60405290565b5f82601f830112610459575f5ffd5b813567ffffffffffffffff8111156104735761047361040d565b604051601f8201601f19908116603f0116810167ffffffffffffffff811182821017156104a2576104a261040d565b6040528181528382016020018510156104b9575f5ffd5b816020850160208301375f918101602001919091529392505050565b5f602082840312156104e5575f5ffd5b813567ffffffffffffffff8111156104fb575f5ffd5b82016080818503121561050c575f5ffd5b610514610421565b813567ffffffffffffffff81111561052a575f5ffd5b6105368682850161044a565b825250602082013567ffffffffffffffff811115610552575f5ffd5b61055e8682850161044a565b602083015250604082013567ffffffffffffffff81111561057d575f5ffd5b6105898682850161044a565b604083015250606082013567ffffffffffffffff8111156105a8575f5ffd5b6105b48682850161044a565b606083015250949350505050565b600181811c908216806105d657607f821691505b6020821081036105f457634e487b7160e01b5f52602260045260245ffd5b50919050565b601f82111561064c578282111561064c57805f5260205f20601f840160051c602085101561062557505f5b90810190601f840160051c035f5b81811015610648575f83820155600101610633565b5050505b505050565b815167ffffffffffffffff81111561066b5761066b61040d565b61067f8161067984546105c2565b846105fa565b6020601f8211600181146106b1575f831561069a5750848201515b5f19600385901b1c1916600184901b178455610709565b5f84815260208120601f198516915b828110156106e057878501518255602094850194600190920191016106c0565b50848210156106fd57868401515f19600387901b60f8161c191681555b505060018360011b0184555b5050505050565b602081525f6107226020830184610388565b939250505056fea164736f6c6343000825000a",
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

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address initialOwner) returns()
func (dstackKms *DstackKms) PackConstructor(initialOwner common.Address) []byte {
	enc, err := dstackKms.abi.Pack("", initialOwner)
	if err != nil {
		panic(err)
	}
	return enc
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
