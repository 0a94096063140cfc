package phalatest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// Defaults used when a seeded value leaves a field at its zero value.
const (
	DefaultImage            = "dstack-0.5.3" // OS image of nodes and CVMs
	DefaultNodeVCPU         = 32             // vCPU capacity of a node
	DefaultNodeMemoryMB     = 65536          // memory capacity of a node
	DefaultNodeSlots        = 16             // CVM slots of a node
	DefaultCVMVCPU          = 2
	DefaultCVMMemoryMB      = 4096
	DefaultCVMDiskGB        = 40
	DefaultPricePerVCPUHour = 0.05  // USD per vCPU and hour when a CVM has no Price
	DefaultCredit           = 100.0 // USD credit of the default workspace
)

// CVM statuses the emulator reports. A replica is StatusCreating, then
// StatusStarting, then StatusRunning (or StatusError when its boot fails),
// moving on the server's clock; see WithProvisioningDelays.
const (
	StatusCreating = "creating"
	StatusStarting = "starting"
	StatusRunning  = "running"
	StatusStopped  = "stopped"
	StatusError    = "error"
)

// KMSType is an app's kms_type: which KMS holds its keys.
type KMSType string

// The KMS types of Phala Cloud. Any other non-empty value is treated as an
// on-chain KMS too (so tests can check a client is lenient about new types),
// except "legacy", which behaves like KMSCloud.
const (
	KMSNone     KMSType = ""         // no KMS: no env encryption key, no kms_info
	KMSCloud    KMSType = "phala"    // Phala's hosted KMS
	KMSBase     KMSType = "base"     // on-chain KMS on Base
	KMSEthereum KMSType = "ethereum" // on-chain KMS on Ethereum
)

// Onchain reports whether apps of this KMS type are governed by a DstackApp
// contract.
func (k KMSType) Onchain() bool { return k != KMSNone && k != KMSCloud && k != "legacy" }

// Workspace is a team: it owns apps and CVMs, has credit, and is selected by
// the API key of a request.
type Workspace struct {
	ID     string  // generated when empty
	Name   string  // default "Workspace N"
	Slug   string  // default: Name lowercased with dashes
	Credit float64 // USD; replicas need at least their hourly price (see CVM.Price)
	APIKey string  // the X-API-Key that acts in this workspace; generated when empty
}

// Node is a TEE host (a "teepod") that replicas can be placed on.
type Node struct {
	ID       int      // teepod_id; next free id when 0
	Name     string   // default "node-<ID>"
	Region   string   // region_identifier; default "us-west"
	VCPU     int      // vCPU capacity; 0 = DefaultNodeVCPU
	MemoryMB int      // memory capacity; 0 = DefaultNodeMemoryMB
	Slots    int      // how many CVMs fit; 0 = DefaultNodeSlots
	Images   []string // OS images available, e.g. "dstack-0.5.3" or "dstack-dev-0.5.3"; nil = [DefaultImage]
	DeviceID string   // 32-byte hex (0x optional); default sha256 of the name
	Listed   bool     // the listed flag of /teepods/available
	// OnchainKMS is the support_onchain_kms flag; it is informative only.
	OnchainKMS bool
}

// Compose is an app's configuration revision: the docker compose file and
// the names the CVM accepts from an encrypted env. Its app-compose.json is
// what the compose hash is taken over.
type Compose struct {
	Name          string   // app name inside app-compose.json; default the app's name
	DockerCompose string   // docker-compose.yaml text; default a one-service file
	AllowedEnvs   []string // allowed_envs: only these names reach the app
}

type appComposeDoc struct {
	ManifestVersion   int      `json:"manifest_version"`
	Name              string   `json:"name"`
	Runner            string   `json:"runner"`
	DockerComposeFile string   `json:"docker_compose_file"`
	KMSEnabled        bool     `json:"kms_enabled"`
	GatewayEnabled    bool     `json:"gateway_enabled"`
	PublicLogs        bool     `json:"public_logs"`
	PublicSysinfo     bool     `json:"public_sysinfo"`
	AllowedEnvs       []string `json:"allowed_envs"`
	NoInstanceID      bool     `json:"no_instance_id"`
	SecureTime        bool     `json:"secure_time"`
}

const defaultDockerCompose = "services:\n  app:\n    image: nginx:1.27\n    ports:\n      - \"80:80\"\n"

func (c Compose) withDefaults(appName string) Compose {
	if c.Name == "" {
		c.Name = appName
	}
	if c.DockerCompose == "" {
		c.DockerCompose = defaultDockerCompose
	}
	if c.AllowedEnvs == nil {
		c.AllowedEnvs = []string{}
	}
	return c
}

// AppComposeJSON returns the app-compose.json document of c, the bytes whose
// SHA-256 is the compose hash. An empty DockerCompose is the default file;
// Name is not defaulted here (AddApp and AddCVM use the app's name), so set
// it to compute a hash before seeding, e.g. to allow it in a contract.
func (c Compose) AppComposeJSON() []byte {
	c = c.withDefaults(c.Name)
	b, _ := marshalJSON(appComposeDoc{ // cannot fail: strings and bools only
		ManifestVersion: 2, Name: c.Name, Runner: "docker-compose",
		DockerComposeFile: c.DockerCompose, KMSEnabled: true, GatewayEnabled: true,
		PublicLogs: true, PublicSysinfo: true, AllowedEnvs: c.AllowedEnvs,
	})
	return b
}

// Hash returns the compose hash of c: lowercase hex of SHA-256 over
// AppComposeJSON, without 0x, as Phala Cloud shows it. For a Compose with
// Name set to the app's name it is the hash AddApp and AddCVM report.
func (c Compose) Hash() string {
	sum := sha256.Sum256(c.AppComposeJSON())
	return hex.EncodeToString(sum[:])
}

// App is an application: its KMS, its contract (on-chain KMS) and its
// compose revision. AddApp returns it with the generated fields filled in.
type App struct {
	// ID is the app id, 40 hex digits. Required for an on-chain KMS, where it
	// is the address of the app's DstackApp contract; generated otherwise.
	// Accepted with 0x or app_ prefix; returned bare and lowercase.
	ID        string
	Name      string  // default "app-<first 8 hex digits of ID>"
	Workspace string  // workspace ID; "" = the default workspace
	KMS       KMSType // KMSNone, KMSCloud, KMSBase, KMSEthereum
	// ChainID is the chain of the DstackApp and DstackKms contracts (on-chain
	// KMS only, required). The server reads it through the backend given
	// with WithChain for that chain id.
	ChainID uint64
	// KMSContract is the DstackKms address (on-chain KMS only); kms_info
	// carries it as dstack_kms_address.
	KMSContract string
	Compose     Compose // the app's current revision

	// Filled in by AddApp.
	ComposeHash string // Compose.Hash()
	EnvPubkey   string // X25519 env encryption key of the app (hex); "" without KMS
}

// CVM is a live instance of an app, seeded with AddCVM. AddCVM returns it
// with the generated fields filled in.
type CVM struct {
	AppID    string   // required: an app added with AddApp
	VMUUID   string   // generated (random v4 UUID) when empty
	Name     string   // default "<app name>-<n>"
	NodeID   int      // node it runs on; default the first node added
	Compose  *Compose // its revision; nil = the app's Compose
	Status   string   // default StatusRunning
	VCPU     int      // default DefaultCVMVCPU
	MemoryMB int      // default DefaultCVMMemoryMB
	DiskGB   int      // default DefaultCVMDiskGB
	Image    string   // OS image; default DefaultImage
	Price    float64  // USD per hour; default DefaultPricePerVCPUHour × VCPU
	// Env is the environment the CVM was started with. The emulator encrypts
	// it with the app's key; a replica created without encrypted_env
	// inherits that blob, as on Phala Cloud. Names outside the revision's
	// AllowedEnvs are dropped by the CVM as dstack-util drops them.
	Env []envcrypt.EnvVar

	// Filled in by AddCVM.
	ID          string // the hashed CVM id (the "id" field)
	InstanceID  string // 40 hex digits
	ComposeHash string // hash of its revision
}

// state types ---------------------------------------------------------------

type workspace struct {
	Workspace
	order int
}

type node struct {
	Node
	images map[string]bool
}

type app struct {
	App
	workspace *workspace
	envKey    []byte // X25519 private key; nil without KMS
}

type cvm struct {
	numID       int
	hashedID    string
	uuid        string // canonical: lowercase with dashes
	instanceID  string
	name        string
	app         *app
	node        *node
	workspace   *workspace
	compose     Compose
	composeHash string
	image       string
	vcpu        int
	memoryMB    int
	diskGB      int
	price       float64
	createdAt   time.Time

	// status: seeded CVMs (and pinned replicas) have a fixed status;
	// replicas otherwise derive it from createdAt and the server's delays.
	fixedStatus string
	replica     bool
	source      *cvm
	bootError   string

	encryptedEnv string // blob the CVM boots with ("" = none)
	envInherited bool
	env          *envcrypt.CVMEnv
	envErr       error
	viaCommit    bool
}

// helpers --------------------------------------------------------------------

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(name string) string {
	return strings.Trim(slugRE.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("phalatest: reading random bytes: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("phalatest: reading random bytes: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// canonicalUUID returns u lowercase with dashes if it is a UUID (dashes
// optional), and false otherwise.
func canonicalUUID(u string) (string, bool) {
	h := strings.ToLower(strings.ReplaceAll(u, "-", ""))
	if len(h) != 32 || !isHex(h) {
		return "", false
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// normHash parses a bytes32 value (0x optional) to bare lowercase hex.
func normHash(s string) (string, bool) {
	h, err := onchain.ParseHash32(s)
	if err != nil {
		return "", false
	}
	return hex.EncodeToString(h[:]), true
}

// normAppID parses an app id (bare, 0x or app_ prefixed) to bare lowercase hex.
func normAppID(s string) (string, bool) {
	a, err := onchain.ParseAppAddress(s)
	if err != nil {
		return "", false
	}
	return hex.EncodeToString(a[:]), true
}

// imageVersion derives the wire version tuple and is_dev flag from an image
// name such as "dstack-dev-0.5.3".
func imageVersion(name string) (version []int, isDev bool) {
	isDev = strings.Contains(name, "-dev")
	i := strings.LastIndex(name, "-")
	for _, p := range strings.Split(name[i+1:], ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return []int{0, 0, 0}, isDev
		}
		version = append(version, n)
	}
	for len(version) < 3 {
		version = append(version, 0)
	}
	return version, isDev
}

func imageHash(name string) string {
	sum := sha256.Sum256([]byte("phalatest os image " + name))
	return hex.EncodeToString(sum[:])
}

func panicf(format string, args ...any) {
	panic(fmt.Sprintf("phalatest: "+format, args...))
}
