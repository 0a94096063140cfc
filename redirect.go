package phala

import (
	"net/http"
	"strings"
)

// maxRedirects matches net/http's default limit.
const maxRedirects = 10

// maxIdleConnsPerHost bounds the idle connections the client's own transport
// keeps to the API. It is not a size: a connection is idle only after it
// carried a request, so the pool holds at most as many as were ever in use at
// once (Scale or ApplyReplicaSet at their Concurrency, say), and each is closed
// after the transport's IdleConnTimeout (90 s) without a request.
const maxIdleConnsPerHost = 1 << 16

// newHTTPClient returns a copy of the configured *http.Client (or a new one) with the
// redirect policy and per-attempt timeout. The caller's client is never modified.
func (c *Client) newHTTPClient() *http.Client {
	var hc http.Client
	if c.cfg.httpClient != nil {
		hc = *c.cfg.httpClient
	}
	if hc.Transport == nil {
		// A transport of our own: the retry loop closes idle connections after a
		// failure, which must not touch the process-wide http.DefaultTransport.
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			t := dt.Clone()
			// Keep every connection the concurrency in use opened (net/http
			// keeps 2 per host and 100 in all), so the next wave of Scale's or
			// ApplyReplicaSet's requests reuses them instead of dialling.
			t.MaxIdleConnsPerHost = maxIdleConnsPerHost
			t.MaxIdleConns = 0 // no limit across hosts: there is one, the API
			hc.Transport = t
		}
	}
	switch {
	case c.cfg.timeout > 0:
		hc.Timeout = c.cfg.timeout
	case hc.Timeout == 0:
		hc.Timeout = DefaultTimeout
	}
	next := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkRedirect(req, via); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &hc
}

// checkRedirect allows a redirect only to the same scheme and host (port included)
// as the original request, so the X-API-Key header never reaches another host. As a
// second guard the key is removed from a refused request.
//
// A non-idempotent request (POST) is never redirected: it has reached the server,
// which may have acted on it, and following would either resend it (307, 308) or
// turn it into a GET whose answer (302, 303) is not the result of the POST. The
// redirect answer itself is returned (http.ErrUseLastResponse) and do() reports it
// as outcome unknown.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	if !idempotent(via[0].Method) {
		req.Header.Del("X-API-Key")
		return http.ErrUseLastResponse
	}
	from := via[0].URL
	to := req.URL
	if !strings.EqualFold(from.Scheme, to.Scheme) || !strings.EqualFold(from.Host, to.Host) {
		req.Header.Del("X-API-Key")
		return &RedirectError{
			From:   origin(from.Scheme, from.Host),
			To:     origin(to.Scheme, to.Host),
			Reason: "redirects to another host or scheme are not followed (the API key is never sent there)",
		}
	}
	if len(via) >= maxRedirects {
		req.Header.Del("X-API-Key")
		return &RedirectError{
			From:   origin(from.Scheme, from.Host),
			To:     origin(to.Scheme, to.Host),
			Reason: "stopped after 10 redirects",
		}
	}
	return nil
}

func origin(scheme, host string) string {
	return oneLine(strings.ToLower(scheme)+"://"+host, 200)
}
