package phalatest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// DefaultWorkspace returns the workspace that APIKey acts in.
func (s *Server) DefaultWorkspace() Workspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultWS.Workspace
}

// AddWorkspace adds a workspace with its own API key and returns it with the
// generated fields filled in. A zero Credit means no credit at all.
func (s *Server) AddWorkspace(w Workspace) Workspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addWorkspace(w).Workspace
}

func (s *Server) addWorkspace(w Workspace) *workspace {
	if w.ID == "" {
		w.ID = newUUID()
	}
	if _, dup := s.wsByID[w.ID]; dup {
		panicf("AddWorkspace: duplicate workspace id %q", w.ID)
	}
	if w.Name == "" {
		w.Name = fmt.Sprintf("Workspace %d", len(s.workspaces)+1)
	}
	if w.Slug == "" {
		w.Slug = slugify(w.Name)
	}
	if w.APIKey == "" {
		w.APIKey = "phak_" + randomHex(24)
	}
	if _, dup := s.wsByKey[w.APIKey]; dup {
		panic("phalatest: AddWorkspace: API key already used by another workspace")
	}
	ws := &workspace{Workspace: w, order: len(s.workspaces)}
	s.workspaces = append(s.workspaces, ws)
	s.wsByID[w.ID] = ws
	s.wsByKey[w.APIKey] = ws
	return ws
}

func (s *Server) workspaceForKey(key string) *workspace {
	if key == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsByKey[key]
}

// lookupWorkspaceLocked resolves a workspace id ("" = default) or panics.
func (s *Server) lookupWorkspaceLocked(method, id string) *workspace {
	if id == "" {
		return s.defaultWS
	}
	ws, ok := s.wsByID[id]
	if !ok {
		panicf("%s: unknown workspace %q", method, id)
	}
	return ws
}

// SetCredit sets the credit (USD) of a workspace ("" = the default one).
func (s *Server) SetCredit(workspaceID string, usd float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookupWorkspaceLocked("SetCredit", workspaceID).Credit = usd
}

// Credit returns the credit (USD) of a workspace ("" = the default one).
// Each replica created is charged its first hour.
func (s *Server) Credit(workspaceID string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookupWorkspaceLocked("Credit", workspaceID).Credit
}

// AddNode adds a node (visible to every workspace) and returns it with the
// defaults filled in.
func (s *Server) AddNode(n Node) Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.ID < 0 {
		panicf("AddNode: negative id %d", n.ID)
	}
	if n.ID == 0 {
		n.ID = 1
		for _, o := range s.nodes {
			n.ID = max(n.ID, o.ID+1)
		}
	}
	if _, dup := s.nodeByID[n.ID]; dup {
		panicf("AddNode: duplicate node id %d", n.ID)
	}
	if n.Name == "" {
		n.Name = fmt.Sprintf("node-%d", n.ID)
	}
	if n.Region == "" {
		n.Region = "us-west"
	}
	if n.VCPU < 0 || n.MemoryMB < 0 || n.Slots < 0 {
		panicf("AddNode: negative capacity in %+v", n)
	}
	if n.VCPU == 0 {
		n.VCPU = DefaultNodeVCPU
	}
	if n.MemoryMB == 0 {
		n.MemoryMB = DefaultNodeMemoryMB
	}
	if n.Slots == 0 {
		n.Slots = DefaultNodeSlots
	}
	if n.Images == nil {
		n.Images = []string{DefaultImage}
	}
	n.Images = slices.Clone(n.Images)
	if n.DeviceID == "" {
		sum := sha256.Sum256([]byte(fmt.Sprintf("phalatest device %d %s", n.ID, n.Name)))
		n.DeviceID = hex.EncodeToString(sum[:])
	} else {
		d, ok := normHash(n.DeviceID)
		if !ok {
			panicf("AddNode: device id %q is not 32 bytes of hex", n.DeviceID)
		}
		n.DeviceID = d
	}
	nd := &node{Node: n, images: map[string]bool{}}
	for _, img := range n.Images {
		nd.images[img] = true
	}
	s.nodes = append(s.nodes, nd)
	s.nodeByID[n.ID] = nd
	return n
}

// AddApp adds an app and returns it with ComposeHash, EnvPubkey and the
// defaults filled in. For an on-chain KMS, ID (the DstackApp address) and
// ChainID are required.
func (s *Server) AddApp(a App) App {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.lookupWorkspaceLocked("AddApp", a.Workspace)
	a.Workspace = ws.ID
	switch {
	case a.ID != "":
		id, ok := normAppID(a.ID)
		if !ok {
			panicf("AddApp: app id %q is not 20 bytes of hex", a.ID)
		}
		a.ID = id
	case a.KMS.Onchain():
		panic("phalatest: AddApp: an app on an on-chain KMS needs ID, the address of its DstackApp contract")
	default:
		a.ID = randomHex(20)
	}
	if _, dup := s.appByID[a.ID]; dup {
		panicf("AddApp: duplicate app id %s", a.ID)
	}
	if a.KMS.Onchain() {
		if a.ChainID == 0 {
			panic("phalatest: AddApp: an app on an on-chain KMS needs ChainID")
		}
		if a.KMSContract != "" {
			addr, err := onchain.ParseAppAddress(a.KMSContract)
			if err != nil {
				panicf("AddApp: KMSContract: %v", err)
			}
			a.KMSContract = addr.Hex()
		}
	} else if a.ChainID != 0 || a.KMSContract != "" {
		panicf("AddApp: ChainID and KMSContract are for on-chain KMS apps, not kms %q", a.KMS)
	}
	if a.Name == "" {
		a.Name = "app-" + a.ID[:8]
	}
	a.Compose = a.Compose.withDefaults(a.Name)
	a.Compose.AllowedEnvs = slices.Clone(a.Compose.AllowedEnvs)
	a.ComposeHash = a.Compose.Hash()
	ap := &app{App: a, workspace: ws}
	if a.KMS != KMSNone {
		ap.envKey = s.envPrivateKey(string(a.KMS), a.ID)
		ap.EnvPubkey = envPublicKeyHex(ap.envKey)
	}
	s.apps = append(s.apps, ap)
	s.appByID[a.ID] = ap
	return ap.App
}

// AddCVM adds a live CVM of an app and returns it with the generated
// fields filled in. It is counted against its node's capacity.
func (s *Server) AddCVM(c CVM) CVM {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := normAppID(c.AppID)
	if !ok {
		panicf("AddCVM: app id %q is not 20 bytes of hex", c.AppID)
	}
	ap, ok := s.appByID[id]
	if !ok {
		panicf("AddCVM: unknown app %s (AddApp first)", id)
	}
	c.AppID = id
	var nd *node
	if c.NodeID == 0 {
		if len(s.nodes) == 0 {
			panic("phalatest: AddCVM: no node to run on (AddNode first)")
		}
		nd = s.nodes[0]
		c.NodeID = nd.ID
	} else if nd, ok = s.nodeByID[c.NodeID]; !ok {
		panicf("AddCVM: unknown node %d", c.NodeID)
	}
	if c.VMUUID == "" {
		c.VMUUID = newUUID()
	}
	u, ok := canonicalUUID(c.VMUUID)
	if !ok {
		panicf("AddCVM: vm uuid %q is not a UUID", c.VMUUID)
	}
	if _, dup := s.cvmByUUID[u]; dup {
		panicf("AddCVM: duplicate vm uuid %s", u)
	}
	c.VMUUID = u
	compose := ap.Compose
	if c.Compose != nil {
		compose = c.Compose.withDefaults(ap.Name)
		compose.AllowedEnvs = slices.Clone(compose.AllowedEnvs)
	}
	c.Compose = &compose
	c.ComposeHash = compose.Hash()
	if c.Status == "" {
		c.Status = StatusRunning
	}
	if c.VCPU < 0 || c.MemoryMB < 0 || c.DiskGB < 0 || c.Price < 0 {
		panicf("AddCVM: negative resources in %+v", c)
	}
	if c.VCPU == 0 {
		c.VCPU = DefaultCVMVCPU
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = DefaultCVMMemoryMB
	}
	if c.DiskGB == 0 {
		c.DiskGB = DefaultCVMDiskGB
	}
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.Price == 0 {
		c.Price = DefaultPricePerVCPUHour * float64(c.VCPU)
	}
	s.nextCVM++
	if c.Name == "" {
		c.Name = fmt.Sprintf("%s-%d", ap.Name, s.nextCVM)
	}
	cv := &cvm{
		numID: s.nextCVM, uuid: u, name: c.Name, app: ap, node: nd, workspace: ap.workspace,
		compose: compose, composeHash: c.ComposeHash, image: c.Image,
		vcpu: c.VCPU, memoryMB: c.MemoryMB, diskGB: c.DiskGB, price: c.Price,
		createdAt: s.nowLocked(), fixedStatus: c.Status,
	}
	cv.hashedID = hashedCVMID(cv.numID, u)
	cv.instanceID = randomHex(20)
	if len(c.Env) > 0 {
		if ap.envKey == nil {
			panic("phalatest: AddCVM: an app without KMS cannot have an encrypted env")
		}
		blob, err := envcrypt.Encrypt(ap.EnvPubkey, c.Env)
		if err != nil {
			panicf("AddCVM: encrypting Env: %v", err)
		}
		cv.encryptedEnv = blob
		c.Env = slices.Clone(c.Env)
	}
	cv.env, cv.envErr = envcrypt.DecryptEnv(ap.envKey, cv.encryptedEnv, compose.AllowedEnvs)
	c.ID, c.InstanceID = cv.hashedID, cv.instanceID
	s.addCVMLocked(cv)
	return c
}

func (s *Server) addCVMLocked(c *cvm) {
	s.cvms = append(s.cvms, c)
	s.cvmByUUID[c.uuid] = c
	s.cvmIdx.add(c)
}

func hashedCVMID(n int, uuid string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("phalatest cvm %d %s", n, uuid)))
	return hex.EncodeToString(sum[:])[:22]
}

// SetStatus sets the status of a CVM (seeded or replica), e.g. StatusStopped
// to take it out of its app's live instances. A replica's status then stays
// fixed instead of progressing.
func (s *Server) SetStatus(vmUUID, status string) {
	if status == "" {
		panic("phalatest: SetStatus: empty status")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cvmByUUIDLocked("SetStatus", vmUUID)
	s.cvmIdx.setStatus(c, status)
}

// FailNextBoot makes the next replica created fail to boot: it goes through
// StatusCreating and StatusStarting to StatusError, and its CVM object
// carries message as boot_error.
func (s *Server) FailNextBoot(message string) {
	if message == "" {
		panic("phalatest: FailNextBoot: empty message")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bootFails = append(s.bootFails, message)
}

func (s *Server) cvmByUUIDLocked(method, vmUUID string) *cvm {
	u, ok := canonicalUUID(vmUUID)
	if !ok {
		panicf("%s: %q is not a UUID", method, vmUUID)
	}
	c, ok := s.cvmByUUID[u]
	if !ok {
		panicf("%s: unknown CVM %s", method, u)
	}
	return c
}

// statusLocked is c's status at the server's current time.
func (s *Server) statusLocked(c *cvm) string {
	if c.fixedStatus != "" {
		return c.fixedStatus
	}
	el := s.nowLocked().Sub(c.createdAt)
	switch {
	case el < s.cfg.creating:
		return StatusCreating
	case el < s.cfg.creating+s.cfg.starting:
		return StatusStarting
	case c.bootError != "":
		return StatusError
	default:
		return StatusRunning
	}
}

func isLive(status string) bool {
	return status == StatusCreating || status == StatusStarting || status == StatusRunning
}

// Replica is a snapshot of a CVM (created replica or seeded CVM) with what
// its application would see.
type Replica struct {
	VMUUID       string // canonical form: lowercase with dashes
	ID           string // hashed CVM id
	Name         string
	AppID        string
	InstanceID   string
	SourceVMUUID string // the CVM it was replicated from; "" for a seeded CVM
	NodeID       int
	ComposeHash  string
	Status       string // at the server's current time
	BootError    string // why the boot fails ("" when it does not)
	CreatedAt    time.Time
	VCPU         int
	MemoryMB     int
	DiskGB       int
	Committed    bool // created by POST /cvms/{vm_uuid}/commit-replica

	// EncryptedEnv is the blob the CVM boots with: the request's
	// encrypted_env, or the source's when EnvInherited.
	EncryptedEnv string
	EnvInherited bool
	// DecryptedEnv is what the application sees after dstack-util's rules
	// (allowed_envs of its compose revision); nil when EnvError is set.
	DecryptedEnv *envcrypt.CVMEnv
	// EnvError is the error that fails the boot when the env cannot be
	// decrypted or parsed (wrong key, tampering, bad names, limits).
	EnvError error
}

func (s *Server) snapshotLocked(c *cvm) Replica {
	r := Replica{
		VMUUID: c.uuid, ID: c.hashedID, Name: c.name, AppID: c.app.ID, InstanceID: c.instanceID,
		NodeID: c.node.ID, ComposeHash: c.composeHash, Status: s.statusLocked(c), BootError: c.bootError,
		CreatedAt: c.createdAt, VCPU: c.vcpu, MemoryMB: c.memoryMB, DiskGB: c.diskGB,
		Committed: c.viaCommit, EncryptedEnv: c.encryptedEnv, EnvInherited: c.envInherited, EnvError: c.envErr,
	}
	if c.source != nil {
		r.SourceVMUUID = c.source.uuid
	}
	if c.env != nil {
		r.DecryptedEnv = &envcrypt.CVMEnv{Vars: slices.Clone(c.env.Vars), Skipped: slices.Clone(c.env.Skipped)}
	}
	return r
}

// Replica returns the snapshot of the CVM with that vm_uuid (dashes and case
// ignored), replica or seeded CVM.
func (s *Server) Replica(vmUUID string) (Replica, bool) {
	u, ok := canonicalUUID(vmUUID)
	if !ok {
		return Replica{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cvmByUUID[u]
	if !ok {
		return Replica{}, false
	}
	return s.snapshotLocked(c), true
}

// Replicas returns the replicas created through the API, oldest first.
func (s *Server) Replicas() []Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Replica
	for _, c := range s.cvms {
		if c.replica {
			out = append(out, s.snapshotLocked(c))
		}
	}
	return out
}

// appAddress is the DstackApp address of an on-chain app.
func (a *app) address() common.Address { return common.HexToAddress(a.ID) }

// kmsSlug is the {kms} path segment of the pubkey endpoint for the app.
func (a *app) kmsSlug() string { return strings.ToLower(string(a.KMS)) }
