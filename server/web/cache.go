package web

import (
	"context"
	"sync"
	"time"
)

// swr caches what is costly to compute on a large vault (the dashboard's
// coverage and findings scan every record): an answer is served from the
// cache, and once older than ttl it is still served while one refresh runs
// in the background. Only the first request for a key waits. A value that
// took d to compute is refreshed no more often than every 10*d, so a vault
// whose scan takes 20 s is not rescanned every 30 s (at most a tenth of a
// core goes to refreshing).
type swr[T any] struct {
	ttl time.Duration
	now func() time.Time
	// onError receives a background refresh's failure.
	onError func(error)

	mu sync.Mutex
	m  map[string]*swrEntry[T]
}

type swrEntry[T any] struct {
	ready      chan struct{} // closed once the first computation is done
	val        T
	err        error
	at         time.Time
	took       time.Duration // how long the last computation took
	refreshing bool
}

func newSWR[T any](ttl time.Duration, now func() time.Time, onError func(error)) *swr[T] {
	return &swr[T]{ttl: ttl, now: now, onError: onError, m: map[string]*swrEntry[T]{}}
}

// refreshTimeout bounds a background refresh.
const refreshTimeout = 10 * time.Minute

// get returns the value for key and when it was computed. compute is called
// with ctx for the first computation, and with a detached ctx (its values
// kept, its cancellation not) for refreshes.
func (s *swr[T]) get(ctx context.Context, key string, compute func(context.Context) (T, error)) (T, time.Time, error) {
	var zero T
	s.mu.Lock()
	e := s.m[key]
	if e == nil {
		e = &swrEntry[T]{ready: make(chan struct{})}
		s.m[key] = e
		s.mu.Unlock()
		start := time.Now()
		v, err := compute(ctx)
		took := time.Since(start)
		s.mu.Lock()
		e.val, e.err, e.at, e.took = v, err, s.now(), took
		if err != nil {
			delete(s.m, key) // the next request tries again
		}
		close(e.ready)
		s.mu.Unlock()
		return v, e.at, err
	}
	s.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return zero, time.Time{}, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.err != nil {
		return zero, time.Time{}, e.err
	}
	if s.now().Sub(e.at) >= max(s.ttl, 10*e.took) && !e.refreshing {
		e.refreshing = true
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		go func() {
			defer cancel()
			start := time.Now()
			v, err := compute(bg)
			took := time.Since(start)
			s.mu.Lock()
			defer s.mu.Unlock()
			e.refreshing = false
			if err != nil {
				s.onError(err)
				return
			}
			e.val, e.at, e.took = v, s.now(), took
		}()
	}
	return e.val, e.at, nil
}
