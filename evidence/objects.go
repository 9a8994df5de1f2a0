package evidence

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"unsafe"
)

// objectStore keeps content over InlineMax as files named by their SHA-256:
// objects/sha256/ab/cdef… (the layout git and restic use). A file is written
// to objects/tmp, fsynced, renamed into place and its directory fsynced, so
// an object is durable before any record names it; a crash leaves at most an
// orphan temp file.
type objectStore struct {
	dir string
}

func (s *objectStore) path(d Digest) string {
	h := d.String()
	return filepath.Join(s.dir, "sha256", h[:2], h[2:])
}

// chunkSize is the unit of the write pipeline: large enough to amortise
// syscalls, small enough that two of them keep memory bounded.
const chunkSize = 4 << 20

// directAlign is the alignment O_DIRECT needs for buffers, offsets and sizes.
const directAlign = 4096

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off+chunkSize : off+chunkSize]
}}

// put stores prefix followed by the rest of r, hashing while it writes, and
// returns the content's digest and size. Hashing runs beside the writes on
// another core, and full chunks bypass the page cache (O_DIRECT where the
// file system allows), so a large artifact is stored at close to the speed
// of hashing it.
func (s *objectStore) put(prefix []byte, r io.Reader) (Digest, int64, error) {
	tmpDir := filepath.Join(s.dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return Digest{}, 0, fmt.Errorf("create objects/tmp: %w", err)
	}
	f, direct, err := createTemp(tmpDir)
	if err != nil {
		return Digest{}, 0, fmt.Errorf("create object temp file: %w", err)
	}
	tmp := f.Name()
	d, n, err := s.write(f, direct, prefix, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.place(tmp, d)
	}
	if err != nil {
		os.Remove(tmp)
		return Digest{}, 0, err
	}
	return d, n, nil
}

func (s *objectStore) write(f *os.File, direct bool, prefix []byte, r io.Reader) (Digest, int64, error) {
	bufs := [2][]byte{chunkPool.Get().([]byte), chunkPool.Get().([]byte)}
	defer chunkPool.Put(bufs[0])
	defer chunkPool.Put(bufs[1])

	h := sha256.New()
	var hashing chan struct{}
	wait := func() {
		if hashing != nil {
			<-hashing
			hashing = nil
		}
	}
	defer wait()
	hashAsync := func(h hash.Hash, b []byte) {
		hashing = make(chan struct{})
		go func(done chan struct{}) {
			h.Write(b)
			close(done)
		}(hashing)
	}

	var total int64
	for i := 0; ; i++ {
		buf := bufs[i%2]
		// The previous chunk is hashed while this one is read; this buffer's
		// last use (two chunks ago) finished hashing before the previous
		// chunk's hash started.
		m := copy(buf, prefix)
		prefix = prefix[m:]
		n, rerr := io.ReadFull(r, buf[m:])
		n += m
		if n > 0 {
			wait()
			hashAsync(h, buf[:n])
			var err error
			direct, err = writeChunk(f, direct, buf[:n])
			if err != nil {
				return Digest{}, 0, fmt.Errorf("write object: %w", err)
			}
			total += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Digest{}, 0, fmt.Errorf("read content: %w", rerr)
		}
	}
	wait()
	var d Digest
	h.Sum(d[:0])
	return d, total, nil
}

// writeChunk writes b; with O_DIRECT only whole aligned blocks can go
// direct, so a short final chunk switches the file back to buffered I/O.
func writeChunk(f *os.File, direct bool, b []byte) (bool, error) {
	if direct && len(b)%directAlign != 0 {
		if err := clearDirect(f); err != nil {
			return false, err
		}
		direct = false
	}
	if _, err := f.Write(b); err != nil {
		if !direct || !errors.Is(err, syscall.EINVAL) {
			return direct, err
		}
		// The file system took the flag but refuses direct writes: go
		// buffered. EINVAL means nothing was written.
		if err := clearDirect(f); err != nil {
			return false, err
		}
		_, err = f.Write(b)
		return false, err
	}
	return direct, nil
}

// place renames a finished temp file to its content address.
func (s *objectStore) place(tmp string, d Digest) error {
	dst := s.path(d)
	if _, err := os.Stat(dst); err == nil {
		// Same content stored before; verify checks the old file's bytes.
		return os.Remove(tmp)
	}
	shard := filepath.Dir(dst)
	if err := os.MkdirAll(shard, 0o750); err != nil {
		return fmt.Errorf("create object dir: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("place object %s: %w", d, err)
	}
	return errors.Join(syncDir(shard), syncDir(filepath.Dir(shard)))
}

// open returns the object's file, or an error wrapping fs.ErrNotExist.
func (s *objectStore) open(d Digest) (*os.File, error) {
	f, err := os.Open(s.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("object %s is missing from objects/: %w", d, err)
	}
	return f, err
}

// sweepTemp removes every file in objects/tmp: call it only when no other
// process can be writing an object (see MarkInterrupted).
func (s *objectStore) sweepTemp() error {
	tmpDir := filepath.Join(s.dir, "tmp")
	ents, err := os.ReadDir(tmpDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.Type().IsRegular() {
			errs = append(errs, os.Remove(filepath.Join(tmpDir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
