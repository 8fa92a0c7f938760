package singer

import (
	"bufio"
	"fmt"
	"io"
)

// MaxLineBytes is the longest line (a message, or a line of a BATCH file)
// any binary reads: 256 MiB. A longer line stops the run with an error
// naming its number, before more of it is held, so that what one line costs
// has a bound a user can rely on (about twice the line at the peak: its
// chunks and the joined copy).
const MaxLineBytes = 256 << 20

// LineTooLongError is a line over MaxLineBytes.
type LineTooLongError struct{ Limit int }

func (e *LineTooLongError) Error() string {
	size := fmt.Sprintf("%d bytes", e.Limit)
	if e.Limit >= 1<<20 && e.Limit%(1<<20) == 0 {
		size += fmt.Sprintf(" (%d MiB)", e.Limit>>20)
	}
	return "the line is longer than " + size + ", the longest line this toolkit reads: split the record, or send large values by reference"
}

// ReadLine reads a line of any length up to limit bytes from r, returning it without its '\n' (a final
// line without one too; io.EOF only when nothing is left). A line that fits
// r's buffer is returned in place. A longer one is gathered in chunks, then
// joined once into buf when it is large enough, else into a buffer of the
// line's exact size: growing one slice by append would copy the line at
// every step and leave each old copy as garbage (up to ~3x the line).
func ReadLine(r *bufio.Reader, buf *[]byte, limit int) ([]byte, error) {
	b, err := r.ReadSlice('\n')
	if err == nil {
		if len(b)-1 > limit {
			return nil, &LineTooLongError{Limit: limit}
		}
		return b[:len(b)-1], nil
	}
	if err != bufio.ErrBufferFull {
		if len(b) > limit {
			return nil, &LineTooLongError{Limit: limit}
		}
		if err == io.EOF && len(b) > 0 {
			return b, nil
		}
		return nil, err
	}
	var chunks [][]byte
	n := 0
	for err == bufio.ErrBufferFull {
		n += len(b)
		if n > limit {
			return nil, &LineTooLongError{Limit: limit}
		}
		chunks = append(chunks, append([]byte(nil), b...))
		b, err = r.ReadSlice('\n')
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == nil {
		b = b[:len(b)-1]
	}
	if n+len(b) > limit {
		return nil, &LineTooLongError{Limit: limit}
	}
	line := *buf
	if cap(line) < n+len(b) {
		*buf = nil // the old buffer is garbage before the new one is made
		line = make([]byte, 0, n+len(b))
	}
	line = line[:0]
	for i, c := range chunks {
		line = append(line, c...)
		chunks[i] = nil
	}
	line = append(line, b...)
	*buf = line
	return line, nil
}
