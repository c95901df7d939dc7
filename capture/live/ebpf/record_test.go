package ebpf

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// rawRecord builds a ring sample as the kernel lays it out.
func rawRecord(ts uint64, wire uint32, ifindex uint32, tci, tpid uint16, hook uint8, reason Reason, data []byte, pad int) []byte {
	ne := binary.NativeEndian
	b := make([]byte, recordHeaderLen, recordHeaderLen+len(data)+pad)
	ne.PutUint64(b[0:], ts)
	ne.PutUint32(b[8:], wire)
	ne.PutUint32(b[12:], ifindex)
	ne.PutUint16(b[16:], uint16(len(data)))
	ne.PutUint16(b[18:], tci)
	ne.PutUint16(b[20:], tpid)
	b[22], b[23] = hook, uint8(reason)
	b = append(b, data...)
	return append(b, make([]byte, pad)...)
}

func TestParseRecord(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 60)
	good := rawRecord(42, 60, 3, 0, 0, recordHookEgress, ReasonFirst, frame, 4)
	tests := []struct {
		name    string
		raw     []byte
		wantErr bool
	}{
		{"good, padded", good, false},
		{"header only", good[:recordHeaderLen], true},
		{"short header", good[:10], true},
		{"cap beyond sample", rawRecord(1, 60, 1, 0, 0, 1, ReasonFirst, frame, 0)[:recordHeaderLen+59], true},
		{"cap above wire", rawRecord(1, 59, 1, 0, 0, 1, ReasonFirst, frame, 0), true},
		{"zero cap", rawRecord(1, 60, 1, 0, 0, 1, ReasonFirst, nil, 8), true},
		{"bad hook", rawRecord(1, 60, 1, 0, 0, 9, ReasonFirst, frame, 0), true},
		{"bad reason", rawRecord(1, 60, 1, 0, 0, 1, numReasons, frame, 0), true},
	}
	for _, tt := range tests {
		var r record
		err := parseRecord(tt.raw, &r)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && (r.Time != 42 || r.Ifindex != 3 || r.Hook != recordHookEgress || !bytes.Equal(r.Data, frame)) {
			t.Errorf("%s: parsed %+v", tt.name, r)
		}
	}
}

func TestRecordFramePutsVLANBack(t *testing.T) {
	frame := make([]byte, 60)
	copy(frame[12:], []byte{0x08, 0x00, 0x45})
	var r record
	if err := parseRecord(rawRecord(1, 64, 1, 0x0123, 0x8100, recordHookIngress, ReasonFirst, frame, 0), &r); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxSnap+4)
	got, wire := r.frame(buf)
	if len(got) != 64 || wire != 64 {
		t.Fatalf("frame of %d bytes, wire %d; want 64, 64", len(got), wire)
	}
	if !bytes.Equal(got[12:18], []byte{0x81, 0x00, 0x01, 0x23, 0x08, 0x00}) {
		t.Errorf("tag area % x", got[12:18])
	}
	raw := rawRecord(1, 64, 1, 0x0123, 0x8100, recordHookIngress, ReasonFirst, frame, 0)
	if a := testing.AllocsPerRun(100, func() {
		_ = parseRecord(raw, &r)
		_, _ = r.frame(buf)
	}); a != 0 {
		t.Errorf("parseRecord and frame allocate %.0f times per record", a)
	}
}

func FuzzRecord(f *testing.F) {
	f.Add(rawRecord(42, 60, 3, 0, 0, recordHookEgress, ReasonFirst, make([]byte, 60), 4))
	f.Add(rawRecord(1, 64, 1, 0x0123, 0x8100, recordHookIngress, ReasonAppPort, make([]byte, 14), 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r record
		if err := parseRecord(raw, &r); err != nil {
			return
		}
		if len(r.Data) == 0 || len(r.Data) > maxSnap || uint32(len(r.Data)) > r.WireLen {
			t.Fatalf("accepted record with %d data bytes, wire length %d", len(r.Data), r.WireLen)
		}
		buf := make([]byte, maxSnap+4)
		got, wire := r.frame(buf)
		if len(got) < len(r.Data) || len(got) > len(r.Data)+4 || wire != int(r.WireLen) {
			t.Fatalf("frame of %d bytes from %d data bytes", len(got), len(r.Data))
		}
	})
}
