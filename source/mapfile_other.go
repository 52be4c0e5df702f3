//go:build !linux

package source

import "os"

// MapFile returns the content of the file at path for ReadInput; on this
// system it reads it. See the Linux version, which maps regular files.
func MapFile(path string) (data []byte, release func(), err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}
