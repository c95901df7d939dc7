package sipinfo

// field names a header field ParseMessage reads, in long or compact form.
type field uint8

const (
	fieldOther field = iota
	fieldFrom
	fieldFromCompact
	fieldTo
	fieldToCompact
	fieldVia
	fieldViaCompact
	fieldContact
	fieldContactCompact
	fieldCallID
	fieldCallIDCompact
	fieldCSeq
	fieldContentType
	fieldContentTypeCompact
	fieldContentLength
	fieldContentLengthCompact
	fieldUserAgent
	fieldServer
	numFields
)

// maxFieldName is the longest name fieldOf knows, with room to spare.
const maxFieldName = 16

// fieldOf classifies a header's name the way sipgo's GetHeaders matches
// names, after ASCII lower-casing, without copying it.
func fieldOf(name string) field {
	if len(name) > maxFieldName {
		return fieldOther
	}
	var buf [maxFieldName]byte
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "from":
		return fieldFrom
	case "f":
		return fieldFromCompact
	case "to":
		return fieldTo
	case "t":
		return fieldToCompact
	case "via":
		return fieldVia
	case "v":
		return fieldViaCompact
	case "contact":
		return fieldContact
	case "m":
		return fieldContactCompact
	case "call-id":
		return fieldCallID
	case "i":
		return fieldCallIDCompact
	case "cseq":
		return fieldCSeq
	case "content-type":
		return fieldContentType
	case "c":
		return fieldContentTypeCompact
	case "content-length":
		return fieldContentLength
	case "l":
		return fieldContentLengthCompact
	case "user-agent":
		return fieldUserAgent
	case "server":
		return fieldServer
	}
	return fieldOther
}
