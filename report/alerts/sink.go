package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/ccaudit/auditor/classify/verdict"
)

// Record is one encoded event on its way to the sinks. Its JSON is shared
// by every sink and must not be modified.
type Record struct {
	// JSON is the ECS event (Encode), without a trailing newline.
	JSON     []byte
	ID       string // event.id, the document id of a bulk index
	Kind     verdict.Kind
	Severity verdict.Severity
	// Host is the event's sensor name, empty when it has none.
	Host    string
	Created time.Time
}

// Sink delivers batches of records to one destination. The Feed calls a
// sink from a single goroutine. A Write error is retried with backoff
// unless it wraps errPermanent; a retried batch is written again whole, so
// delivery is at least once (events carry event.id for deduplication at
// the receiver).
type Sink interface {
	// Name identifies the destination in Stats and errors, without
	// secrets.
	Name() string
	Write(ctx context.Context, batch []Record) error
	// Close releases the destination; the Feed calls it once, after the
	// last Write.
	Close() error
}

// Batcher is implemented by sinks that want batches bigger than what
// happens to be queued: the Feed collects up to size records, waiting at
// most wait after the first one.
type Batcher interface {
	BatchLimits() (size int, wait time.Duration)
}

// errPermanent marks Write errors that retrying cannot fix (the receiver
// refused the batch as malformed or unauthorised).
var errPermanent = errors.New("not retried")

func permanent(err error) error { return fmt.Errorf("%w (%w)", err, errPermanent) }

// writerSink writes NDJSON to a stream it does not own (stdout).
type writerSink struct {
	name string
	w    io.Writer
	buf  []byte
}

func newWriterSink(name string, w io.Writer) *writerSink { return &writerSink{name: name, w: w} }

func (s *writerSink) Name() string { return s.name }

func (s *writerSink) Write(_ context.Context, batch []Record) error {
	s.buf = appendLines(s.buf[:0], batch)
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("write alerts to %s: %w", s.name, err)
	}
	return nil
}

func (s *writerSink) Close() error { return nil }

func appendLines(b []byte, batch []Record) []byte {
	for _, r := range batch {
		b = append(b, r.JSON...)
		b = append(b, '\n')
	}
	return b
}

// fileSink appends NDJSON to a file and rotates it by size: PATH.1 is the
// newest rotated file, PATH.keep the oldest; older ones are removed.
type fileSink struct {
	path     string
	maxBytes int64
	keep     int
	f        *os.File
	size     int64
	buf      []byte
}

func openFileSink(path string, maxBytes int64, keep int) (*fileSink, error) {
	s := &fileSink{path: path, maxBytes: maxBytes, keep: keep}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *fileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open alert file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open alert file: %w", err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

func (s *fileSink) Name() string { return s.path }

func (s *fileSink) Write(_ context.Context, batch []Record) error {
	if s.f == nil {
		// A rotation failed to reopen the file; try again.
		if err := s.open(); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	for _, r := range batch {
		line := int64(len(r.JSON) + 1)
		if pending := s.size + int64(len(s.buf)); pending > 0 && pending+line > s.maxBytes {
			if err := s.flush(); err != nil {
				return err
			}
			if err := s.rotate(); err != nil {
				return err
			}
		}
		s.buf = append(s.buf, r.JSON...)
		s.buf = append(s.buf, '\n')
	}
	return s.flush()
}

func (s *fileSink) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	s.buf = s.buf[:0]
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

func (s *fileSink) rotate() error {
	if err := s.f.Close(); err != nil {
		s.f = nil
		return fmt.Errorf("close %s for rotation: %w", s.path, err)
	}
	s.f = nil
	oldest := s.path + "." + strconv.Itoa(s.keep)
	if err := os.Remove(oldest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate %s: %w", s.path, err)
	}
	for i := s.keep - 1; i >= 1; i-- {
		from := s.path + "." + strconv.Itoa(i)
		if err := os.Rename(from, s.path+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", s.path, err)
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", s.path, err)
	}
	return s.open()
}

func (s *fileSink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}
