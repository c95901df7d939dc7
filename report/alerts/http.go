package alerts

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpSink posts batches of NDJSON (Content-Type application/x-ndjson, one
// event per line) to a URL, with "Authorization: Bearer TOKEN" when a
// token is configured. A 2xx answer delivers the batch; 408, 425, 429 and
// 5xx answers and transport errors are retried by the Feed; any other
// answer rejects the batch for good.
type httpSink struct {
	name      string
	url       string
	token     string
	client    *http.Client
	batchSize int
	batchWait time.Duration
	body      []byte
}

func newHTTPSink(d Dest, token string, o Options) *httpSink {
	return &httpSink{
		name: d.String(), url: d.URL, token: token, client: o.HTTPClient,
		batchSize: o.BatchSize, batchWait: o.BatchWait,
	}
}

func (s *httpSink) Name() string { return s.name }

func (s *httpSink) BatchLimits() (int, time.Duration) { return s.batchSize, s.batchWait }

func (s *httpSink) Write(ctx context.Context, batch []Record) error {
	s.body = appendLines(s.body[:0], batch)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return permanent(fmt.Errorf("post alerts to %s: %w", s.name, err))
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("User-Agent", "auditor")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The client's error names the URL; keep the redacted name instead
		// in case it carries a password.
		return fmt.Errorf("post alerts to %s: %w", s.name, unwrapURLError(err))
	}
	// Read a little of the body: it usually says why, and draining it lets
	// the connection be reused.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("post alerts to %s: %w: %s", s.name, &statusError{code: resp.StatusCode, status: resp.Status}, bytes.TrimSpace(msg))
	switch c := resp.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooEarly, c == http.StatusTooManyRequests, c >= 500:
		return err
	}
	return permanent(err)
}

func (s *httpSink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
