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
// a file whose complete lines all parse; a write that fails part-way (a
// full disk) is cut back off the file, or, if that fails too, the next
// record starts on a new line, so that no line is torn. When the file at
// path is renamed or removed (logrotate, an operator), the next record
// goes to a new file at path, not to the old one; Reopen does it at once
// (on SIGHUP, say). It writes from the engine's audit goroutine, never
// from a request.
type FileAudit struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	keep     int
	f        *os.File
	info     os.FileInfo // of f, to tell when path no longer names it
	size     int64
	torn     bool // the file may end in part of a record: start the next on a new line
	errs     uint64
	lastErr  error
	reopens  uint64
	closed   bool // Close was called
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
	fa.f, fa.info, fa.size, fa.torn = f, fi, fi.Size(), false
	return nil
}

// Reopen closes the file and opens path again, creating it if it is gone:
// after the file was renamed or removed, records go to a new file at path.
// Audit does the same by itself when it finds path no longer names its
// file; Reopen does it at once, for a signal from a log rotator:
//
//	hup := make(chan os.Signal, 1)
//	signal.Notify(hup, syscall.SIGHUP)
//	go func() {
//		for range hup {
//			if err := fa.Reopen(); err != nil {
//				log.Print(err)
//			}
//		}
//	}()
//
// After Close it does nothing.
func (fa *FileAudit) Reopen() error {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if fa.closed {
		return nil
	}
	return fa.reopenLocked()
}

// reopenLocked closes the file and opens path again. Caller holds mu.
func (fa *FileAudit) reopenLocked() error {
	if fa.f != nil {
		fa.f.Close() // what it wrote is in; a file renamed away is someone else's now
		fa.f = nil
	}
	fa.reopens++
	return fa.open()
}

// movedLocked reports whether path no longer names the open file: it was
// renamed or removed. Caller holds mu.
func (fa *FileAudit) movedLocked() bool {
	fi, err := os.Stat(fa.path)
	return err != nil || !os.SameFile(fi, fa.info)
}

// Audit appends r as one JSON line, rotating first when the line would
// take the file past its size, and reopening path first when it no longer
// names the file. A record not written (whole) is counted (Errors).
func (fa *FileAudit) Audit(r atrion.AuditRecord) {
	line, err := json.Marshal(r)
	if err != nil {
		fa.fail(err)
		return
	}
	line = append(line, '\n')
	fa.mu.Lock()
	defer fa.mu.Unlock()
	if fa.closed {
		fa.failLocked(os.ErrClosed)
		return
	}
	// no file (a reopen or rotation failed), or path names another: open
	// path again
	if fa.f == nil || fa.movedLocked() {
		if err := fa.reopenLocked(); err != nil {
			fa.failLocked(err)
			return
		}
	}
	if fa.size > 0 && fa.size+int64(len(line)) > fa.maxBytes {
		if err := fa.rotateLocked(); err != nil {
			fa.failLocked(err)
			if fa.f == nil {
				return
			}
		}
	}
	if fa.torn {
		line = append([]byte{'\n'}, line...)
	}
	n, err := fa.f.Write(line)
	if err == nil {
		fa.size += int64(n)
		fa.torn = false
		return
	}
	fa.failLocked(err)
	if n == 0 {
		return
	}
	// part of the line is in: cut it back off, or make sure the next
	// record starts on a line of its own
	if terr := fa.f.Truncate(fa.size); terr != nil {
		fa.size += int64(n)
		fa.torn = true
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

// Errors returns how many records (or closes, reopens and rotations)
// failed, and the last error.
func (fa *FileAudit) Errors() (n uint64, last error) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return fa.errs, fa.lastErr
}

// Reopens returns how many times the file was reopened: by Reopen, or by
// Audit when path no longer named it (renamed, removed) or was not open.
func (fa *FileAudit) Reopens() uint64 {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return fa.reopens
}

// Close syncs and closes the file; later records are counted as errors.
func (fa *FileAudit) Close() error {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.closed = true
	if fa.f == nil {
		return nil
	}
	err := errors.Join(fa.f.Sync(), fa.f.Close())
	fa.f = nil
	return err
}
