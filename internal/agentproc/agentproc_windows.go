package agentproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

// processes walks a Toolhelp snapshot of every process, keeps those whose
// token belongs to this user, and reads their command lines.
func processes() ([]process, error) {
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("cannot list processes (reading this process's user): %w", err)
	}
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot list processes (CreateToolhelp32Snapshot): %w", err)
	}
	defer windows.CloseHandle(snap)
	var procs []process
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		argv, mine := inspect(e.ProcessID, me.User.Sid)
		if !mine {
			continue
		}
		if len(argv) == 0 {
			// No readable command line: the image name (node.exe,
			// claude.exe) still names what runs.
			argv = []string{windows.UTF16ToString(e.ExeFile[:])}
		}
		procs = append(procs, process{pid: int(e.ProcessID), argv: argv})
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("cannot list processes (Process32Next): %w", err)
	}
	return procs, nil
}

// inspect tells whether pid runs as user, and if so its argv (nil when it
// cannot be read). Processes that cannot be opened belong to other users
// or to the system: they are not this user's agents. One that opens but
// whose token cannot be read (this user's elevated processes, some
// services) counts as the user's: a wrong "mine" only keeps rotations
// going, a wrong "not mine" could pause them under a running agent.
func inspect(pid uint32, user *windows.SID) (argv []string, mine bool) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, false
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err == nil {
		owner, err := tok.GetTokenUser()
		tok.Close()
		if err == nil && !owner.User.Sid.Equals(user) {
			return nil, false
		}
	}
	line, err := commandLine(h)
	if err != nil || line == "" {
		return nil, true
	}
	argv, err = windows.DecomposeCommandLine(line)
	if err != nil {
		return nil, true
	}
	return argv, true
}

// commandLine asks for the process's command line
// (ProcessCommandLineInformation, which needs only
// PROCESS_QUERY_LIMITED_INFORMATION): a UNICODE_STRING header followed by
// its characters.
func commandLine(h windows.Handle) (string, error) {
	var n uint32
	err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, nil, 0, &n)
	if err != nil && !errors.Is(err, windows.STATUS_INFO_LENGTH_MISMATCH) &&
		!errors.Is(err, windows.STATUS_BUFFER_OVERFLOW) && !errors.Is(err, windows.STATUS_BUFFER_TOO_SMALL) {
		return "", err
	}
	header := uint32(unsafe.Sizeof(windows.NTUnicodeString{}))
	if n <= header {
		return "", nil
	}
	buf := make([]byte, n)
	if err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, unsafe.Pointer(&buf[0]), n, &n); err != nil {
		return "", err
	}
	// Read the length from the header and the characters after it, rather
	// than following the header's pointer into buf.
	length := uint32(binary.LittleEndian.Uint16(buf)) / 2
	if header+2*length > uint32(len(buf)) {
		return "", errors.New("command line longer than its buffer")
	}
	chars := make([]uint16, length)
	for i := range chars {
		chars[i] = binary.LittleEndian.Uint16(buf[header+2*uint32(i):])
	}
	return string(utf16.Decode(chars)), nil
}
