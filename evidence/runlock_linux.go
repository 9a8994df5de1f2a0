package evidence

import (
	"errors"
	"os"
	"syscall"
)

// lockRunners takes the runners lock on f: exclusive (without waiting) when
// excl, else shared. ok is false when excl was asked and another process
// holds the lock. A failed conversion may drop a lock already held (flock(2)
// converts by unlocking first), so the caller then takes the shared lock again.
func lockRunners(f *os.File, excl bool) (ok bool, err error) {
	how := syscall.LOCK_SH
	if excl {
		how = syscall.LOCK_EX | syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if excl && errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
