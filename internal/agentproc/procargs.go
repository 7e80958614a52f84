package agentproc

import (
	"bytes"
	"encoding/binary"
)

// parseProcArgs reads argv from macOS's kern.procargs2 buffer:
//
//	argc (int32) exec_path \0 [\0 padding] argv[0] \0 ... argv[argc-1] \0 envp...
//
// It stops after argc entries, so the environment (which may hold
// secrets) is never read. It is built everywhere so its tests run on any
// machine; only macOS calls it.
func parseProcArgs(buf []byte) []string {
	if len(buf) < 4 {
		return nil
	}
	argc := int(binary.LittleEndian.Uint32(buf)) // both macOS architectures are little-endian
	rest := buf[4:]
	// Skip exec_path and the padding after it.
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return nil
	}
	rest = rest[i:]
	for len(rest) > 0 && rest[0] == 0 {
		rest = rest[1:]
	}
	var argv []string
	for len(argv) < argc && len(rest) > 0 {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			i = len(rest)
		}
		argv = append(argv, string(rest[:i]))
		rest = rest[min(i+1, len(rest)):]
	}
	return argv
}
