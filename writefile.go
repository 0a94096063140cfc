package phala

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to the file name so that name ends up with exactly
// the permissions perm and holds either its old content or all of data, never a
// part: data goes to a new temporary file in the same directory, created with
// perm, which is synced to disk and then renamed over name; the directory is
// synced too where the system allows it. Unlike os.WriteFile, it does not keep the
// mode of an existing file, so a world-readable file left by an earlier tool does
// not go on exposing what is written now.
//
// Use it with perm 0o600 for files holding a secret, such as the JSON of a
// [PreparedReplica] (which keeps the commit token). On failure the temporary file
// is removed and name is left as it was. If name is a symbolic link, the link is
// replaced by a regular file.
func WriteFileAtomic(name string, data []byte, perm fs.FileMode) error {
	return writeFileAtomic(name, data, perm, func(f *os.File, b []byte) error {
		_, err := f.Write(b)
		return err
	})
}

// writeFileAtomic is WriteFileAtomic with the write step injectable for tests.
func writeFileAtomic(name string, data []byte, perm fs.FileMode, write func(*os.File, []byte) error) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("phala: writing %s: %w", name, err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
			err = fmt.Errorf("phala: writing %s: %w", name, err)
		}
	}()
	// Chmod, not the mode of CreateTemp: it is exact, whatever the umask.
	if err = f.Chmod(perm.Perm()); err != nil {
		return err
	}
	if err = write(f, data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	closed = true
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, name); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Some systems cannot sync a directory;
// the file itself is synced already, so an error here is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
