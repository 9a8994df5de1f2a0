//go:build !linux

package evidence

import "os"

func createTemp(dir string) (*os.File, bool, error) {
	f, err := os.CreateTemp(dir, "obj-*")
	return f, false, err
}

func clearDirect(*os.File) error { return nil }
