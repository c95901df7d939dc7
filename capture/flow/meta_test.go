package flow

import (
	"testing"
	"unsafe"
)

// TestMetaLayout pins what the order of Meta's fields is for: one Meta
// is one 256-byte allocation, and a DNS flow, the commonest to get one,
// touches only the first 64-byte line of it.
func TestMetaLayout(t *testing.T) {
	var m Meta
	if n := unsafe.Sizeof(m); n > 256 {
		t.Errorf("Meta is %d bytes, over 256 (the next size class is 288)", n)
	}
	dns := []struct {
		name      string
		off, size uintptr
	}{
		{"App", unsafe.Offsetof(m.App), unsafe.Sizeof(m.App)},
		{"DNSQuery", unsafe.Offsetof(m.DNSQuery), unsafe.Sizeof(m.DNSQuery)},
		{"DNSRCode", unsafe.Offsetof(m.DNSRCode), unsafe.Sizeof(m.DNSRCode)},
		{"DNSPending", unsafe.Offsetof(m.DNSPending), unsafe.Sizeof(m.DNSPending)},
	}
	for _, f := range dns {
		if f.off+f.size > 64 {
			t.Errorf("Meta.%s ends at byte %d, past the first cache line", f.name, f.off+f.size)
		}
	}
}
