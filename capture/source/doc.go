// Package source reads capture files for `auditor replay`: classic pcap
// (microsecond and nanosecond, either byte order), pcapng (several
// interfaces, each with its own link type and timestamp resolution) and
// gzip-compressed versions of both. Formats are recognised by their magic
// numbers, never by file name, so a rotated "capture.1" or a ".cap" reads
// like a ".pcap".
//
// # Merge
//
// Several files, or a directory of rotated captures, come out as one stream
// in timestamp order. Each open file holds exactly one lookahead frame and
// the files sit in a min-heap keyed by that frame's time (ties go to the
// file named first). A file is advanced only when the frame it lent out has
// been consumed, which is what lets every file read with gopacket's
// zero-copy methods. Open reads the first frame of every file once, so a
// file is opened for real only when the merge reaches its first timestamp:
// a directory of a thousand rotated, non-overlapping captures keeps one
// file and one buffer open at a time, not a thousand. The merge trusts each
// file to be in time order; a file that is not still has all its frames
// delivered, in its own order.
//
// # Zero copy
//
// Frame.Data aliases the reader's buffers and is valid until the next call
// to Next; copy it to keep it. In steady state Next allocates nothing: file
// buffers come from a free list owned by the Reader and are reused as files
// finish. (pcapgo boxes each pcapng frame's link type in an interface, which
// allocates for link types above 255, such as LINUX_SLL2.)
//
// # Errors
//
// Bad input never stops the run. A damaged record header, a record longer
// than Options.MaxRecordLen, a file cut short, an invalid pcapng block or an
// undecodable link type ends that file with a *FileError naming the file,
// the packet number and the byte offset of the record (in the decompressed
// stream); frames already read stay delivered and the other files go on.
// A file that is not a capture at all is a FileError too, reported and
// skipped. Open fails only for a path that does not exist. The caller
// decides what a run in which nothing could be read means.
//
// Byte offsets come from counting the bytes handed to the bufio.Reader that
// pcapgo reads from, less what that buffer still holds. Before pcapgo reads
// a record the reader peeks at its header and checks it, so a corrupt
// length is reported as such instead of being read as data.
package source
