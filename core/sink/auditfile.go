package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	atrion "github.com/atrion-go/atrion/core"
)

// FileAudit is an audit sink that appends one JSON line per record to a
// file and rotates it by size: path, then path.1 (the newest full file) up
// to path.N. Each record is one write, so a process killed mid-way leaves
// a file whose complete lines all parse. It writes from the engine's
// audit goroutine, never from a request.
type FileAudit struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	keep     int
	f        *os.File
	size     int64
	errs     uint64
	lastErr  error
}

// AuditFile opens (creating or appending to) path for an audit trail that
// rotates once a file would pass maxBytes (≤ 0: 64 MiB), keeping keep
// rotated files (≤ 0: 5). Give it to [atrion.WithAudit]; Close it after the engine.
func AuditFile(path string, maxBytes int64, keep int) (*FileAudit, error) {
	if path == "" {
		return nil, errors.New("sink: AuditFile: empty path")
	}
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	if keep <= 0 {
		keep = 5
	}
	fa := &FileAudit{path: path, maxBytes: maxBytes, keep: min(keep, 1000)}
	if err := fa.open(); err != nil {
		return nil, err
	}
	return fa, nil
}

func (fa *FileAudit) open() error {
	f, err := os.OpenFile(fa.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("sink: AuditFile: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("sink: AuditFile: %w", err)
	}
	fa.f, fa.size = f, fi.Size()
	return nil
}

// Audit appends r as one JSON line, rotating first when the line would
// take the file past its size. A failed write is counted (Errors).
func (fa *FileAudit) Audit(r atrion.AuditRecord) {
	line, err := json.Marshal(r)
	if err != nil {
		fa.fail(err)
		return
	}
	line = append(line, '\n')
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if fa.f == nil {
		fa.failLocked(os.ErrClosed)
		return
	}
	if fa.size > 0 && fa.size+int64(len(line)) > fa.maxBytes {
		if err := fa.rotateLocked(); err != nil {
			fa.failLocked(err)
			if fa.f == nil {
				return
			}
		}
	}
	n, err := fa.f.Write(line)
	fa.size += int64(n)
	if err != nil {
		fa.failLocked(err)
	}
}

// rotateLocked shifts path.i to path.i+1, path to path.1, and opens a new
// path. Caller holds mu.
func (fa *FileAudit) rotateLocked() error {
	if err := fa.f.Close(); err != nil {
		fa.failLocked(err)
	}
	fa.f = nil
	os.Remove(fmt.Sprintf("%s.%d", fa.path, fa.keep))
	for i := fa.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", fa.path, i), fmt.Sprintf("%s.%d", fa.path, i+1))
	}
	if err := os.Rename(fa.path, fa.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		fa.failLocked(err)
	}
	return fa.open()
}

func (fa *FileAudit) fail(err error) {
	fa.mu.Lock()
	fa.failLocked(err)
	fa.mu.Unlock()
}

func (fa *FileAudit) failLocked(err error) { fa.errs++; fa.lastErr = err }

// Errors returns how many records could not be written, and the last
// error.
func (fa *FileAudit) Errors() (n uint64, last error) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return fa.errs, fa.lastErr
}

// Close syncs and closes the file; later records are counted as errors.
func (fa *FileAudit) Close() error {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if fa.f == nil {
		return nil
	}
	err := errors.Join(fa.f.Sync(), fa.f.Close())
	fa.f = nil
	return err
}
