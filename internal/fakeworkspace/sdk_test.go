package fakeworkspace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/settings"
)

// noopLoader stops the SDK from reading the environment or ~/.databrickscfg
// (an empty Loaders slice would bring the default loaders back).
type noopLoader struct{}

func (noopLoader) Name() string                   { return "noop" }
func (noopLoader) Configure(*config.Config) error { return nil }

// patClient builds an SDK client that authenticates with pat and nothing else.
func patClient(t *testing.T, host, pat string, edits ...func(*config.Config)) *client.DatabricksClient {
	t.Helper()
	cfg := &config.Config{
		Host:        host,
		Token:       pat,
		AuthType:    "pat",
		Credentials: config.PatCredentials{},
		Loaders:     []config.Loader{noopLoader{}},
		HostMetadataResolver: func(context.Context, string) (*config.HostMetadata, error) {
			return nil, nil
		},
		RetryTimeoutSeconds: 1,
		HTTPTimeoutSeconds:  5,
	}
	for _, edit := range edits {
		edit(cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func asAPIError(t *testing.T, err error) *apierr.APIError {
	t.Helper()
	var apiErr *apierr.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %T %v is not an *apierr.APIError", err, err)
	}
	return apiErr
}

func TestSDKClient(t *testing.T) {
	fw := New(Options{
		Clock:         nil, // real clock: the SDK sees real timestamps
		MaxLiveTokens: 3,
		OnUnexpected:  func(msg string) { t.Errorf("%s", msg) },
	})
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fw.Close)
	fw.AddUser(alice, "Alice Example")
	pat, patID := fw.IssuePAT(alice, "laptop", 0)
	ctx := context.Background()

	old := patClient(t, fw.URL(), pat)
	me, err := iam.NewCurrentUser(old).Me(ctx, iam.MeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if me.UserName != alice || me.DisplayName != "Alice Example" || !me.Active || me.Id == "" ||
		len(me.Emails) != 1 || me.Emails[0].Value != alice || !me.Emails[0].Primary {
		t.Errorf("Me = %+v", me)
	}

	created, err := settings.NewTokens(old).Create(ctx, settings.CreateTokenRequest{LifetimeSeconds: 900, Comment: "coda"})
	if err != nil {
		t.Fatal(err)
	}
	info := created.TokenInfo
	if !strings.HasPrefix(created.TokenValue, "dapi") || info == nil || info.Comment != "coda" ||
		info.ExpiryTime-info.CreationTime != 900_000 {
		t.Fatalf("Create = %+v", info)
	}

	next := patClient(t, fw.URL(), created.TokenValue)
	infos, err := settings.NewTokens(next).ListAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].TokenId != patID || infos[0].ExpiryTime != -1 || infos[1].TokenId != info.TokenId {
		t.Errorf("ListAll = %+v", infos)
	}

	// The successor deletes the old token; the old client is then refused
	// with the numeric-code 403 a real workspace sends.
	if err := settings.NewTokens(next).Delete(ctx, settings.RevokeTokenRequest{TokenId: patID}); err != nil {
		t.Fatal(err)
	}
	_, err = iam.NewCurrentUser(old).Me(ctx, iam.MeRequest{})
	apiErr := asAPIError(t, err)
	if apiErr.StatusCode != 403 || apiErr.Message != "Invalid access token." {
		t.Errorf("dead token: status %d message %q", apiErr.StatusCode, apiErr.Message)
	}
	// The SDK formats the numeric code with %v and maps 403 by status to the
	// same sentinel as a real permission problem.
	if apiErr.ErrorCode != "403" || !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Errorf("dead token: error code %q, ErrPermissionDenied %v", apiErr.ErrorCode, errors.Is(err, apierr.ErrPermissionDenied))
	}

	// Deleting an unknown id is a 404 the SDK maps to ErrResourceDoesNotExist.
	err = settings.NewTokens(next).Delete(ctx, settings.RevokeTokenRequest{TokenId: patID})
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 404 || apiErr.ErrorCode != "RESOURCE_DOES_NOT_EXIST" ||
		!errors.Is(err, apierr.ErrResourceDoesNotExist) || !errors.Is(err, apierr.ErrNotFound) {
		t.Errorf("unknown delete: %+v", apiErr)
	}

	// The SDK omits a zero lifetime; the fake refuses the request.
	_, err = settings.NewTokens(next).Create(ctx, settings.CreateTokenRequest{Comment: "no lifetime"})
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 400 || !errors.Is(err, apierr.ErrInvalidParameterValue) {
		t.Errorf("zero lifetime: %+v", apiErr)
	}

	// Quota: the SDK has no sentinel for QUOTA_EXCEEDED, only ErrBadRequest.
	for range 2 {
		if _, err := settings.NewTokens(next).Create(ctx, settings.CreateTokenRequest{LifetimeSeconds: 60}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = settings.NewTokens(next).Create(ctx, settings.CreateTokenRequest{LifetimeSeconds: 60})
	if apiErr := asAPIError(t, err); apiErr.StatusCode != 400 || apiErr.ErrorCode != "QUOTA_EXCEEDED" ||
		!errors.Is(err, apierr.ErrBadRequest) {
		t.Errorf("quota: %+v", apiErr)
	}

	// The SDK sends Me with a trailing "?"; the record shows the bare path,
	// and no host-metadata or other unexpected call was made.
	for _, r := range fw.Requests() {
		if r.Path == PathHostMetadata {
			t.Errorf("SDK fetched %s despite the resolver", PathHostMetadata)
		}
	}
}

func TestSDKFaults(t *testing.T) {
	fw := New(Options{OnUnexpected: func(msg string) { t.Errorf("%s", msg) }})
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fw.Close)
	pat, _ := fw.IssuePAT(alice, "", 0)
	c := patClient(t, fw.URL(), pat)
	ctx := context.Background()

	tests := []struct {
		name     string
		status   int
		sentinel error
		code     string
		minWait  time.Duration
	}{
		{"500 is not retried", 500, apierr.ErrInternalError, "INTERNAL_ERROR", 0},
		// 429 and 503 are retriable, but the SDK's first backoff (1s plus
		// 50-750ms jitter) outlasts RetryTimeoutSeconds 1: it waits the
		// budget out and returns the first error without a second attempt.
		{"429 waits out the budget", 429, apierr.ErrTooManyRequests, "REQUEST_LIMIT_EXCEEDED", time.Second},
		{"503 waits out the budget", 503, apierr.ErrTemporarilyUnavailable, "TEMPORARILY_UNAVAILABLE", time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fw.ResetRequests()
			fw.AddFault("GET", PathMe, Fault{Times: 1, Status: tc.status})
			start := time.Now()
			_, err := iam.NewCurrentUser(c).Me(ctx, iam.MeRequest{})
			elapsed := time.Since(start)
			apiErr := asAPIError(t, err)
			if apiErr.StatusCode != tc.status || apiErr.ErrorCode != tc.code || !errors.Is(err, tc.sentinel) {
				t.Errorf("got %d %q %v", apiErr.StatusCode, apiErr.ErrorCode, err)
			}
			if n := len(fw.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if elapsed < tc.minWait {
				t.Errorf("returned after %v, want >= %v", elapsed, tc.minWait)
			}
		})
	}
}

// TestSDKLostCreate shows the orphan case: the create succeeds on the server,
// the answer comes too late, and the SDK reports a timeout, not an APIError.
func TestSDKLostCreate(t *testing.T) {
	fw := New(Options{OnUnexpected: func(msg string) { t.Errorf("%s", msg) }})
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fw.Close)
	pat, _ := fw.IssuePAT(alice, "", 0)
	c := patClient(t, fw.URL(), pat, func(cfg *config.Config) { cfg.HTTPTimeoutSeconds = 1 })
	fw.AddFault("POST", PathTokenCreate, Fault{Times: 1, AfterHandler: true, Delay: 10 * time.Second})

	_, err := settings.NewTokens(c).Create(context.Background(),
		settings.CreateTokenRequest{LifetimeSeconds: 900, Comment: "coda-orphan"})
	var apiErr *apierr.APIError
	if err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a non-API timeout", err)
	}
	if n := len(fw.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (a timeout is not retried)", n)
	}
	infos, err := settings.NewTokens(c).ListAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[1].Comment != "coda-orphan" {
		t.Errorf("ListAll = %+v, want the orphan listed", infos)
	}
}
