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

// IAppAuthAppBootInfo is an auto generated low-level Go binding around an user-defined struct.
type IAppAuthAppBootInfo struct {
	AppId        common.Address
	ComposeHash  [32]byte
	InstanceId   common.Address
	DeviceId     [32]byte
	MrAggregated [32]byte
	MrSystem     [32]byte
	OsImageHash  [32]byte
	TcbStatus    string
	AdvisoryIds  []string
}

// DstackAppMetaData contains all meta data concerning the DstackApp contract.
var DstackAppMetaData = bind.MetaData{
	ABI: "[{\"name\":\"initialize\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"address\",\"name\":\"initialOwner\"},{\"type\":\"bool\",\"name\":\"_disableUpgrades\"},{\"type\":\"bool\",\"name\":\"_allowAnyDevice\"},{\"type\":\"bytes32\",\"name\":\"initialDeviceId\"},{\"type\":\"bytes32\",\"name\":\"initialComposeHash\"}],\"outputs\":[]},{\"name\":\"initialize\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"address\",\"name\":\"initialOwner\"},{\"type\":\"bool\",\"name\":\"_disableUpgrades\"},{\"type\":\"bool\",\"name\":\"_requireTcbUpToDate\"},{\"type\":\"bool\",\"name\":\"_allowAnyDevice\"},{\"type\":\"bytes32\",\"name\":\"initialDeviceId\"},{\"type\":\"bytes32\",\"name\":\"initialComposeHash\"}],\"outputs\":[]},{\"name\":\"version\",\"type\":\"function\",\"stateMutability\":\"pure\",\"inputs\":[],\"outputs\":[{\"type\":\"uint256\"}]},{\"name\":\"supportsInterface\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[{\"type\":\"bytes4\",\"name\":\"interfaceId\"}],\"outputs\":[{\"type\":\"bool\"}]},{\"name\":\"allowedComposeHashes\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[{\"type\":\"bytes32\"}],\"outputs\":[{\"type\":\"bool\"}]},{\"name\":\"allowAnyDevice\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"type\":\"bool\"}]},{\"name\":\"allowedDeviceIds\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[{\"type\":\"bytes32\"}],\"outputs\":[{\"type\":\"bool\"}]},{\"name\":\"requireTcbUpToDate\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"type\":\"bool\"}]},{\"name\":\"addComposeHash\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"composeHash\"}],\"outputs\":[]},{\"name\":\"removeComposeHash\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"composeHash\"}],\"outputs\":[]},{\"name\":\"setAllowAnyDevice\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"bool\",\"name\":\"_allowAnyDevice\"}],\"outputs\":[]},{\"name\":\"setRequireTcbUpToDate\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"bool\",\"name\":\"_requireUpToDate\"}],\"outputs\":[]},{\"name\":\"addDevice\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"deviceId\"}],\"outputs\":[]},{\"name\":\"removeDevice\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"deviceId\"}],\"outputs\":[]},{\"name\":\"isAppAllowed\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[{\"type\":\"tuple\",\"name\":\"bootInfo\",\"components\":[{\"type\":\"address\",\"name\":\"appId\"},{\"type\":\"bytes32\",\"name\":\"composeHash\"},{\"type\":\"address\",\"name\":\"instanceId\"},{\"type\":\"bytes32\",\"name\":\"deviceId\"},{\"type\":\"bytes32\",\"name\":\"mrAggregated\"},{\"type\":\"bytes32\",\"name\":\"mrSystem\"},{\"type\":\"bytes32\",\"name\":\"osImageHash\"},{\"type\":\"string\",\"name\":\"tcbStatus\"},{\"type\":\"string[]\",\"name\":\"advisoryIds\"}],\"internalType\":\"structIAppAuth.AppBootInfo\"}],\"outputs\":[{\"type\":\"bool\",\"name\":\"isAllowed\"},{\"type\":\"string\",\"name\":\"reason\"}]},{\"name\":\"disableUpgrades\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[],\"outputs\":[]},{\"name\":\"owner\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"type\":\"address\"}]},{\"name\":\"pendingOwner\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"type\":\"address\"}]},{\"name\":\"transferOwnership\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[{\"type\":\"address\",\"name\":\"newOwner\"}],\"outputs\":[]},{\"name\":\"acceptOwnership\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[],\"outputs\":[]},{\"name\":\"renounceOwnership\",\"type\":\"function\",\"stateMutability\":\"nonpayable\",\"inputs\":[],\"outputs\":[]},{\"name\":\"proxiableUUID\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"type\":\"bytes32\"}]},{\"name\":\"upgradeToAndCall\",\"type\":\"function\",\"stateMutability\":\"payable\",\"inputs\":[{\"type\":\"address\",\"name\":\"newImplementation\"},{\"type\":\"bytes\",\"name\":\"data\"}],\"outputs\":[]},{\"name\":\"UPGRADE_INTERFACE_VERSION\",\"type\":\"function\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"type\":\"string\"}]},{\"name\":\"ComposeHashAdded\",\"type\":\"event\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"composeHash\"}]},{\"name\":\"ComposeHashRemoved\",\"type\":\"event\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"composeHash\"}]},{\"name\":\"DeviceAdded\",\"type\":\"event\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"deviceId\"}]},{\"name\":\"DeviceRemoved\",\"type\":\"event\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"deviceId\"}]},{\"name\":\"UpgradesDisabled\",\"type\":\"event\",\"inputs\":[]},{\"name\":\"AllowAnyDeviceSet\",\"type\":\"event\",\"inputs\":[{\"type\":\"bool\",\"name\":\"allowAny\"}]},{\"name\":\"RequireTcbUpToDateSet\",\"type\":\"event\",\"inputs\":[{\"type\":\"bool\",\"name\":\"requireUpToDate\"}]},{\"name\":\"PolicyChanged\",\"type\":\"event\",\"inputs\":[{\"type\":\"address\",\"name\":\"actor\",\"indexed\":true},{\"type\":\"bytes32\",\"name\":\"policy\",\"indexed\":true},{\"type\":\"bytes32\",\"name\":\"value\",\"indexed\":true},{\"type\":\"bool\",\"name\":\"enabled\"}]},{\"name\":\"OwnershipTransferred\",\"type\":\"event\",\"inputs\":[{\"type\":\"address\",\"name\":\"previousOwner\",\"indexed\":true},{\"type\":\"address\",\"name\":\"newOwner\",\"indexed\":true}]},{\"name\":\"OwnershipTransferStarted\",\"type\":\"event\",\"inputs\":[{\"type\":\"address\",\"name\":\"previousOwner\",\"indexed\":true},{\"type\":\"address\",\"name\":\"newOwner\",\"indexed\":true}]},{\"name\":\"Initialized\",\"type\":\"event\",\"inputs\":[{\"type\":\"uint64\",\"name\":\"version\"}]},{\"name\":\"Upgraded\",\"type\":\"event\",\"inputs\":[{\"type\":\"address\",\"name\":\"implementation\",\"indexed\":true}]},{\"name\":\"OwnableUnauthorizedAccount\",\"type\":\"error\",\"inputs\":[{\"type\":\"address\",\"name\":\"account\"}]},{\"name\":\"OwnableInvalidOwner\",\"type\":\"error\",\"inputs\":[{\"type\":\"address\",\"name\":\"owner\"}]},{\"name\":\"InvalidInitialization\",\"type\":\"error\",\"inputs\":[]},{\"name\":\"NotInitializing\",\"type\":\"error\",\"inputs\":[]},{\"name\":\"UUPSUnauthorizedCallContext\",\"type\":\"error\",\"inputs\":[]},{\"name\":\"UUPSUnsupportedProxiableUUID\",\"type\":\"error\",\"inputs\":[{\"type\":\"bytes32\",\"name\":\"slot\"}]},{\"name\":\"ERC1967InvalidImplementation\",\"type\":\"error\",\"inputs\":[{\"type\":\"address\",\"name\":\"implementation\"}]},{\"name\":\"ERC1967NonPayable\",\"type\":\"error\",\"inputs\":[]},{\"name\":\"AddressEmptyCode\",\"type\":\"error\",\"inputs\":[{\"type\":\"address\",\"name\":\"target\"}]},{\"name\":\"FailedCall\",\"type\":\"error\",\"inputs\":[]}]",
	ID:  "DstackApp",
}

// DstackApp is an auto generated Go binding around an Ethereum contract.
type DstackApp struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *DstackApp) GetABI() abi.ABI {
	return c.abi
}

// NewDstackApp creates a new instance of DstackApp.
func NewDstackApp() *DstackApp {
	parsed, err := DstackAppMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &DstackApp{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *DstackApp) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackUPGRADEINTERFACEVERSION is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xad3cb1cc.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function UPGRADE_INTERFACE_VERSION() view returns(string)
func (dstackApp *DstackApp) PackUPGRADEINTERFACEVERSION() []byte {
	enc, err := dstackApp.abi.Pack("UPGRADE_INTERFACE_VERSION")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackUPGRADEINTERFACEVERSION is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xad3cb1cc.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function UPGRADE_INTERFACE_VERSION() view returns(string)
func (dstackApp *DstackApp) TryPackUPGRADEINTERFACEVERSION() ([]byte, error) {
	return dstackApp.abi.Pack("UPGRADE_INTERFACE_VERSION")
}

// UnpackUPGRADEINTERFACEVERSION is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xad3cb1cc.
//
// Solidity: function UPGRADE_INTERFACE_VERSION() view returns(string)
func (dstackApp *DstackApp) UnpackUPGRADEINTERFACEVERSION(data []byte) (string, error) {
	out, err := dstackApp.abi.Unpack("UPGRADE_INTERFACE_VERSION", data)
	if err != nil {
		return *new(string), err
	}
	out0 := *abi.ConvertType(out[0], new(string)).(*string)
	return out0, nil
}

// PackAcceptOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ba5097.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function acceptOwnership() returns()
func (dstackApp *DstackApp) PackAcceptOwnership() []byte {
	enc, err := dstackApp.abi.Pack("acceptOwnership")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAcceptOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ba5097.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function acceptOwnership() returns()
func (dstackApp *DstackApp) TryPackAcceptOwnership() ([]byte, error) {
	return dstackApp.abi.Pack("acceptOwnership")
}

// PackAddComposeHash is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdfc77223.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function addComposeHash(bytes32 composeHash) returns()
func (dstackApp *DstackApp) PackAddComposeHash(composeHash [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("addComposeHash", composeHash)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAddComposeHash is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdfc77223.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function addComposeHash(bytes32 composeHash) returns()
func (dstackApp *DstackApp) TryPackAddComposeHash(composeHash [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("addComposeHash", composeHash)
}

// PackAddDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2a819728.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function addDevice(bytes32 deviceId) returns()
func (dstackApp *DstackApp) PackAddDevice(deviceId [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("addDevice", deviceId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAddDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2a819728.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function addDevice(bytes32 deviceId) returns()
func (dstackApp *DstackApp) TryPackAddDevice(deviceId [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("addDevice", deviceId)
}

// PackAllowAnyDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3440a16a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function allowAnyDevice() view returns(bool)
func (dstackApp *DstackApp) PackAllowAnyDevice() []byte {
	enc, err := dstackApp.abi.Pack("allowAnyDevice")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAllowAnyDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3440a16a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function allowAnyDevice() view returns(bool)
func (dstackApp *DstackApp) TryPackAllowAnyDevice() ([]byte, error) {
	return dstackApp.abi.Pack("allowAnyDevice")
}

// UnpackAllowAnyDevice is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x3440a16a.
//
// Solidity: function allowAnyDevice() view returns(bool)
func (dstackApp *DstackApp) UnpackAllowAnyDevice(data []byte) (bool, error) {
	out, err := dstackApp.abi.Unpack("allowAnyDevice", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackAllowedComposeHashes is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2f6622e5.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function allowedComposeHashes(bytes32 ) view returns(bool)
func (dstackApp *DstackApp) PackAllowedComposeHashes(arg0 [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("allowedComposeHashes", arg0)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAllowedComposeHashes is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2f6622e5.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function allowedComposeHashes(bytes32 ) view returns(bool)
func (dstackApp *DstackApp) TryPackAllowedComposeHashes(arg0 [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("allowedComposeHashes", arg0)
}

// UnpackAllowedComposeHashes is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2f6622e5.
//
// Solidity: function allowedComposeHashes(bytes32 ) view returns(bool)
func (dstackApp *DstackApp) UnpackAllowedComposeHashes(data []byte) (bool, error) {
	out, err := dstackApp.abi.Unpack("allowedComposeHashes", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackAllowedDeviceIds is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbf8b211b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function allowedDeviceIds(bytes32 ) view returns(bool)
func (dstackApp *DstackApp) PackAllowedDeviceIds(arg0 [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("allowedDeviceIds", arg0)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAllowedDeviceIds is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbf8b211b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function allowedDeviceIds(bytes32 ) view returns(bool)
func (dstackApp *DstackApp) TryPackAllowedDeviceIds(arg0 [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("allowedDeviceIds", arg0)
}

// UnpackAllowedDeviceIds is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xbf8b211b.
//
// Solidity: function allowedDeviceIds(bytes32 ) view returns(bool)
func (dstackApp *DstackApp) UnpackAllowedDeviceIds(data []byte) (bool, error) {
	out, err := dstackApp.abi.Unpack("allowedDeviceIds", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackDisableUpgrades is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xec669036.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function disableUpgrades() returns()
func (dstackApp *DstackApp) PackDisableUpgrades() []byte {
	enc, err := dstackApp.abi.Pack("disableUpgrades")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDisableUpgrades is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xec669036.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function disableUpgrades() returns()
func (dstackApp *DstackApp) TryPackDisableUpgrades() ([]byte, error) {
	return dstackApp.abi.Pack("disableUpgrades")
}

// PackInitialize is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x187515ca.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function initialize(address initialOwner, bool _disableUpgrades, bool _allowAnyDevice, bytes32 initialDeviceId, bytes32 initialComposeHash) returns()
func (dstackApp *DstackApp) PackInitialize(initialOwner common.Address, disableUpgrades bool, allowAnyDevice bool, initialDeviceId [32]byte, initialComposeHash [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("initialize", initialOwner, disableUpgrades, allowAnyDevice, initialDeviceId, initialComposeHash)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackInitialize is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x187515ca.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function initialize(address initialOwner, bool _disableUpgrades, bool _allowAnyDevice, bytes32 initialDeviceId, bytes32 initialComposeHash) returns()
func (dstackApp *DstackApp) TryPackInitialize(initialOwner common.Address, disableUpgrades bool, allowAnyDevice bool, initialDeviceId [32]byte, initialComposeHash [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("initialize", initialOwner, disableUpgrades, allowAnyDevice, initialDeviceId, initialComposeHash)
}

// PackInitialize0 is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9ed28193.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function initialize(address initialOwner, bool _disableUpgrades, bool _requireTcbUpToDate, bool _allowAnyDevice, bytes32 initialDeviceId, bytes32 initialComposeHash) returns()
func (dstackApp *DstackApp) PackInitialize0(initialOwner common.Address, disableUpgrades bool, requireTcbUpToDate bool, allowAnyDevice bool, initialDeviceId [32]byte, initialComposeHash [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("initialize0", initialOwner, disableUpgrades, requireTcbUpToDate, allowAnyDevice, initialDeviceId, initialComposeHash)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackInitialize0 is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9ed28193.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function initialize(address initialOwner, bool _disableUpgrades, bool _requireTcbUpToDate, bool _allowAnyDevice, bytes32 initialDeviceId, bytes32 initialComposeHash) returns()
func (dstackApp *DstackApp) TryPackInitialize0(initialOwner common.Address, disableUpgrades bool, requireTcbUpToDate bool, allowAnyDevice bool, initialDeviceId [32]byte, initialComposeHash [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("initialize0", initialOwner, disableUpgrades, requireTcbUpToDate, allowAnyDevice, initialDeviceId, initialComposeHash)
}

// PackIsAppAllowed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1e079198.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]) bootInfo) view returns(bool isAllowed, string reason)
func (dstackApp *DstackApp) PackIsAppAllowed(bootInfo IAppAuthAppBootInfo) []byte {
	enc, err := dstackApp.abi.Pack("isAppAllowed", bootInfo)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackIsAppAllowed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1e079198.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]) bootInfo) view returns(bool isAllowed, string reason)
func (dstackApp *DstackApp) TryPackIsAppAllowed(bootInfo IAppAuthAppBootInfo) ([]byte, error) {
	return dstackApp.abi.Pack("isAppAllowed", bootInfo)
}

// IsAppAllowedOutput serves as a container for the return parameters of contract
// method IsAppAllowed.
type IsAppAllowedOutput struct {
	IsAllowed bool
	Reason    string
}

// UnpackIsAppAllowed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x1e079198.
//
// Solidity: function isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]) bootInfo) view returns(bool isAllowed, string reason)
func (dstackApp *DstackApp) UnpackIsAppAllowed(data []byte) (IsAppAllowedOutput, error) {
	out, err := dstackApp.abi.Unpack("isAppAllowed", data)
	outstruct := new(IsAppAllowedOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.IsAllowed = *abi.ConvertType(out[0], new(bool)).(*bool)
	outstruct.Reason = *abi.ConvertType(out[1], new(string)).(*string)
	return *outstruct, nil
}

// PackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function owner() view returns(address)
func (dstackApp *DstackApp) PackOwner() []byte {
	enc, err := dstackApp.abi.Pack("owner")
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
func (dstackApp *DstackApp) TryPackOwner() ([]byte, error) {
	return dstackApp.abi.Pack("owner")
}

// UnpackOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (dstackApp *DstackApp) UnpackOwner(data []byte) (common.Address, error) {
	out, err := dstackApp.abi.Unpack("owner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackPendingOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe30c3978.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function pendingOwner() view returns(address)
func (dstackApp *DstackApp) PackPendingOwner() []byte {
	enc, err := dstackApp.abi.Pack("pendingOwner")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPendingOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe30c3978.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function pendingOwner() view returns(address)
func (dstackApp *DstackApp) TryPackPendingOwner() ([]byte, error) {
	return dstackApp.abi.Pack("pendingOwner")
}

// UnpackPendingOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xe30c3978.
//
// Solidity: function pendingOwner() view returns(address)
func (dstackApp *DstackApp) UnpackPendingOwner(data []byte) (common.Address, error) {
	out, err := dstackApp.abi.Unpack("pendingOwner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackProxiableUUID is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x52d1902d.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function proxiableUUID() view returns(bytes32)
func (dstackApp *DstackApp) PackProxiableUUID() []byte {
	enc, err := dstackApp.abi.Pack("proxiableUUID")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackProxiableUUID is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x52d1902d.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function proxiableUUID() view returns(bytes32)
func (dstackApp *DstackApp) TryPackProxiableUUID() ([]byte, error) {
	return dstackApp.abi.Pack("proxiableUUID")
}

// UnpackProxiableUUID is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x52d1902d.
//
// Solidity: function proxiableUUID() view returns(bytes32)
func (dstackApp *DstackApp) UnpackProxiableUUID(data []byte) ([32]byte, error) {
	out, err := dstackApp.abi.Unpack("proxiableUUID", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackRemoveComposeHash is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x67b3f22c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function removeComposeHash(bytes32 composeHash) returns()
func (dstackApp *DstackApp) PackRemoveComposeHash(composeHash [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("removeComposeHash", composeHash)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRemoveComposeHash is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x67b3f22c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function removeComposeHash(bytes32 composeHash) returns()
func (dstackApp *DstackApp) TryPackRemoveComposeHash(composeHash [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("removeComposeHash", composeHash)
}

// PackRemoveDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1d266200.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function removeDevice(bytes32 deviceId) returns()
func (dstackApp *DstackApp) PackRemoveDevice(deviceId [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("removeDevice", deviceId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRemoveDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1d266200.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function removeDevice(bytes32 deviceId) returns()
func (dstackApp *DstackApp) TryPackRemoveDevice(deviceId [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("removeDevice", deviceId)
}

// PackRenounceOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x715018a6.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function renounceOwnership() returns()
func (dstackApp *DstackApp) PackRenounceOwnership() []byte {
	enc, err := dstackApp.abi.Pack("renounceOwnership")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRenounceOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x715018a6.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function renounceOwnership() returns()
func (dstackApp *DstackApp) TryPackRenounceOwnership() ([]byte, error) {
	return dstackApp.abi.Pack("renounceOwnership")
}

// PackRequireTcbUpToDate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x0aa58c83.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function requireTcbUpToDate() view returns(bool)
func (dstackApp *DstackApp) PackRequireTcbUpToDate() []byte {
	enc, err := dstackApp.abi.Pack("requireTcbUpToDate")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRequireTcbUpToDate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x0aa58c83.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function requireTcbUpToDate() view returns(bool)
func (dstackApp *DstackApp) TryPackRequireTcbUpToDate() ([]byte, error) {
	return dstackApp.abi.Pack("requireTcbUpToDate")
}

// UnpackRequireTcbUpToDate is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x0aa58c83.
//
// Solidity: function requireTcbUpToDate() view returns(bool)
func (dstackApp *DstackApp) UnpackRequireTcbUpToDate(data []byte) (bool, error) {
	out, err := dstackApp.abi.Unpack("requireTcbUpToDate", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackSetAllowAnyDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7c4beeb8.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setAllowAnyDevice(bool _allowAnyDevice) returns()
func (dstackApp *DstackApp) PackSetAllowAnyDevice(allowAnyDevice bool) []byte {
	enc, err := dstackApp.abi.Pack("setAllowAnyDevice", allowAnyDevice)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetAllowAnyDevice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7c4beeb8.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setAllowAnyDevice(bool _allowAnyDevice) returns()
func (dstackApp *DstackApp) TryPackSetAllowAnyDevice(allowAnyDevice bool) ([]byte, error) {
	return dstackApp.abi.Pack("setAllowAnyDevice", allowAnyDevice)
}

// PackSetRequireTcbUpToDate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6e4c7422.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setRequireTcbUpToDate(bool _requireUpToDate) returns()
func (dstackApp *DstackApp) PackSetRequireTcbUpToDate(requireUpToDate bool) []byte {
	enc, err := dstackApp.abi.Pack("setRequireTcbUpToDate", requireUpToDate)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetRequireTcbUpToDate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6e4c7422.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setRequireTcbUpToDate(bool _requireUpToDate) returns()
func (dstackApp *DstackApp) TryPackSetRequireTcbUpToDate(requireUpToDate bool) ([]byte, error) {
	return dstackApp.abi.Pack("setRequireTcbUpToDate", requireUpToDate)
}

// PackSupportsInterface is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01ffc9a7.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function supportsInterface(bytes4 interfaceId) view returns(bool)
func (dstackApp *DstackApp) PackSupportsInterface(interfaceId [4]byte) []byte {
	enc, err := dstackApp.abi.Pack("supportsInterface", interfaceId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSupportsInterface is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x01ffc9a7.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function supportsInterface(bytes4 interfaceId) view returns(bool)
func (dstackApp *DstackApp) TryPackSupportsInterface(interfaceId [4]byte) ([]byte, error) {
	return dstackApp.abi.Pack("supportsInterface", interfaceId)
}

// UnpackSupportsInterface is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x01ffc9a7.
//
// Solidity: function supportsInterface(bytes4 interfaceId) view returns(bool)
func (dstackApp *DstackApp) UnpackSupportsInterface(data []byte) (bool, error) {
	out, err := dstackApp.abi.Unpack("supportsInterface", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackTransferOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf2fde38b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (dstackApp *DstackApp) PackTransferOwnership(newOwner common.Address) []byte {
	enc, err := dstackApp.abi.Pack("transferOwnership", newOwner)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransferOwnership is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf2fde38b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (dstackApp *DstackApp) TryPackTransferOwnership(newOwner common.Address) ([]byte, error) {
	return dstackApp.abi.Pack("transferOwnership", newOwner)
}

// PackUpgradeToAndCall is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4f1ef286.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function upgradeToAndCall(address newImplementation, bytes data) payable returns()
func (dstackApp *DstackApp) PackUpgradeToAndCall(newImplementation common.Address, data []byte) []byte {
	enc, err := dstackApp.abi.Pack("upgradeToAndCall", newImplementation, data)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackUpgradeToAndCall is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4f1ef286.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function upgradeToAndCall(address newImplementation, bytes data) payable returns()
func (dstackApp *DstackApp) TryPackUpgradeToAndCall(newImplementation common.Address, data []byte) ([]byte, error) {
	return dstackApp.abi.Pack("upgradeToAndCall", newImplementation, data)
}

// PackVersion is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x54fd4d50.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function version() pure returns(uint256)
func (dstackApp *DstackApp) PackVersion() []byte {
	enc, err := dstackApp.abi.Pack("version")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVersion is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x54fd4d50.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function version() pure returns(uint256)
func (dstackApp *DstackApp) TryPackVersion() ([]byte, error) {
	return dstackApp.abi.Pack("version")
}

// UnpackVersion is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x54fd4d50.
//
// Solidity: function version() pure returns(uint256)
func (dstackApp *DstackApp) UnpackVersion(data []byte) (*big.Int, error) {
	out, err := dstackApp.abi.Unpack("version", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// DstackAppAllowAnyDeviceSet represents a AllowAnyDeviceSet event raised by the DstackApp contract.
type DstackAppAllowAnyDeviceSet struct {
	AllowAny bool
	Raw      *types.Log // Blockchain specific contextual infos
}

const DstackAppAllowAnyDeviceSetEventName = "AllowAnyDeviceSet"

// ContractEventName returns the user-defined event name.
func (DstackAppAllowAnyDeviceSet) ContractEventName() string {
	return DstackAppAllowAnyDeviceSetEventName
}

// UnpackAllowAnyDeviceSetEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event AllowAnyDeviceSet(bool allowAny)
func (dstackApp *DstackApp) UnpackAllowAnyDeviceSetEvent(log *types.Log) (*DstackAppAllowAnyDeviceSet, error) {
	event := "AllowAnyDeviceSet"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppAllowAnyDeviceSet)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppComposeHashAdded represents a ComposeHashAdded event raised by the DstackApp contract.
type DstackAppComposeHashAdded struct {
	ComposeHash [32]byte
	Raw         *types.Log // Blockchain specific contextual infos
}

const DstackAppComposeHashAddedEventName = "ComposeHashAdded"

// ContractEventName returns the user-defined event name.
func (DstackAppComposeHashAdded) ContractEventName() string {
	return DstackAppComposeHashAddedEventName
}

// UnpackComposeHashAddedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event ComposeHashAdded(bytes32 composeHash)
func (dstackApp *DstackApp) UnpackComposeHashAddedEvent(log *types.Log) (*DstackAppComposeHashAdded, error) {
	event := "ComposeHashAdded"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppComposeHashAdded)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppComposeHashRemoved represents a ComposeHashRemoved event raised by the DstackApp contract.
type DstackAppComposeHashRemoved struct {
	ComposeHash [32]byte
	Raw         *types.Log // Blockchain specific contextual infos
}

const DstackAppComposeHashRemovedEventName = "ComposeHashRemoved"

// ContractEventName returns the user-defined event name.
func (DstackAppComposeHashRemoved) ContractEventName() string {
	return DstackAppComposeHashRemovedEventName
}

// UnpackComposeHashRemovedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event ComposeHashRemoved(bytes32 composeHash)
func (dstackApp *DstackApp) UnpackComposeHashRemovedEvent(log *types.Log) (*DstackAppComposeHashRemoved, error) {
	event := "ComposeHashRemoved"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppComposeHashRemoved)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppDeviceAdded represents a DeviceAdded event raised by the DstackApp contract.
type DstackAppDeviceAdded struct {
	DeviceId [32]byte
	Raw      *types.Log // Blockchain specific contextual infos
}

const DstackAppDeviceAddedEventName = "DeviceAdded"

// ContractEventName returns the user-defined event name.
func (DstackAppDeviceAdded) ContractEventName() string {
	return DstackAppDeviceAddedEventName
}

// UnpackDeviceAddedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event DeviceAdded(bytes32 deviceId)
func (dstackApp *DstackApp) UnpackDeviceAddedEvent(log *types.Log) (*DstackAppDeviceAdded, error) {
	event := "DeviceAdded"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppDeviceAdded)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppDeviceRemoved represents a DeviceRemoved event raised by the DstackApp contract.
type DstackAppDeviceRemoved struct {
	DeviceId [32]byte
	Raw      *types.Log // Blockchain specific contextual infos
}

const DstackAppDeviceRemovedEventName = "DeviceRemoved"

// ContractEventName returns the user-defined event name.
func (DstackAppDeviceRemoved) ContractEventName() string {
	return DstackAppDeviceRemovedEventName
}

// UnpackDeviceRemovedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event DeviceRemoved(bytes32 deviceId)
func (dstackApp *DstackApp) UnpackDeviceRemovedEvent(log *types.Log) (*DstackAppDeviceRemoved, error) {
	event := "DeviceRemoved"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppDeviceRemoved)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppInitialized represents a Initialized event raised by the DstackApp contract.
type DstackAppInitialized struct {
	Version uint64
	Raw     *types.Log // Blockchain specific contextual infos
}

const DstackAppInitializedEventName = "Initialized"

// ContractEventName returns the user-defined event name.
func (DstackAppInitialized) ContractEventName() string {
	return DstackAppInitializedEventName
}

// UnpackInitializedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Initialized(uint64 version)
func (dstackApp *DstackApp) UnpackInitializedEvent(log *types.Log) (*DstackAppInitialized, error) {
	event := "Initialized"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppInitialized)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppOwnershipTransferStarted represents a OwnershipTransferStarted event raised by the DstackApp contract.
type DstackAppOwnershipTransferStarted struct {
	PreviousOwner common.Address
	NewOwner      common.Address
	Raw           *types.Log // Blockchain specific contextual infos
}

const DstackAppOwnershipTransferStartedEventName = "OwnershipTransferStarted"

// ContractEventName returns the user-defined event name.
func (DstackAppOwnershipTransferStarted) ContractEventName() string {
	return DstackAppOwnershipTransferStartedEventName
}

// UnpackOwnershipTransferStartedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner)
func (dstackApp *DstackApp) UnpackOwnershipTransferStartedEvent(log *types.Log) (*DstackAppOwnershipTransferStarted, error) {
	event := "OwnershipTransferStarted"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppOwnershipTransferStarted)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppOwnershipTransferred represents a OwnershipTransferred event raised by the DstackApp contract.
type DstackAppOwnershipTransferred struct {
	PreviousOwner common.Address
	NewOwner      common.Address
	Raw           *types.Log // Blockchain specific contextual infos
}

const DstackAppOwnershipTransferredEventName = "OwnershipTransferred"

// ContractEventName returns the user-defined event name.
func (DstackAppOwnershipTransferred) ContractEventName() string {
	return DstackAppOwnershipTransferredEventName
}

// UnpackOwnershipTransferredEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)
func (dstackApp *DstackApp) UnpackOwnershipTransferredEvent(log *types.Log) (*DstackAppOwnershipTransferred, error) {
	event := "OwnershipTransferred"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppOwnershipTransferred)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppPolicyChanged represents a PolicyChanged event raised by the DstackApp contract.
type DstackAppPolicyChanged struct {
	Actor   common.Address
	Policy  [32]byte
	Value   [32]byte
	Enabled bool
	Raw     *types.Log // Blockchain specific contextual infos
}

const DstackAppPolicyChangedEventName = "PolicyChanged"

// ContractEventName returns the user-defined event name.
func (DstackAppPolicyChanged) ContractEventName() string {
	return DstackAppPolicyChangedEventName
}

// UnpackPolicyChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled)
func (dstackApp *DstackApp) UnpackPolicyChangedEvent(log *types.Log) (*DstackAppPolicyChanged, error) {
	event := "PolicyChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppPolicyChanged)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppRequireTcbUpToDateSet represents a RequireTcbUpToDateSet event raised by the DstackApp contract.
type DstackAppRequireTcbUpToDateSet struct {
	RequireUpToDate bool
	Raw             *types.Log // Blockchain specific contextual infos
}

const DstackAppRequireTcbUpToDateSetEventName = "RequireTcbUpToDateSet"

// ContractEventName returns the user-defined event name.
func (DstackAppRequireTcbUpToDateSet) ContractEventName() string {
	return DstackAppRequireTcbUpToDateSetEventName
}

// UnpackRequireTcbUpToDateSetEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event RequireTcbUpToDateSet(bool requireUpToDate)
func (dstackApp *DstackApp) UnpackRequireTcbUpToDateSetEvent(log *types.Log) (*DstackAppRequireTcbUpToDateSet, error) {
	event := "RequireTcbUpToDateSet"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppRequireTcbUpToDateSet)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppUpgraded represents a Upgraded event raised by the DstackApp contract.
type DstackAppUpgraded struct {
	Implementation common.Address
	Raw            *types.Log // Blockchain specific contextual infos
}

const DstackAppUpgradedEventName = "Upgraded"

// ContractEventName returns the user-defined event name.
func (DstackAppUpgraded) ContractEventName() string {
	return DstackAppUpgradedEventName
}

// UnpackUpgradedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Upgraded(address indexed implementation)
func (dstackApp *DstackApp) UnpackUpgradedEvent(log *types.Log) (*DstackAppUpgraded, error) {
	event := "Upgraded"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppUpgraded)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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

// DstackAppUpgradesDisabled represents a UpgradesDisabled event raised by the DstackApp contract.
type DstackAppUpgradesDisabled struct {
	Raw *types.Log // Blockchain specific contextual infos
}

const DstackAppUpgradesDisabledEventName = "UpgradesDisabled"

// ContractEventName returns the user-defined event name.
func (DstackAppUpgradesDisabled) ContractEventName() string {
	return DstackAppUpgradesDisabledEventName
}

// UnpackUpgradesDisabledEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event UpgradesDisabled()
func (dstackApp *DstackApp) UnpackUpgradesDisabledEvent(log *types.Log) (*DstackAppUpgradesDisabled, error) {
	event := "UpgradesDisabled"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != dstackApp.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DstackAppUpgradesDisabled)
	if len(log.Data) > 0 {
		if err := dstackApp.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range dstackApp.abi.Events[event].Inputs {
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
func (dstackApp *DstackApp) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["AddressEmptyCode"].ID.Bytes()[:4]) {
		return dstackApp.UnpackAddressEmptyCodeError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["ERC1967InvalidImplementation"].ID.Bytes()[:4]) {
		return dstackApp.UnpackERC1967InvalidImplementationError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["ERC1967NonPayable"].ID.Bytes()[:4]) {
		return dstackApp.UnpackERC1967NonPayableError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["FailedCall"].ID.Bytes()[:4]) {
		return dstackApp.UnpackFailedCallError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["InvalidInitialization"].ID.Bytes()[:4]) {
		return dstackApp.UnpackInvalidInitializationError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["NotInitializing"].ID.Bytes()[:4]) {
		return dstackApp.UnpackNotInitializingError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["OwnableInvalidOwner"].ID.Bytes()[:4]) {
		return dstackApp.UnpackOwnableInvalidOwnerError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["OwnableUnauthorizedAccount"].ID.Bytes()[:4]) {
		return dstackApp.UnpackOwnableUnauthorizedAccountError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["UUPSUnauthorizedCallContext"].ID.Bytes()[:4]) {
		return dstackApp.UnpackUUPSUnauthorizedCallContextError(raw[4:])
	}
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["UUPSUnsupportedProxiableUUID"].ID.Bytes()[:4]) {
		return dstackApp.UnpackUUPSUnsupportedProxiableUUIDError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// DstackAppAddressEmptyCode represents a AddressEmptyCode error raised by the DstackApp contract.
type DstackAppAddressEmptyCode struct {
	Target common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AddressEmptyCode(address target)
func DstackAppAddressEmptyCodeErrorID() common.Hash {
	return common.HexToHash("0x9996b315c842ff135b8fc4a08ad5df1c344efbc03d2687aecc0678050d2aac89")
}

// UnpackAddressEmptyCodeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AddressEmptyCode(address target)
func (dstackApp *DstackApp) UnpackAddressEmptyCodeError(raw []byte) (*DstackAppAddressEmptyCode, error) {
	out := new(DstackAppAddressEmptyCode)
	if err := dstackApp.abi.UnpackIntoInterface(out, "AddressEmptyCode", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppERC1967InvalidImplementation represents a ERC1967InvalidImplementation error raised by the DstackApp contract.
type DstackAppERC1967InvalidImplementation struct {
	Implementation common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC1967InvalidImplementation(address implementation)
func DstackAppERC1967InvalidImplementationErrorID() common.Hash {
	return common.HexToHash("0x4c9c8ce3ceb3130f17f7cdba48d89b5b0129f266a8bac114e6e315a41879b617")
}

// UnpackERC1967InvalidImplementationError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC1967InvalidImplementation(address implementation)
func (dstackApp *DstackApp) UnpackERC1967InvalidImplementationError(raw []byte) (*DstackAppERC1967InvalidImplementation, error) {
	out := new(DstackAppERC1967InvalidImplementation)
	if err := dstackApp.abi.UnpackIntoInterface(out, "ERC1967InvalidImplementation", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppERC1967NonPayable represents a ERC1967NonPayable error raised by the DstackApp contract.
type DstackAppERC1967NonPayable struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ERC1967NonPayable()
func DstackAppERC1967NonPayableErrorID() common.Hash {
	return common.HexToHash("0xb398979fa84f543c8e222f17890372c487baf85e062276c127fef521eea7224b")
}

// UnpackERC1967NonPayableError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ERC1967NonPayable()
func (dstackApp *DstackApp) UnpackERC1967NonPayableError(raw []byte) (*DstackAppERC1967NonPayable, error) {
	out := new(DstackAppERC1967NonPayable)
	if err := dstackApp.abi.UnpackIntoInterface(out, "ERC1967NonPayable", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppFailedCall represents a FailedCall error raised by the DstackApp contract.
type DstackAppFailedCall struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error FailedCall()
func DstackAppFailedCallErrorID() common.Hash {
	return common.HexToHash("0xd6bda27508c0fb6d8a39b4b122878dab26f731a7d4e4abe711dd3731899052a4")
}

// UnpackFailedCallError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error FailedCall()
func (dstackApp *DstackApp) UnpackFailedCallError(raw []byte) (*DstackAppFailedCall, error) {
	out := new(DstackAppFailedCall)
	if err := dstackApp.abi.UnpackIntoInterface(out, "FailedCall", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppInvalidInitialization represents a InvalidInitialization error raised by the DstackApp contract.
type DstackAppInvalidInitialization struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidInitialization()
func DstackAppInvalidInitializationErrorID() common.Hash {
	return common.HexToHash("0xf92ee8a957075833165f68c320933b1a1294aafc84ee6e0dd3fb178008f9aaf5")
}

// UnpackInvalidInitializationError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidInitialization()
func (dstackApp *DstackApp) UnpackInvalidInitializationError(raw []byte) (*DstackAppInvalidInitialization, error) {
	out := new(DstackAppInvalidInitialization)
	if err := dstackApp.abi.UnpackIntoInterface(out, "InvalidInitialization", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppNotInitializing represents a NotInitializing error raised by the DstackApp contract.
type DstackAppNotInitializing struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotInitializing()
func DstackAppNotInitializingErrorID() common.Hash {
	return common.HexToHash("0xd7e6bcf8597daa127dc9f0048d2f08d5ef140a2cb659feabd700beff1f7a8302")
}

// UnpackNotInitializingError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotInitializing()
func (dstackApp *DstackApp) UnpackNotInitializingError(raw []byte) (*DstackAppNotInitializing, error) {
	out := new(DstackAppNotInitializing)
	if err := dstackApp.abi.UnpackIntoInterface(out, "NotInitializing", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppOwnableInvalidOwner represents a OwnableInvalidOwner error raised by the DstackApp contract.
type DstackAppOwnableInvalidOwner struct {
	Owner common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OwnableInvalidOwner(address owner)
func DstackAppOwnableInvalidOwnerErrorID() common.Hash {
	return common.HexToHash("0x1e4fbdf7f3ef8bcaa855599e3abf48b232380f183f08f6f813d9ffa5bd585188")
}

// UnpackOwnableInvalidOwnerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OwnableInvalidOwner(address owner)
func (dstackApp *DstackApp) UnpackOwnableInvalidOwnerError(raw []byte) (*DstackAppOwnableInvalidOwner, error) {
	out := new(DstackAppOwnableInvalidOwner)
	if err := dstackApp.abi.UnpackIntoInterface(out, "OwnableInvalidOwner", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppOwnableUnauthorizedAccount represents a OwnableUnauthorizedAccount error raised by the DstackApp contract.
type DstackAppOwnableUnauthorizedAccount struct {
	Account common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OwnableUnauthorizedAccount(address account)
func DstackAppOwnableUnauthorizedAccountErrorID() common.Hash {
	return common.HexToHash("0x118cdaa7a341953d1887a2245fd6665d741c67c8c50581daa59e1d03373fa188")
}

// UnpackOwnableUnauthorizedAccountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OwnableUnauthorizedAccount(address account)
func (dstackApp *DstackApp) UnpackOwnableUnauthorizedAccountError(raw []byte) (*DstackAppOwnableUnauthorizedAccount, error) {
	out := new(DstackAppOwnableUnauthorizedAccount)
	if err := dstackApp.abi.UnpackIntoInterface(out, "OwnableUnauthorizedAccount", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppUUPSUnauthorizedCallContext represents a UUPSUnauthorizedCallContext error raised by the DstackApp contract.
type DstackAppUUPSUnauthorizedCallContext struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UUPSUnauthorizedCallContext()
func DstackAppUUPSUnauthorizedCallContextErrorID() common.Hash {
	return common.HexToHash("0xe07c8dba242a06571ac65fe4bbe20522c9fb111cb33599b799ff8039c1ed18f4")
}

// UnpackUUPSUnauthorizedCallContextError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UUPSUnauthorizedCallContext()
func (dstackApp *DstackApp) UnpackUUPSUnauthorizedCallContextError(raw []byte) (*DstackAppUUPSUnauthorizedCallContext, error) {
	out := new(DstackAppUUPSUnauthorizedCallContext)
	if err := dstackApp.abi.UnpackIntoInterface(out, "UUPSUnauthorizedCallContext", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DstackAppUUPSUnsupportedProxiableUUID represents a UUPSUnsupportedProxiableUUID error raised by the DstackApp contract.
type DstackAppUUPSUnsupportedProxiableUUID struct {
	Slot [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UUPSUnsupportedProxiableUUID(bytes32 slot)
func DstackAppUUPSUnsupportedProxiableUUIDErrorID() common.Hash {
	return common.HexToHash("0xaa1d49a4c084bfa9aeeee2a0be65267a7f19ba7e1476b114dac513d2c14cb563")
}

// UnpackUUPSUnsupportedProxiableUUIDError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UUPSUnsupportedProxiableUUID(bytes32 slot)
func (dstackApp *DstackApp) UnpackUUPSUnsupportedProxiableUUIDError(raw []byte) (*DstackAppUUPSUnsupportedProxiableUUID, error) {
	out := new(DstackAppUUPSUnsupportedProxiableUUID)
	if err := dstackApp.abi.UnpackIntoInterface(out, "UUPSUnsupportedProxiableUUID", raw); err != nil {
		return nil, err
	}
	return out, nil
}
