package registrytest

import (
	"net/http"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

func TestStartPushPlainAndAuthTLS(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	img, err := MultiLayerImage(Zstd)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{}, {Username: "u", Password: "p", TLS: true}} {
		r := Start(t, o)
		r.PushImage(t, "test/multi", "v1", img)
		req, _ := http.NewRequest(http.MethodHead, r.URL()+"/v2/test/multi/manifests/v1", nil)
		req.Header.Set("Accept", img.Manifest.MediaType)
		resp, err := r.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD manifest: %s", resp.Status)
		}
		if o.Username != "" {
			resp, err := http.Get("https://" + r.Host + "/v2/")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("untrusted TLS accepted")
			}
		}
	}
}
