package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/layers"
)

const (
	// DefaultBufferSize is the read buffer of each open file.
	DefaultBufferSize = 1 << 20
	// maxSnapLen is libpcap's MAXIMUM_SNAPLEN, the longest record tcpdump
	// and Wireshark take for the link types this tool reads.
	maxSnapLen = 262144
	// probeBufferSize is the buffer Open uses to read each file's first
	// frame: most first frames sit in the first few KiB.
	probeBufferSize = 64 << 10
)

// Frame is one captured frame.
type Frame struct {
	// Data is the frame as captured. It aliases the reader's buffers and is
	// valid until the next call to Next.
	Data       []byte
	Time       int64 // Unix nanoseconds
	CaptureLen int   // len(Data)
	WireLen    int   // length on the wire, >= CaptureLen
	LinkType   layers.LinkType
	Interface  int    // pcapng interface index; 0 for classic pcap
	File       string // path of the file the frame came from
	Index      uint64 // 1-based record number within File
	// Offset is the byte offset of the record in File, after
	// decompression. In a pcapng file that has a block larger than the
	// read buffer it is, from that block on, the offset of the first block
	// read for the frame, which may precede the packet block.
	Offset int64
}

// Options tune a Reader. The zero value is ready to use.
type Options struct {
	// BufferSize is the read buffer per open file; DefaultBufferSize if 0.
	BufferSize int
	// MaxRecordLen is the longest record accepted; longer claims end the
	// file as corrupt. 262144 (libpcap's maximum snap length) if 0.
	MaxRecordLen int
	// LinkTypeSupported, if set, says which link types the caller can
	// decode. A classic pcap file of another type is a FileError; frames
	// of a pcapng interface of another type are skipped and counted.
	LinkTypeSupported func(layers.LinkType) bool
	// Recursive makes a directory's subdirectories read too, depth
	// first in name order. Without it they are skipped and named by
	// SkippedEntries.
	Recursive bool
	// Stdin is what the path "-" reads (default os.Stdin).
	Stdin io.Reader
}

// Stats are the Reader's counters. They are atomic, so a progress display
// may read them while another goroutine calls Next.
type Stats struct {
	FilesOpened       atomic.Uint64 // files read as captures
	FilesFailed       atomic.Uint64 // files ended by a FileError, not-a-capture included
	Frames            atomic.Uint64 // frames returned by Next (up to 256 behind until io.EOF or Close)
	Bytes             atomic.Uint64 // captured bytes of those frames
	InvalidTimestamps atomic.Uint64 // frames kept with an out-of-range timestamp fraction

	// skipped counts, by reason, the files ended by a FileError and the
	// pcapng frames skipped for their link type.
	skipped [len(reasons)]atomic.Uint64
}

// Skipped returns the count for one reason.
func (s *Stats) Skipped(reason Reason) uint64 { return s.skipped[reason.index()].Load() }

type progressCounter struct {
	done, total atomic.Int64
}

// Reader merges capture files into one stream of frames in time order.
// Next is not safe for concurrent use; Stats and Progress are.
type Reader struct {
	env     env
	buffers bufPool
	probes  bufPool

	pending []*captureFile // probed, not yet opened (streams: kept open), by first frame time
	heap    []*captureFile // open files, min-heap by lookahead frame time
	current *captureFile   // file whose frame the caller holds, still in heap[0]
	errs    []error
	closed  bool
	// skippedEntries names the directory entries not read.
	skippedEntries []string
	// streams are the inputs read as they come (stdin, FIFOs): they can
	// be read once only, and a read blocks until their writer sends, so
	// Close and a cancelled context interrupt them.
	smu     sync.Mutex
	streams []*os.File
	stopCtx func() bool

	stats    Stats
	progress progressCounter
	// unpublished counts frames and bytes not yet added to stats: an
	// atomic add per frame costs as much as reading it, so they reach
	// stats every publishEvery frames and when the input ends.
	unpublished struct{ frames, bytes uint64 }
}

// publishEvery bounds how far Stats.Frames and Bytes lag behind Next.
const publishEvery = 256

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("capture source: reader closed")

// Open prepares to read paths; see OpenContext.
func Open(paths []string, opts Options) (*Reader, error) {
	return OpenContext(context.Background(), paths, opts)
}

// OpenContext prepares to read paths, each a capture file, a directory
// whose regular files are read in name order (its subdirectories too with
// Options.Recursive), "-" for standard input, or a FIFO or other stream
// (a process substitution such as <(zcat x.pcap.gz)), which is read as it
// comes, never seeked. It reads the start of every input: files that are
// not captures or fail before their first frame are reported by Errors at
// once. It returns an error only for a path that does not exist or cannot
// be examined, or when ctx ends while it waits for a stream's writer;
// ctx ending later interrupts a read blocked on a stream.
func OpenContext(ctx context.Context, paths []string, opts Options) (*Reader, error) {
	if len(paths) == 0 {
		return nil, errors.New("capture source: no capture files given")
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	if opts.MaxRecordLen <= 0 {
		opts.MaxRecordLen = maxSnapLen
	}
	r := &Reader{
		buffers: bufPool{size: opts.BufferSize},
		probes:  bufPool{size: min(opts.BufferSize, probeBufferSize)},
	}
	r.env = env{maxRecord: opts.MaxRecordLen, supported: opts.LinkTypeSupported}
	r.stopCtx = context.AfterFunc(ctx, r.interrupt)

	var files []*captureFile
	add := func(path string, size int64) *captureFile {
		c := &captureFile{path: path, seq: len(files), size: size, env: &r.env}
		files = append(files, c)
		return c
	}
	var dirErrs []*FileError
	fail := func(err error) (*Reader, error) {
		r.Close()
		return nil, err
	}
	for _, p := range paths {
		if p == "-" {
			c := add("-", 0)
			if err := r.openStdin(c, opts.Stdin); err != nil {
				return fail(err)
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return fail(fmt.Errorf("capture source: %w", err))
		}
		switch {
		case info.Mode().IsRegular():
			add(p, info.Size())
		case info.IsDir():
			dirErrs = append(dirErrs, r.addDir(p, opts.Recursive, add)...)
		default:
			c := add(p, 0)
			if err := r.openStream(ctx, c); err != nil {
				return fail(err)
			}
		}
	}
	for _, err := range dirErrs {
		r.fail(err)
	}
	for _, c := range files {
		r.progress.total.Add(c.size)
		r.probe(c)
	}
	slices.SortFunc(r.pending, func(a, b *captureFile) int {
		return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(a.seq, b.seq))
	})
	return r, nil
}

// addDir adds the regular files of dir in name order, and those of its
// subdirectories when recursive. Other entries are named in
// SkippedEntries; directories that cannot be read are FileErrors.
func (r *Reader) addDir(dir string, recursive bool, add func(string, int64) *captureFile) []*FileError {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []*FileError{{File: dir, Reason: ReasonReadError, Err: err}}
	}
	var errs []*FileError
	for _, e := range entries { // ReadDir sorts by name
		full := filepath.Join(dir, e.Name())
		info, err := os.Stat(full)
		switch {
		case err != nil:
			r.skippedEntries = append(r.skippedEntries, fmt.Sprintf("%s: %v", full, err))
		case info.Mode().IsRegular():
			add(full, info.Size())
		case info.IsDir() && recursive:
			if e.Type()&os.ModeSymlink != 0 {
				// A link may loop back up the tree.
				r.skippedEntries = append(r.skippedEntries, full+": a symbolic link to a directory, not followed")
				continue
			}
			errs = append(errs, r.addDir(full, recursive, add)...)
		case info.IsDir():
			r.skippedEntries = append(r.skippedEntries, full+": a subdirectory (--recursive reads it)")
		default:
			r.skippedEntries = append(r.skippedEntries, fmt.Sprintf("%s: not a regular file (%v)", full, info.Mode().Type()))
		}
	}
	return errs
}

// SkippedEntries names the directory entries that were not read, each
// with the reason.
func (r *Reader) SkippedEntries() []string { return slices.Clone(r.skippedEntries) }

// openStdin makes c read in: the process's standard input when in is nil
// or os.Stdin.
func (r *Reader) openStdin(c *captureFile, in io.Reader) error {
	if in == nil {
		in = os.Stdin
	}
	c.stream = in
	if f, ok := in.(*os.File); ok {
		// A pipe made non-blocking goes through Go's poller, so a read
		// blocked on it can be interrupted. A terminal is left alone:
		// the flag would outlive the process in the shell sharing it.
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeNamedPipe != 0 {
			if err := syscall.SetNonblock(int(f.Fd()), true); err == nil {
				f = os.NewFile(f.Fd(), "-")
				c.stream = f
			}
		}
		r.track(f)
	}
	return nil
}

// openStream opens a FIFO or other stream at c.path. Opening a FIFO waits
// for its writer, so the open runs aside and ctx can end the wait.
func (r *Reader) openStream(ctx context.Context, c *captureFile) error {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.Open(c.path)
		done <- result{f, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return fmt.Errorf("capture source: %w", res.err)
		}
		c.stream = res.f
		c.f = res.f
		r.track(res.f)
		return nil
	case <-ctx.Done():
		// The open goroutine ends when a writer appears or the process
		// exits; its file is closed then.
		go func() {
			if res := <-done; res.f != nil {
				res.f.Close()
			}
		}()
		return fmt.Errorf("capture source: %s: waiting for a writer: %w", c.path, ctx.Err())
	}
}

func (r *Reader) track(f *os.File) {
	r.smu.Lock()
	defer r.smu.Unlock()
	r.streams = append(r.streams, f)
}

// interrupt makes reads blocked on a stream return at once.
func (r *Reader) interrupt() {
	r.smu.Lock()
	defer r.smu.Unlock()
	for _, f := range r.streams {
		f.SetReadDeadline(time.Unix(1, 0))
	}
}

// probe reads c's first frame to learn when the merge needs it. A file
// that ends, cleanly or not, before a first frame is finished here.
func (r *Reader) probe(c *captureFile) {
	if c.stream != nil {
		r.probeStream(c)
		return
	}
	var err error
	if ferr := c.open(&r.probes, nil); ferr != nil {
		err = ferr
	} else {
		r.stats.FilesOpened.Add(1)
		err = c.next()
	}
	c.first = c.frame.Time
	c.packets = 0
	c.ngw = ngWalker{}
	c.skipReport = false
	c.close(&r.probes)
	switch {
	case err == nil:
		r.pending = append(r.pending, c)
		return
	case err != io.EOF:
		r.fail(err.(*FileError))
	}
	r.progress.done.Add(c.size)
}

// probeStream reads a stream's first frame and keeps it open with that
// frame loaded: what was read cannot be read again.
func (r *Reader) probeStream(c *captureFile) {
	err := error(nil)
	if ferr := c.open(&r.buffers, &r.progress); ferr != nil {
		err = ferr
	} else {
		r.stats.FilesOpened.Add(1)
		c.skipped = r.skip
		err = c.next()
	}
	if err == nil {
		c.first = c.frame.Time
		c.kept = true
		r.pending = append(r.pending, c)
		return
	}
	if err != io.EOF {
		r.fail(err.(*FileError))
	}
	r.finish(c)
}

// Next returns the next frame in time order, or io.EOF when every file is
// done. Problems with single files do not stop it; see Errors.
func (r *Reader) Next() (*Frame, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if c := r.current; c != nil {
		r.current = nil
		r.advance(c)
	}
	r.openDue()
	if len(r.heap) == 0 {
		r.publish()
		return nil, io.EOF
	}
	c := r.heap[0]
	r.current = c
	u := &r.unpublished
	u.frames++
	u.bytes += uint64(c.frame.CaptureLen)
	if u.frames == publishEvery {
		r.publish()
	}
	if c.fixedTime {
		r.stats.InvalidTimestamps.Add(1)
	}
	return &c.frame, nil
}

func (r *Reader) publish() {
	if u := &r.unpublished; u.frames > 0 {
		r.stats.Frames.Add(u.frames)
		r.stats.Bytes.Add(u.bytes)
		*u = struct{ frames, bytes uint64 }{}
	}
}

// advance reads the next frame of c, the file at the top of the heap.
func (r *Reader) advance(c *captureFile) {
	err := c.next()
	if err == nil {
		r.down(0)
		return
	}
	if err != io.EOF {
		r.fail(err.(*FileError))
	}
	r.finish(c)
	last := len(r.heap) - 1
	r.heap[0] = r.heap[last]
	r.heap[last] = nil
	r.heap = r.heap[:last]
	if last > 0 {
		r.down(0)
	}
}

// openDue opens the pending files whose first frame comes no later than
// the earliest frame of the open ones.
func (r *Reader) openDue() {
	for len(r.pending) > 0 {
		c := r.pending[0]
		if len(r.heap) > 0 && !before(c.first, c.seq, r.heap[0]) {
			return
		}
		r.pending[0] = nil
		r.pending = r.pending[1:]
		if c.kept {
			// A stream, opened by its probe, its first frame loaded.
			r.heap = append(r.heap, c)
			r.up(len(r.heap) - 1)
			continue
		}
		if ferr := c.open(&r.buffers, &r.progress); ferr != nil {
			// The probe read this file; it changed or vanished since.
			r.fail(ferr)
			r.finish(c)
			continue
		}
		c.skipped = r.skip
		if err := c.next(); err != nil {
			if err != io.EOF {
				r.fail(err.(*FileError))
			}
			r.finish(c)
			continue
		}
		r.heap = append(r.heap, c)
		r.up(len(r.heap) - 1)
	}
}

// finish closes a file that is done and counts the bytes it did not read
// as done, so Progress reaches its total.
func (r *Reader) finish(c *captureFile) {
	if rest := c.size - c.raw.n; rest > 0 {
		r.progress.done.Add(rest)
	}
	c.close(&r.buffers)
}

func (r *Reader) fail(e *FileError) {
	r.errs = append(r.errs, e)
	r.stats.FilesFailed.Add(1)
	r.stats.skipped[e.Reason.index()].Add(1)
}

// skip counts a pcapng frame skipped for its link type; the first one of a
// file is also reported.
func (r *Reader) skip(e *FileError) {
	r.stats.skipped[ReasonLinkType.index()].Add(1)
	if e != nil {
		r.errs = append(r.errs, e)
	}
}

// Errors returns every file-level problem so far, each a *FileError. Like
// Next, it must not be called concurrently with Next.
func (r *Reader) Errors() []error { return slices.Clone(r.errs) }

// Stats returns the Reader's counters.
func (r *Reader) Stats() *Stats { return &r.stats }

// Skipped returns the non-zero skip counts by reason name, for reports.
func (r *Reader) Skipped() map[string]uint64 {
	m := make(map[string]uint64)
	for i, reason := range reasons {
		if n := r.stats.skipped[i].Load(); n > 0 {
			m[string(reason)] = n
		}
	}
	return m
}

// Progress returns how many bytes of input, as stored on disk (compressed
// for gzip files), have been read, and the total.
func (r *Reader) Progress() (done, total int64) {
	done, total = r.progress.done.Load(), r.progress.total.Load()
	return min(done, total), total
}

// Close closes the files still open. Next returns ErrClosed after it.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.stopCtx != nil {
		r.stopCtx()
	}
	r.publish()
	var errs []error
	for _, c := range r.heap {
		errs = append(errs, c.close(&r.buffers))
	}
	for _, c := range r.pending {
		if c.kept {
			errs = append(errs, c.close(&r.buffers))
		}
	}
	r.heap, r.pending, r.current = nil, nil, nil
	return errors.Join(errs...)
}

// before orders a time and input position against an open file's
// lookahead frame; equal times go to the file named first.
func before(t int64, seq int, c *captureFile) bool {
	return t < c.frame.Time || (t == c.frame.Time && seq < c.seq)
}

func (r *Reader) up(i int) {
	h := r.heap
	for i > 0 {
		p := (i - 1) / 2
		if !before(h[i].frame.Time, h[i].seq, h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (r *Reader) down(i int) {
	h := r.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if rr := l + 1; rr < len(h) && before(h[rr].frame.Time, h[rr].seq, h[l]) {
			m = rr
		}
		if !before(h[m].frame.Time, h[m].seq, h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
