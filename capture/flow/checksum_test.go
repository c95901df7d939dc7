package flow

import (
	"testing"
	"time"
)

// fakeSum is a pending payload checksum: bad says whether it fails, and
// calls counts how often the table asked.
type fakeSum struct {
	bad   bool
	calls int
}

func (s *fakeSum) PayloadChecksumBad() bool { s.calls++; return s.bad }

// TestPayloadChecksumSampling pins the rule that trusts a long UDP
// direction: its first udpVerifiedPackets datagrams are verified; if all
// were good, later ones are not verified (a bad one among them counts as
// good); a direction that had a bad one keeps being verified; the other
// direction is judged on its own; TCP is always verified.
func TestPayloadChecksumSampling(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	send := func(tab *Table, proto uint8, fromClient bool, i int, sum PayloadChecksum) *Packet {
		src, dst := client, server
		if !fromClient {
			src, dst = server, client
		}
		k, d := NewKey(proto, src, dst)
		p := &Packet{Key: k, Dir: d, Time: base + int64(i)*int64(time.Millisecond), WireLen: 200, PayloadLen: 160, TCPFlags: FlagACK}
		tab.PacketChecked(p, sum)
		return p
	}

	t.Run("udp good direction trusted after the first packets", func(t *testing.T) {
		tab, out := collect(DefaultConfig())
		good := &fakeSum{}
		for i := range udpVerifiedPackets {
			send(tab, ProtoUDP, true, i, good)
		}
		if good.calls != udpVerifiedPackets {
			t.Fatalf("first %d datagrams: %d verified", udpVerifiedPackets, good.calls)
		}
		bad := &fakeSum{bad: true}
		if p := send(tab, ProtoUDP, true, udpVerifiedPackets, bad); bad.calls != 0 || p.BadChecksum {
			t.Fatalf("datagram %d: verified %d times, bad %v; want trusted", udpVerifiedPackets+1, bad.calls, p.BadChecksum)
		}
		// The responder's direction is judged on its own.
		if p := send(tab, ProtoUDP, false, udpVerifiedPackets+1, bad); bad.calls != 1 || !p.BadChecksum {
			t.Fatalf("responder's first datagram: verified %d times, bad %v", bad.calls, p.BadChecksum)
		}
		tab.Flush(EndFlush)
		if h := (*out)[0].History(); h != "Dc" {
			t.Errorf("history %q, want Dc", h)
		}
	})

	t.Run("udp direction with a bad checksum stays verified", func(t *testing.T) {
		tab, out := collect(DefaultConfig())
		good, bad := &fakeSum{}, &fakeSum{bad: true}
		send(tab, ProtoUDP, true, 0, bad)
		for i := 1; i < udpVerifiedPackets+50; i++ {
			send(tab, ProtoUDP, true, i, good)
		}
		for i := udpVerifiedPackets + 50; i < udpVerifiedPackets+59; i++ {
			send(tab, ProtoUDP, true, i, bad)
		}
		if good.calls != udpVerifiedPackets+49 || bad.calls != 10 {
			t.Fatalf("verified %d good and %d bad, want every datagram", good.calls, bad.calls)
		}
		// The summary's bad_checksums counts every bad datagram.
		if n := tab.Stats().BadChecksum.Load(); n != 10 {
			t.Errorf("%d bad checksums counted, want 10", n)
		}
		tab.Flush(EndFlush)
		// Ten bad datagrams: C at the first and the tenth.
		if h := (*out)[0].History(); h != "CDC" {
			t.Errorf("history %q, want CDC", h)
		}
	})

	t.Run("tcp always verified", func(t *testing.T) {
		tab, _ := collect(DefaultConfig())
		sum := &fakeSum{}
		for i := range udpVerifiedPackets + 20 {
			send(tab, ProtoTCP, i%2 == 0, i, sum)
		}
		if sum.calls != udpVerifiedPackets+20 {
			t.Fatalf("verified %d of %d TCP segments", sum.calls, udpVerifiedPackets+20)
		}
	})

	t.Run("nothing pending", func(t *testing.T) {
		tab, _ := collect(DefaultConfig())
		if p := send(tab, ProtoUDP, true, 0, nil); p.BadChecksum {
			t.Fatal("a packet without a pending checksum marked bad")
		}
	})
}
