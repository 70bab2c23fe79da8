package memo

import (
	"sync"
	"testing"
)

func TestBounded(t *testing.T) {
	m := New[int, string](3)
	for i := range 10 {
		m.Put(i, "v")
		if n := m.Len(); n > 3 || n < 1 {
			t.Fatalf("after %d puts: %d entries, bound 3", i+1, n)
		}
		if v, ok := m.Get(i); !ok || v != "v" {
			t.Fatalf("Get(%d) = %q, %v right after Put", i, v, ok)
		}
	}
	m.Put(9, "w") // replacing a key does not count twice
	if v, _ := m.Get(9); v != "w" {
		t.Errorf("Get(9) = %q after replacing, want w", v)
	}
	if _, ok := m.Get(100); ok {
		t.Error("Get of a key never stored found something")
	}
	counted := 0
	m.entries.Range(func(any, any) bool { counted++; return true })
	if counted != m.Len() {
		t.Errorf("%d entries, count says %d", counted, m.Len())
	}
	if New[int, int](0).Max() != 1 {
		t.Error("a memo of size 0 must hold one entry")
	}
}

func TestBoundedConcurrent(t *testing.T) {
	m := New[int, int](16)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := (g*1000 + i) % 40
				m.Put(k, k)
				if v, ok := m.Get(k); ok && v != k {
					t.Errorf("Get(%d) = %d", k, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	if m.Len() > 16 {
		t.Errorf("%d entries, bound 16", m.Len())
	}
}
