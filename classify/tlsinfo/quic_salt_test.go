package tlsinfo

import (
	"encoding/hex"
	"fmt"
	"testing"
)

// Initial salts as the specifications print them, written out here rather
// than taken from quic.go so that a wrong table or a wrong version range
// fails. Each value was checked against the cited document and against
// the independent tables of Wireshark (epan/dissectors/packet-quic.c:
// draft <= 28, <= 32, <= 34, v1, v2) and quic-go.
const (
	// draft-ietf-quic-tls-23 section 5.2 (the quicwg/base-drafts wiki's
	// "Test Vector for the Initial AEAD key derivation" quotes it), in use
	// through -28.
	saltDraft23 = "c3eef712c72ebb5a11a7d2432bb46365bef9f502"
	// draft-ietf-quic-tls-29 section 5.2, in use through -32 (the IETF
	// Last Call text that quicwg/base-drafts issue 4325 quotes).
	saltDraft29 = "afbfec289993d24c9e9786f19c6111e04390a899"
	// draft-ietf-quic-tls-33 section 5.2 (quicwg/base-drafts pull 4431,
	// "Final salt and retry keys"), kept by -34 and by RFC 9001
	// section 5.2.
	saltV1 = "38762cf7f55934b34d179ae6a4c80cadccbb7f0a"
	// RFC 9369 section 3.3.1. The earlier draft-ietf-quic-v2 salt
	// (a707c203...) went with the draft version number 0x709a50c4,
	// which the code does not accept.
	saltV2 = "0dede3def700a6db819381be6e269dcbf9bd2ed9"
)

// TestQUICInitialSalts pins the salt, labels and Initial packet type of
// every version whose Initial packets are opened, and the refusal of the
// drafts just outside the range.
func TestQUICInitialSalts(t *testing.T) {
	type want struct {
		salt        string
		label       string // prefix of the key, iv and hp labels
		initialType byte
	}
	draft23 := want{saltDraft23, "quic", 0}
	draft29 := want{saltDraft29, "quic", 0}
	v1 := want{saltV1, "quic", 0}
	cases := []struct {
		version uint32
		name    string
		want    *want // nil: refused
	}{
		{0xff00001a, "draft-26", nil},
		{0xff00001b, "draft-27", &draft23},
		{0xff00001c, "draft-28", &draft23},
		{0xff00001d, "draft-29", &draft29},
		{0xff00001e, "draft-30", &draft29},
		{0xff00001f, "draft-31", &draft29},
		{0xff000020, "draft-32", &draft29},
		{0xff000021, "draft-33", &v1},
		{0xff000022, "draft-34", &v1},
		{0xff000023, "draft-35", nil},
		{0x00000001, "v1 (RFC 9000)", &v1},
		// RFC 9369 sections 3.2 and 3.3.2: new labels, Initial is type 1.
		{0x6b3343cf, "v2 (RFC 9369)", &want{saltV2, "quicv2", 1}},
		{0x709a50c4, "v2 draft version", nil},
		{0x00000000, "version negotiation", nil},
		{0x00000002, "version 2 number, not v2", nil},
		{0x1a2a3a4a, "reserved (greased) version", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s 0x%08x", tc.name, tc.version), func(t *testing.T) {
			p := quicParams(tc.version)
			if tc.want == nil {
				if p != nil {
					t.Fatalf("accepted with salt %x, want refused", p.salt)
				}
				return
			}
			if p == nil {
				t.Fatal("refused")
			}
			if got := hex.EncodeToString(p.salt); got != tc.want.salt {
				t.Errorf("salt %s, want %s", got, tc.want.salt)
			}
			l := tc.want.label
			if p.keyLabel != l+" key" || p.ivLabel != l+" iv" || p.hpLabel != l+" hp" {
				t.Errorf("labels %q %q %q, want the %q ones", p.keyLabel, p.ivLabel, p.hpLabel, l)
			}
			if p.initialType != tc.want.initialType {
				t.Errorf("Initial packet type %d, want %d", p.initialType, tc.want.initialType)
			}
		})
	}
}
