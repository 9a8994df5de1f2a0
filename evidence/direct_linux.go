package evidence

import (
	"os"
	"syscall"
)

// createTemp makes a temp file opened with O_DIRECT when the file system
// supports it (tmpfs does not), so large objects skip the page cache.
func createTemp(dir string) (*os.File, bool, error) {
	f, err := os.CreateTemp(dir, "obj-*")
	if err != nil {
		return nil, false, err
	}
	fd := int(f.Fd())
	flags, err := fcntl(fd, syscall.F_GETFL, 0)
	if err == nil {
		if _, err = fcntl(fd, syscall.F_SETFL, flags|syscall.O_DIRECT); err == nil {
			return f, true, nil
		}
	}
	return f, false, nil
}

func clearDirect(f *os.File) error {
	fd := int(f.Fd())
	flags, err := fcntl(fd, syscall.F_GETFL, 0)
	if err != nil {
		return err
	}
	_, err = fcntl(fd, syscall.F_SETFL, flags&^syscall.O_DIRECT)
	return err
}

func fcntl(fd int, cmd int, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
