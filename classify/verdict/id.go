package verdict

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"

	"github.com/ccaudit/auditor/capture/flow"
)

// ID names the finding by what findings aggregate by: kind, protocol,
// hosts, port and entry (and the name, for dns-failure findings). The
// same problem gets the same ID in every capture window and on every
// sensor, so rows of several findings tables can be joined on it and an
// evidence file can be named by it. It is 16 hex digits of FNV-1a.
func (g *Finding) ID() string {
	h := fnv.New64a()
	var buf [2]byte
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(string(g.Kind))
	h.Write([]byte{g.Proto})
	write(g.Src.String())
	write(g.Dst.String())
	binary.BigEndian.PutUint16(buf[:], g.DstPort)
	h.Write(buf[:])
	write(g.Vendor)
	write(g.EntryID)
	if g.Kind == KindDNSFailure {
		write(g.ServerName)
	}
	var sum [8]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// TLSTooOld reports whether the flow raises a tls-version-too-old finding
// of its own, beside its verdict (see Findings.Observe).
func TLSTooOld(f *flow.Flow) bool {
	v, _ := tlsVersionOf(f.Meta)
	return v != 0 && tlsRank(v) < minTLS
}
