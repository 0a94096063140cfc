package phalatest

import (
	"math"
	"net/http"
	"slices"
	"strconv"
)

// resolveKind tells what an identifier matched, to pick the error codes.
type resolveKind int

const (
	matchNone resolveKind = iota
	matchCVM              // a vm_uuid, hashed id, instance id or numeric id
	matchApp              // an app id: the app's CVMs
	matchName             // a CVM name
)

// resolveLocked finds the CVMs an identifier names, across all workspaces,
// the way GET /cvms/{id} interprets it: vm_uuid (dashes optional), hashed
// id, app id (app_<hex>, <hex>, 0x<hex>), instance id, numeric id, name.
func (s *Server) resolveLocked(id string) ([]*cvm, resolveKind) {
	if u, ok := canonicalUUID(id); ok {
		if c, ok := s.cvmByUUID[u]; ok {
			return []*cvm{c}, matchCVM
		}
	}
	if c, ok := s.cvmIdx.byHashedID[id]; ok {
		return []*cvm{c}, matchCVM
	}
	if appID, ok := normAppID(id); ok {
		if a, ok := s.appByID[appID]; ok {
			return s.appCVMsLocked(a), matchApp
		}
		if c, ok := s.cvmIdx.byInstance[appID]; ok {
			return []*cvm{c}, matchCVM
		}
	}
	if n, err := strconv.Atoi(id); err == nil && strconv.Itoa(n) == id {
		if c, ok := s.cvmIdx.byNumID[n]; ok {
			return []*cvm{c}, matchCVM
		}
	}
	if named := s.cvmIdx.byName[id]; len(named) > 0 {
		return slices.Clone(named), matchName
	}
	return nil, matchNone
}

// appCVMsLocked returns the app's CVMs in the order they were added.
func (s *Server) appCVMsLocked(a *app) []*cvm {
	return slices.Clone(s.cvmIdx.byApp[a])
}

// lookupCVMLocked resolves id to exactly one CVM of the request's
// workspace. notInWS is the code for a CVM of another workspace.
func (s *Server) lookupCVMLocked(ws *workspace, id, notInWS string) (*cvm, *apiError) {
	found, kind := s.resolveLocked(id)
	var mine []*cvm
	for _, c := range found {
		if c.workspace == ws {
			mine = append(mine, c)
		}
	}
	if len(mine) == 0 {
		if len(found) > 0 {
			return nil, newError(http.StatusForbidden, notInWS, "CVM %s is not visible in the current workspace", truncateForMessage(id)).
				with("cvm_id", truncateForMessage(id)).
				suggest("Use an API key of the workspace that owns the CVM")
		}
		return nil, newError(http.StatusNotFound, CodeCVMNotFound, "CVM %s not found", truncateForMessage(id)).
			with("cvm_id", truncateForMessage(id))
	}
	if kind == matchApp && len(mine) > 1 {
		var live []*cvm
		for _, c := range mine {
			if isLive(s.statusLocked(c)) {
				live = append(live, c)
			}
		}
		if len(live) > 0 {
			mine = live
		}
	}
	if len(mine) == 1 {
		return mine[0], nil
	}
	code, what := CodeMultipleCVMsMatch, "app"
	if kind == matchName {
		code, what = CodeMultipleCVMsSameName, "name"
	}
	uuids := make([]string, len(mine))
	for i, c := range mine {
		uuids[i] = c.uuid
	}
	return nil, newError(http.StatusConflict, code, "The identifier %s matches %d CVMs", truncateForMessage(id), len(mine)).
		with("cvm_id", truncateForMessage(id)).
		with("vm_uuids", uuids).
		suggest("Use the vm_uuid of one instance", "List the instances of the "+what+" with GET /apps/{app_id}/cvms")
}

// getCVM serves GET /cvms/{id}.
func (s *Server) getCVM(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupCVMLocked(req.ws, req.segs[1], CodeCVMNotInWorkspace)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.cvmObjectLocked(c, req.version), nil
}

// getAppCVMs serves GET /apps/{app_id}/cvms: a bare array of CVM objects,
// oldest first.
func (s *Server) getAppCVMs(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw := req.segs[1]
	appID, ok := normAppID(raw)
	var a *app
	if ok {
		a = s.appByID[appID]
	}
	if a == nil {
		return 0, nil, newError(http.StatusNotFound, CodeCVMNotFound, "App %s not found", truncateForMessage(raw)).
			with("app_id", truncateForMessage(raw))
	}
	if a.workspace != req.ws {
		return 0, nil, newError(http.StatusForbidden, CodeCVMNotInWorkspace, "App %s is not visible in the current workspace", appID).
			with("app_id", appID)
	}
	out := []any{}
	for _, c := range s.appCVMsLocked(a) {
		out = append(out, s.cvmObjectLocked(c, req.version))
	}
	return http.StatusOK, out, nil
}

// usage is what the live CVMs on a node use.
type usage struct{ vcpu, memoryMB, cvms int }

func (s *Server) usageLocked(n *node) usage {
	nu := s.cvmIdx.nodes[n]
	if nu == nil {
		return usage{}
	}
	u := nu.live
	for _, c := range nu.failing {
		if isLive(s.statusLocked(c)) {
			u.vcpu += c.vcpu
			u.memoryMB += c.memoryMB
			u.cvms++
		}
	}
	return u
}

// getAvailableNodes serves GET /teepods/available (replication-wire.md §4).
func (s *Server) getAvailableNodes(req *apiRequest) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nodes := []any{}
	for _, n := range s.nodes {
		u := s.usageLocked(n)
		images := []any{}
		for _, img := range n.Images {
			v, dev := imageVersion(img)
			images = append(images, map[string]any{"name": img, "is_dev": dev, "version": v, "os_image_hash": imageHash(img)})
		}
		remVCPU := max(n.VCPU-u.vcpu, 0)
		nodes = append(nodes, map[string]any{
			"teepod_id":           n.ID,
			"name":                n.Name,
			"listed":              n.Listed,
			"resource_score":      math.Round(float64(remVCPU)/float64(n.VCPU)*100) / 100,
			"remaining_vcpu":      remVCPU,
			"remaining_memory":    max(n.MemoryMB-u.memoryMB, 0),
			"remaining_cvm_slots": max(n.Slots-u.cvms, 0),
			"images":              images,
			"support_onchain_kms": n.OnchainKMS,
			"fmspc":               nil,
			"device_id":           n.DeviceID,
			"region_identifier":   n.Region,
			"default_kms":         "kms-" + string(KMSCloud),
			"kms_list":            s.kmsIDsLocked(),
		})
	}
	return http.StatusOK, map[string]any{
		"tier":     "pro",
		"capacity": map[string]any{"max_instances": 100, "max_vcpu": 256, "max_memory": 524288, "max_disk": 10000},
		"nodes":    nodes,
		"kms_list": s.kmsListLocked(),
	}, nil
}

// kmsListLocked lists the cloud KMS and every on-chain KMS of a seeded app.
func (s *Server) kmsListLocked() []any {
	list := []any{s.kmsEntry(string(KMSCloud), 0, "")}
	seen := map[string]bool{string(KMSCloud): true}
	for _, a := range s.apps {
		slug := a.kmsSlug()
		if a.KMS == KMSNone || seen[slug] {
			continue
		}
		seen[slug] = true
		list = append(list, s.kmsEntry(slug, a.ChainID, a.KMSContract))
	}
	return list
}

func (s *Server) kmsIDsLocked() []string {
	var ids []string
	for _, e := range s.kmsListLocked() {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	return ids
}
