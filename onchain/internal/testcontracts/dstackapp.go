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

// DstackAppAppBootInfo is an auto generated low-level Go binding around an user-defined struct.
type DstackAppAppBootInfo struct {
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
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"initialOwner\",\"type\":\"address\"},{\"internalType\":\"bool\",\"name\":\"legacy\",\"type\":\"bool\"},{\"internalType\":\"bool\",\"name\":\"requireTcbUpToDate_\",\"type\":\"bool\"},{\"internalType\":\"bool\",\"name\":\"allowAnyDevice_\",\"type\":\"bool\"},{\"internalType\":\"bytes32\",\"name\":\"initialDeviceId\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"initialComposeHash\",\"type\":\"bytes32\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[],\"name\":\"InvalidInitialization\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"OwnableInvalidOwner\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"account\",\"type\":\"address\"}],\"name\":\"OwnableUnauthorizedAccount\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"UUPSUnauthorizedCallContext\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bool\",\"name\":\"allowAny\",\"type\":\"bool\"}],\"name\":\"AllowAnyDeviceSet\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"composeHash\",\"type\":\"bytes32\"}],\"name\":\"ComposeHashAdded\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"composeHash\",\"type\":\"bytes32\"}],\"name\":\"ComposeHashRemoved\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"deviceId\",\"type\":\"bytes32\"}],\"name\":\"DeviceAdded\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"deviceId\",\"type\":\"bytes32\"}],\"name\":\"DeviceRemoved\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"version\",\"type\":\"uint64\"}],\"name\":\"Initialized\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferStarted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferred\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"actor\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"policy\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"value\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"bool\",\"name\":\"enabled\",\"type\":\"bool\"}],\"name\":\"PolicyChanged\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":false,\"internalType\":\"bool\",\"name\":\"requireUpToDate\",\"type\":\"bool\"}],\"name\":\"RequireTcbUpToDateSet\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"implementation\",\"type\":\"address\"}],\"name\":\"Upgraded\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[],\"name\":\"UpgradesDisabled\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"UPGRADE_INTERFACE_VERSION\",\"outputs\":[{\"internalType\":\"string\",\"name\":\"\",\"type\":\"string\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"acceptOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"composeHash\",\"type\":\"bytes32\"}],\"name\":\"addComposeHash\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"deviceId\",\"type\":\"bytes32\"}],\"name\":\"addDevice\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"allowAnyDevice\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"name\":\"allowedComposeHashes\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"name\":\"allowedDeviceIds\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"disableUpgrades\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"},{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"},{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"},{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"name\":\"initialize\",\"outputs\":[],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"},{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"},{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"},{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"},{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"name\":\"initialize\",\"outputs\":[],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"address\",\"name\":\"appId\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"composeHash\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"instanceId\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"deviceId\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"mrAggregated\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"mrSystem\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"osImageHash\",\"type\":\"bytes32\"},{\"internalType\":\"string\",\"name\":\"tcbStatus\",\"type\":\"string\"},{\"internalType\":\"string[]\",\"name\":\"advisoryIds\",\"type\":\"string[]\"}],\"internalType\":\"structDstackApp.AppBootInfo\",\"name\":\"bootInfo\",\"type\":\"tuple\"}],\"name\":\"isAppAllowed\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"isAllowed\",\"type\":\"bool\"},{\"internalType\":\"string\",\"name\":\"reason\",\"type\":\"string\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"pendingOwner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"proxiableUUID\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"composeHash\",\"type\":\"bytes32\"}],\"name\":\"removeComposeHash\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"deviceId\",\"type\":\"bytes32\"}],\"name\":\"removeDevice\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"renounceOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"requireTcbUpToDate\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bool\",\"name\":\"_allowAnyDevice\",\"type\":\"bool\"}],\"name\":\"setAllowAnyDevice\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bool\",\"name\":\"_requireUpToDate\",\"type\":\"bool\"}],\"name\":\"setRequireTcbUpToDate\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes4\",\"name\":\"interfaceId\",\"type\":\"bytes4\"}],\"name\":\"supportsInterface\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"transferOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"},{\"internalType\":\"bytes\",\"name\":\"\",\"type\":\"bytes\"}],\"name\":\"upgradeToAndCall\",\"outputs\":[],\"stateMutability\":\"payable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"version\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	ID:  "DstackApp",
	Bin: "0x60a060405234801561000f575f5ffd5b5060405161143b38038061143b83398101604081905261002e91610207565b6001600160a01b03861661005b57604051631e4fbdf760e01b81525f600482015260240160405180910390fd5b8415156080526001805461ff0019166101008515150217905583801561007f575084155b6003805460ff191691151591909117905581156100e9575f8281526002602052604090819020805460ff19166001179055517f67fc71ab96fe3fa3c6f78e9a00e635d591b7333ce611c0380bc577aac702243b906100e09084815260200190565b60405180910390a15b8015610142575f8181526020819052604090819020805460ff19166001179055517ffecb34306dd9d8b785b54d65489d06afc8822a0893ddacedff40c50a4942d0af906101399083815260200190565b60405180910390a15b61014b8661018a565b604051600181527fc7f505b2f371ae2175ee4913f4499e1f2633a7b5936321eed1cdaeb6115181d29060200160405180910390a1505050505050610278565b600380546001600160a01b03838116610100818102610100600160a81b0319851617909455600480546001600160a01b031916905560405193909204169182907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a35050565b80518015158114610202575f5ffd5b919050565b5f5f5f5f5f5f60c0878903121561021c575f5ffd5b86516001600160a01b0381168114610232575f5ffd5b9550610240602088016101f3565b945061024e604088016101f3565b935061025c606088016101f3565b608088015160a090980151969995985093969395939492505050565b6080516111816102ba5f395f81816104c80152818161088e0152818161096201528181610a6a01528181610c2901528181610d270152610dd601526111815ff3fe608060405260043610610147575f3560e01c80636e4c7422116100b3578063ad3cb1cc1161006d578063ad3cb1cc146103a3578063bf8b211b146103e0578063dfc772231461040e578063e30c39781461042d578063ec66903614610441578063f2fde38b14610455575f5ffd5b80636e4c7422146102ed578063715018a61461030c57806379ba5097146103205780637c4beeb8146103345780638da5cb5b146103535780639ed2819314610389575f5ffd5b80632f6622e5116101045780632f6622e51461021f5780633440a16a1461024d5780634f1ef2861461026b57806352d1902d1461027e57806354fd4d50146102ba57806367b3f22c146102ce575f5ffd5b806301ffc9a71461014b5780630aa58c831461017f578063187515ca146101935780631d266200146101b45780631e079198146101d35780632a81972814610200575b5f5ffd5b348015610156575f5ffd5b5061016a610165366004610eaf565b610474565b60405190151581526020015b60405180910390f35b34801561018a575f5ffd5b5061016a6104c5565b34801561019e575f5ffd5b506101b26101ad366004610f07565b6104fa565b005b3480156101bf575f5ffd5b506101b26101ce366004610f58565b610513565b3480156101de575f5ffd5b506101f26101ed366004610f6f565b6105c7565b604051610176929190610fd5565b34801561020b575f5ffd5b506101b261021a366004610f58565b610733565b34801561022a575f5ffd5b5061016a610239366004610f58565b5f6020819052908152604090205460ff1681565b348015610258575f5ffd5b5060015461016a90610100900460ff1681565b6101b2610279366004610ff7565b6107e3565b348015610289575f5ffd5b507f360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc5b604051908152602001610176565b3480156102c5575f5ffd5b506102ac61088b565b3480156102d9575f5ffd5b506101b26102e8366004610f58565b6108bc565b3480156102f8575f5ffd5b506101b2610307366004611075565b610960565b348015610317575f5ffd5b506101b2610a2b565b34801561032b575f5ffd5b506101b2610a68565b34801561033f575f5ffd5b506101b261034e366004611075565b610ac8565b34801561035e575f5ffd5b5060035461010090046001600160a01b03165b6040516001600160a01b039091168152602001610176565b348015610394575f5ffd5b506101b26101ad36600461108e565b3480156103ae575f5ffd5b506103d3604051806040016040528060058152602001640352e302e360dc1b81525081565b60405161017691906110f0565b3480156103eb575f5ffd5b5061016a6103fa366004610f58565b60026020525f908152604090205460ff1681565b348015610419575f5ffd5b506101b2610428366004610f58565b610b76565b348015610438575f5ffd5b50610371610c26565b34801561044c575f5ffd5b506101b2610c61565b348015610460575f5ffd5b506101b261046f366004611102565b610cf3565b5f6303c0f23360e31b6001600160e01b0319831614806104a45750638fd3752760e01b6001600160e01b03198316145b806104bf57506301ffc9a760e01b6001600160e01b03198316145b92915050565b5f7f0000000000000000000000000000000000000000000000000000000000000000156104f0575f5ffd5b5060035460ff1690565b60405163f92ee8a960e01b815260040160405180910390fd5b60035461010090046001600160a01b0316331461054a5760405163118cdaa760e01b81523360048201526024015b60405180910390fd5b5f8181526002602052604090819020805460ff19169055517fe0862975ac517b0478d308012afabc4bc37c23874a18144d7f2dfb852ff95c2c906105919083815260200190565b60405180910390a16105c47f8e7eff7e4a57bd436b18f220111863326b17773a8b4460f9fabd87a334233046825f610dd4565b50565b6003545f9060609060ff16801561062057507f8dd11fcce5839087111530125177803569655488ae47b1f980ef0b1a711bf07c61060760e085018561111b565b604051610615929190611165565b604051809103902014155b1561066257505060408051808201909152601c81527f54434220737461747573206973206e6f7420757020746f20646174650000000060208201525f92909150565b6020808401355f90815290819052604090205460ff166106b957505060408051808201909152601881527f436f6d706f73652068617368206e6f7420616c6c6f776564000000000000000060208201525f92909150565b600154610100900460ff161580156106e4575060608301355f9081526002602052604090205460ff16155b1561071b57505060408051808201909152601281527111195d9a58d9481b9bdd08185b1b1bddd95960721b60208201525f92909150565b505060408051602081019091525f8152600192909150565b60035461010090046001600160a01b031633146107655760405163118cdaa760e01b8152336004820152602401610541565b5f8181526002602052604090819020805460ff19166001179055517f67fc71ab96fe3fa3c6f78e9a00e635d591b7333ce611c0380bc577aac702243b906107af9083815260200190565b60405180910390a16105c47f8e7eff7e4a57bd436b18f220111863326b17773a8b4460f9fabd87a334233046826001610dd4565b60035461010090046001600160a01b031633146108155760405163118cdaa760e01b8152336004820152602401610541565b60015460ff16156108725760405162461bcd60e51b815260206004820152602160248201527f557067726164657320617265207065726d616e656e746c792064697361626c656044820152601960fa1b6064820152608401610541565b60405163703e46dd60e11b815260040160405180910390fd5b5f7f0000000000000000000000000000000000000000000000000000000000000000156108b6575f5ffd5b50600290565b60035461010090046001600160a01b031633146108ee5760405163118cdaa760e01b8152336004820152602401610541565b5f8181526020818152604091829020805460ff1916905590518281527f755b79bd4b0eeab344d032284a99003b2ddc018b646752ac72d681593a6e8947910160405180910390a16105c47f56bdf4352a9ceb1ba8f5c68066725c095e69c1d3f8a437290f0ac1da8fb4e19c825f610dd4565b7f00000000000000000000000000000000000000000000000000000000000000001561098a575f5ffd5b60035461010090046001600160a01b031633146109bc5760405163118cdaa760e01b8152336004820152602401610541565b6003805460ff19168215159081179091556040519081527fafae60561b2481a349b45b3a47357f70eef6ae67e5b6e1749d74de7f19a25aa19060200160405180910390a16105c47feb206ee4e1c06549322091bfcf2a5ff8658edc40901aa7f3af6f571a159471fb5f83610dd4565b60035461010090046001600160a01b03163314610a5d5760405163118cdaa760e01b8152336004820152602401610541565b610a665f610e46565b565b7f000000000000000000000000000000000000000000000000000000000000000015610a92575f5ffd5b6004546001600160a01b03163314610abf5760405163118cdaa760e01b8152336004820152602401610541565b610a6633610e46565b60035461010090046001600160a01b03163314610afa5760405163118cdaa760e01b8152336004820152602401610541565b600180548215156101000261ff00199091161790556040517fbb2cdb6c7b362202d40373f87bc4788301cca658f91711ac1662e1ad2cba4a2090610b4390831515815260200190565b60405180910390a16105c47f560720bbc77afadfad8faeab0a79cf66b13e5433c09dd9182d5d36413084a84e5f83610dd4565b60035461010090046001600160a01b03163314610ba85760405163118cdaa760e01b8152336004820152602401610541565b5f8181526020819052604090819020805460ff19166001179055517ffecb34306dd9d8b785b54d65489d06afc8822a0893ddacedff40c50a4942d0af90610bf29083815260200190565b60405180910390a16105c47f56bdf4352a9ceb1ba8f5c68066725c095e69c1d3f8a437290f0ac1da8fb4e19c826001610dd4565b5f7f000000000000000000000000000000000000000000000000000000000000000015610c51575f5ffd5b506004546001600160a01b031690565b60035461010090046001600160a01b03163314610c935760405163118cdaa760e01b8152336004820152602401610541565b6001805460ff1916811790556040517f0e5daa943fcd7e7182d0e893d180695c2ea9f6f1b4a1c5432faf14cf17b774e8905f90a1610a667ff6943036509aad7f2319e01f7ed528873bcbdaaf6d25921b03e395124e6a46d35f6001610dd4565b60035461010090046001600160a01b03163314610d255760405163118cdaa760e01b8152336004820152602401610541565b7f000000000000000000000000000000000000000000000000000000000000000015610d7d576001600160a01b038116610d7457604051631e4fbdf760e01b81525f6004820152602401610541565b6105c481610e46565b600480546001600160a01b0319166001600160a01b03838116918217909255600354604051919261010090910416907f38d16b8cac22d99fc7c124b9cd0de2d3fa1faef420bfe791d8c362d765e22700905f90a350565b7f0000000000000000000000000000000000000000000000000000000000000000610e41578183336001600160a01b03167f341d3bc64e32172fc5bcf27b0f7f69dc5adc19af64b7aa1dee361e5883c3237584604051610e38911515815260200190565b60405180910390a45b505050565b600380546001600160a01b03838116610100818102610100600160a81b0319851617909455600480546001600160a01b031916905560405193909204169182907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a35050565b5f60208284031215610ebf575f5ffd5b81356001600160e01b031981168114610ed6575f5ffd5b9392505050565b80356001600160a01b0381168114610ef3575f5ffd5b919050565b80358015158114610ef3575f5ffd5b5f5f5f5f5f60a08688031215610f1b575f5ffd5b610f2486610edd565b9450610f3260208701610ef8565b9350610f4060408701610ef8565b94979396509394606081013594506080013592915050565b5f60208284031215610f68575f5ffd5b5035919050565b5f60208284031215610f7f575f5ffd5b813567ffffffffffffffff811115610f95575f5ffd5b82016101208185031215610ed6575f5ffd5b5f81518084528060208401602086015e5f602082860101526020601f19601f83011685010191505092915050565b8215158152604060208201525f610fef6040830184610fa7565b949350505050565b5f5f5f60408486031215611009575f5ffd5b61101284610edd565b9250602084013567ffffffffffffffff81111561102d575f5ffd5b8401601f8101861361103d575f5ffd5b803567ffffffffffffffff811115611053575f5ffd5b866020828401011115611064575f5ffd5b939660209190910195509293505050565b5f60208284031215611085575f5ffd5b610ed682610ef8565b5f5f5f5f5f5f60c087890312156110a3575f5ffd5b6110ac87610edd565b95506110ba60208801610ef8565b94506110c860408801610ef8565b93506110d660608801610ef8565b9598949750929560808101359460a0909101359350915050565b602081525f610ed66020830184610fa7565b5f60208284031215611112575f5ffd5b610ed682610edd565b5f5f8335601e19843603018112611130575f5ffd5b83018035915067ffffffffffffffff82111561114a575f5ffd5b60200191503681900382131561115e575f5ffd5b9250929050565b818382375f910190815291905056fea164736f6c6343000825000a",
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

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address initialOwner, bool legacy, bool requireTcbUpToDate_, bool allowAnyDevice_, bytes32 initialDeviceId, bytes32 initialComposeHash) returns()
func (dstackApp *DstackApp) PackConstructor(initialOwner common.Address, legacy bool, requireTcbUpToDate_ bool, allowAnyDevice_ bool, initialDeviceId [32]byte, initialComposeHash [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("", initialOwner, legacy, requireTcbUpToDate_, allowAnyDevice_, initialDeviceId, initialComposeHash)
	if err != nil {
		panic(err)
	}
	return enc
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
// Solidity: function initialize(address , bool , bool , bytes32 , bytes32 ) pure returns()
func (dstackApp *DstackApp) PackInitialize(arg0 common.Address, arg1 bool, arg2 bool, arg3 [32]byte, arg4 [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("initialize", arg0, arg1, arg2, arg3, arg4)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackInitialize is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x187515ca.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function initialize(address , bool , bool , bytes32 , bytes32 ) pure returns()
func (dstackApp *DstackApp) TryPackInitialize(arg0 common.Address, arg1 bool, arg2 bool, arg3 [32]byte, arg4 [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("initialize", arg0, arg1, arg2, arg3, arg4)
}

// PackInitialize0 is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9ed28193.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function initialize(address , bool , bool , bool , bytes32 , bytes32 ) pure returns()
func (dstackApp *DstackApp) PackInitialize0(arg0 common.Address, arg1 bool, arg2 bool, arg3 bool, arg4 [32]byte, arg5 [32]byte) []byte {
	enc, err := dstackApp.abi.Pack("initialize0", arg0, arg1, arg2, arg3, arg4, arg5)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackInitialize0 is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9ed28193.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function initialize(address , bool , bool , bool , bytes32 , bytes32 ) pure returns()
func (dstackApp *DstackApp) TryPackInitialize0(arg0 common.Address, arg1 bool, arg2 bool, arg3 bool, arg4 [32]byte, arg5 [32]byte) ([]byte, error) {
	return dstackApp.abi.Pack("initialize0", arg0, arg1, arg2, arg3, arg4, arg5)
}

// PackIsAppAllowed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1e079198.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]) bootInfo) view returns(bool isAllowed, string reason)
func (dstackApp *DstackApp) PackIsAppAllowed(bootInfo DstackAppAppBootInfo) []byte {
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
func (dstackApp *DstackApp) TryPackIsAppAllowed(bootInfo DstackAppAppBootInfo) ([]byte, error) {
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
// Solidity: function proxiableUUID() pure returns(bytes32)
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
// Solidity: function proxiableUUID() pure returns(bytes32)
func (dstackApp *DstackApp) TryPackProxiableUUID() ([]byte, error) {
	return dstackApp.abi.Pack("proxiableUUID")
}

// UnpackProxiableUUID is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x52d1902d.
//
// Solidity: function proxiableUUID() pure returns(bytes32)
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
// Solidity: function supportsInterface(bytes4 interfaceId) pure returns(bool)
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
// Solidity: function supportsInterface(bytes4 interfaceId) pure returns(bool)
func (dstackApp *DstackApp) TryPackSupportsInterface(interfaceId [4]byte) ([]byte, error) {
	return dstackApp.abi.Pack("supportsInterface", interfaceId)
}

// UnpackSupportsInterface is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x01ffc9a7.
//
// Solidity: function supportsInterface(bytes4 interfaceId) pure returns(bool)
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
// Solidity: function upgradeToAndCall(address , bytes ) payable returns()
func (dstackApp *DstackApp) PackUpgradeToAndCall(arg0 common.Address, arg1 []byte) []byte {
	enc, err := dstackApp.abi.Pack("upgradeToAndCall", arg0, arg1)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackUpgradeToAndCall is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4f1ef286.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function upgradeToAndCall(address , bytes ) payable returns()
func (dstackApp *DstackApp) TryPackUpgradeToAndCall(arg0 common.Address, arg1 []byte) ([]byte, error) {
	return dstackApp.abi.Pack("upgradeToAndCall", arg0, arg1)
}

// PackVersion is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x54fd4d50.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function version() view returns(uint256)
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
// Solidity: function version() view returns(uint256)
func (dstackApp *DstackApp) TryPackVersion() ([]byte, error) {
	return dstackApp.abi.Pack("version")
}

// UnpackVersion is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x54fd4d50.
//
// Solidity: function version() view returns(uint256)
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
	if bytes.Equal(raw[:4], dstackApp.abi.Errors["InvalidInitialization"].ID.Bytes()[:4]) {
		return dstackApp.UnpackInvalidInitializationError(raw[4:])
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
	return nil, errors.New("Unknown error")
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
