package hotpath

import "testing"

// TestAtrionZeroAllocs pins SPEC §9's 0 allocs/op for Admit + Done, the
// exact unit of work the benchmarks measure, on one route and on 1,000.
func TestAtrionZeroAllocs(t *testing.T) {
	for _, routes := range []int{1, 1000} {
		w := setupAtrion(t, routes)
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			if !w(i) {
				t.Fatalf("%d routes: request %d rejected on a healthy engine", routes, i)
			}
			i++
		})
		if allocs != 0 {
			t.Errorf("%d routes: Admit+Done allocates %.2f times per request, want 0", routes, allocs)
		}
	}
	w := setupAtrionHandle(t)
	if allocs := testing.AllocsPerRun(2000, func() { w(0) }); allocs != 0 {
		t.Errorf("through a Handle: Admit+Done allocates %.2f times per request, want 0", allocs)
	}
}

// TestSubjectsAdmit checks that every subject, as configured, admits
// healthy traffic, so no benchmark measures only its rejection path.
func TestSubjectsAdmit(t *testing.T) {
	for _, s := range subjects {
		t.Run(s.name, func(t *testing.T) {
			w := s.setup(t)
			for i := range 1000 {
				if !w(i) {
					t.Fatalf("request %d rejected", i)
				}
			}
		})
	}
}
