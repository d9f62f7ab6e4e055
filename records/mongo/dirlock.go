package mongo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse means another process holds the embedded engine's data
// directory: the embedded engine serves one process, so a second one (a
// second replica, or a second store in one process) must not open it.
var ErrDataDirInUse = errors.New("data directory in use by another process")

// lockDir takes an exclusive advisory lock (flock) on dir/contigo.lock for
// as long as the returned file stays open. The kernel drops the lock when
// the process dies, so a crash never leaves the directory locked.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "contigo.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "unknown"
		}
		return nil, fmt.Errorf("%w: %s is locked by process %s; the embedded engine serves one process at a time: stop it, or run replicas on MongoDB (--mongodb-uri)",
			ErrDataDirInUse, dir, holder)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
