package onchain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// SetRegistrationCalls returns the calls that register what a replica set
// lacks on one DstackApp contract: addDevice for every device of req not
// allowed by st, then addComposeHash if st says it is missing. With st nil
// (state unknown) every device and the compose hash are included; the
// contract accepts re-adding an allowed value. Duplicate devices are
// included once. It returns [ErrNothingToRegister] when nothing is missing.
func SetRegistrationCalls(req SetPrerequisite, st *SetStatus) ([]Call, error) {
	if req.App == (common.Address{}) {
		return nil, errors.New("onchain: SetRegistrationCalls: no app address")
	}
	d := NewDstackApp()
	var calls []Call
	seen := map[common.Hash]bool{}
	for _, id := range req.DeviceIDs {
		if seen[id] || (st != nil && st.DeviceAllowed(id)) {
			seen[id] = true
			continue
		}
		seen[id] = true
		calls = append(calls, Call{To: req.App, Method: "addDevice", Arg: id, Data: d.PackAddDevice(id)})
	}
	if st == nil || !st.ComposeHashAllowed {
		if req.ComposeHash == (common.Hash{}) {
			return nil, errors.New("onchain: SetRegistrationCalls: no compose hash")
		}
		calls = append(calls, Call{To: req.App, Method: "addComposeHash", Arg: req.ComposeHash, Data: d.PackAddComposeHash(req.ComposeHash)})
	}
	if len(calls) == 0 {
		return nil, ErrNothingToRegister
	}
	return calls, nil
}

// SafeSetTransactions is [SafeTransactions] for a whole replica set: ONE
// Transaction Builder batch holding every call of [SetRegistrationCalls]
// (the devices first, the compose hash last), so the Safe's owners approve
// N nodes with one execution. chainID 0 means req.ChainID. Options:
// [WithCreatedAt], [WithSafeAddress], [WithBatchName].
func SafeSetTransactions(req SetPrerequisite, st *SetStatus, chainID uint64, opts ...Option) (*SafeBatch, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	calls, err := SetRegistrationCalls(req, st)
	if err != nil {
		return nil, err
	}
	if chainID == 0 {
		chainID = req.ChainID
	}
	devices := 0
	for _, c := range calls {
		if c.Method == "addDevice" {
			devices++
		}
	}
	var what []string
	if devices > 0 {
		what = append(what, fmt.Sprintf("addDevice for %d node(s)", devices))
	}
	if devices < len(calls) {
		what = append(what, "addComposeHash("+req.ComposeHash.Hex()+")")
	}
	return safeCallBatch(calls, chainID, o, "Allow a replica set on DstackApp "+req.App.Hex(),
		"Phala Cloud replica set prerequisite: "+strings.Join(what, ", "))
}

// safeCallBatch is one Transaction Builder batch of calls, each taking one
// bytes32 (deviceId for the device methods, composeHash otherwise); name and
// description are used unless the options set them.
func safeCallBatch(calls []Call, chainID uint64, o *options, name, description string) (*SafeBatch, error) {
	if chainID == 0 {
		return nil, ErrNoChainID
	}
	created := o.createdAt
	if created.IsZero() {
		created = time.Now()
	}
	b := &SafeBatch{
		Version:      "1.0",
		ChainID:      strconv.FormatUint(chainID, 10),
		CreatedAt:    created.UnixMilli(),
		Meta:         SafeBatchMeta{Name: o.batchName, Description: o.description, TxBuilderVersion: SafeTxBuilderVersion},
		Transactions: []SafeTransaction{},
	}
	if o.safeAddress != nil {
		b.Meta.CreatedFromSafeAddress = o.safeAddress.Hex()
	}
	for _, c := range calls {
		param := "composeHash"
		if c.Method == "addDevice" || c.Method == "removeDevice" {
			param = "deviceId"
		}
		b.Transactions = append(b.Transactions, SafeTransaction{
			To: c.To.Hex(), Value: "0", Data: hexutil.Encode(c.Data),
			ContractMethod: SafeContractMethod{
				Inputs: []SafeMethodInput{{InternalType: "bytes32", Name: param, Type: "bytes32"}},
				Name:   c.Method,
			},
			ContractInputsValues: map[string]string{param: c.Arg.Hex()},
		})
	}
	if b.Meta.Name == "" {
		b.Meta.Name = name
	}
	if b.Meta.Description == "" {
		b.Meta.Description = description
	}
	sum, err := safeChecksum(b)
	if err != nil {
		return nil, err
	}
	b.Meta.Checksum = sum
	return b, nil
}

// ErrNothingToRemove is returned by [DeviceRemovalCalls] and
// [SafeDeviceRemovalTransactions] when the contract lists none of the devices.
var ErrNothingToRemove = errors.New("onchain: nothing to remove: the contract lists none of the devices")

// DeviceRemovalCalls returns removeDevice for every device of req that st
// shows listed (allowedDeviceIds true; allowAnyDevice does not matter), in
// the order given, each once. With st nil (state unknown) every device is
// included: the contract accepts removing a device it does not list. It
// returns [ErrNothingToRemove] when there is nothing to remove.
func DeviceRemovalCalls(req DeviceRemoval, st *SetStatus) ([]Call, error) {
	if req.App == (common.Address{}) {
		return nil, errors.New("onchain: DeviceRemovalCalls: no app address")
	}
	d := NewDstackApp()
	var calls []Call
	seen := map[common.Hash]bool{}
	for _, id := range req.DeviceIDs {
		if seen[id] || (st != nil && !st.DevicesListed[id]) {
			seen[id] = true
			continue
		}
		seen[id] = true
		calls = append(calls, Call{To: req.App, Method: "removeDevice", Arg: id, Data: d.PackRemoveDevice(id)})
	}
	if len(calls) == 0 {
		return nil, ErrNothingToRemove
	}
	return calls, nil
}

// SafeDeviceRemovalTransactions is ONE Transaction Builder batch holding
// every call of [DeviceRemovalCalls]: the Safe's owners take the devices that
// no longer host a replica off the allow-list with one execution. chainID 0
// means req.ChainID. Options: [WithCreatedAt], [WithSafeAddress],
// [WithBatchName].
func SafeDeviceRemovalTransactions(req DeviceRemoval, st *SetStatus, chainID uint64, opts ...Option) (*SafeBatch, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	calls, err := DeviceRemovalCalls(req, st)
	if err != nil {
		return nil, err
	}
	if chainID == 0 {
		chainID = req.ChainID
	}
	return safeCallBatch(calls, chainID, o, "Remove unused devices from DstackApp "+req.App.Hex(),
		fmt.Sprintf("Phala Cloud replica set: removeDevice for %d device(s) that no longer host a replica", len(calls)))
}
