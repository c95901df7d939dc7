package source

import (
	"bufio"
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket/layers"
)

// pcapng block types this reader looks into.
const (
	ngSectionHeader  = 0x0a0d0d0a
	ngPacket         = 0x00000002 // obsolete packet block
	ngSimplePacket   = 0x00000003
	ngEnhancedPacket = 0x00000006

	ngByteOrderMagic        = 0x1a2b3c4d
	ngByteOrderMagicSwapped = 0x4d3c2b1a // as read little-endian from a big-endian section

	// ngMaxBlock bounds blocks that carry no packet (name resolution,
	// decryption secrets, custom blocks): real ones are far smaller, and a
	// larger claim is a damaged length.
	ngMaxBlock = 16 << 20
)

// ngWalker checks the pcapng blocks pcapgo is about to read, from the
// current position up to and including the next packet block, by peeking
// into the buffer pcapgo reads from. pcapgo trusts block lengths: a packet
// block whose captured length runs past the block, or a length below the
// minimum, makes it read the next blocks as packet data. The walk turns
// those into an invalid-block error at the right offset, and it learns the
// exact offset of the packet block for Frame.Offset.
type ngWalker struct {
	bigEndian, next bool // byte order at the current position, and after the walked packet
	blind           bool // a block did not fit in the buffer: the byte order is no longer known
}

// commit records that pcapgo consumed the walked blocks.
func (w *ngWalker) commit() { w.bigEndian = w.next }

// walk checks the blocks ahead and returns the stream offset of the next
// packet block (or of the first block it could not look at).
func (w *ngWalker) walk(c *captureFile, packet uint64) (int64, *FileError) {
	pos := c.offset()
	if w.blind {
		return pos, nil
	}
	big := w.bigEndian
	w.next = big
	for at := 0; ; {
		h, err := c.br.Peek(at + 28)
		if len(h) < at+12 {
			// End of file, or a cut block: pcapgo reports it. A full
			// buffer means a big block before this one.
			w.blind = errors.Is(err, bufio.ErrBufferFull)
			return pos + int64(at), nil
		}
		off := pos + int64(at)
		b := h[at:]
		typ := binary.LittleEndian.Uint32(b)
		blockPacket := packet
		if typ == ngSectionHeader {
			// A section header belongs to no packet, and sets the byte
			// order of the blocks after it. Its interfaces start anew, so
			// fastEPB's clocks are learnt again.
			blockPacket = 0
			c.ngTime = c.ngTime[:0]
			switch binary.LittleEndian.Uint32(b[8:]) {
			case ngByteOrderMagic:
				big = false
			case ngByteOrderMagicSwapped:
				big = true
			default:
				return 0, c.fileErr(ReasonInvalidBlock, blockPacket, off, "pcapng section header with byte-order magic %#x", binary.BigEndian.Uint32(b[8:]))
			}
			if len(b) >= 16 {
				major, minor := ngU32(big, b[12:])>>16, ngU32(big, b[12:])&0xffff
				if !big {
					major, minor = minor, major
				}
				if major != 1 || minor != 0 {
					return 0, c.fileErr(ReasonVersion, blockPacket, off, "pcapng section version %d.%d is not supported (want 1.0)", major, minor)
				}
			}
		} else {
			typ = ngU32(big, b)
		}
		blen := ngU32(big, b[4:])
		isPacket := typ == ngEnhancedPacket || typ == ngPacket || typ == ngSimplePacket
		limit := uint32(ngMaxBlock)
		if isPacket {
			limit += uint32(c.env.maxRecord)
		}
		if blen < 12 || blen%4 != 0 {
			return 0, c.fileErr(ReasonInvalidBlock, blockPacket, off, "pcapng block type %#x has length %d", typ, blen)
		}
		if blen > limit {
			return 0, c.fileErr(ReasonInvalidBlock, blockPacket, off, "pcapng block type %#x claims %d bytes, more than the %d-byte limit", typ, blen, limit)
		}
		if isPacket {
			if ferr := c.checkPacketBlock(b, big, typ, blen, packet, off, at == 0); ferr != nil {
				return 0, ferr
			}
		}
		// The trailing copy of the length catches a length that is wrong
		// but plausible; it is checked when the block fits in the buffer.
		if whole, _ := c.br.Peek(at + int(blen)); len(whole) == at+int(blen) {
			if tail := ngU32(big, whole[len(whole)-4:]); tail != blen {
				return 0, c.fileErr(ReasonInvalidBlock, blockPacket, off, "pcapng block type %#x: length %d at its start, %d at its end", typ, blen, tail)
			}
		} else if len(whole) < at+int(blen) && int(blen) > c.br.Size()-at {
			if !isPacket {
				w.blind = true
				return off, nil
			}
		}
		w.next = big
		if isPacket {
			return off, nil
		}
		at += int(blen)
	}
}

// checkPacketBlock checks a packet block's lengths against the limit and
// against the block itself. b holds at least 12 bytes of the block;
// ifacesKnown says that pcapgo has read every interface block before it.
func (c *captureFile) checkPacketBlock(b []byte, big bool, typ, blen uint32, packet uint64, off int64, ifacesKnown bool) *FileError {
	if typ == ngSimplePacket {
		// The captured length is min(original, snap length); pcapgo caps
		// it by the snap length, the block bounds what is really there.
		if blen > uint32(c.env.maxRecord)+16 {
			return c.fileErr(ReasonTooLarge, packet, off, "record claims %d bytes, more than the %d-byte limit", blen-16, c.env.maxRecord)
		}
		// Its captured length depends on the first interface's snap
		// length, known only when no block before it may change that.
		if !ifacesKnown || c.ng == nil || c.ng.NInterfaces() == 0 {
			return nil
		}
		capLen := ngU32(big, b[8:])
		if iface, err := c.ng.Interface(0); err == nil && iface.SnapLength != 0 {
			capLen = min(capLen, iface.SnapLength)
		}
		if uint64(capLen)+16 > uint64(blen) {
			return c.fileErr(ReasonInvalidBlock, packet, off, "simple packet block of %d bytes claims %d captured bytes", blen, capLen)
		}
		return nil
	}
	if len(b) < 28 {
		return nil // cut short: pcapgo reports it
	}
	capLen, wireLen := ngU32(big, b[20:]), ngU32(big, b[24:])
	switch {
	case capLen > uint32(c.env.maxRecord):
		return c.fileErr(ReasonTooLarge, packet, off, "record claims %d bytes, more than the %d-byte limit", capLen, c.env.maxRecord)
	case uint64(capLen)+32 > uint64(blen):
		return c.fileErr(ReasonInvalidBlock, packet, off, "packet block of %d bytes claims %d captured bytes", blen, capLen)
	case capLen > wireLen:
		return c.fileErr(ReasonCorruptHeader, packet, off, "record claims %d bytes captured of a %d-byte packet", capLen, wireLen)
	}
	return nil
}

func ngU32(bigEndian bool, b []byte) uint32 {
	if bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// ngClock converts an interface's raw timestamps to nanoseconds.
type ngClock struct {
	ok              bool // the resolution is one fastEPB handles
	perSecond       uint64
	scaleUp, offset int64
	linkType        layers.LinkType
}

// unixNano converts a timestamp of the clock's interface. The two
// resolutions nearly every capture uses divide by a constant, which the
// compiler turns into a multiplication; a division by a variable costs
// more than the rest of reading a packet block.
func (clk *ngClock) unixNano(ts uint64) int64 {
	var sec, frac uint64
	switch clk.perSecond {
	case 1e6:
		sec, frac = ts/1e6, ts%1e6
	case 1e9:
		sec, frac = ts/1e9, ts%1e9
	default:
		sec, frac = ts/clk.perSecond, ts%clk.perSecond
	}
	return (int64(sec)+clk.offset)*1e9 + int64(frac)*clk.scaleUp
}

// fastEPB reads the enhanced packet block at the current position directly
// from the read buffer, without pcapgo, which copies every packet from the
// buffer into its own (a third of replay's reading time on a large
// capture), and without the walk, whose checks it repeats in the same pass
// over the block header: an enhanced packet block is nearly every block of
// a real capture. It only takes the common case: a well-formed enhanced
// packet block wholly in the buffer, in the byte order the walk last saw,
// of an interface pcapgo has already read, with a decimal timestamp
// resolution down to nanoseconds. Anything else, a damaged block included,
// goes the walk and pcapgo way, which reports it; pcapgo reads block by
// block and holds nothing between packets, so skipping it keeps its state.
// The data stays valid until the next read, as Frame promises.
//
// It fills fr in place: a Frame is a hundred bytes, and returning one by
// value copied it twice per packet.
func (c *captureFile) fastEPB(packet uint64, fr *Frame) bool {
	w := &c.ngw
	if w.blind {
		return false
	}
	big := w.bigEndian
	b, _ := c.br.Peek(28)
	if len(b) < 28 || ngU32(big, b) != ngEnhancedPacket {
		return false
	}
	blen, ifc := ngU32(big, b[4:]), ngU32(big, b[8:])
	capLen, wireLen := ngU32(big, b[20:]), ngU32(big, b[24:])
	maxRecord := uint32(c.env.maxRecord)
	if blen%4 != 0 || blen > ngMaxBlock+maxRecord || capLen > maxRecord || uint64(capLen)+32 > uint64(blen) || capLen > wireLen {
		return false
	}
	clock := c.ngClockOf(int(ifc))
	if clock == nil {
		return false
	}
	// This Peek may refill the buffer and move its contents: b is stale
	// from here on.
	whole, _ := c.br.Peek(int(blen))
	if len(whole) < int(blen) || ngU32(big, whole[blen-4:]) != blen {
		return false
	}
	ts := uint64(ngU32(big, whole[12:]))<<32 | uint64(ngU32(big, whole[16:]))
	*fr = Frame{
		Data:       whole[28 : 28+capLen : 28+capLen],
		Time:       clock.unixNano(ts),
		CaptureLen: int(capLen),
		WireLen:    int(wireLen),
		LinkType:   clock.linkType,
		Interface:  int(ifc),
		File:       c.path,
		Index:      packet,
		Offset:     c.offset(),
	}
	c.br.Discard(int(blen))
	w.next = big
	return true
}

// ngClockOf returns interface i's clock, learning new interfaces from
// pcapgo; nil when fastEPB cannot convert its timestamps.
func (c *captureFile) ngClockOf(i int) *ngClock {
	if i < len(c.ngTime) {
		if clk := &c.ngTime[i]; clk.ok {
			return clk
		}
		return nil
	}
	return c.learnClocks(i)
}

// learnClocks adds the clocks of the interfaces pcapgo has read since the
// last call and returns interface i's, as ngClockOf does.
func (c *captureFile) learnClocks(i int) *ngClock {
	n := c.ng.NInterfaces()
	if i >= n {
		return nil
	}
	for j := len(c.ngTime); j < n; j++ {
		var clk ngClock
		if iface, err := c.ng.Interface(j); err == nil {
			res := iface.TimestampResolution
			if !res.Binary() && res.Exponent() <= 9 {
				clk = ngClock{ok: true, perSecond: pow10(res.Exponent()), scaleUp: int64(pow10(9 - res.Exponent())),
					offset: int64(iface.TimestampOffset), linkType: iface.LinkType}
			}
		}
		c.ngTime = append(c.ngTime, clk)
	}
	if clk := &c.ngTime[i]; clk.ok {
		return clk
	}
	return nil
}

func pow10(e uint8) uint64 {
	v := uint64(1)
	for range e {
		v *= 10
	}
	return v
}
