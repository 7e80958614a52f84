package agentproc

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// processes asks the kernel for the process table (kern.proc.all, as ps
// does) and reads each of this user's processes' argv (kern.procargs2).
func processes() ([]process, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("cannot list processes (sysctl kern.proc.all): %w", err)
	}
	uid := uint32(os.Getuid())
	var procs []process
	for _, kp := range kps {
		if kp.Eproc.Ucred.Uid != uid {
			continue
		}
		pid := int(kp.Proc.P_pid)
		buf, err := unix.SysctlRaw("kern.procargs2", pid)
		argv := parseProcArgs(buf)
		if err != nil || len(argv) == 0 {
			// Exited since the listing, a zombie, or a process the
			// kernel does not show args of: its name (16 bytes) is
			// what is left.
			argv = []string{unix.ByteSliceToString(kp.Proc.P_comm[:])}
		}
		procs = append(procs, process{pid: pid, argv: argv})
	}
	return procs, nil
}
