package phalatest

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

const gatewayDomain = "phalatest.local"

// kmsInfoLocked is the kms_info object of a CVM of a (API version
// 2026-01-21), or nil (JSON null) without KMS.
func (s *Server) kmsInfoLocked(a *app) map[string]any {
	switch {
	case a.KMS == KMSNone:
		return nil
	case a.KMS.Onchain():
		var kms any
		if a.KMSContract != "" {
			kms = a.KMSContract
		}
		return map[string]any{
			"chain_id":             a.ChainID,
			"dstack_kms_address":   kms,
			"dstack_app_address":   a.address().Hex(),
			"deployer_address":     nil,
			"rpc_endpoint":         nil,
			"encrypted_env_pubkey": nil,
		}
	default:
		return map[string]any{
			"chain_id":             nil,
			"dstack_kms_address":   nil,
			"dstack_app_address":   nil,
			"deployer_address":     nil,
			"rpc_endpoint":         nil,
			"encrypted_env_pubkey": a.EnvPubkey,
		}
	}
}

// kmsEntry is the KmsInfo object of /teepods/available's kms_list (and of
// kms_info in API version 2025-10-28).
func (s *Server) kmsEntry(slug string, chainID uint64, contract string) map[string]any {
	e := map[string]any{
		"id":                   "kms-" + slug,
		"slug":                 slug,
		"url":                  s.ts.URL + "/kms/" + slug,
		"version":              "v0.5.3",
		"chain_id":             nil,
		"kms_contract_address": nil,
		"gateway_app_id":       nil,
	}
	if chainID != 0 {
		e["chain_id"] = chainID
	}
	if contract != "" {
		e["kms_contract_address"] = contract
	}
	return e
}

func instanceType(vcpu int) string {
	switch {
	case vcpu <= 1:
		return "tdx.small"
	case vcpu <= 2:
		return "tdx.medium"
	case vcpu <= 4:
		return "tdx.large"
	case vcpu <= 8:
		return "tdx.xlarge"
	default:
		return "tdx.2xlarge"
	}
}

func price(p float64) string { return fmt.Sprintf("%.4f", p) }

func versionString(image string) string {
	v, _ := imageVersion(image)
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ".")
}

func (s *Server) appURLLocked(c *cvm) string {
	return fmt.Sprintf("%s/%s/apps/%s/instances/%s", s.ts.URL, c.workspace.Slug, c.app.ID, strings.ReplaceAll(c.uuid, "-", ""))
}

// cvmObjectLocked is the CVM object of GET /cvms/{id} and GET
// /apps/{app}/cvms (CvmInfoDetailV20260121, replication-wire.md §3.3).
func (s *Server) cvmObjectLocked(c *cvm, version string) map[string]any {
	if version == Version20251028 {
		return s.cvmObjectV1Locked(c)
	}
	status := s.statusLocked(c)
	var kmsType any
	if c.app.KMS != KMSNone {
		kmsType = string(c.app.KMS)
	}
	var kmsInfo any
	if ki := s.kmsInfoLocked(c.app); ki != nil {
		kmsInfo = ki
	}
	_, isDev := imageVersion(c.image)
	var progress any
	if status == StatusCreating || status == StatusStarting {
		progress = map[string]any{
			"target":         StatusRunning,
			"started_at":     c.createdAt.UTC().Format(time.RFC3339),
			"correlation_id": "corr-" + c.hashedID,
		}
	}
	var composeFile any = json.RawMessage(c.compose.AppComposeJSON())
	obj := map[string]any{
		"id":          c.hashedID,
		"name":        c.name,
		"app_id":      c.app.ID,
		"vm_uuid":     c.uuid,
		"instance_id": c.instanceID,
		"resource": map[string]any{
			"instance_type":         instanceType(c.vcpu),
			"vcpu":                  c.vcpu,
			"memory_in_gb":          math.Round(float64(c.memoryMB)/1024*100) / 100,
			"disk_in_gb":            c.diskGB,
			"gpus":                  0,
			"compute_billing_price": price(c.price),
			"billing_period":        "hourly",
		},
		"node_info": map[string]any{
			"object_type": "node",
			"id":          c.node.ID,
			"name":        c.node.Name,
			"region":      c.node.Region,
			"device_id":   c.node.DeviceID,
			"ppid":        nil,
			"status":      "online",
			"version":     versionString(c.image),
		},
		"os": map[string]any{
			"name":          c.image,
			"version":       versionString(c.image),
			"is_dev":        isDev,
			"os_image_hash": imageHash(c.image),
		},
		"kms_type":     kmsType,
		"kms_info":     kmsInfo,
		"status":       status,
		"progress":     progress,
		"compose_hash": c.composeHash,
		"gateway":      map[string]any{"base_domain": gatewayDomain, "cname": nil},
		"services":     []any{},
		"endpoints": []any{map[string]any{
			"app":      fmt.Sprintf("https://%s-80.%s", c.app.ID, gatewayDomain),
			"instance": fmt.Sprintf("https://%s-80.%s", c.instanceID, gatewayDomain),
		}},
		"public_logs":     true,
		"public_sysinfo":  true,
		"public_tcbinfo":  true,
		"gateway_enabled": true,
		"secure_time":     false,
		"listed":          false,
		"workspace": map[string]any{
			"object_type": "workspace",
			"id":          c.workspace.ID,
			"name":        c.workspace.Name,
			"slug":        c.workspace.Slug,
			"avatar_url":  nil,
		},
		"creator":      nil,
		"compose_file": composeFile,
	}
	if status == StatusError && c.bootError != "" {
		obj["boot_error"] = c.bootError
	}
	return obj
}

// cvmObjectV1Locked is the CVM object in API version 2025-10-28: numeric id,
// teepod_id, top-level encrypted_env_pubkey, kms_info as a KMS entry, no
// kms_type and no workspace (replication-wire.md §3.3, last paragraph).
func (s *Server) cvmObjectV1Locked(c *cvm) map[string]any {
	var kmsInfo, pubkey any
	if c.app.KMS != KMSNone {
		kmsInfo = s.kmsEntry(c.app.kmsSlug(), c.app.ChainID, c.app.KMSContract)
		if !c.app.KMS.Onchain() {
			pubkey = c.app.EnvPubkey
		}
	}
	return map[string]any{
		"id":                   c.numID,
		"name":                 c.name,
		"app_id":               c.app.ID,
		"vm_uuid":              c.uuid,
		"instance_id":          c.instanceID,
		"teepod_id":            c.node.ID,
		"status":               s.statusLocked(c),
		"encrypted_env_pubkey": pubkey,
		"kms_info":             kmsInfo,
		"compose_hash":         c.composeHash,
		"vcpu":                 c.vcpu,
		"memory":               c.memoryMB,
		"disk_size":            c.diskGB,
		"base_image":           c.image,
		"created_at":           c.createdAt.UTC().Format(time.RFC3339),
	}
}

// vmObjectLocked is the VM object answered by a replicate or commit call
// (VMSchema, replication-wire.md §6), plus teepod_name, source_cvm_id and
// compose_hash.
func (s *Server) vmObjectLocked(c *cvm) map[string]any {
	var pubkey any
	if c.app.KMS != KMSNone && !c.app.KMS.Onchain() {
		pubkey = c.app.EnvPubkey
	}
	var source any
	if c.source != nil {
		source = c.source.hashedID
	}
	return map[string]any{
		"id":        c.numID,
		"name":      c.name,
		"status":    s.statusLocked(c),
		"teepod_id": c.node.ID,
		"teepod": map[string]any{
			"id":                c.node.ID,
			"name":              c.node.Name,
			"region_identifier": c.node.Region,
		},
		"teepod_name":          c.node.Name,
		"user_id":              nil,
		"app_id":               c.app.ID,
		"vm_uuid":              c.uuid,
		"instance_id":          c.instanceID,
		"app_url":              s.appURLLocked(c),
		"base_image":           c.image,
		"vcpu":                 c.vcpu,
		"memory":               c.memoryMB,
		"disk_size":            c.diskGB,
		"manifest_version":     2,
		"version":              versionString(c.image),
		"runner":               "docker-compose",
		"docker_compose_file":  c.compose.DockerCompose,
		"features":             nil,
		"created_at":           c.createdAt.UTC().Format(time.RFC3339),
		"encrypted_env_pubkey": pubkey,
		"source_cvm_id":        source,
		"compose_hash":         c.composeHash,
	}
}
