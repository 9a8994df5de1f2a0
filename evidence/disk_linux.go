package evidence

import (
	"errors"
	"syscall"
)

// probeDisk says whether dir's file system is read-only or full, or nil
// when it is neither (or cannot tell).
func probeDisk(dir string) error {
	const wOK = 2
	if err := syscall.Access(dir, wOK); errors.Is(err, syscall.EROFS) {
		return ErrReadOnly
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil && st.Bavail == 0 {
		return ErrNoSpace
	}
	return nil
}
