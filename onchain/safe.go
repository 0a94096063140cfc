package onchain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// ErrNothingToRegister is returned by [RegistrationCalls] and
// [SafeTransactions] when the compose hash and the device are already
// allowed: commit with [AlreadyRegistered] instead.
var ErrNothingToRegister = errors.New("onchain: nothing to register: the compose hash and device are already allowed")

// SafeTxBuilderVersion is the meta.txBuilderVersion written into batches.
const SafeTxBuilderVersion = "1.17.1"

// Call is one contract call as raw calldata, for any multisig, timelock or
// wallet: send Data to To with zero value.
type Call struct {
	To     common.Address
	Method string      // "addDevice" or "addComposeHash"
	Arg    common.Hash // the bytes32 argument
	Data   []byte      // ABI-encoded calldata (selector ‖ argument)
}

// MarshalJSON writes {"to","value","method","arg","data"} with hex strings.
func (c Call) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		To     string        `json:"to"`
		Value  string        `json:"value"`
		Method string        `json:"method"`
		Arg    common.Hash   `json:"arg"`
		Data   hexutil.Bytes `json:"data"`
	}{c.To.Hex(), "0", c.Method, c.Arg, c.Data})
}

// RegistrationCalls returns the calls that register what prereq lacks, in
// the order the CLI sends them: addDevice, then addComposeHash. What is
// missing comes from [WithStatus] if given (e.g. a fresh [Status]), else
// from the prerequisite's onchain_status, else both are assumed missing.
func RegistrationCalls(prereq *ErrOnchainPrerequisite, opts ...Option) ([]Call, error) {
	if prereq == nil {
		return nil, errors.New("onchain: nil prerequisite")
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	app, err := prereq.AppAddress()
	if err != nil {
		return nil, err
	}
	st := o.status
	if st == nil {
		st = prereq.OnchainStatus
	}
	needCompose, needDevice := true, true
	if st != nil {
		needCompose, needDevice = !st.ComposeHashAllowed, !st.DeviceIDAllowed
	}
	d := NewDstackApp()
	var calls []Call
	if needDevice {
		id, err := prereq.DeviceIDBytes()
		if err != nil {
			if st == nil && strings.TrimSpace(prereq.DeviceID) == "" {
				needDevice = false // status unknown and no device given: cannot be the missing piece we can fix
			} else {
				return nil, err
			}
		} else {
			calls = append(calls, Call{To: app, Method: "addDevice", Arg: id, Data: d.PackAddDevice(id)})
		}
	}
	if needCompose {
		h, err := prereq.ComposeHashBytes()
		if err != nil {
			return nil, err
		}
		calls = append(calls, Call{To: app, Method: "addComposeHash", Arg: h, Data: d.PackAddComposeHash(h)})
	}
	if len(calls) == 0 {
		return nil, ErrNothingToRegister
	}
	return calls, nil
}

// SafeBatch is a Safe{Wallet} Transaction Builder batch file: marshal it
// with encoding/json, and a Safe owner imports it in the Transaction
// Builder app, reviews and signs. All values are strings where the
// importer requires strings.
type SafeBatch struct {
	Version      string            `json:"version"`
	ChainID      string            `json:"chainId"`   // decimal
	CreatedAt    int64             `json:"createdAt"` // Unix milliseconds
	Meta         SafeBatchMeta     `json:"meta"`
	Transactions []SafeTransaction `json:"transactions"`
}

// SafeBatchMeta is the meta object of a SafeBatch.
type SafeBatchMeta struct {
	Name                    string `json:"name"`
	Description             string `json:"description"`
	TxBuilderVersion        string `json:"txBuilderVersion"`
	CreatedFromSafeAddress  string `json:"createdFromSafeAddress"`
	CreatedFromOwnerAddress string `json:"createdFromOwnerAddress"`
	Checksum                string `json:"checksum"` // Transaction Builder checksum of the file
}

// SafeTransaction is one call of a SafeBatch. Data is the exact calldata;
// ContractMethod and ContractInputsValues describe it for review.
type SafeTransaction struct {
	To                   string             `json:"to"`
	Value                string             `json:"value"`
	Data                 string             `json:"data"`
	ContractMethod       SafeContractMethod `json:"contractMethod"`
	ContractInputsValues map[string]string  `json:"contractInputsValues"`
}

// SafeContractMethod describes the called function.
type SafeContractMethod struct {
	Inputs  []SafeMethodInput `json:"inputs"`
	Name    string            `json:"name"`
	Payable bool              `json:"payable"`
}

// SafeMethodInput is one parameter of a SafeContractMethod.
type SafeMethodInput struct {
	InternalType string `json:"internalType"`
	Name         string `json:"name"`
	Type         string `json:"type"`
}

// SafeTransactions returns the missing registration calls of prereq (see
// [RegistrationCalls]) as a Transaction Builder batch for chainID (0 means
// the prerequisite's kms_info.chain_id), for DstackApp contracts owned by a
// Safe. Options: [WithStatus], [WithCreatedAt], [WithSafeAddress],
// [WithBatchName]. Once the Safe has executed the batch, commit with the
// hash of the transaction that executed it.
func SafeTransactions(prereq *ErrOnchainPrerequisite, chainID uint64, opts ...Option) (*SafeBatch, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	calls, err := RegistrationCalls(prereq, opts...)
	if err != nil {
		return nil, err
	}
	if chainID == 0 && prereq.KMSInfo != nil {
		chainID = prereq.KMSInfo.ChainID
	}
	what := make([]string, len(calls))
	for i, c := range calls {
		what[i] = fmt.Sprintf("%s(%s)", c.Method, c.Arg.Hex())
	}
	return safeCallBatch(calls, chainID, o, "Allow replica on DstackApp "+calls[0].To.Hex(),
		"Phala Cloud on-chain prerequisite: "+strings.Join(what, ", "))
}

// safeChecksum computes the Transaction Builder checksum of b the way the
// importer verifies it: keccak256 of the canonical serialisation of the
// parsed file with meta.checksum removed and meta.name set to null.
func safeChecksum(b *SafeBatch) (string, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	meta, _ := v["meta"].(map[string]any)
	if meta != nil {
		delete(meta, "checksum")
		meta["name"] = nil
	}
	return hexutil.Encode(crypto.Keccak256([]byte(serializeTxBuilder(v)))), nil
}

// serializeTxBuilder is the Transaction Builder's serializeJSONObject:
// arrays as [a,b]; objects as "{" + JSON of the sorted key list + each
// value followed by "," + "}"; anything else as JSON.stringify writes it.
func serializeTxBuilder(v any) string {
	var b strings.Builder
	writeTxBuilder(&b, v)
	return b.String()
}

func writeTxBuilder(b *strings.Builder, v any) {
	switch t := v.(type) {
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTxBuilder(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // JS sorts by UTF-16 code units; identical for the ASCII keys used here
		b.WriteString("{[")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsQuote(k))
		}
		b.WriteByte(']')
		for _, k := range keys {
			writeTxBuilder(b, t[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case string:
		b.WriteString(jsQuote(t))
	case json.Number:
		b.WriteString(t.String())
	case bool:
		b.WriteString(strconv.FormatBool(t))
	default: // nil
		b.WriteString("null")
	}
}

// jsQuote quotes s as JavaScript's JSON.stringify does: only '"', '\\' and
// control characters are escaped, everything else is written as is.
func jsQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
