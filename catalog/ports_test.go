package catalog

import (
	"slices"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      []string
		in2     []uint16 // must be contained
		out     []uint16 // must not be contained
		str     string
		dynamic bool
		wantErr bool
	}{
		{in: []string{"5060"}, in2: []uint16{5060}, out: []uint16{5059, 5061}, str: "5060"},
		{in: []string{"8018, 8108"}, in2: []uint16{8018, 8108}, out: []uint16{8019}, str: "8018,8108"},
		{in: []string{"16384-32767"}, in2: []uint16{16384, 20000, 32767}, out: []uint16{16383, 32768}, str: "16384-32767"},
		{in: []string{"5004-5030/even"}, in2: []uint16{5004, 5030}, out: []uint16{5005, 5003, 5032}, str: "5004-5030/even"},
		{in: []string{"5005-5031/odd"}, in2: []uint16{5005, 5031}, out: []uint16{5004, 5030, 5033}, str: "5005-5031/odd"},
		{in: []string{">=5000"}, in2: []uint16{5000, 65535}, out: []uint16{4999}, str: ">=5000"},
		{in: []string{">1024"}, in2: []uint16{1025, 65535}, out: []uint16{1024}, str: ">=1025"},
		{in: []string{"any"}, in2: []uint16{0, 1, 65535}, str: "any"},
		{in: []string{"dynamic", "16384-32767"}, in2: []uint16{16384}, out: []uint16{1000}, str: "dynamic,16384-32767", dynamic: true},
		{in: []string{"dynamic"}, out: []uint16{0, 5060, 65535}, str: "dynamic", dynamic: true},
		{in: []string{"unspecified"}, out: []uint16{0, 5060}, str: "unspecified"},
		{in: []string{"65536"}, wantErr: true},
		{in: []string{"10-5"}, wantErr: true},
		{in: []string{"5060/even"}, wantErr: true},
		{in: []string{"1-9/third"}, wantErr: true},
		{in: []string{">65535"}, wantErr: true},
		{in: []string{""}, wantErr: true},
		{in: []string{"http"}, wantErr: true},
	}
	for _, tt := range tests {
		ps, err := ParsePorts(tt.in...)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePorts(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		for _, p := range tt.in2 {
			if !ps.Contains(p) {
				t.Errorf("%q: Contains(%d) = false", tt.in, p)
			}
		}
		for _, p := range tt.out {
			if ps.Contains(p) {
				t.Errorf("%q: Contains(%d) = true", tt.in, p)
			}
		}
		if got := ps.String(); got != tt.str {
			t.Errorf("%q: String() = %q, want %q", tt.in, got, tt.str)
		}
		if ps.Dynamic != tt.dynamic {
			t.Errorf("%q: Dynamic = %v", tt.in, ps.Dynamic)
		}
		// The token form parses back to the same set.
		back, err := ParsePorts(ps.Tokens()...)
		if err != nil || !slices.Equal(back.Ranges, ps.Ranges) || back.Dynamic != ps.Dynamic || back.Unspecified != ps.Unspecified {
			t.Errorf("%q: tokens %q round-trip to %+v, %v", tt.in, ps.Tokens(), back, err)
		}
	}
}

func TestTransportMatches(t *testing.T) {
	tests := []struct {
		t     Transport
		proto uint8
		want  bool
	}{
		{TCP, 6, true}, {TCP, 17, false}, {UDP, 17, true}, {UDP, 6, false},
		{Both, 6, true}, {Both, 17, true}, {Both, 1, false}, {ICMP, 1, true}, {ICMP, 58, true}, {TCP, 132, false},
	}
	for _, tt := range tests {
		if got := tt.t.Matches(tt.proto); got != tt.want {
			t.Errorf("%v.Matches(%d) = %v, want %v", tt.t, tt.proto, got, tt.want)
		}
	}
}

func TestMatchFQDN(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.imagicle.cloud", "eu.imagicle.cloud", true},
		{"*.imagicle.cloud", "a.b.imagicle.cloud", true},
		{"*.imagicle.cloud", "EU.Imagicle.Cloud.", true},
		{"*.imagicle.cloud", "imagicle.cloud", false},
		{"*.imagicle.cloud", "evilimagicle.cloud", false},
		{"*.imagicle.cloud", ".imagicle.cloud", false},
		{"api.imagicle.com", "api.imagicle.com", true},
		{"api.imagicle.com", "x.api.imagicle.com", false},
		{"tegsoft.com", "TEGSOFT.COM.", true},
	}
	for _, tt := range tests {
		if got := MatchFQDN(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchFQDN(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"5060", "8018,8108", "5004-5030/even", ">=5000", ">1024", "any", "dynamic", "1-", "-", "/odd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePorts(s)
		if err != nil {
			return
		}
		back, err := ParsePorts(ps.Tokens()...)
		if err != nil {
			t.Fatalf("tokens %q of %q do not parse: %v", ps.Tokens(), s, err)
		}
		for _, p := range []uint16{0, 1, 1024, 5060, 65535} {
			if back.Contains(p) != ps.Contains(p) {
				t.Fatalf("%q: round-trip changed Contains(%d)", s, p)
			}
		}
	})
}
