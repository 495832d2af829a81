package atrion

import "context"

// The periodic resync re-reads every stored vector, so that what a missed
// announcement carried is not lost. It reads a page at a time, each under
// its own deadline, one page per turn of the syncer's loop (peers'
// vectors and batches are served in between); a pass that fails resumes
// from its cursor at the next resync.

// resyncPass is the state of one pass over the stored vectors.
type resyncPass struct {
	active bool
	cursor string   // a PageReader's cursor
	keys   []string // a provider without pages: the keys still to read
}

// keysTimeout bounds Keys for providers that cannot page: the whole key
// list comes in one call.
const keysTimeout = 5 * SyncTimeout

// resyncChunk is how many keys of a provider without pages one step reads.
const resyncChunk = 256

// start begins a pass, or lets the unfinished one go on.
func (p *resyncPass) start() { p.active = true }

// resyncStep reads the pass's next page and applies what it holds.
func (s *syncer) resyncStep(ctx context.Context) {
	if pr, ok := s.p.(PageReader); ok {
		c, cancel := context.WithTimeout(ctx, s.timeout)
		vs, next, err := pr.ReadPage(c, s.pass.cursor)
		cancel()
		if err != nil {
			s.fail("resync", err)
			s.pass.active = false // resumes at the cursor
			return
		}
		for i := range vs {
			s.apply(vs[i])
		}
		s.pass.cursor = next
		s.pass.active = next != ""
		return
	}
	if s.pass.keys == nil {
		c, cancel := context.WithTimeout(ctx, keysTimeout)
		keys, err := s.p.Keys(c)
		cancel()
		if err != nil || len(keys) == 0 {
			if err != nil {
				s.fail("resync", err)
			}
			s.pass.active = false
			return
		}
		s.pass.keys = keys
	}
	chunk := s.pass.keys[:min(resyncChunk, len(s.pass.keys))]
	for i, k := range chunk {
		if s.a.routes.tracked(k) == nil {
			continue
		}
		c, cancel := context.WithTimeout(ctx, s.timeout)
		v, ok, err := s.p.Get(c, k)
		cancel()
		if err != nil {
			s.fail("resync", err)
			s.pass.keys = s.pass.keys[i:]
			s.pass.active = false
			return
		}
		if ok {
			s.apply(v)
		}
	}
	if s.pass.keys = s.pass.keys[len(chunk):]; len(s.pass.keys) == 0 {
		s.pass.keys = nil
		s.pass.active = false
	}
}
