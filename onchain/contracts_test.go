package onchain

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

func loadABI(t *testing.T, path string) abi.ABI {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	a, err := abi.JSON(bytes.NewReader(b))
	require.NoError(t, err)
	return a
}

// The test doubles must expose every function, event and error of the real
// interface (the ABI the bindings are generated from) with the same
// selectors, topics and indexed flags; otherwise tests would not exercise
// what runs on chain.
func TestTestContractsImplementTheRealInterface(t *testing.T) {
	for _, tc := range []struct{ iface, compiled string }{
		{"contracts/abi/DstackApp.abi.json", "contracts/build/DstackApp.abi.json"},
		{"contracts/abi/DstackKms.abi.json", "contracts/build/DstackKms.abi.json"},
	} {
		t.Run(tc.iface, func(t *testing.T) {
			want, got := loadABI(t, tc.iface), loadABI(t, tc.compiled)
			gotMethods := map[string]bool{}
			for _, m := range got.Methods {
				gotMethods[m.Sig] = true
			}
			for _, m := range want.Methods {
				assert.True(t, gotMethods[m.Sig], "missing function %s", m.Sig)
			}
			gotEvents := map[common.Hash]abi.Event{}
			for _, e := range got.Events {
				gotEvents[e.ID] = e
			}
			for _, e := range want.Events {
				ge, ok := gotEvents[e.ID]
				if !assert.True(t, ok, "missing event %s", e.Sig) {
					continue
				}
				for i, in := range e.Inputs {
					assert.Equal(t, in.Indexed, ge.Inputs[i].Indexed, "%s input %d indexed", e.Sig, i)
				}
			}
			gotErrors := map[common.Hash]bool{}
			for _, e := range got.Errors {
				gotErrors[e.ID] = true
			}
			for _, name := range []string{"OwnableUnauthorizedAccount", "OwnableInvalidOwner"} {
				assert.True(t, gotErrors[want.Errors[name].ID], "missing error %s", name)
			}
		})
	}
}

// Selectors and topics from dstack.md §1 and replication-wire.md §8.3.
func TestBindingSelectors(t *testing.T) {
	a := NewDstackApp().GetABI()
	for name, sel := range map[string]string{
		"allowAnyDevice": "3440a16a", "allowedDeviceIds": "bf8b211b", "allowedComposeHashes": "2f6622e5",
		"owner": "8da5cb5b", "addDevice": "2a819728", "addComposeHash": "dfc77223", "version": "54fd4d50",
		"requireTcbUpToDate": "0aa58c83", "isAppAllowed": "1e079198", "setAllowAnyDevice": "7c4beeb8",
		"initialize": "187515ca", "initialize0": "9ed28193",
	} {
		assert.Equal(t, sel, hex.EncodeToString(a.Methods[name].ID), name)
	}
	assert.Equal(t, "0xfecb34306dd9d8b785b54d65489d06afc8822a0893ddacedff40c50a4942d0af", a.Events["ComposeHashAdded"].ID.Hex())
	assert.Equal(t, "0x67fc71ab96fe3fa3c6f78e9a00e635d591b7333ce611c0380bc577aac702243b", a.Events["DeviceAdded"].ID.Hex())
	assert.Equal(t, "118cdaa7", hex.EncodeToString(a.Errors["OwnableUnauthorizedAccount"].ID.Bytes()[:4]))

	k := NewDstackKms().GetABI()
	assert.Equal(t, "09177063", hex.EncodeToString(k.Methods["kmsInfo"].ID))
	assert.Equal(t, "7d025352", hex.EncodeToString(k.Methods["setKmsInfo"].ID))
}

func TestTestContractBehaviour(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	d := NewDstackApp()
	app := deployApp(t, chain, onchaintest.AppConfig{})
	hash := common.HexToHash("0x1234")

	t.Run("non-owner write reverts with OwnableUnauthorizedAccount", func(t *testing.T) {
		stranger := chain.Accounts[1].Address
		_, err := chain.Client.EstimateGas(ctx, ethereum.CallMsg{From: stranger, To: &app, Data: d.PackAddComposeHash(hash)})
		require.Error(t, err)
		data, ok := revertData(err)
		require.True(t, ok)
		re := DecodeRevert(data)
		assert.Equal(t, "OwnableUnauthorizedAccount("+stranger.Hex()+")", re.Reason)
		require.IsType(t, &DstackAppOwnableUnauthorizedAccount{}, re.Custom)
		assert.Equal(t, stranger, re.Custom.(*DstackAppOwnableUnauthorizedAccount).Account)
	})

	t.Run("events carry the value unindexed", func(t *testing.T) {
		tx, err := chain.Transact(ctx, chain.Transactor(0), app, d.PackAddComposeHash(hash))
		require.NoError(t, err)
		receipts, err := chain.Mine(ctx, tx)
		require.NoError(t, err)
		var found bool
		for _, l := range receipts[0].Logs {
			if l.Topics[0] != d.GetABI().Events["ComposeHashAdded"].ID {
				continue
			}
			found = true
			assert.Len(t, l.Topics, 1, "no indexed arguments")
			ev, err := d.UnpackComposeHashAddedEvent(l)
			require.NoError(t, err)
			assert.Equal(t, [32]byte(hash), ev.ComposeHash)
		}
		assert.True(t, found)
	})

	t.Run("isAppAllowed checks in the documented order", func(t *testing.T) {
		call := func(info IAppAuthAppBootInfo) IsAppAllowedOutput {
			out, err := chain.Client.CallContract(ctx, ethereum.CallMsg{To: &app, Data: d.PackIsAppAllowed(info)}, nil)
			require.NoError(t, err)
			res, err := d.UnpackIsAppAllowed(out)
			require.NoError(t, err)
			return res
		}
		device := common.HexToHash("0xd1")
		res := call(IAppAuthAppBootInfo{ComposeHash: common.HexToHash("0x99"), DeviceId: device, AdvisoryIds: []string{}})
		assert.Equal(t, IsAppAllowedOutput{IsAllowed: false, Reason: "Compose hash not allowed"}, res)
		res = call(IAppAuthAppBootInfo{ComposeHash: hash, DeviceId: device, AdvisoryIds: []string{}})
		assert.Equal(t, IsAppAllowedOutput{IsAllowed: false, Reason: "Device not allowed"}, res)
		transact(t, chain, 0, app, d.PackAddDevice(device))
		res = call(IAppAuthAppBootInfo{ComposeHash: hash, DeviceId: device, AdvisoryIds: []string{}})
		assert.Equal(t, IsAppAllowedOutput{IsAllowed: true, Reason: ""}, res)
	})
}

func TestContractVersion(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	v2 := deployApp(t, chain, onchaintest.AppConfig{})
	v1 := deployApp(t, chain, onchaintest.AppConfig{Legacy: true})

	got, err := ContractVersion(ctx, chain.Client, v2)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), got)
	got, err = ContractVersion(ctx, chain.Client, v1)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), got, "empty revert means v1")

	_, err = ContractVersion(ctx, chain.Client, chain.Accounts[0].Address)
	assert.ErrorIs(t, err, ErrNotDstackApp, "an account without code")
}

func TestDecodeRevert(t *testing.T) {
	d := NewDstackApp().GetABI()
	owner := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	unauthorized, err := d.Errors["OwnableUnauthorizedAccount"].Inputs.Pack(owner)
	require.NoError(t, err)
	unauthorized = append(d.Errors["OwnableUnauthorizedAccount"].ID.Bytes()[:4:4], unauthorized...)
	reason, _ := hex.DecodeString("08c379a0" +
		"0000000000000000000000000000000000000000000000000000000000000020" +
		"0000000000000000000000000000000000000000000000000000000000000021" +
		"557067726164657320617265207065726d616e656e746c792064697361626c65" +
		"6400000000000000000000000000000000000000000000000000000000000000")
	panicData, _ := hex.DecodeString("4e487b71" + "0000000000000000000000000000000000000000000000000000000000000011")
	slot := common.HexToHash("0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc")
	uups := append(d.Errors["UUPSUnsupportedProxiableUUID"].ID.Bytes()[:4:4], slot[:]...)

	tests := []struct {
		name       string
		data       []byte
		wantReason string
		wantCustom any
	}{
		{"empty", nil, "", nil},
		{"one byte", []byte{0x08}, "malformed revert data 0x08", nil},
		{"three bytes", []byte{0x11, 0x8c, 0xda}, "malformed revert data 0x118cda", nil},
		{"selector only", d.Errors["OwnableUnauthorizedAccount"].ID.Bytes()[:4], "malformed OwnableUnauthorizedAccount(address) 0x118cdaa7", nil},
		{"custom error", unauthorized, "OwnableUnauthorizedAccount(" + owner.Hex() + ")", &DstackAppOwnableUnauthorizedAccount{Account: owner}},
		{"custom bytes32", uups, "UUPSUnsupportedProxiableUUID(" + slot.Hex() + ")", &DstackAppUUPSUnsupportedProxiableUUID{Slot: slot}},
		{"no-arg custom", d.Errors["InvalidInitialization"].ID.Bytes()[:4], "InvalidInitialization()", &DstackAppInvalidInitialization{}},
		{"revert string", reason, `"Upgrades are permanently disabled"`, nil},
		{"truncated string", reason[:40], "malformed Error(string) 0x" + hex.EncodeToString(reason[:40]), nil},
		{"panic", panicData, "panic 0x11", nil},
		{"unknown", []byte{1, 2, 3, 4, 5}, "unknown custom error 0x0102030405", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := DecodeRevert(tt.data)
			assert.Equal(t, tt.wantReason, re.Reason)
			assert.Equal(t, tt.wantCustom, re.Custom)
			assert.ErrorIs(t, re, ErrReverted)
			re.Method = "addDevice"
			if tt.wantReason == "" {
				assert.Equal(t, "onchain: addDevice reverted without a reason", re.Error())
			} else {
				assert.Equal(t, "onchain: addDevice reverted: "+tt.wantReason, re.Error())
			}
		})
	}
}

func FuzzDecodeRevert(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x08, 0xc3, 0x79, 0xa0, 0xff})
	f.Add([]byte{0x11, 0x8c, 0xda, 0xa7})
	f.Add([]byte{0x4e, 0x48, 0x7b, 0x71})
	f.Fuzz(func(t *testing.T, data []byte) {
		re := DecodeRevert(data)
		if !bytes.Equal(re.Data, data) {
			t.Fatal("data not kept")
		}
		_ = re.Error()
	})
}
