package alerts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// bulkReceiver answers like Elasticsearch's _bulk API: it parses action
// and document lines, keeps documents by _id, answers 409 to a create of
// an id it has, and can refuse items with a status.
type bulkReceiver struct {
	mu         sync.Mutex
	docs       map[string]json.RawMessage
	itemStatus int // status of every new item; 0 or 201 creates
	bad        []string
}

func (b *bulkReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		b.bad = append(b.bad, "content type "+ct)
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	type item map[string]map[string]any
	var items []item
	errs := false
	for sc.Scan() {
		var action map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || len(action) != 1 {
			b.bad = append(b.bad, "action line "+sc.Text())
			return
		}
		if !sc.Scan() {
			b.bad = append(b.bad, "action without document")
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			b.bad = append(b.bad, "document "+sc.Text())
		}
		c, ok := action["create"]
		if !ok || c.ID == "" {
			b.bad = append(b.bad, "not a create with an id: "+sc.Text())
		}
		status := 201
		switch {
		case b.docs[c.ID] != nil:
			status, errs = 409, true
		case b.itemStatus != 0 && b.itemStatus != 201:
			status, errs = b.itemStatus, true
		default:
			b.docs[c.ID] = bytes.Clone(sc.Bytes())
		}
		items = append(items, item{"create": {"_id": c.ID, "status": status}})
	}
	json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": errs, "items": items})
}

func TestHTTPBulkFormat(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	rcv := &bulkReceiver{docs: map[string]json.RawMessage{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s, err := Open(srv.URL+"/auditor/_bulk?format=bulk", Options{BatchSize: 3, BatchWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch is delivered, then retried as if the answer had
	// been lost: the second create of each id answers 409, which is no
	// failure.
	batch := []Record{{ID: "a-1", JSON: []byte(`{"event":{"id":"a-1"}}`)}, {ID: "a-2", JSON: []byte(`{"event":{"id":"a-2"}}`)}}
	for range 2 {
		if err := s.Write(ctx, batch); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	rcv.mu.Lock()
	if len(rcv.docs) != 2 || len(rcv.bad) != 0 {
		t.Errorf("receiver has %d documents, problems %v", len(rcv.docs), rcv.bad)
	}
	rcv.itemStatus = 400
	rcv.mu.Unlock()
	err = s.Write(ctx, []Record{{ID: "a-3", JSON: []byte(`{}`)}})
	if err == nil || causeOf(err) != CauseRejected {
		t.Errorf("item refused with 400: %v (cause %v), want rejected", err, causeOf(err))
	}
	rcv.mu.Lock()
	rcv.itemStatus = 429
	rcv.mu.Unlock()
	err = s.Write(ctx, []Record{{ID: "a-4", JSON: []byte(`{}`)}})
	if err == nil || causeOf(err) != CauseServer {
		t.Errorf("item refused with 429: %v (cause %v), want a retried server error", err, causeOf(err))
	}
}

func TestHTTPJSONArrayFormat(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	// The feed may send the events in one POST or several, as its batches
	// fill: each POST must be one JSON array, and all of them together the
	// three events.
	var mu sync.Mutex
	var got []map[string]any
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var batch []map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		ctype = r.Header.Get("Content-Type")
		got = append(got, batch...)
	}))
	defer srv.Close()
	s, err := Open(srv.URL+"/?format=json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, FeedOptions{Observer: "replay-host"})
	for _, ev := range distinct(3) {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ctype != "application/json" || len(got) != 3 {
		t.Fatalf("content type %q, %d events", ctype, len(got))
	}
	obs, _ := got[0]["observer"].(map[string]any)
	if obs["name"] != "replay-host" || !strings.Contains(obs["version"].(string), "devel") && !strings.HasPrefix(obs["version"].(string), "v") {
		t.Errorf("observer %v, want the feed's observer name and version", obs)
	}
}
