package alerts

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDest(t *testing.T) {
	tests := []struct {
		in      string
		want    Dest
		wantErr string // substring of the error; empty: no error
	}{
		{in: "-", want: Dest{Kind: DestStdout}},
		{in: "alerts.ndjson", want: Dest{Kind: DestFile, Path: "alerts.ndjson"}},
		{in: "/var/log/auditor/alerts.ndjson", want: Dest{Kind: DestFile, Path: "/var/log/auditor/alerts.ndjson"}},
		{in: "file:///var/log/a.ndjson", want: Dest{Kind: DestFile, Path: "/var/log/a.ndjson"}},
		{in: "syslog+tcp://siem.example.net:514", want: Dest{Kind: DestSyslogTCP, Addr: "siem.example.net:514"}},
		{in: "SYSLOG+UDP://10.0.0.5:514", want: Dest{Kind: DestSyslogUDP, Addr: "10.0.0.5:514"}},
		{in: "syslog+udp://[2001:db8::5]:1514", want: Dest{Kind: DestSyslogUDP, Addr: "[2001:db8::5]:1514"}},
		{in: "https://siem.example.net/_bulk", want: Dest{Kind: DestHTTP, URL: "https://siem.example.net/_bulk", Format: "ndjson"}},
		{in: "https://siem.example.net/auditor/_bulk?format=bulk", want: Dest{Kind: DestHTTP, URL: "https://siem.example.net/auditor/_bulk", Format: "bulk"}},
		{in: "http://filebeat:8080/?format=json&token_env=T", want: Dest{Kind: DestHTTP, URL: "http://filebeat:8080/", Format: "json", TokenEnv: "T"}},
		{in: "http://127.0.0.1:8080/ingest?token_env=SIEM_TOKEN&pipeline=x",
			want: Dest{Kind: DestHTTP, URL: "http://127.0.0.1:8080/ingest?pipeline=x", TokenEnv: "SIEM_TOKEN", Format: "ndjson"}},

		{in: "", wantErr: "empty"},
		{in: "a\x00b", wantErr: "NUL"},
		{in: "file://relative/x", wantErr: "absolute path"},
		{in: "syslog+tcp://siem.example.net", wantErr: "host:port"},
		{in: "syslog+tcp://:514", wantErr: "no host"},
		{in: "syslog+tcp://h:0", wantErr: "port"},
		{in: "syslog+udp://h:65536", wantErr: "port"},
		{in: "syslog+tcp://h:514/path", wantErr: "nothing after the port"},
		{in: "syslog://h:514", wantErr: "use syslog+tcp"},
		{in: "syslog+tls://h:6514", wantErr: "not supported"},
		{in: "syslog+tpc://h:514", wantErr: "unknown scheme"},
		{in: "ftp://h/x", wantErr: "unknown scheme"},
		{in: "http://", wantErr: "no host"},
		{in: "http://h:99999/", wantErr: "port"},
		{in: "http://h/x#frag", wantErr: "fragment"},
		{in: "http://h/x?token_env=1BAD", wantErr: "token_env"},
		{in: "http://h/x?token_env=A&token_env=B", wantErr: "token_env"},
		{in: "http://h/%zz", wantErr: "invalid URL escape"},
		{in: "https://user:s3cret@h/x?token_env=", wantErr: "token_env"},
		{in: "http://h/x?format=xml", wantErr: "format wants"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDest(tt.in)
			if tt.wantErr != "" {
				var de *DestError
				if !errors.As(err, &de) {
					t.Fatalf("ParseDest(%q) = %+v, %v; want a *DestError", tt.in, got, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not say %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDest(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "SET" {
			return "tok", true
		}
		return "", false
	}
	tests := []struct {
		dest      string
		opts      Options
		destError bool // a usage error, not a runtime one
	}{
		{"http://127.0.0.1:1/x?token_env=UNSET", Options{Getenv: env}, true},
		{"http://127.0.0.1:1/x", Options{Getenv: env, TokenEnv: "UNSET"}, true},
		{"syslog+tcp://nohost", Options{}, true},
		{filepath.Join(t.TempDir(), "no", "such", "dir", "alerts.ndjson"), Options{}, false},
	}
	for _, tt := range tests {
		s, err := Open(tt.dest, tt.opts)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", tt.dest)
			continue
		}
		var de *DestError
		if errors.As(err, &de) != tt.destError {
			t.Errorf("Open(%q): %v; DestError %v, want %v", tt.dest, err, !tt.destError, tt.destError)
		}
	}
	for _, dest := range []string{"http://127.0.0.1:1/x?token_env=SET", "http://127.0.0.1:1/x"} {
		s, err := Open(dest, Options{Getenv: env, TokenEnv: "SET"})
		if err != nil {
			t.Fatalf("Open(%q): %v", dest, err)
		}
		if hs := s.(*httpSink); hs.token != "tok" {
			t.Errorf("Open(%q): token %q", dest, hs.token)
		}
		s.Close()
	}
}

func TestDestStringRedacts(t *testing.T) {
	d, err := ParseDest("https://user:s3cret@siem.example.net/in?token_env=TOK")
	if err != nil {
		t.Fatal(err)
	}
	if s := d.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "token_env=TOK") {
		t.Errorf("String() = %q", s)
	}
}

func FuzzParseDest(f *testing.F) {
	for _, s := range []string{
		"-", "a.ndjson", "file:///x", "syslog+tcp://h:514", "syslog+udp://[::1]:514",
		"http://h/x?token_env=T", "https://u:p@h:8443/x?a=b", "http://[::1", "syslog+tcp://h:514/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDest(s)
		if err != nil {
			var de *DestError
			if !errors.As(err, &de) {
				t.Fatalf("ParseDest(%q): error %v is not a *DestError", s, err)
			}
			return
		}
		if d.Kind < DestStdout || d.Kind > DestHTTP {
			t.Fatalf("ParseDest(%q): kind %v", s, d.Kind)
		}
		if d.Kind == DestHTTP && strings.Contains(d.URL, "@") {
			return // String redacts passwords, so it need not parse back the same
		}
		// What String prints must parse back to the same destination, since
		// Stats and messages show it to the user as what they gave.
		again, err := ParseDest(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDest(%q) = %+v; String %q parses to %+v, %v", s, d, d.String(), again, err)
		}
	})
}
