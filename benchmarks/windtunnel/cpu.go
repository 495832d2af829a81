package windtunnel

import "math"

// Processor sharing. The calls at work on a service with Cores share them
// evenly: while n are at work each runs at min(1, Cores/n) of a core, so a
// call's latency follows the concurrency over its whole life, and no core
// idles while as many calls as cores are at work. (The model used to fix a
// call's latency when it started, from the concurrency then; when
// concurrency fell, the calls started in a crowd kept their latency while
// cores went idle, and a service served less than its cores could.)

// cpuShare is the share of a core each call at work on sv gets.
func cpuShare(sv *svcState) float64 {
	return math.Min(1, float64(sv.Cores)/float64(len(sv.onCPU)))
}

// shareCPU brings the work of the calls on sv's cores up to now, puts call
// id on them (on) or takes it off, and moves the end of each one's work
// to where the new share puts it.
func (w *world) shareCPU(sv *svcState, id int32, on bool) {
	if dt := w.now - sv.shareAt; dt > 0 && len(sv.onCPU) > 0 {
		done := int64(float64(dt) * cpuShare(sv))
		for _, x := range sv.onCPU {
			c := &w.calls[x]
			c.work = max(0, c.work-done)
		}
	}
	sv.shareAt = w.now
	if on {
		sv.onCPU = append(sv.onCPU, id)
	} else {
		for i, x := range sv.onCPU {
			if x == id {
				sv.onCPU = append(sv.onCPU[:i], sv.onCPU[i+1:]...) // in order: ties end as they started
				break
			}
		}
	}
	if len(sv.onCPU) == 0 {
		return
	}
	share := cpuShare(sv)
	for _, x := range sv.onCPU {
		c := &w.calls[x]
		c.workGen++
		w.scheduleGen(w.now+int64(math.Ceil(float64(c.work)/share)), evWork, x, c.workGen)
	}
}
