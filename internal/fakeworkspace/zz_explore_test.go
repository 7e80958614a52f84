package fakeworkspace

import (
	"context"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/settings"
)

func TestZZExplore(t *testing.T) {
	fw := New(Options{})
	fw.Start()
	defer fw.Close()
	pat, _ := fw.IssuePAT(alice, "", 0)
	c := patClient(t, fw.URL(), pat, func(cfg *config.Config) { cfg.HTTPTimeoutSeconds = 1 })
	fw.AddFault("POST", PathTokenCreate, Fault{Times: 1, AfterHandler: true, Delay: 3 * time.Second})
	_, err := settings.NewTokens(c).Create(context.Background(), settings.CreateTokenRequest{LifetimeSeconds: 900})
	t.Logf("timeout: %T %v", err, err)
	bad := patClient(t, fw.URL(), "dapinope")
	_, err = iam.NewCurrentUser(bad).Me(context.Background(), iam.MeRequest{})
	t.Logf("403: %T %q", err, err.Error())
	fw.AddFault("GET", PathMe, Fault{Times: 1, Status: 401, ErrorCode: "UNAUTHENTICATED", Message: "x"})
	_, err = iam.NewCurrentUser(c).Me(context.Background(), iam.MeRequest{})
	t.Logf("401: %#v", err)
	t.Logf("%+v", fw.Requests())
}
