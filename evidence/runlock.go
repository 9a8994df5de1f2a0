package evidence

import (
	"fmt"
	"os"
	"path/filepath"
)

// runnersLock is the file every process that runs connectors on the vault
// holds a shared flock on while it lives. A process that can take it
// exclusively knows no other runner is alive, so runs still marked running
// were cut short; the kernel drops the lock of a killed process.
const runnersLock = "runners.lock"

// holdRunLock takes the runners lock, shared, unless this vault holds it
// already. With solo it first tries to take it exclusively, and reports
// whether that worked (no other process runs connectors on this vault).
func (v *Vault) holdRunLock(solo bool) (alone bool, err error) {
	v.lockMu.Lock()
	defer v.lockMu.Unlock()
	if v.lockF == nil {
		f, err := os.OpenFile(filepath.Join(v.opts.Dir, runnersLock), os.O_RDWR|os.O_CREATE, 0o640)
		if err != nil {
			return false, fmt.Errorf("open the runners lock: %w", v.diskErr(err))
		}
		v.lockF = f
	}
	if solo {
		if alone, err = lockRunners(v.lockF, true); err != nil {
			return false, fmt.Errorf("lock %s: %w", runnersLock, err)
		}
	}
	// Shared from here on: another runner may start beside this one.
	if _, err := lockRunners(v.lockF, false); err != nil {
		return false, fmt.Errorf("lock %s: %w", runnersLock, err)
	}
	return alone, nil
}

func (v *Vault) releaseRunLock() error {
	v.lockMu.Lock()
	defer v.lockMu.Unlock()
	if v.lockF == nil {
		return nil
	}
	err := v.lockF.Close()
	v.lockF = nil
	return err
}
