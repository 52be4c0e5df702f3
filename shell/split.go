package shell

import (
	"fmt"
	"strings"
)

// Split splits a command line into words the way sh does for a simple
// command, without running a shell: words are separated by blanks; single
// quotes keep everything literally; double quotes keep everything but a
// backslash before \ " $ or `; outside quotes a backslash keeps the next
// character. So a value quoted by Quote comes back whole.
//
// It is for commands run where there may be no shell (docker exec in an
// image FROM scratch), so anything that needs one is refused rather than
// passed on as a word: an unquoted | & ; < > ( ) $ ` or a line break, and
// an unterminated quote. Run such a command as sh -c '...' in an image that
// has sh.
func Split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("command %q: unterminated single quote", line)
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && strings.IndexByte("\\\"$`", line[j+1]) >= 0 {
					j++
				} else if line[j] == '$' || line[j] == '`' {
					return nil, fmt.Errorf("command %q: %q inside double quotes needs a shell; run it with sh -c", line, line[j])
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("command %q: unterminated double quote", line)
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("command %q: a backslash at the end", line)
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`\n\r", c) >= 0:
			return nil, fmt.Errorf("command %q: %q needs a shell, and this command runs without one; run it with sh -c '...' in an image that has sh", line, c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("command %q: empty", line)
	}
	return words, nil
}
