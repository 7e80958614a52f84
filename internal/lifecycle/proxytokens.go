package lifecycle

import "context"

// ProxyTokens is the token source of a profile's loopback proxy
// (internal/proxy.TokenSource): the profile's current token, rotated when
// it runs low, and replaced at once when the workspace refuses it.
type ProxyTokens struct {
	Engine  *Engine
	Profile string
	Timing  Timing
}

// Token is EnsureFresh's token: the store read, a rotation only when the
// token runs low.
func (s ProxyTokens) Token(ctx context.Context) (string, error) {
	f, err := s.Engine.EnsureFresh(ctx, s.Profile, s.Timing)
	if err != nil {
		return "", err
	}
	return f.Token, nil
}

// Refresh answers a refusal of stale: the newer token when a rotation
// already replaced it (the usual case: the old one was deleted), else a
// rotation now, under the lock and only while stale is still current, so
// many refused requests cause one rotation.
func (s ProxyTokens) Refresh(ctx context.Context, stale string) (string, error) {
	p, err := s.Engine.current(s.Profile)
	if err != nil {
		return "", err
	}
	if p.Token != stale {
		return p.Token, nil
	}
	if _, err := s.Engine.Rotate(ctx, RotateRequest{Profile: s.Profile, Timing: s.Timing, IfCurrent: stale, CreateOnly: true}); err != nil {
		return "", err
	}
	if p, err = s.Engine.current(s.Profile); err != nil {
		return "", err
	}
	return p.Token, nil
}
