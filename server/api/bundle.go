package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"

	"github.com/aimsvault/aimsvault/evidence/bundle"
	"github.com/aimsvault/aimsvault/server/access"
	"github.com/aimsvault/aimsvault/server/auth"
)

// holdBack is the zip's tail kept from the client until the receipt is
// durable: more than the end-of-central-directory record (22 bytes), so
// that a bundle is unusable without its receipt in the access log.
const holdBack = 64

// receiptWriter hashes every byte of the bundle and forwards all but the
// last holdBack bytes to the client.
type receiptWriter struct {
	w     http.ResponseWriter
	start func()
	h     hash.Hash
	n     int64
	tail  []byte
	sent  int64
	err   error
}

func (rw *receiptWriter) Write(p []byte) (int, error) {
	if rw.err != nil {
		return 0, rw.err
	}
	rw.h.Write(p)
	rw.n += int64(len(p))
	rw.tail = append(rw.tail, p...)
	if over := len(rw.tail) - holdBack; over > 0 {
		if rw.sent == 0 && rw.start != nil {
			rw.start()
		}
		k, err := rw.w.Write(rw.tail[:over])
		rw.sent += int64(k)
		if err != nil {
			rw.err = err
			return 0, err
		}
		rw.tail = append(rw.tail[:0], rw.tail[over:]...)
	}
	return len(p), nil
}

func (a *API) bundle(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	f, err := filter(r, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	asked := viewOf(f)
	f, ok := scoped(f, p.Scope)
	if !ok {
		a.fail(w, r, invalid("nothing to bundle: the requested controls or times lie outside this token's scope"))
		return
	}
	cp, err := a.opts.Vault.LatestCheckpoint(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cp == nil {
		writeError(w, http.StatusConflict, "the vault has no signed checkpoint yet: run a collection first")
		return
	}
	live := a.live()
	rw := &receiptWriter{w: w, h: sha256.New()}
	rw.start = func() {
		h := w.Header()
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="aimsvault-bundle-%d.zip"`, cp.Size))
		w.WriteHeader(http.StatusOK)
	}
	sum, err := bundle.Export(r.Context(), a.opts.Vault, rw, bundle.Options{Filter: f, Mapper: live.Mapper, Sources: live.Sources})
	e := a.entry(r, access.ActionBundle)
	e.Filter = rawJSON(asked)
	if err != nil {
		e.Outcome, e.Size, e.Detail = access.OutcomeIncomplete, rw.sent, "bundle not completed"
		if _, lerr := a.opts.Access.Append(r.Context(), e); lerr != nil {
			a.log.Error("access log append failed", "err", lerr)
		}
		if rw.sent == 0 {
			a.fail(w, r, err)
			return
		}
		a.log.Error("bundle export failed mid-stream", "err", err)
		panic(http.ErrAbortHandler)
	}
	// The receipt: the hash of every byte, written before the last ones go.
	e.SHA256, e.Size = hex.EncodeToString(rw.h.Sum(nil)), rw.n
	e.Detail = "checkpoint " + strconv.FormatInt(sum.Checkpoint, 10) + ": " + strconv.FormatInt(sum.Included, 10) + " of " +
		strconv.FormatInt(sum.Selected, 10) + " selected records included"
	if _, err := a.opts.Access.Append(r.Context(), e); err != nil {
		if rw.sent == 0 {
			a.fail(w, r, err)
			return
		}
		a.log.Error("bundle receipt not recorded: download cut", "err", err)
		panic(http.ErrAbortHandler)
	}
	if rw.sent == 0 {
		rw.start()
	}
	w.Write(rw.tail)
}
