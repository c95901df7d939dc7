package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpSink posts batches to a URL, with "Authorization: Bearer TOKEN" when
// a token is configured, in one of three bodies:
//
//   - ndjson: one event per line, Content-Type application/x-ndjson;
//   - bulk: the Elasticsearch/OpenSearch _bulk API, a {"create":{"_id":ID}}
//     line before each event (create is what data streams accept; the id
//     is event.id, so a batch retried after a lost answer is not indexed
//     twice: the second create answers 409, counted as delivered);
//   - json: a JSON array of events, Content-Type application/json, which
//     Filebeat's http_endpoint input splits into one event each.
//
// A 2xx answer delivers the batch, unless a _bulk answer reports item
// errors: items refused with 429 or 5xx make the batch retried, any other
// item error rejects it. 408, 425, 429 and 5xx answers and transport
// errors are retried by the Feed; any other answer rejects the batch for
// good.
type httpSink struct {
	name      string
	url       string
	format    string
	token     string
	client    *http.Client
	batchSize int
	batchWait time.Duration
	body      []byte
}

func newHTTPSink(d Dest, token string, o Options) *httpSink {
	return &httpSink{
		name: d.String(), url: d.URL, format: d.Format, token: token, client: o.HTTPClient,
		batchSize: o.BatchSize, batchWait: o.BatchWait,
	}
}

func (s *httpSink) Name() string { return s.name }

func (s *httpSink) BatchLimits() (int, time.Duration) { return s.batchSize, s.batchWait }

func (s *httpSink) Write(ctx context.Context, batch []Record) error {
	contentType := "application/x-ndjson"
	switch s.format {
	case "bulk":
		s.body = appendBulk(s.body[:0], batch)
	case "json":
		s.body = appendArray(s.body[:0], batch)
		contentType = "application/json"
	default:
		s.body = appendLines(s.body[:0], batch)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return permanent(fmt.Errorf("post alerts to %s: %w", s.name, err))
	}
	req.Header.Set("Content-Type", contentType)
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
	if s.format == "bulk" && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The answer lists every item; a batch of 500 answers in a few
		// tens of KiB.
		ans, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if rerr != nil {
			return fmt.Errorf("post alerts to %s: read _bulk answer: %w", s.name, rerr)
		}
		if err := bulkErrors(ans); err != nil {
			return fmt.Errorf("post alerts to %s: %w", s.name, err)
		}
		return nil
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

// appendBulk writes a _bulk body: an action line naming the event id, then
// the event, for each record.
func appendBulk(b []byte, batch []Record) []byte {
	for _, r := range batch {
		b = append(b, `{"create":{"_id":`...)
		b = appendString(b, r.ID)
		b = append(b, "}}\n"...)
		b = append(b, r.JSON...)
		b = append(b, '\n')
	}
	return b
}

// appendArray writes the records as one JSON array.
func appendArray(b []byte, batch []Record) []byte {
	b = append(b, '[')
	for i, r := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.JSON...)
	}
	return append(b, ']')
}

// bulkAnswer is the part of a _bulk answer that says what failed.
type bulkAnswer struct {
	Errors bool                         `json:"errors"`
	Items  []map[string]bulkItemOutcome `json:"items"`
}

type bulkItemOutcome struct {
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// bulkErrors reads a _bulk answer: nil when every item was created (or
// already existed, 409, from an earlier try of the same batch); a retried
// error when an item was refused for load (429, 5xx); a permanent one for
// any other item error (a mapping conflict will not go away).
func bulkErrors(ans []byte) error {
	var a bulkAnswer
	if err := json.Unmarshal(ans, &a); err != nil {
		return permanent(fmt.Errorf("_bulk answer is not JSON: %w", err))
	}
	if !a.Errors {
		return nil
	}
	var retry, refuse int
	var first string
	for _, item := range a.Items {
		for _, o := range item {
			switch {
			case o.Status < 300 || o.Status == http.StatusConflict:
			case o.Status == http.StatusTooManyRequests || o.Status >= 500:
				retry++
			default:
				refuse++
			}
			if o.Status >= 300 && o.Status != http.StatusConflict && first == "" {
				first = fmt.Sprintf("%d %s", o.Status, bytes.TrimSpace(o.Error))
			}
		}
	}
	switch {
	case refuse > 0:
		return permanent(fmt.Errorf("_bulk refused %d item(s): %w: %s", refuse, &statusError{code: 400, status: "item refused"}, first))
	case retry > 0:
		return fmt.Errorf("_bulk could not take %d item(s) now: %w: %s", retry, &statusError{code: 503, status: "item overloaded"}, first)
	}
	return nil
}
