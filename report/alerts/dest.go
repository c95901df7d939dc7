package alerts

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DestKind is the kind of an alert destination.
type DestKind uint8

const (
	DestStdout DestKind = iota + 1
	DestFile
	DestSyslogTCP
	DestSyslogUDP
	DestHTTP
)

func (k DestKind) String() string {
	switch k {
	case DestStdout:
		return "stdout"
	case DestFile:
		return "file"
	case DestSyslogTCP:
		return "syslog+tcp"
	case DestSyslogUDP:
		return "syslog+udp"
	case DestHTTP:
		return "http"
	}
	return "DestKind(" + strconv.Itoa(int(k)) + ")"
}

// Dest is a parsed --alerts DEST.
type Dest struct {
	Kind DestKind
	// Path is the file of DestFile.
	Path string
	// Addr is host:port of the syslog destinations.
	Addr string
	// URL is the HTTP(S) endpoint, without the token_env parameter.
	URL string
	// TokenEnv names the environment variable holding the bearer token of
	// an HTTP destination (the URL's token_env parameter); empty: use
	// Options.TokenEnv.
	TokenEnv string
	// Format is the HTTP body (the URL's format parameter): "ndjson"
	// (default), "bulk" (Elasticsearch/OpenSearch _bulk) or "json" (a
	// JSON array, as Filebeat's http_endpoint input takes it).
	Format string
}

// String is the destination in the form ParseDest reads, with any URL
// password redacted, for messages and Stats.
func (d Dest) String() string {
	switch d.Kind {
	case DestStdout:
		return "-"
	case DestFile:
		if d.Path == "-" || strings.Contains(d.Path, "://") {
			return "file://" + d.Path
		}
		return d.Path
	case DestSyslogTCP, DestSyslogUDP:
		return d.Kind.String() + "://" + d.Addr
	case DestHTTP:
		u, err := url.Parse(d.URL)
		if err != nil {
			return d.URL
		}
		if d.TokenEnv != "" || (d.Format != "" && d.Format != "ndjson") {
			q := u.Query()
			if d.TokenEnv != "" {
				q.Set("token_env", d.TokenEnv)
			}
			if d.Format != "" && d.Format != "ndjson" {
				q.Set("format", d.Format)
			}
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return ""
}

// DestError is a malformed DEST: the caller's mistake, a usage error for
// the command line.
type DestError struct {
	Dest string
	Msg  string
}

func (e *DestError) Error() string {
	return fmt.Sprintf("alert destination %q: %s", e.Dest, e.Msg)
}

// ParseDest parses an --alerts DEST:
//
//	PATH, file:///PATH        NDJSON file, rotated by size
//	"-"                       stdout, one JSON event per line
//	syslog+tcp://HOST:PORT    RFC 5424 over TCP, octet-counting framing (RFC 6587)
//	syslog+udp://HOST:PORT    RFC 5424 over UDP, one message per datagram
//	http(s)://HOST[:PORT]/PATH[?token_env=NAME][&format=ndjson|bulk|json]
//	                          batched POST; NAME is the environment variable
//	                          holding a bearer token; format=bulk posts an
//	                          Elasticsearch/OpenSearch _bulk body (PATH ends
//	                          in /_bulk or /INDEX/_bulk), format=json a JSON
//	                          array (Filebeat's http_endpoint input)
//
// Anything with "://" must use one of these schemes, so that a mistyped
// scheme is an error rather than a file of that name.
func ParseDest(s string) (Dest, error) {
	bad := func(format string, args ...any) (Dest, error) {
		return Dest{}, &DestError{Dest: redact(s), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return bad("empty; want -, a file path, syslog+tcp://host:port, syslog+udp://host:port or an http(s) URL")
	case s == "-":
		return Dest{Kind: DestStdout}, nil
	case strings.ContainsAny(s, "\x00"):
		return bad("contains a NUL byte")
	}
	scheme, rest, found := strings.Cut(s, "://")
	if !found {
		return Dest{Kind: DestFile, Path: s}, nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		if rest == "" || rest[0] != '/' {
			return bad("file URL needs an absolute path (file:///var/log/auditor/alerts.ndjson); or give the path alone")
		}
		return Dest{Kind: DestFile, Path: rest}, nil
	case "syslog+tcp", "syslog+udp":
		kind := DestSyslogTCP
		if strings.EqualFold(scheme, "syslog+udp") {
			kind = DestSyslogUDP
		}
		if strings.ContainsAny(rest, "/?#@") {
			return bad("want %s://host:port, nothing after the port", strings.ToLower(scheme))
		}
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return bad("want %s://host:port (514 is the usual port): %v", strings.ToLower(scheme), err)
		}
		if host == "" {
			return bad("no host")
		}
		if err := checkPort(port); err != nil {
			return bad("%v", err)
		}
		return Dest{Kind: kind, Addr: net.JoinHostPort(host, port)}, nil
	case "syslog", "syslog+tls", "tcp", "udp":
		return bad("scheme %q not supported; use syslog+tcp:// or syslog+udp://", scheme)
	case "http", "https":
		u, err := url.Parse(s)
		if err != nil {
			return bad("%v", unwrapURLError(err))
		}
		if u.Host == "" || u.Hostname() == "" {
			return bad("no host")
		}
		if p := u.Port(); p != "" {
			if err := checkPort(p); err != nil {
				return bad("%v", err)
			}
		}
		if u.Fragment != "" {
			return bad("a URL fragment (#...) is never sent; remove it")
		}
		d := Dest{Kind: DestHTTP}
		q := u.Query()
		if names, ok := q["token_env"]; ok {
			if len(names) != 1 || !validEnvName(names[0]) {
				return bad("token_env wants one environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
			}
			d.TokenEnv = names[0]
			q.Del("token_env")
			u.RawQuery = q.Encode()
		}
		d.Format = "ndjson"
		if fs, ok := q["format"]; ok {
			if len(fs) != 1 || (fs[0] != "ndjson" && fs[0] != "bulk" && fs[0] != "json") {
				return bad("format wants ndjson, bulk (Elasticsearch/OpenSearch _bulk) or json (a JSON array, Filebeat http_endpoint)")
			}
			d.Format = fs[0]
			q.Del("format")
			u.RawQuery = q.Encode()
		}
		u.Scheme = strings.ToLower(u.Scheme)
		d.URL = u.String()
		return d, nil
	}
	return bad("unknown scheme %q; want syslog+tcp, syslog+udp, http, https or file", scheme)
}

func checkPort(p string) error {
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("port %q: want a number from 1 to 65535", p)
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// redact hides a password in a URL-looking DEST before it goes into an
// error message.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Options configure the sinks Open returns. The zero value is usable.
type Options struct {
	// Stdout is where "-" writes (default os.Stdout); the CLI passes its
	// stdout stream.
	Stdout io.Writer

	// FileMaxBytes rotates a file destination once it would grow beyond
	// this size (default 100 MiB); FileKeep rotated files are kept
	// (PATH.1 newest to PATH.N oldest; default 5).
	FileMaxBytes int64
	FileKeep     int

	// Hostname is the RFC 5424 HOSTNAME when an event names no sensor
	// (default os.Hostname). Facility is the syslog facility code
	// (default 16, local0).
	Hostname string
	Facility int
	// DialTimeout bounds a syslog TCP connect (default 5s).
	DialTimeout time.Duration

	// TokenEnv names the environment variable holding the bearer token
	// for HTTP destinations without a token_env parameter
	// (--alerts-token-env). Empty: no Authorization header.
	TokenEnv string
	// Getenv looks up TokenEnv (default os.LookupEnv).
	Getenv func(string) (string, bool)
	// HTTPClient posts the batches (default: a client with a 10s timeout
	// and a transport of its own).
	HTTPClient *http.Client
	// BatchSize and BatchWait bound an HTTP batch: it is posted when it
	// holds BatchSize events (default 500) or BatchWait after its first
	// event (default 1s).
	BatchSize int
	BatchWait time.Duration
}

func (o *Options) defaults() {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.FileMaxBytes <= 0 {
		o.FileMaxBytes = 100 << 20
	}
	if o.FileKeep <= 0 {
		o.FileKeep = 5
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Facility <= 0 || o.Facility > 23 {
		o.Facility = 16
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Getenv == nil {
		o.Getenv = os.LookupEnv
	}
	if o.HTTPClient == nil {
		// A transport of its own, so that closing the sink's idle
		// connections leaves the process's default transport alone.
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.BatchWait <= 0 {
		o.BatchWait = time.Second
	}
}

// Open parses dest and returns its sink. A malformed dest, or a token
// variable that is unset, is a *DestError; failing to open a file is an
// ordinary error. Syslog TCP connects on first use, so a receiver that is
// down at start delays alerts instead of failing the capture.
func Open(dest string, opts Options) (Sink, error) {
	d, err := ParseDest(dest)
	if err != nil {
		return nil, err
	}
	opts.defaults()
	switch d.Kind {
	case DestStdout:
		return newWriterSink("-", opts.Stdout), nil
	case DestFile:
		return openFileSink(d.Path, opts.FileMaxBytes, opts.FileKeep)
	case DestSyslogTCP, DestSyslogUDP:
		return newSyslogSink(d, opts)
	case DestHTTP:
		env := d.TokenEnv
		if env == "" {
			env = opts.TokenEnv
		}
		var token string
		if env != "" {
			v, ok := opts.Getenv(env)
			if !ok || v == "" {
				return nil, &DestError{Dest: d.String(), Msg: fmt.Sprintf("bearer token variable %s is unset or empty", env)}
			}
			token = v
		}
		return newHTTPSink(d, token, opts), nil
	}
	return nil, &DestError{Dest: dest, Msg: "unsupported destination"}
}
