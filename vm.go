package phala

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/phalaforge/phala-go/onchain"
)

// KMSType says which KMS holds an app's keys (the kms_type of a CVM). Values the
// SDK does not know are kept as they are: a new KMS type never breaks decoding.
type KMSType string

// The KMS types of API version 2026-01-21.
const (
	KMSTypePhala    KMSType = "phala"    // Phala's hosted KMS (Cloud KMS)
	KMSTypeEthereum KMSType = "ethereum" // on-chain KMS on Ethereum
	KMSTypeBase     KMSType = "base"     // on-chain KMS on Base
	KMSTypeLegacy   KMSType = "legacy"   // older hosted KMS
)

// CVM statuses with a meaning for [Client.WaitForReplica]. The API may report
// others (for example "creating" or "starting" while a replica boots).
const (
	StatusRunning = "running" // the CVM booted and runs
	StatusError   = "error"   // the CVM failed; BootError says why when known
)

// CVM is a confidential VM as GET /cvms/{id} and GET /apps/{app_id}/cvms return it
// (API version 2026-01-21, the detail variant).
//
// Decoding is lenient, unlike the phala CLI's: unknown fields are kept in Extra, an
// unknown kms_type is kept as a string, missing objects stay nil, numbers sent as
// strings (and the reverse) are accepted, and a known field whose value has an
// unusable type is moved to Extra instead of failing the whole object.
//
// [CVM.Instance] gives the fields it shares with a [VM] under the same names.
type CVM struct {
	ID          string  `json:"id"`                     // hashed CVM id
	Name        string  `json:"name"`                   //
	AppID       string  `json:"app_id,omitempty"`       // 40 hex digits, usually without 0x
	VMUUID      string  `json:"vm_uuid,omitempty"`      // the instance's UUID
	InstanceID  string  `json:"instance_id,omitempty"`  //
	Status      string  `json:"status"`                 // e.g. "starting", "running", "error"
	BootError   string  `json:"boot_error,omitempty"`   // why the boot failed, when the API says
	ComposeHash string  `json:"compose_hash,omitempty"` // hex, 0x optional
	KMSType     KMSType `json:"kms_type,omitempty"`     //
	// KMSInfo decides how env variables are encrypted: a non-zero ChainID means an
	// on-chain KMS (see [CVM.OnchainKMS]).
	KMSInfo *onchain.KMSInfo `json:"kms_info,omitempty"`
	// EncryptedEnvPubkey is the top-level env encryption key some API versions send
	// instead of kms_info.encrypted_env_pubkey.
	EncryptedEnvPubkey string `json:"encrypted_env_pubkey,omitempty"`

	Resource  *CVMResource `json:"resource,omitempty"`
	NodeInfo  *NodeInfo    `json:"node_info,omitempty"`
	OS        *OSInfo      `json:"os,omitempty"`
	Progress  *CVMProgress `json:"progress,omitempty"`
	Gateway   *Gateway     `json:"gateway,omitempty"`
	Endpoints []Endpoint   `json:"endpoints,omitempty"`
	Workspace *Workspace   `json:"workspace,omitempty"`
	Creator   *Creator     `json:"creator,omitempty"`

	Services       []json.RawMessage `json:"services,omitempty"`
	PublicLogs     bool              `json:"public_logs,omitempty"`
	PublicSysinfo  bool              `json:"public_sysinfo,omitempty"`
	PublicTCBInfo  bool              `json:"public_tcbinfo,omitempty"`
	GatewayEnabled bool              `json:"gateway_enabled,omitempty"`
	SecureTime     bool              `json:"secure_time,omitempty"`
	Listed         bool              `json:"listed,omitempty"`
	StorageFS      string            `json:"storage_fs,omitempty"`

	// ComposeFile is the app-compose document (an object, or a string holding
	// one), raw. See [CVM.AllowedEnvs].
	ComposeFile json.RawMessage `json:"compose_file,omitempty"`

	// Extra holds the fields this type does not know, and known fields whose
	// value had an unusable JSON type, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently (see [CVM]). It fails only
// when data is not a JSON object.
func (c *CVM) UnmarshalJSON(data []byte) error {
	*c = CVM{}
	extra, err := decodeLenient(data, c)
	if err != nil {
		return fmt.Errorf("phala: CVM object: %w", err)
	}
	c.Extra = extra
	return nil
}

// OnchainKMS reports whether the CVM's app uses an on-chain KMS, by the same rule
// as the phala CLI: kms_info.chain_id is set.
func (c *CVM) OnchainKMS() bool {
	return c != nil && c.KMSInfo != nil && c.KMSInfo.ChainID != 0
}

// AllowedEnvs returns the allowed_envs list of the CVM's compose file and true when
// the API exposes it (compose_file present, as an object or a JSON string, with an
// allowed_envs array). A CVM silently drops every variable outside that list.
func (c *CVM) AllowedEnvs() ([]string, bool) {
	if c == nil || len(c.ComposeFile) == 0 || isJSONNull(c.ComposeFile) {
		return nil, false
	}
	doc := []byte(c.ComposeFile)
	if firstByte(doc) == '"' {
		var s string
		if json.Unmarshal(doc, &s) != nil {
			return nil, false
		}
		doc = []byte(s)
	}
	var compose struct {
		AllowedEnvs *[]string `json:"allowed_envs"`
	}
	if firstByte(doc) != '{' || json.Unmarshal(doc, &compose) != nil || compose.AllowedEnvs == nil {
		return nil, false
	}
	return append([]string{}, (*compose.AllowedEnvs)...), true
}

// CVMResource is the resource object of a CVM.
type CVMResource struct {
	InstanceType        string  `json:"instance_type,omitempty"`
	VCPU                int     `json:"vcpu,omitempty"`
	MemoryInGB          float64 `json:"memory_in_gb,omitempty"`
	DiskInGB            int     `json:"disk_in_gb,omitempty"`
	GPUs                int     `json:"gpus,omitempty"`
	ComputeBillingPrice string  `json:"compute_billing_price,omitempty"`
	BillingPeriod       string  `json:"billing_period,omitempty"` // skip, hourly or monthly
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (r *CVMResource) UnmarshalJSON(data []byte) error { return decodeNested(data, r) }

// NodeInfo is the node (teepod) a CVM runs on.
type NodeInfo struct {
	ID       int64  `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Region   string `json:"region,omitempty"`
	DeviceID string `json:"device_id,omitempty"`
	PPID     string `json:"ppid,omitempty"`
	Status   string `json:"status,omitempty"`
	Version  string `json:"version,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (n *NodeInfo) UnmarshalJSON(data []byte) error { return decodeNested(data, n) }

// OSInfo is the OS image of a CVM.
type OSInfo struct {
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	IsDev       bool   `json:"is_dev,omitempty"`
	OSImageHash string `json:"os_image_hash,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (o *OSInfo) UnmarshalJSON(data []byte) error { return decodeNested(data, o) }

// CVMProgress describes an operation in progress on a CVM.
type CVMProgress struct {
	Target        string `json:"target,omitempty"`
	StartedAt     string `json:"started_at,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (p *CVMProgress) UnmarshalJSON(data []byte) error { return decodeNested(data, p) }

// Gateway is the gateway object of a CVM.
type Gateway struct {
	BaseDomain string `json:"base_domain,omitempty"`
	CNAME      string `json:"cname,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (g *Gateway) UnmarshalJSON(data []byte) error { return decodeNested(data, g) }

// Endpoint is a public URL of a CVM's app and of the instance.
type Endpoint struct {
	App      string `json:"app,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (e *Endpoint) UnmarshalJSON(data []byte) error { return decodeNested(data, e) }

// Workspace is the team a CVM belongs to.
type Workspace struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Slug      string `json:"slug,omitempty"`
	AvatarURL string `json:"avatar_url,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (w *Workspace) UnmarshalJSON(data []byte) error { return decodeNested(data, w) }

// Creator is the user who created a CVM.
type Creator struct {
	ID        string `json:"id,omitempty"`
	Username  string `json:"username,omitempty"`
	AvatarURL string `json:"avatar_url,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (c *Creator) UnmarshalJSON(data []byte) error { return decodeNested(data, c) }

// VM is a replica as POST /cvms/{vm_uuid}/replicas and POST
// /cvms/{vm_uuid}/commit-replica return it (the SDK's VMSchema). It decodes as
// leniently as [CVM]. [VM.Instance] gives the fields it shares with a [CVM]
// (node, app id, compose hash, status) under the same names.
type VM struct {
	ID                 int64    `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status"`
	VMUUID             string   `json:"vm_uuid,omitempty"` // pass it to WaitForReplica
	AppID              string   `json:"app_id,omitempty"`
	InstanceID         string   `json:"instance_id,omitempty"`
	ComposeHash        string   `json:"compose_hash,omitempty"`
	TeepodID           int64    `json:"teepod_id,omitempty"` // node id
	Teepod             *Teepod  `json:"teepod,omitempty"`
	TeepodName         string   `json:"teepod_name,omitempty"`
	SourceCVMID        string   `json:"source_cvm_id,omitempty"`
	UserID             int64    `json:"user_id,omitempty"`
	AppURL             string   `json:"app_url,omitempty"`
	BaseImage          string   `json:"base_image,omitempty"`
	VCPU               int      `json:"vcpu,omitempty"`
	Memory             int      `json:"memory,omitempty"`    // MB
	DiskSize           int      `json:"disk_size,omitempty"` // GB
	ManifestVersion    int      `json:"manifest_version,omitempty"`
	Version            string   `json:"version,omitempty"`
	Runner             string   `json:"runner,omitempty"`
	DockerComposeFile  string   `json:"docker_compose_file,omitempty"`
	Features           []string `json:"features,omitempty"`
	CreatedAt          string   `json:"created_at,omitempty"` // as sent, usually RFC 3339
	EncryptedEnvPubkey string   `json:"encrypted_env_pubkey,omitempty"`

	// Extra holds unknown fields and known fields of an unusable type, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler leniently. It fails only when data is
// not a JSON object.
func (v *VM) UnmarshalJSON(data []byte) error {
	*v = VM{}
	extra, err := decodeLenient(data, v)
	if err != nil {
		return fmt.Errorf("phala: VM object: %w", err)
	}
	v.Extra = extra
	return nil
}

// Teepod is the node a replica was placed on.
type Teepod struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	RegionIdentifier string `json:"region_identifier,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (t *Teepod) UnmarshalJSON(data []byte) error { return decodeNested(data, t) }

// decodeNested decodes a nested object leniently, dropping unknown fields.
func decodeNested(data []byte, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	v.Set(reflect.Zero(v.Type()))
	_, err := decodeLenient(data, dst)
	return err
}

// decodeLenient fills the exported, json-tagged fields of the struct dst points to
// from the JSON object data. Null values leave a field zero; a value of another
// type than the field's is converted when that is unambiguous (a number for a
// string field, a decimal string or an integral float for an integer, "true" for a
// bool); anything else, and every unknown key, is returned in extra. It fails only
// when data is not a JSON object or null.
func decodeLenient(data []byte, dst any) (extra map[string]json.RawMessage, err error) {
	if isJSONNull(data) {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	fields := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
	}
	keep := func(k string, val json.RawMessage) {
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[k] = append(json.RawMessage(nil), val...)
	}
	for k, val := range raw {
		i, ok := fields[k]
		if !ok {
			keep(k, val)
			continue
		}
		if isJSONNull(val) {
			continue
		}
		if !setLenient(v.Field(i), val) {
			keep(k, val)
		}
	}
	return extra, nil
}

// setLenient decodes val into fv, converting between JSON types where that is
// unambiguous. It reports whether fv was set.
func setLenient(fv reflect.Value, val json.RawMessage) bool {
	tmp := reflect.New(fv.Type())
	if json.Unmarshal(val, tmp.Interface()) == nil {
		fv.Set(tmp.Elem())
		return true
	}
	target := fv.Type()
	isPtr := target.Kind() == reflect.Pointer
	if isPtr {
		target = target.Elem()
	}
	out := reflect.New(target).Elem()
	val = bytes.TrimSpace(val)
	text := string(val)
	if firstByte(val) == '"' {
		if json.Unmarshal(val, &text) != nil {
			return false
		}
		text = strings.TrimSpace(text)
	}
	switch target.Kind() {
	case reflect.String:
		switch firstByte(val) {
		case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			out.SetString(text)
		default:
			return false
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := parseIntegral(text)
		if !ok || out.OverflowInt(n) {
			return false
		}
		out.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := parseIntegral(text)
		if !ok || n < 0 || out.OverflowUint(uint64(n)) {
			return false
		}
		out.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || out.OverflowFloat(f) {
			return false
		}
		out.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return false
		}
		out.SetBool(b)
	default:
		return false
	}
	if isPtr {
		p := reflect.New(target)
		p.Elem().Set(out)
		fv.Set(p)
	} else {
		fv.Set(out)
	}
	return true
}

// parseIntegral parses a decimal integer, or a float with no fractional part.
func parseIntegral(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}
