package phalatest

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/phalaforge/phala-go/onchain"
)

// plan is a replica about to be created or prepared.
type plan struct {
	ws           *workspace
	source       *cvm
	node         *node
	compose      Compose
	composeHash  string
	encryptedEnv string
	inherited    bool
}

// postReplicas serves POST /cvms/{vm_uuid}/replicas.
func (s *Server) postReplicas(req *apiRequest) (int, any, error) {
	return s.replicate(req, req.segs[1], "")
}

// postAppReplicas serves POST /apps/{app_id}/cvms/{vm_uuid}/replicas: the
// same as postReplicas, for a vm_uuid that must belong to app_id.
func (s *Server) postAppReplicas(req *apiRequest) (int, any, error) {
	return s.replicate(req, req.segs[3], req.segs[1])
}

func isTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") || v == "1" }

// replicate creates a replica, or answers 465 with a commit token when the
// source is on an on-chain KMS whose contract does not allow the compose
// hash and the target device yet, or when X-Prepare-Only is set for it.
func (s *Server) replicate(req *apiRequest, cvmID, appID string) (int, any, error) {
	rr, err := parseReplicaRequest(req.body)
	if err != nil {
		return 0, nil, err
	}
	prepareOnly := isTrue(req.r.Header.Get("X-Prepare-Only"))

	s.mu.Lock()
	p, aerr := s.planLocked(req.ws, cvmID, appID, rr)
	if aerr != nil {
		s.mu.Unlock()
		return 0, nil, aerr
	}
	a := p.source.app
	if !a.KMS.Onchain() {
		defer s.mu.Unlock()
		if prepareOnly && s.cfg.cloudPrepare465 {
			return 0, nil, s.prepareLocked(p, nil, true)
		}
		c, aerr := s.createReplicaLocked(p, false)
		if aerr != nil {
			return 0, nil, aerr
		}
		return http.StatusOK, s.vmObjectLocked(c), nil
	}
	s.mu.Unlock()

	// Read the contract without holding the lock.
	st, err := s.readStatus(req.r.Context(), a, p.node.DeviceID, p.composeHash, 0)
	if err != nil {
		s.log.Warn("phalatest: cannot read the DstackApp contract; answering 465 without onchain_status",
			"app_id", a.ID, "chain_id", a.ChainID, "error", err)
		st = nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if prepareOnly || st == nil || !st.IsAllowed {
		return 0, nil, s.prepareLocked(p, st, false)
	}
	c, aerr := s.createReplicaLocked(p, false)
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, s.vmObjectLocked(c), nil
}

// planLocked resolves the source, the compose revision and the target node
// and checks capacity and credit.
func (s *Server) planLocked(ws *workspace, cvmID, appID string, rr *replicaRequest) (*plan, *apiError) {
	src, aerr := s.lookupCVMLocked(ws, cvmID, CodeSourceNotInWorkspace)
	if aerr != nil {
		return nil, aerr
	}
	if appID != "" {
		if id, ok := normAppID(appID); !ok || id != src.app.ID {
			return nil, newError(http.StatusNotFound, CodeCVMNotFound, "CVM %s is not an instance of app %s", src.uuid, truncateForMessage(appID)).
				with("app_id", truncateForMessage(appID)).with("vm_uuid", src.uuid)
		}
	}
	p := &plan{ws: ws, source: src}
	if aerr := s.pickComposeLocked(p, rr.composeHash); aerr != nil {
		return nil, aerr
	}
	if rr.nodeID != nil {
		n, ok := s.nodeByID[*rr.nodeID]
		if !ok {
			return nil, newError(http.StatusNotFound, CodeNodeNotFound, "Node %d not found", *rr.nodeID).
				with("node_id", *rr.nodeID).
				suggest("List the nodes with GET /teepods/available")
		}
		if aerr := s.checkNodeLocked(n, src); aerr != nil {
			return nil, aerr
		}
		p.node = n
	} else {
		for _, n := range s.nodes {
			if s.checkNodeLocked(n, src) == nil {
				p.node = n
				break
			}
		}
		if p.node == nil {
			return nil, newError(http.StatusConflict, CodeResourceNotAvailable, "No node has the capacity and the OS image %s for a replica of %s", src.image, src.uuid).
				with("vcpu", src.vcpu).with("memory", src.memoryMB).with("image", src.image)
		}
	}
	if aerr := s.checkCreditLocked(ws, src.price); aerr != nil {
		return nil, aerr
	}
	if rr.encryptedEnv != "" {
		p.encryptedEnv = rr.encryptedEnv
	} else {
		p.encryptedEnv, p.inherited = src.encryptedEnv, true
	}
	return p, nil
}

// pickComposeLocked chooses the replica's compose revision: the one asked
// for, else the app's only live compose hash, else (no live instance) the
// source's. Several live hashes without compose_hash is ERR-03-009.
func (s *Server) pickComposeLocked(p *plan, want string) *apiError {
	a := p.source.app
	revisions := map[string]Compose{a.ComposeHash: a.Compose, p.source.composeHash: p.source.compose}
	var live []string
	for _, c := range s.appCVMsLocked(a) {
		revisions[c.composeHash] = c.compose
		if isLive(s.statusLocked(c)) && !contains(live, c.composeHash) {
			live = append(live, c.composeHash)
		}
	}
	switch {
	case want != "":
		c, ok := revisions[want]
		if !ok {
			return newError(http.StatusUnprocessableEntity, CodeInvalidRequest, "Compose hash %s is not a revision of app %s", want, a.ID).
				with("compose_hash", want).with("live_compose_hashes", nonNilStrings(live))
		}
		p.compose, p.composeHash = c, want
	case len(live) > 1:
		return newError(http.StatusConflict, CodeMultipleLiveComposeHashes, "App %s has %d live compose hashes; pass compose_hash to choose the revision to replicate", a.ID, len(live)).
			with("compose_hash", live).
			suggest("Pass compose_hash with one of the live compose hashes")
	case len(live) == 1:
		p.compose, p.composeHash = revisions[live[0]], live[0]
	default:
		p.compose, p.composeHash = p.source.compose, p.source.composeHash
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkNodeLocked checks that n has the source's OS image and room for one
// more CVM of the source's size.
func (s *Server) checkNodeLocked(n *node, src *cvm) *apiError {
	if !n.images[src.image] {
		return newError(http.StatusUnprocessableEntity, CodeReplicaImageNotAvailable, "OS image %s of the source is not available on node %d (%s)", src.image, n.ID, n.Name).
			with("image", src.image).with("node_id", n.ID).with("available_images", n.Images).
			suggest("Choose a node that has the source's OS image")
	}
	u := s.usageLocked(n)
	if free := n.VCPU - u.vcpu; free < src.vcpu {
		return newError(http.StatusConflict, CodeInsufficientVCPU, "Node %d (%s) has %d vCPU left, the replica needs %d", n.ID, n.Name, max(free, 0), src.vcpu).
			with("node_id", n.ID).with("required_vcpu", src.vcpu).with("available_vcpu", max(free, 0)).
			suggest("Choose another node")
	}
	if free := n.MemoryMB - u.memoryMB; free < src.memoryMB {
		return newError(http.StatusConflict, CodeInsufficientMemory, "Node %d (%s) has %d MB of memory left, the replica needs %d MB", n.ID, n.Name, max(free, 0), src.memoryMB).
			with("node_id", n.ID).with("required_memory", src.memoryMB).with("available_memory", max(free, 0)).
			suggest("Choose another node")
	}
	if n.Slots-u.cvms < 1 {
		return newError(http.StatusConflict, CodeInsufficientSlots, "Node %d (%s) has no CVM slot left (%d in use)", n.ID, n.Name, u.cvms).
			with("node_id", n.ID).with("slots", n.Slots).
			suggest("Choose another node")
	}
	return nil
}

func (s *Server) checkCreditLocked(ws *workspace, price float64) *apiError {
	if ws.Credit < price {
		return newError(http.StatusPaymentRequired, CodeInsufficientBalance, "Insufficient balance: the replica costs %s USD per hour, the workspace has %s USD", formatUSD(price), formatUSD(ws.Credit)).
			with("required", formatUSD(price)).with("balance", formatUSD(ws.Credit)).
			suggest("Add credit to the workspace")
	}
	return nil
}

func formatUSD(v float64) string { return fmt.Sprintf("%.2f", v) }

// createReplicaLocked re-checks capacity and credit (the lock may have been
// released since planning), then creates the replica, charges its first hour
// and decrypts its env as the CVM would.
func (s *Server) createReplicaLocked(p *plan, viaCommit bool) (*cvm, *apiError) {
	if aerr := s.checkNodeLocked(p.node, p.source); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkCreditLocked(p.ws, p.source.price); aerr != nil {
		return nil, aerr
	}
	src, a := p.source, p.source.app
	s.nextCVM++
	u := newUUID()
	c := &cvm{
		numID: s.nextCVM, uuid: u, name: fmt.Sprintf("%s-%d", a.Name, s.nextCVM),
		app: a, node: p.node, workspace: p.ws,
		compose: p.compose, composeHash: p.composeHash, image: src.image,
		vcpu: src.vcpu, memoryMB: src.memoryMB, diskGB: src.diskGB, price: src.price,
		createdAt: s.nowLocked(), replica: true, source: src, viaCommit: viaCommit,
		encryptedEnv: p.encryptedEnv, envInherited: p.inherited,
	}
	c.hashedID = hashedCVMID(c.numID, u)
	c.instanceID = randomHex(20)
	c.env, c.envErr = decryptEnv(a, p.compose, p.encryptedEnv)
	if len(s.bootFails) > 0 {
		c.bootError = s.bootFails[0]
		s.bootFails = s.bootFails[1:]
	}
	if c.envErr != nil {
		c.env = nil
		c.bootError = "decrypting the environment: " + c.envErr.Error()
	}
	p.ws.Credit -= src.price
	s.addCVMLocked(c)
	s.log.Info("phalatest: replica created", "vm_uuid", c.uuid, "source", src.uuid, "node_id", c.node.ID, "compose_hash", c.composeHash)
	return c, nil
}

// prepareLocked issues a commit token for p and returns the 465 answer
// (replication-wire.md §7). st is the contract's state (nil when unknown or
// not on chain); cloud marks a token whose commit needs no chain check.
func (s *Server) prepareLocked(p *plan, st *onchain.AppStatus, cloud bool) *apiError {
	now := s.nowLocked()
	tok := &commitToken{
		value: "ct_" + randomHex(24), ws: p.ws, source: p.source, node: p.node,
		compose: p.compose, composeHash: p.composeHash,
		encryptedEnv: p.encryptedEnv, inherited: p.inherited,
		issued: now, expires: now.Add(TokenTTL), cloud: cloud,
	}
	s.issueTokenLocked(tok)
	a := p.source.app
	e := newError(StatusPrepare, CodeHashRegistrationRequired, "Compose hash registration required on-chain")
	if cloud {
		e.message = "Replica prepared; commit it with the commit token to create it"
	}
	e.with("compose_hash", p.composeHash).
		with("app_id", a.ID).
		with("device_id", p.node.DeviceID)
	if a.KMS != KMSNone {
		// The KMS entry of /teepods/available's kms_list, as the official
		// SDK types the 465's kms_info, not the CVM object's kms_info.
		e.with("kms_info", s.kmsEntry(a.kmsSlug(), a.ChainID, a.KMSContract))
	}
	e.with("commit_token", tok.value).
		with("commit_url", fmt.Sprintf("%s/%s/apps/%s/replicas/commit?source=%s", s.ts.URL, p.ws.Slug, a.ID, p.source.uuid)).
		with("api_commit_url", fmt.Sprintf("%s/cvms/%s/commit-replica", s.URL(), p.source.uuid))
	if st != nil {
		e.with("onchain_status", map[string]any{
			"compose_hash_allowed": st.ComposeHashAllowed,
			"device_id_allowed":    st.DeviceIDAllowed,
			"is_allowed":           st.IsAllowed,
			"allow_any_device":     st.AllowAnyDevice,
		})
	}
	if !cloud {
		e.suggest(
			"Call addComposeHash and addDevice on the app's DstackApp contract for what is not allowed yet",
			fmt.Sprintf("Then POST /cvms/%s/commit-replica with the commit token, the compose hash and the transaction hash (or %q)", p.source.uuid, onchain.AlreadyRegistered),
			fmt.Sprintf("The commit token expires in %d days", int(TokenTTL/(24*time.Hour))),
		)
	}
	return e
}
