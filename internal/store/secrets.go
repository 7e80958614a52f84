package store

import (
	"errors"
	"fmt"
	"slices"
)

// Where a profile keeps its token (Profile.Storage). coda login chooses
// and pins it; every later command follows the profile.
//
// The system keyring holds only token values: credentials.json stays the
// one state file (ids, expiries, pending deletes, tools, locks), and a
// keyring profile's "token" there is empty. Each token is its own keyring
// entry, service KeyringService, account "INSTALLATION/PROFILE/TOKEN_ID".
// As a token id's value never changes, a reader never sees a half-made
// rotation: the file names the id, and that id's entry is written before
// the file and deleted only once no current or pending token of the file
// is that id. So a reader holding an older snapshot still finds the token
// it read (as it would in an older credentials.json), and a rotation rolled
// back finds its old token again. Pending tokens need no value, but their
// entries stay until they are dropped for that reason.
//
// Load and Update leave keyring tokens sealed: Profile.HasToken reports
// them, Profile.Token stays empty until Profile.Unseal reads it. A command
// that only lists profiles, or acts on another one, never touches the
// keyring, so a keyring that is out of reach (cron, ssh, a hung Secret
// Service) stops only the profiles that keep their token there, and with
// an error that names the fix.
const (
	StorageFile    = "file"
	StorageKeyring = "keyring"
)

// fileOnlyVersion is the format written while no profile keeps its token
// in the keyring: nothing in the file needs FormatVersion then, and an
// older coda still reads it.
const fileOnlyVersion = 2

// sealedToken is a token left in the keyring until Unseal.
type sealedToken struct {
	kr      *keyring
	profile string
	account string
}

func keyringAccount(installationID, profile, tokenID string) string {
	return installationID + "/" + profile + "/" + tokenID
}

// InKeyring reports whether the profile keeps its token in the system
// keyring.
func (p *Profile) InKeyring() bool { return p != nil && p.Storage == StorageKeyring }

// Unseal reads the token of a profile that keeps it in the system keyring
// into Token: one keyring call, bounded by KeyringTimeout, and none when
// this process has read or written that token before. It does nothing for
// a profile whose token is in the file, or already read. Its error is a
// *KeyringProfileError.
func (p *Profile) Unseal() error {
	if p == nil || p.Token != "" || p.sealed == nil {
		return nil
	}
	tok, err := p.sealed.kr.get(p.sealed.account)
	if err != nil {
		return &KeyringProfileError{Profile: p.sealed.profile, Op: "read", Err: err}
	}
	p.Token = tok
	return nil
}

// KeyringProfileError is a profile's token that could not be read from or
// stored in the system keyring. A missing entry means the profile must log
// in again (exit 4); a keyring out of reach is an error (exit 1) whose
// message names both ways out.
type KeyringProfileError struct {
	Profile string
	Op      string // read or store
	Err     error
}

func (e *KeyringProfileError) Error() string {
	flag := ProfileFlag(e.Profile)
	if e.Op == "read" && errors.Is(e.Err, ErrKeyringNotFound) {
		return fmt.Sprintf("the token of profile %s is missing from the system keyring (removed outside coda?); run: coda login%s", e.Profile, flag)
	}
	return fmt.Sprintf("profile %s keeps its token in the system keyring, which coda cannot %s here (%v); run coda where the keyring is reachable, or move the profile's token to credentials.json: coda login%s --storage file",
		e.Profile, e.Op, e.Err, flag)
}

func (e *KeyringProfileError) Unwrap() error { return e.Err }

// ExitCode is 4 (log in again) for a missing entry, else 1.
func (e *KeyringProfileError) ExitCode() int {
	if errors.Is(e.Err, ErrKeyringNotFound) {
		return 4
	}
	return 1
}

// checkStorage refuses a storage this coda does not know: a newer coda
// that adds one bumps FormatVersion, so this is a hand-edited file.
func checkStorage(st *State) error {
	for _, p := range st.Profiles {
		if p.Storage != "" && p.Storage != StorageFile && p.Storage != StorageKeyring {
			return errors.New("a profile has an unknown token storage (want file or keyring)")
		}
	}
	return nil
}

// seal marks the keyring tokens of a state just read.
func (s *FileStore) seal(st *State) {
	for name, p := range st.Profiles {
		if p.InKeyring() && p.Token == "" && p.TokenID != "" {
			p.sealed = &sealedToken{kr: s.keyring(), profile: name,
				account: keyringAccount(st.InstallationID, name, p.TokenID)}
		}
	}
}

// sealedAccounts maps each profile whose current token the file left in
// the keyring to that token's account.
func sealedAccounts(st *State) map[string]string {
	out := map[string]string{}
	for name, p := range st.Profiles {
		if p.sealed != nil {
			out[name] = p.sealed.account
		}
	}
	return out
}

// keyringRefs are the accounts the keyring profiles of st refer to: their
// current and pending tokens.
func keyringRefs(st *State) map[string]bool {
	out := map[string]bool{}
	for name, p := range st.Profiles {
		if !p.InKeyring() {
			continue
		}
		if p.TokenID != "" {
			out[keyringAccount(st.InstallationID, name, p.TokenID)] = true
		}
		for _, pe := range p.Pending {
			out[keyringAccount(st.InstallationID, name, pe.TokenID)] = true
		}
	}
	return out
}

// storeSecrets writes to the keyring every keyring token of st that the
// file read (sealed) did not already name, before the file is written: the
// file never names an entry that does not exist. It returns the accounts
// it wrote.
func (s *FileStore) storeSecrets(st *State, sealed map[string]string) ([]string, error) {
	var written []string
	for _, name := range st.ProfileNames() {
		p := st.Profiles[name]
		if !p.InKeyring() || (p.Token == "" && p.TokenID == "") {
			continue
		}
		if p.TokenID == "" {
			return written, fmt.Errorf("profile %s has a token without an id, which the keyring cannot hold", name)
		}
		account := keyringAccount(st.InstallationID, name, p.TokenID)
		switch {
		case sealed[name] == account:
			continue // the entry the file already names
		case p.Token == "":
			// A programming error (a profile copied without its token):
			// writing the file would name an entry that may not exist.
			return written, fmt.Errorf("the token of profile %s was not read from the system keyring; nothing was written", name)
		}
		if err := s.keyring().set(account, p.Token); err != nil {
			return written, &KeyringProfileError{Profile: name, Op: "store", Err: err}
		}
		written = append(written, account)
	}
	return written, nil
}

// dropSecrets deletes keyring entries, best effort: an entry left behind
// holds a token that expires anyway. After a timeout it stops, since the
// next call would wait as long.
func (s *FileStore) dropSecrets(accounts []string) {
	slices.Sort(accounts)
	for _, a := range accounts {
		if err := s.keyring().delete(a); errors.Is(err, ErrKeyringTimeout) {
			return
		}
	}
}

// unreferenced lists the accounts of before that after no longer names.
func unreferenced(before, after map[string]bool) []string {
	var out []string
	for a := range before {
		if !after[a] {
			out = append(out, a)
		}
	}
	return out
}

// fileForm is st as credentials.json holds it: keyring tokens blanked, in
// copies, so the caller's profiles keep their tokens.
func fileForm(st *State) *State {
	out := *st
	out.Version = fileOnlyVersion
	out.Profiles = make(map[string]*Profile, len(st.Profiles))
	for name, p := range st.Profiles {
		if p.InKeyring() {
			out.Version = FormatVersion
			cp := *p
			cp.Token = ""
			p = &cp
		}
		out.Profiles[name] = p
	}
	return &out
}
