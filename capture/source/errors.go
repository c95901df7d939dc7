package source

import "fmt"

// Reason classifies a file-level problem. It is the key of Stats.Skipped and
// an error itself, so errors.Is(err, source.ReasonTruncated) works on a
// *FileError.
type Reason string

const (
	ReasonNotCapture    Reason = "not-a-capture"        // no pcap or pcapng magic
	ReasonReadError     Reason = "read-error"           // the file could not be opened or read
	ReasonTruncated     Reason = "truncated-record"     // the file ends inside a header or record
	ReasonCorruptHeader Reason = "corrupt-header"       // a record header contradicts itself
	ReasonTooLarge      Reason = "record-too-large"     // a record claims more than Options.MaxRecordLen
	ReasonLinkType      Reason = "unsupported-linktype" // link type field invalid or refused by Options.LinkTypeSupported
	ReasonVersion       Reason = "unsupported-version"  // pcap or pcapng version this reader does not know
	ReasonInvalidBlock  Reason = "invalid-block"        // pcapng block structure broken
	ReasonDecompress    Reason = "decompress"           // gzip stream damaged
)

// reasons lists every Reason; its order is the order of the skip counters.
var reasons = [...]Reason{
	ReasonNotCapture, ReasonReadError, ReasonTruncated, ReasonCorruptHeader,
	ReasonTooLarge, ReasonLinkType, ReasonVersion, ReasonInvalidBlock, ReasonDecompress,
}

func (r Reason) Error() string { return string(r) }

func (r Reason) index() int {
	for i, x := range reasons {
		if x == r {
			return i
		}
	}
	panic("source: unknown reason " + string(r)) // a programming error, not input
}

// FileError is a problem with one capture file. Unless it says otherwise
// (frames on an unsupported pcapng interface are skipped, the file goes on)
// it ended that file.
type FileError struct {
	File   string // path as given to Open, or joined with its directory
	Packet uint64 // 1-based number of the record being read; 0 for the file header
	Offset int64  // byte offset of that record or block in the decompressed stream
	Reason Reason
	Err    error
}

func (e *FileError) Error() string {
	switch {
	case e.Packet > 0:
		return fmt.Sprintf("%s: packet %d at offset %d: %v", e.File, e.Packet, e.Offset, e.Err)
	case e.Offset > 0:
		return fmt.Sprintf("%s: at offset %d: %v", e.File, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Is makes errors.Is match a FileError against its Reason.
func (e *FileError) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}
