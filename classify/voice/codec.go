package voice

import "strings"

// Codec holds a codec's E-model constants.
type Codec struct {
	Name string  // the SDP encoding name it was looked up by, upper case
	Ie   float64 // equipment impairment factor without loss
	Bpl  float64 // packet-loss robustness factor
	// Wideband marks codecs rated on the narrowband scale with Ie = 0
	// (see the package documentation).
	Wideband bool
	// Known is false for an encoding this table does not list; such
	// streams are rated as G.711 and the rating says so.
	Known bool
}

// G.711 with the packet-loss concealment of G.711 Appendix I: Ie 0, Bpl
// 25.1 (ITU-T G.113 Appendix I, Table I.3). Phones and gateways conceal
// lost G.711 frames; without concealment G.113 gives Bpl 4.3.
var g711 = Codec{Ie: 0, Bpl: 25.1}

// CodecByName returns the E-model constants of an SDP encoding name
// (rtpmap, case-insensitive). Unknown encodings get G.711's constants
// with Known false.
func CodecByName(encoding string) Codec {
	name := strings.ToUpper(encoding)
	c := g711
	c.Name = name
	c.Known = true
	switch name {
	case "PCMU", "PCMA":
	case "G729", "G729A", "G729AB", "G729B":
		// G.729A (+VAD): Ie 11, Bpl 19.0 (G.113 Appendix I).
		c.Ie, c.Bpl = 11, 19.0
	case "G722", "G7221":
		// Wideband. G.722 at 64 kbit/s with the concealment of its
		// Appendix III is at least as robust as G.711 with PLC, whose
		// Bpl it takes.
		c.Ie, c.Bpl, c.Wideband = 0, 25.1, true
	case "OPUS":
		// Wideband or fullband with in-band concealment (RFC 6716
		// section 4.4); rated like G.722.
		c.Ie, c.Bpl, c.Wideband = 0, 25.1, true
	case "ILBC":
		// Narrowband at 13.33 or 15.2 kbit/s with built-in concealment
		// (RFC 3951 section 4.5). Ie 11 and Bpl 19.0: the constants of
		// G.729A, the low-rate CELP codec of its class in G.113.
		c.Ie, c.Bpl = 11, 19.0
	case "G723":
		// G.723.1 at 6.3 kbit/s with VAD: Ie 15, Bpl 16.1 (G.113 Appendix I).
		c.Ie, c.Bpl = 15, 16.1
	default:
		c.Known = false
	}
	return c
}
