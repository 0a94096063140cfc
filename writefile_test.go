package phala

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFileAtomicSetsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Log("Windows has no Unix permission bits; only the content is checked")
	}
	tests := []struct {
		name     string
		existing os.FileMode // 0: no file before
	}{
		{"new file", 0},
		{"existing world-readable file", 0o644},
		{"existing world-writable file", 0o666},
		{"existing owner-only file", 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "prepared.json")
			if tt.existing != 0 {
				require.NoError(t, os.WriteFile(name, []byte("old"), tt.existing))
				require.NoError(t, os.Chmod(name, tt.existing)) // past the umask
			}
			require.NoError(t, WriteFileAtomic(name, []byte(`{"commit_token":"t"}`), 0o600))

			got, err := os.ReadFile(name)
			require.NoError(t, err)
			assert.Equal(t, `{"commit_token":"t"}`, string(got))
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(name)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			}
			assertOnlyFile(t, name)
		})
	}
}

func TestWriteFileAtomicFailureKeepsOldFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "prepared.json")
	require.NoError(t, os.WriteFile(name, []byte("old content"), 0o600))

	boom := errors.New("disk full")
	err := writeFileAtomic(name, []byte("new content, longer"), 0o600, func(f *os.File, b []byte) error {
		_, _ = f.Write(b[:5]) // a part, then the failure
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), name)

	got, rerr := os.ReadFile(name)
	require.NoError(t, rerr)
	assert.Equal(t, "old content", string(got), "the old file is intact")
	assertOnlyFile(t, name)
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	name := filepath.Join(t.TempDir(), "no-such-dir", "prepared.json")
	err := WriteFileAtomic(name, []byte("x"), 0o600)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// assertOnlyFile checks that name is the only entry of its directory: no
// temporary file is left behind.
func assertOnlyFile(t *testing.T, name string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(name))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{filepath.Base(name)}, names)
}
