package flow

import (
	"net/netip"
	"testing"
)

// TestIndexChains pins the index's handling of keys whose hashes collide,
// which real keys almost never do: flows sharing one hash are each found
// by their own key, and taking one out (the chain's head, middle or tail)
// leaves the others found and the count right.
func TestIndexChains(t *testing.T) {
	for _, remove := range []int{0, 1, 2} {
		tab := NewTable(DefaultConfig(), nil)
		const h = 7
		var fs [3]*Flow
		for i := range fs {
			k, _ := NewKey(ProtoUDP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 5060), server)
			fs[i] = &Flow{Key: k}
			tab.indexAt(fs[i], h)
		}
		other, _ := NewKey(ProtoUDP, netip.MustParseAddrPort("10.0.0.9:5060"), server)
		if tab.lookupAt(&other, h) != nil {
			t.Fatal("a key not indexed found a flow")
		}
		// fs[2] was indexed last: it heads the chain.
		victim := fs[2-remove]
		tab.unindexAt(victim, h)
		if victim.hnext != nil || victim.hchained {
			t.Errorf("remove %d: the removed flow keeps its chain links", remove)
		}
		for i, f := range fs {
			got := tab.lookupAt(&f.Key, h)
			if f == victim && got != nil {
				t.Errorf("remove %d: flow %d found after it left", remove, i)
			}
			if f != victim && got != f {
				t.Errorf("remove %d: flow %d not found", remove, i)
			}
		}
		if tab.Len() != 2 {
			t.Errorf("remove %d: %d flows indexed, want 2", remove, tab.Len())
		}
		for _, f := range fs {
			if f != victim {
				tab.unindexAt(f, h)
			}
		}
		if tab.Len() != 0 || len(tab.flows) != 0 {
			t.Errorf("remove %d: %d flows, %d hashes left", remove, tab.Len(), len(tab.flows))
		}
	}
}

// The index's hash tells apart keys that differ in any one field.
func TestHashKeyFields(t *testing.T) {
	tab := NewTable(DefaultConfig(), nil)
	base, _ := NewKey(ProtoUDP, netip.MustParseAddrPort("10.0.0.1:5060"), server)
	seen := map[uint64]string{tab.hashKey(&base): "base"}
	variants := map[string]func(k *Key){
		"addrA": func(k *Key) { k.addrA[3] ^= 1 },
		"addrB": func(k *Key) { k.addrB[15] ^= 1 },
		"portA": func(k *Key) { k.portA++ },
		"portB": func(k *Key) { k.portB++ },
		"proto": func(k *Key) { k.proto = ProtoTCP },
		"is4":   func(k *Key) { k.is4 = !k.is4 },
	}
	for name, change := range variants {
		k := base
		change(&k)
		h := tab.hashKey(&k)
		if prev, ok := seen[h]; ok {
			t.Errorf("%s changed: same hash as %s", name, prev)
		}
		seen[h] = name
	}
}
