package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/phalaforge/phala-go/onchain"
)

// replicaView is what the command prints about a created (or committed)
// replica, in the order and with the labels of the phala CLI
// (replication-wire.md §10.1).
type replicaView struct {
	SourceCVMID string
	Team        string
	UUID        string
	AppID       string
	Name        string
	Status      string
	KMS         string
	NodeName    string
	NodeID      int
	VCPU        int
	MemoryMB    int
	DiskGB      int
	AppURL      string
}

// labelWidth is the width of the label column in text output: the phala
// CLI's ("Source CVM ID:   ", 17 characters), so scripts that cut the value
// at a fixed column read both alike.
const labelWidth = 17

func writeField(w io.Writer, label, value string) {
	if value == "" {
		value = "-"
	}
	_, _ = fmt.Fprintf(w, "%-*s%s\n", labelWidth, label+":", value)
}

// writeReplicaText prints a replica as the phala CLI does.
func writeReplicaText(w io.Writer, v replicaView) {
	writeField(w, "Source CVM ID", v.SourceCVMID)
	writeField(w, "Team", v.Team)
	writeField(w, "CVM UUID", v.UUID)
	writeField(w, "App ID", v.AppID)
	writeField(w, "Name", v.Name)
	writeField(w, "Status", v.Status)
	writeField(w, "KMS", v.KMS)
	node := v.NodeName
	if node == "" {
		node = "-"
	}
	if v.NodeID != 0 {
		node += fmt.Sprintf(" (ID: %d)", v.NodeID)
	}
	writeField(w, "Node", node)
	writeField(w, "vCPUs", intOrDash(v.VCPU, ""))
	writeField(w, "Memory", intOrDash(v.MemoryMB, " MB"))
	writeField(w, "Disk Size", intOrDash(v.DiskGB, " GB"))
	writeField(w, "App URL", v.AppURL)
}

func intOrDash(n int, unit string) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n) + unit
}

// teamLabel is "name (slug)" when both exist and differ, else whichever
// exists (§10.1).
func teamLabel(name, slug string) string {
	switch {
	case name != "" && slug != "" && name != slug:
		return name + " (" + slug + ")"
	case slug != "":
		return slug
	default:
		return name
	}
}

// appURL is the dashboard link of a replica:
// <cloud>/<slug>/apps/<app_id>/instances/<vm_uuid without dashes> when all
// parts are known, else fallback (the server's app_url).
func appURL(cloud, slug, appID, vmUUID, fallback string) string {
	if cloud == "" || slug == "" || appID == "" || vmUUID == "" {
		return fallback
	}
	return fmt.Sprintf("%s/%s/apps/%s/instances/%s", cloud, slug, appID, strings.ReplaceAll(vmUUID, "-", ""))
}

// prepareView is what the command prints about a prepared replica
// (replication-wire.md §10.2), plus what the Go command adds: the expiry
// and where files were written.
type prepareView struct {
	SourceArg     string // the <cvm-id> the user typed, for the commit command line
	SourceVMUUID  string
	ComposeHash   string
	AppID         string
	DeviceID      string
	CommitToken   string
	CommitURL     string
	APICommitURL  string
	KMSInfo       *onchain.KMSInfo
	OnchainStatus *onchain.OnchainStatus
	ExpiresAt     time.Time
	SafeFile      string // written Safe batch, "" if none
	SafeCalls     []string
	PreparedFile  string // written PreparedReplica, "" if none
}

func with0x(s string) string {
	if s == "" || strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return s
	}
	return "0x" + s
}

// writePrepareText prints a prepared replica as the phala CLI does, with
// the command that commits it.
func writePrepareText(w io.Writer, v prepareView, now time.Time) {
	_, _ = fmt.Fprintln(w, "CVM replica prepared successfully (pending on-chain approval).")
	_, _ = fmt.Fprintln(w)
	writeField(w, "Compose Hash", with0x(v.ComposeHash))
	writeField(w, "App ID", with0x(v.AppID))
	writeField(w, "Device ID", with0x(v.DeviceID))
	if v.CommitToken != "" {
		writeField(w, "Commit Token", v.CommitToken)
	}
	if v.CommitURL != "" {
		writeField(w, "Commit URL", v.CommitURL)
	}
	if v.APICommitURL != "" {
		writeField(w, "API Commit URL", v.APICommitURL)
	}
	if !v.ExpiresAt.IsZero() {
		writeField(w, "Expires", fmt.Sprintf("%s (in %s)", v.ExpiresAt.UTC().Format(time.RFC3339), roughDuration(v.ExpiresAt.Sub(now))))
	}
	if st := v.OnchainStatus; st != nil {
		_, _ = fmt.Fprintln(w)
		_, _ = fmt.Fprintln(w, "On-chain Status:")
		_, _ = fmt.Fprintf(w, "  Compose Hash:  %s\n", registered(st.ComposeHashAllowed))
		_, _ = fmt.Fprintf(w, "  Device ID:     %s\n", registered(st.DeviceIDAllowed))
		if st.IsAllowed {
			_, _ = fmt.Fprintf(w, "  All prerequisites met. You can commit with --transaction-hash %s.\n", onchain.AlreadyRegistered)
		}
	}
	if v.SafeFile != "" {
		_, _ = fmt.Fprintln(w)
		_, _ = fmt.Fprintf(w, "Safe batch written to %s (%s).\n", v.SafeFile, strings.Join(v.SafeCalls, ", "))
		_, _ = fmt.Fprintln(w, "Import it in the Safe Transaction Builder, have the owners sign and execute it.")
	}
	if v.PreparedFile != "" {
		_, _ = fmt.Fprintf(w, "Prepared replica saved to %s.\n", v.PreparedFile)
	}
	if v.CommitToken == "" {
		return
	}
	_, _ = fmt.Fprintln(w)
	_, _ = fmt.Fprintln(w, "After the approval transaction is mined, commit with:")
	if v.PreparedFile != "" {
		_, _ = fmt.Fprintf(w, "  phala-replicate --commit --prepared-file %s --transaction-hash <tx-hash>\n", shellQuote(v.PreparedFile))
		return
	}
	src := v.SourceArg
	if src == "" {
		src = v.SourceVMUUID
	}
	_, _ = fmt.Fprintf(w, "  phala-replicate %s --commit --token %s --compose-hash %s --transaction-hash <tx-hash>\n",
		shellQuote(src), shellQuote(v.CommitToken), with0x(v.ComposeHash))
}

func registered(ok bool) string {
	if ok {
		return "registered"
	}
	return "NOT registered"
}

// roughDuration renders d in days, hours or minutes.
func roughDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "the past: expired"
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(math.Round(d.Hours()/24)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	default:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// prepareJSON is the --json document of a prepared replica: the keys of the
// phala CLI (camelCase, values exactly as the server sent them), plus
// sourceVmUuid, expiresAt, safeFile and preparedFile.
type prepareJSON struct {
	Success       bool                   `json:"success"`
	PrepareOnly   bool                   `json:"prepare_only"`
	ComposeHash   string                 `json:"composeHash"`
	AppID         string                 `json:"appId"`
	DeviceID      string                 `json:"deviceId"`
	KMSInfo       *onchain.KMSInfo       `json:"kmsInfo,omitempty"`
	CommitToken   string                 `json:"commitToken,omitempty"`
	CommitURL     string                 `json:"commitUrl,omitempty"`
	APICommitURL  string                 `json:"apiCommitUrl,omitempty"`
	OnchainStatus *onchain.OnchainStatus `json:"onchainStatus,omitempty"`
	SourceVMUUID  string                 `json:"sourceVmUuid,omitempty"`
	ExpiresAt     *time.Time             `json:"expiresAt,omitempty"`
	SafeFile      string                 `json:"safeFile,omitempty"`
	PreparedFile  string                 `json:"preparedFile,omitempty"`
}

func (v prepareView) json(success bool) prepareJSON {
	doc := prepareJSON{
		Success: success, PrepareOnly: true,
		ComposeHash: v.ComposeHash, AppID: v.AppID, DeviceID: v.DeviceID,
		KMSInfo: v.KMSInfo, CommitToken: v.CommitToken, CommitURL: v.CommitURL,
		APICommitURL: v.APICommitURL, OnchainStatus: v.OnchainStatus,
		SourceVMUUID: v.SourceVMUUID, SafeFile: v.SafeFile, PreparedFile: v.PreparedFile,
	}
	if !v.ExpiresAt.IsZero() {
		t := v.ExpiresAt.UTC()
		doc.ExpiresAt = &t
	}
	return doc
}

// writeJSON prints v as one indented JSON document, without HTML escaping.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding the JSON output: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// withSuccess returns the JSON object {"success": <success>, ...fields of v}:
// the shape of the phala CLI's --json output for a replica, with success
// first and v's keys in v's order. v must encode to a JSON object; a
// "success" key of its own wins, as in the CLI.
func withSuccess(v any, success bool) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON output: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, fmt.Errorf("encoding the JSON output: %T is not a JSON object", v)
	}
	if _, ok := m["success"]; ok {
		return b, nil
	}
	inner := bytes.TrimSpace(b)
	inner = bytes.TrimSpace(inner[1 : len(inner)-1])
	out := []byte(`{"success":` + strconv.FormatBool(success))
	if len(inner) > 0 {
		out = append(append(out, ','), inner...)
	}
	return append(out, '}'), nil
}

// firstValue is a value of m (of a one-entry map, its only value).
func firstValue(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// shortHex shortens a long hex string to its first 10 and last 4 characters.
func shortHex(s string) string {
	if len(s) <= 14 {
		return s
	}
	return s[:10] + "…" + s[len(s)-4:]
}
