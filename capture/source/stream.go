package source

import (
	"bufio"
	"io"
	"sync/atomic"
)

// replayReader serves head, then src, and counts what it served. Sniffing
// reads a file's first bytes before the format is known; replaying them
// lets the chosen reader start at byte 0 without seeking, and lets the
// header be patched on the way (see patchPcapHeader).
type replayReader struct {
	head     []byte
	src      io.Reader
	n        int64         // bytes served, head included
	progress *atomic.Int64 // also counts served bytes; nil when nobody watches
	err      error         // first error from src other than io.EOF
}

func (r *replayReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		r.count(n)
		return n, nil
	}
	n, err := r.src.Read(p)
	r.count(n)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (r *replayReader) count(n int) {
	r.n += int64(n)
	if r.progress != nil {
		r.progress.Add(int64(n))
	}
}

// bufPool keeps the big read buffers of finished files for the next file,
// so a directory of rotated captures costs one buffer per open file, not
// one per file.
type bufPool struct {
	size int
	free []*bufio.Reader
}

func (p *bufPool) get(r io.Reader) *bufio.Reader {
	if n := len(p.free); n > 0 {
		br := p.free[n-1]
		p.free = p.free[:n-1]
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, p.size)
}

func (p *bufPool) put(br *bufio.Reader) {
	if br != nil {
		br.Reset(nil)
		p.free = append(p.free, br)
	}
}
