package attest

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRuntimeEventDigestMatchesRealDstackLog checks the digest encoding against every
// runtime event of a real dstack event log.
func TestRuntimeEventDigestMatchesRealDstackLog(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	n := 0
	for _, ev := range f.Evidence.EventLog {
		if ev.EventType != RuntimeEventType {
			continue
		}
		payload, err := hex.DecodeString(ev.EventPayload)
		require.NoError(t, err)
		d := RuntimeEventDigest(ev.EventType, ev.Event, payload)
		assert.Equal(t, ev.Digest, hex.EncodeToString(d[:]), ev.Event)
		n++
	}
	assert.GreaterOrEqual(t, n, 7)
}

func TestParseEventLogForms(t *testing.T) {
	t.Parallel()
	f := loadDstack(t)
	arr, err := json.Marshal(f.Evidence.EventLog)
	require.NoError(t, err)
	str, err := json.Marshal(string(arr))
	require.NoError(t, err)
	for name, data := range map[string][]byte{"array": arr, "string holding the array": str} {
		got, err := ParseEventLog(data)
		require.NoError(t, err, name)
		assert.Equal(t, f.Evidence.EventLog, got, name)
	}
	_, err = ParseEventLog([]byte(`{"imr":3}`))
	assert.ErrorIs(t, err, &CheckError{Check: CheckEventLog})
}

func TestReplayRejectsMalformedEvents(t *testing.T) {
	t.Parallel()
	good := RuntimeEventDigest(RuntimeEventType, "app-id", []byte{1, 2})
	goodEv := Event{IMR: 3, EventType: RuntimeEventType, Digest: hex.EncodeToString(good[:]), Event: "app-id", EventPayload: "0102"}
	tests := []struct {
		name  string
		log   []Event
		check Check
	}{
		{"digest not hex", []Event{{IMR: 3, EventType: 4, Digest: "zz"}}, CheckEventLog},
		{"digest too short", []Event{{IMR: 3, EventType: 4, Digest: "abcd"}}, CheckEventLog},
		{"payload not hex", []Event{{IMR: 3, EventType: RuntimeEventType, Digest: goodEv.Digest, Event: "app-id", EventPayload: "0g"}}, CheckEventLog},
		{"imr 4", []Event{{IMR: 4}}, CheckEventLog},
		{"app-id measured twice", []Event{goodEv, goodEv}, CheckEventLog},
		{"runtime digest wrong", []Event{{IMR: 3, EventType: RuntimeEventType, Digest: goodEv.Digest, Event: "app-id", EventPayload: "0103"}}, CheckEventDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replayRTMR3(tt.log)
			var ce *CheckError
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, tt.check, ce.Check)
		})
	}
	// events of other registers are skipped, not replayed into RTMR3
	m, err := replayRTMR3([]Event{{IMR: 1, Digest: "not even hex"}, goodEv})
	require.NoError(t, err)
	assert.Equal(t, Extend([48]byte{}, good), m.rtmr3)
	assert.Equal(t, []byte{1, 2}, m.appID)
}

func TestCheckErrorMessageNamesBothValues(t *testing.T) {
	t.Parallel()
	err := &CheckError{Check: CheckRTMR3, Want: "aa", Got: "bb"}
	assert.Equal(t, "attest: rtmr3-replay check failed: want aa, got bb", err.Error())
	assert.NotErrorIs(t, err, &CheckError{Check: CheckAppID})
}
