package atrion

import (
	"container/list"
	"context"
	"sync"
)

// InMemoryProvider is the default StateProvider: a map in this process,
// optionally capped with least-recently-used eviction. It is safe for
// concurrent use.
type InMemoryProvider struct {
	mu    sync.Mutex
	limit int
	items map[string]*list.Element
	lru   list.List // front = most recent
}

// NewInMemoryProvider returns a provider holding at most limit vectors
// (≤ 0: no limit).
func NewInMemoryProvider(limit int) *InMemoryProvider {
	return &InMemoryProvider{limit: limit, items: make(map[string]*list.Element)}
}

// Get returns the vector stored for route.
func (m *InMemoryProvider) Get(_ context.Context, route string) (PhysicsVector, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[route]
	if !ok {
		return PhysicsVector{}, false, nil
	}
	m.lru.MoveToFront(el)
	return el.Value.(PhysicsVector), true, nil
}

// Set stores v, evicting the least recently used vector when full.
func (m *InMemoryProvider) Set(_ context.Context, v PhysicsVector) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(v)
	return nil
}

func (m *InMemoryProvider) setLocked(v PhysicsVector) {
	if el, ok := m.items[v.Route]; ok {
		el.Value = v
		m.lru.MoveToFront(el)
		return
	}
	m.items[v.Route] = m.lru.PushFront(v)
	if m.limit > 0 && len(m.items) > m.limit {
		old := m.lru.Back()
		m.lru.Remove(old)
		delete(m.items, old.Value.(PhysicsVector).Route)
	}
}

// SetBatch stores every vector under one lock.
func (m *InMemoryProvider) SetBatch(_ context.Context, vs []PhysicsVector) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range vs {
		m.setLocked(v)
	}
	return nil
}

// Delete removes route's vector.
func (m *InMemoryProvider) Delete(_ context.Context, route string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[route]; ok {
		m.lru.Remove(el)
		delete(m.items, route)
	}
	return nil
}

// Keys returns the stored route IDs.
func (m *InMemoryProvider) Keys(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.items))
	for k := range m.items {
		keys = append(keys, k)
	}
	return keys, nil
}

// Len returns the number of stored vectors.
func (m *InMemoryProvider) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}
