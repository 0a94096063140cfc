package attest

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// RuntimeEventType is the event type dstack gives the events it measures into RTMR3
// at boot (app-id, compose-hash, instance-id, key-provider, ...).
const RuntimeEventType uint32 = 0x08000001

// Event is one entry of a CVM's event log, in the JSON form the Phala Cloud API and
// dstack serve: digest and payload are hex.
type Event struct {
	IMR          uint32 `json:"imr"`           // register index 0-3 (RTMR0-RTMR3)
	EventType    uint32 `json:"event_type"`    // TCG event type or RuntimeEventType
	Digest       string `json:"digest"`        // SHA-384 digest extended into the register, hex
	Event        string `json:"event"`         // event name for runtime events, else often empty
	EventPayload string `json:"event_payload"` // payload, hex
}

// ParseEventLog decodes an event log from JSON: either an array of events or a JSON
// string holding that array (dstack's guest agent serves the latter).
func ParseEventLog(data []byte) ([]Event, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var inner string
		if err := json.Unmarshal(data, &inner); err != nil {
			return nil, &CheckError{Check: CheckEventLog, Err: err}
		}
		data = []byte(inner)
	}
	var events []Event
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, &CheckError{Check: CheckEventLog, Err: err}
	}
	return events, nil
}

// RuntimeEventDigest returns dstack's digest of a runtime event:
// SHA-384(event type as 4 little-endian bytes ‖ ":" ‖ name ‖ ":" ‖ payload).
func RuntimeEventDigest(eventType uint32, name string, payload []byte) [48]byte {
	h := sha512.New384()
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], eventType)
	h.Write(le[:])
	h.Write([]byte{':'})
	h.Write([]byte(name))
	h.Write([]byte{':'})
	h.Write(payload)
	var out [48]byte
	h.Sum(out[:0])
	return out
}

// Extend returns SHA-384(rtmr ‖ digest), the new value of an RTMR extended with digest.
func Extend(rtmr, digest [48]byte) [48]byte {
	var buf [96]byte
	copy(buf[:48], rtmr[:])
	copy(buf[48:], digest[:])
	return sha512.Sum384(buf[:])
}

// measured holds the identity events found while replaying RTMR3.
type measured struct {
	rtmr3       [48]byte
	appID       []byte
	composeHash []byte
	instanceID  []byte
	keyProvider []byte
	found       map[string]bool
}

// isIdentityEvent reports whether a runtime event may occur only once: a second one
// would make the measured identity ambiguous.
func isIdentityEvent(name string) bool {
	switch name {
	case "app-id", "compose-hash", "instance-id", "key-provider":
		return true
	}
	return false
}

// replayRTMR3 checks every runtime event's digest and replays all IMR-3 events into
// RTMR3 from 48 zero bytes.
func replayRTMR3(events []Event) (*measured, error) {
	m := &measured{found: map[string]bool{}}
	for i, ev := range events {
		if ev.IMR > 3 {
			return nil, &CheckError{Check: CheckEventLog, Event: eventName(i, ev),
				Want: "imr 0-3", Got: fmt.Sprintf("imr %d", ev.IMR)}
		}
		if ev.IMR != 3 {
			continue
		}
		digest, err := decodeHex(ev.Digest)
		if err != nil {
			return nil, &CheckError{Check: CheckEventLog, Event: eventName(i, ev), Err: fmt.Errorf("digest: %w", err)}
		}
		if len(digest) != 48 {
			return nil, &CheckError{Check: CheckEventLog, Event: eventName(i, ev),
				Want: "48-byte SHA-384 digest", Got: fmt.Sprintf("%d bytes", len(digest))}
		}
		var d [48]byte
		copy(d[:], digest)
		if ev.EventType == RuntimeEventType {
			payload, err := decodeHex(ev.EventPayload)
			if err != nil {
				return nil, &CheckError{Check: CheckEventLog, Event: eventName(i, ev), Err: fmt.Errorf("payload: %w", err)}
			}
			want := RuntimeEventDigest(ev.EventType, ev.Event, payload)
			if want != d {
				return nil, &CheckError{Check: CheckEventDigest, Event: eventName(i, ev),
					Want: hex.EncodeToString(want[:]), Got: hex.EncodeToString(d[:])}
			}
			if isIdentityEvent(ev.Event) {
				if m.found[ev.Event] {
					return nil, &CheckError{Check: CheckEventLog, Event: eventName(i, ev),
						Err: errors.New("identity event measured twice")}
				}
				m.found[ev.Event] = true
			}
			switch ev.Event {
			case "app-id":
				m.appID = payload
			case "compose-hash":
				m.composeHash = payload
			case "instance-id":
				m.instanceID = payload
			case "key-provider":
				m.keyProvider = payload
			}
		}
		m.rtmr3 = Extend(m.rtmr3, d)
	}
	return m, nil
}

func eventName(i int, ev Event) string {
	if ev.Event != "" {
		return fmt.Sprintf("event %d (%s)", i, ev.Event)
	}
	return fmt.Sprintf("event %d", i)
}

// decodeHex decodes hex with an optional 0x prefix, in either case.
func decodeHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return hex.DecodeString(s)
}

// normHex returns s lower-cased without a 0x prefix, for comparing identifiers.
func normHex(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "0x")
}
