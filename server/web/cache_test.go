package web

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestSWR(t *testing.T) {
	c := &clock{t: t0}
	var calls atomic.Int32
	refreshed := make(chan struct{}, 1)
	s := newSWR[int32](30*time.Second, c.Now, func(error) {})
	compute := func(context.Context) (int32, error) {
		n := calls.Add(1)
		if n > 1 {
			defer func() { refreshed <- struct{}{} }()
		}
		return n, nil
	}
	ctx := t.Context()
	if v, at, err := s.get(ctx, "k", compute); v != 1 || !at.Equal(t0) || err != nil {
		t.Fatalf("first get: %d %v %v", v, at, err)
	}
	if v, _, _ := s.get(ctx, "k", compute); v != 1 || calls.Load() != 1 {
		t.Fatalf("a fresh value was recomputed: %d, %d calls", v, calls.Load())
	}
	c.Set(t0.Add(31 * time.Second))
	if v, _, _ := s.get(ctx, "k", compute); v != 1 {
		t.Fatalf("a stale value is served while it refreshes: got %d", v)
	}
	select {
	case <-refreshed:
	case <-time.After(10 * time.Second):
		t.Fatal("no background refresh")
	}
	// The refresh stores its value just after compute returns.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		v, at, _ := s.get(ctx, "k", compute)
		if v == 2 && at.Equal(t0.Add(31*time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the refresh: %d at %v", v, at)
		}
	}
	// A failed first computation is not cached.
	boom := errors.New("boom")
	if _, _, err := s.get(ctx, "e", func(context.Context) (int32, error) { return 0, boom }); err != boom {
		t.Fatalf("err %v", err)
	}
	if v, _, err := s.get(ctx, "e", func(context.Context) (int32, error) { return 7, nil }); v != 7 || err != nil {
		t.Fatalf("after a failure: %d %v", v, err)
	}
}
