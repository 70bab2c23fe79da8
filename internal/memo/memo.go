package memo

import "sync"

// Bounded maps K to V, holding at most its bound of entries. It is safe for
// concurrent use.
type Bounded[K comparable, V any] struct {
	max     int
	entries sync.Map // K → V

	mu sync.Mutex
	n  int // keys in entries, under mu
}

// New returns an empty memo of at most size entries (at least 1).
func New[K comparable, V any](size int) *Bounded[K, V] {
	return &Bounded[K, V]{max: max(1, size)}
}

// Get returns the value stored for k.
func (b *Bounded[K, V]) Get(k K) (V, bool) {
	v, ok := b.entries.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Put stores v for k, clearing the memo first when a new key would pass
// the bound.
func (b *Bounded[K, V]) Put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.entries.Load(k); !ok {
		if b.n >= b.max {
			b.entries.Clear()
			b.n = 0
		}
		b.n++
	}
	b.entries.Store(k, v)
}

// Len is the number of entries.
func (b *Bounded[K, V]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// Max is the bound.
func (b *Bounded[K, V]) Max() int { return b.max }
