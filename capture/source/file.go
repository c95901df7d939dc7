package source

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
)

// Magic numbers as the first four bytes of a file read little-endian.
const (
	magicMicro        = 0xa1b2c3d4
	magicMicroSwapped = 0xd4c3b2a1
	magicNano         = 0xa1b23c4d
	magicNanoSwapped  = 0x4d3cb2a1
	magicPcapNG       = 0x0a0d0d0a // section header block type, a palindrome
)

const (
	pcapHeaderLen    = 24
	pcapRecordHdrLen = 16

	// Bits of the pcap header's link-type field above the link type itself,
	// as libpcap reads them: FCS length and its presence bit are tolerated
	// (the decoder sees the FCS as trailing bytes), the rest is reserved.
	linkTypeReserved = 0x03ff0000
)

// env is what a file needs from its Reader.
type env struct {
	maxRecord int
	supported func(layers.LinkType) bool // nil: every link type
}

// captureFile is one input file: its readers and its lookahead frame.
type captureFile struct {
	path string
	seq  int   // position in input order; breaks timestamp ties in the merge
	size int64 // bytes on disk, for Progress
	// first is the time of the first frame, found by Open's probe; the
	// merge opens the file for real when it reaches that time.
	first int64

	f *os.File
	// stream, if set, is the input of stdin or a FIFO, opened by the
	// Reader and read once: kept is set once its probe loaded the
	// first frame.
	stream io.Reader
	kept   bool
	raw    replayReader  // bytes from disk
	zbuf   *bufio.Reader // gzip input, nil for plain files
	gz     *gzip.Reader
	dec    replayReader  // decompressed bytes, used only for gzip files
	br     *bufio.Reader // what pcapgo reads from
	// under is the reader feeding br; its count less br.Buffered() is the
	// offset of the next byte pcapgo will see.
	under *replayReader

	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader
	ngw  ngWalker
	// ngTime converts each interface's timestamps for fastEPB, built as
	// pcapgo learns the interfaces.
	ngTime []ngClock

	// classic pcap
	bigEndian  bool
	nanoFactor int64  // 1000 for microsecond files, 1 for nanosecond
	fracLimit  uint32 // first invalid value of the fraction field
	linkType   layers.LinkType

	head    [pcapHeaderLen]byte // first bytes of the file, replayed
	dechead [pcapHeaderLen]byte // first decompressed bytes, replayed

	frame      Frame
	fixedTime  bool   // the current frame's timestamp was normalised
	packets    uint64 // records read, including skipped ones
	env        *env
	skipReport bool // a skipped-interface FileError was already reported
	// skipped receives a non-fatal FileError (pcapng frames on a refused
	// interface); nil drops them silently, as the probe does.
	skipped func(*FileError)
}

// fileErr builds a FileError for the record being read at offset off.
func (c *captureFile) fileErr(reason Reason, packet uint64, off int64, format string, args ...any) *FileError {
	return &FileError{File: c.path, Packet: packet, Offset: off, Reason: reason, Err: fmt.Errorf(format, args...)}
}

// offset is the stream offset of the next byte pcapgo reads.
func (c *captureFile) offset() int64 { return c.under.n - int64(c.br.Buffered()) }

// open opens the file, recognises its format and reads its header. pool
// supplies the buffers; progress, if not nil, counts bytes read from disk.
func (c *captureFile) open(pool *bufPool, progress *progressCounter) *FileError {
	c.raw = replayReader{}
	var in io.Reader = c.stream
	if in == nil {
		f, err := os.Open(c.path)
		if err != nil {
			return &FileError{File: c.path, Reason: ReasonReadError, Err: err}
		}
		c.f = f
		in = f
	}
	c.raw = replayReader{src: in}
	if progress != nil {
		c.raw.progress = &progress.done
	}
	n, err := io.ReadFull(in, c.head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return &FileError{File: c.path, Reason: ReasonReadError, Err: err}
	}
	c.raw.head = c.head[:n]
	head := c.head[:n]

	c.under = &c.raw
	if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		c.zbuf = pool.get(&c.raw)
		gz, err := gzip.NewReader(c.zbuf)
		if err != nil {
			return c.fileErr(ReasonDecompress, 0, 0, "gzip: %w", err)
		}
		c.gz = gz
		m, err := io.ReadFull(gz, c.dechead[:])
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			if c.raw.err != nil {
				return c.fileErr(ReasonReadError, 0, 0, "read: %w", c.raw.err)
			}
			return c.fileErr(ReasonDecompress, 0, 0, "gzip: %w", err)
		}
		c.dec = replayReader{head: c.dechead[:m], src: gz}
		c.under = &c.dec
		head = c.dechead[:m]
	}

	switch {
	case len(head) >= 4 && isPcapMagic(binary.LittleEndian.Uint32(head)):
		return c.openPcap(head, pool)
	case len(head) >= 4 && binary.LittleEndian.Uint32(head) == magicPcapNG:
		return c.openPcapNG(head, pool)
	}
	what := "not a capture file"
	if c.gz != nil {
		what = "gzip-compressed, but not a capture file"
	}
	if len(head) == 0 {
		return c.fileErr(ReasonNotCapture, 0, 0, "%s: empty", what)
	}
	return c.fileErr(ReasonNotCapture, 0, 0, "%s: starts with % x", what, head[:min(len(head), 4)])
}

func isPcapMagic(m uint32) bool {
	return m == magicMicro || m == magicMicroSwapped || m == magicNano || m == magicNanoSwapped
}

func (c *captureFile) openPcap(head []byte, pool *bufPool) *FileError {
	if len(head) < pcapHeaderLen {
		return c.fileErr(ReasonTruncated, 0, 0, "pcap file header cut short: %d of %d bytes", len(head), pcapHeaderLen)
	}
	magic := binary.LittleEndian.Uint32(head)
	c.bigEndian = magic == magicMicroSwapped || magic == magicNanoSwapped
	c.nanoFactor, c.fracLimit = 1000, 1e6
	if magic == magicNano || magic == magicNanoSwapped {
		c.nanoFactor, c.fracLimit = 1, 1e9
	}
	major, minor := c.u16(head[4:]), c.u16(head[6:])
	if major != 2 {
		return c.fileErr(ReasonVersion, 0, 4, "pcap version %d.%d is not supported (want 2.x)", major, minor)
	}
	field := c.u32(head[20:])
	if field&linkTypeReserved != 0 {
		return c.fileErr(ReasonLinkType, 0, 20, "link-type field %#x has reserved bits set", field)
	}
	c.linkType = layers.LinkType(field)
	if c.env.supported != nil && !c.env.supported(c.linkType) {
		return c.fileErr(ReasonLinkType, 0, 20, "link type %d (field %#x) is not supported", c.linkType, field)
	}
	c.patchPcapHeader(head, minor)

	c.br = pool.get(c.under)
	r, err := pcapgo.NewReader(c.br)
	if err != nil {
		return c.streamErr(err, 0, 0)
	}
	c.pcap = r
	return nil
}

// patchPcapHeader rewrites the replayed header so pcapgo accepts what
// libpcap accepts. pcapgo wants version 2.4 exactly, libpcap any 2.x (the
// minor version changed nothing in the record format). pcapgo also refuses
// records longer than both the snap length and 256 KiB; a MaxRecordLen
// configured above 256 KiB must win over a smaller snap length.
func (c *captureFile) patchPcapHeader(head []byte, minor uint16) {
	order := c.order()
	if minor != 4 {
		order.PutUint16(head[6:], 4)
	}
	if c.env.maxRecord > maxSnapLen && c.u32(head[16:]) < uint32(c.env.maxRecord) {
		order.PutUint32(head[16:], uint32(c.env.maxRecord))
	}
}

func (c *captureFile) openPcapNG(head []byte, pool *bufPool) *FileError {
	c.br = pool.get(c.under)
	// The section header and the blocks up to the first packet are checked
	// before pcapgo reads them.
	if _, ferr := c.ngw.walk(c, 1); ferr != nil {
		return ferr
	}
	r, err := pcapgo.NewNgReader(c.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return c.ngErr(err, 0, 0)
	}
	c.ng = r
	if len(head) < 12 {
		return c.fileErr(ReasonTruncated, 0, 0, "pcapng section header cut short")
	}
	// pcapgo consumed the first section header only: the byte order at
	// the current position is that section's.
	c.ngw.bigEndian = binary.LittleEndian.Uint32(head[8:]) == ngByteOrderMagicSwapped
	return nil
}

// next reads the next frame into c.frame. It returns io.EOF at the clean
// end of the file and a *FileError when the file ends on a problem.
func (c *captureFile) next() error {
	if c.ng != nil {
		return c.nextPcapNG()
	}
	return c.nextPcap()
}

func (c *captureFile) nextPcap() error {
	off := c.offset()
	packet := c.packets + 1
	hdr, err := c.br.Peek(pcapRecordHdrLen)
	if len(hdr) < pcapRecordHdrLen {
		if len(hdr) == 0 && err == io.EOF {
			return io.EOF
		}
		if err != io.EOF {
			return c.streamErr(err, packet, off)
		}
		return c.fileErr(ReasonTruncated, packet, off, "record header cut short: %d of %d bytes", len(hdr), pcapRecordHdrLen)
	}
	sec, frac := c.u32(hdr[0:]), c.u32(hdr[4:])
	capLen, wireLen := c.u32(hdr[8:]), c.u32(hdr[12:])
	if capLen > uint32(c.env.maxRecord) {
		return c.fileErr(ReasonTooLarge, packet, off, "record claims %d bytes, more than the %d-byte limit", capLen, c.env.maxRecord)
	}
	if capLen > wireLen {
		return c.fileErr(ReasonCorruptHeader, packet, off, "record claims %d bytes captured of a %d-byte packet", capLen, wireLen)
	}
	data, _, err := c.pcap.ZeroCopyReadPacketData()
	if err != nil {
		// The header was all there, so even io.EOF means a cut record.
		got := max(c.offset()-off-pcapRecordHdrLen, 0)
		if ferr := c.streamErr(err, packet, off); ferr.Reason != ReasonTruncated {
			return ferr
		}
		return c.fileErr(ReasonTruncated, packet, off, "record cut short: header claims %d bytes, file has %d", capLen, got)
	}
	c.packets = packet
	// The fraction is kept as written even when out of range: carried into
	// the seconds, as time.Unix would, and counted.
	c.fixedTime = frac >= c.fracLimit
	c.frame = Frame{
		Data:       data,
		Time:       int64(sec)*1e9 + int64(frac)*c.nanoFactor,
		CaptureLen: len(data),
		WireLen:    int(wireLen),
		LinkType:   c.linkType,
		File:       c.path,
		Index:      packet,
		Offset:     off,
	}
	return nil
}

func (c *captureFile) nextPcapNG() error {
	for {
		packet := c.packets + 1
		if c.fastEPB(packet, &c.frame) {
			c.packets = packet
			if fr := &c.frame; c.env.supported != nil && !c.env.supported(fr.LinkType) {
				if c.skipped != nil {
					c.skipped(c.skipErr(packet, fr.Offset, fr.Interface, fr.LinkType))
				}
				continue
			}
			c.fixedTime = false
			return nil
		}
		start := c.offset()
		off, ferr := c.ngw.walk(c, packet)
		if ferr != nil {
			return ferr
		}
		data, ci, err := c.ng.ZeroCopyReadPacketData()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return c.ngErr(err, packet, start)
		}
		c.ngw.commit()
		c.packets = packet
		if len(data) > c.env.maxRecord {
			// Only reachable when the walk could not see the block (a
			// bigger block before it filled the buffer).
			return c.fileErr(ReasonTooLarge, packet, off, "record claims %d bytes, more than the %d-byte limit", len(data), c.env.maxRecord)
		}
		lt := c.linkTypeOf(ci.AncillaryData)
		if c.env.supported != nil && !c.env.supported(lt) {
			if c.skipped != nil {
				c.skipped(c.skipErr(packet, off, ci.InterfaceIndex, lt))
			}
			continue
		}
		var t int64
		if !ci.Timestamp.IsZero() { // simple packet blocks carry no time
			t = ci.Timestamp.UnixNano()
		}
		c.fixedTime = false
		c.frame = Frame{
			Data:       data,
			Time:       t,
			CaptureLen: len(data),
			WireLen:    max(ci.Length, len(data)),
			LinkType:   lt,
			Interface:  ci.InterfaceIndex,
			File:       c.path,
			Index:      packet,
			Offset:     off,
		}
		return nil
	}
}

func (c *captureFile) linkTypeOf(ancillary []any) layers.LinkType {
	if len(ancillary) > 0 {
		if lt, ok := ancillary[0].(layers.LinkType); ok {
			return lt
		}
	}
	return c.linkType
}

// skipErr reports the first frame skipped for its link type; the rest are
// only counted.
func (c *captureFile) skipErr(packet uint64, off int64, iface int, lt layers.LinkType) *FileError {
	if c.skipReport {
		return nil
	}
	c.skipReport = true
	return c.fileErr(ReasonLinkType, packet, off, "interface %d has link type %d, which is not supported; its frames are skipped", iface, lt)
}

// streamErr maps an error from the stream under pcapgo: a failing disk or
// gzip stream says more than the io.ErrUnexpectedEOF pcapgo passes on.
func (c *captureFile) streamErr(err error, packet uint64, off int64) *FileError {
	switch {
	case errors.Is(c.raw.err, os.ErrDeadlineExceeded):
		return c.fileErr(ReasonReadError, packet, off, "read interrupted (signal or shutdown): %w", c.raw.err)
	case c.raw.err != nil:
		return c.fileErr(ReasonReadError, packet, off, "read: %w", c.raw.err)
	case c.gz != nil && c.dec.err == io.ErrUnexpectedEOF:
		return c.fileErr(ReasonTruncated, packet, off, "gzip stream cut short")
	case c.gz != nil && c.dec.err != nil:
		return c.fileErr(ReasonDecompress, packet, off, "gzip: %w", c.dec.err)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return c.fileErr(ReasonTruncated, packet, off, "file cut short")
	}
	return c.fileErr(ReasonCorruptHeader, packet, off, "%w", err)
}

// ngErr maps an error from pcapgo's pcapng reader.
func (c *captureFile) ngErr(err error, packet uint64, off int64) *FileError {
	ferr := c.streamErr(err, packet, off)
	switch {
	case ferr.Reason != ReasonCorruptHeader:
		return ferr
	case errors.Is(err, pcapgo.ErrNgVersionMismatch):
		ferr.Reason = ReasonVersion
	default:
		ferr.Reason = ReasonInvalidBlock
		ferr.Err = fmt.Errorf("invalid pcapng block: %w", err)
	}
	return ferr
}

// close releases the file and hands its buffers back.
func (c *captureFile) close(pool *bufPool) error {
	pool.put(c.br)
	pool.put(c.zbuf)
	c.br, c.zbuf, c.gz, c.pcap, c.ng = nil, nil, nil, nil, nil
	c.frame.Data = nil
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}

func (c *captureFile) order() binary.ByteOrder {
	if c.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (c *captureFile) u16(b []byte) uint16 {
	if c.bigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (c *captureFile) u32(b []byte) uint32 {
	if c.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}
