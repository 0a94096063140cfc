package phala

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// request is one API call. path is relative to the base URL and already escaped.
type request struct {
	method string
	path   string      // built with pathf
	body   any         // JSON-encoded (no HTML escaping) when non-nil
	header http.Header // extra headers, e.g. X-Prepare-Only: true
}

// response describes the HTTP answer to a request.
type response struct {
	StatusCode int
	Header     http.Header
	RequestID  string
}

// pathf builds an escaped path: pathf("/cvms/%s/replicas", id) escapes every %s
// argument with url.PathEscape. A segment that is exactly "." or ".." is escaped as
// %2E / %2E%2E so it cannot walk up the path. Callers validate that segments are
// non-empty.
func pathf(format string, segments ...string) string {
	args := make([]any, len(segments))
	for i, s := range segments {
		switch s {
		case ".":
			args[i] = "%2E"
		case "..":
			args[i] = "%2E%2E"
		default:
			args[i] = url.PathEscape(s)
		}
	}
	return fmt.Sprintf(format, args...)
}

// do sends r with the retry policy for its method and decodes a 2xx JSON body into out
// (out may be nil). A non-2xx answer is returned as *APIError. The returned *response
// is non-nil whenever an HTTP answer was received.
func (c *Client) do(ctx context.Context, r request, out any) (*response, error) {
	if ctx == nil {
		return nil, errors.New("phala: nil context")
	}
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	if !strings.HasPrefix(r.path, "/") {
		return nil, fmt.Errorf("phala: request path %q must start with /", oneLine(r.path, 200))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("phala: %s %s: %w", method, r.path, err)
	}

	var body []byte
	if r.body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r.body); err != nil {
			return nil, fmt.Errorf("phala: %s %s: encoding request body (%T): %w", method, r.path, r.body, err)
		}
		body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}

	k := &call{c: c, method: method, path: r.path}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { k.gotConn.Store(true) },
	})

	var rawBody any // nil interface when there is no body
	if body != nil {
		rawBody = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, c.baseURL+r.path, rawBody)
	if err != nil {
		return nil, fmt.Errorf("phala: %s %s: building request: %w", method, r.path, err)
	}
	for name, values := range r.header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	req.Header.Set("X-Phala-Version", c.cfg.apiVersion)
	req.Header.Set("Accept", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.cfg.userAgent)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-Key", string(c.cfg.apiKey))

	rc := &retryablehttp.Client{
		HTTPClient:   c.hc,
		RetryMax:     c.cfg.retry.attempts() - 1,
		RetryWaitMin: c.cfg.retry.MinBackoff,
		RetryWaitMax: c.cfg.retry.MaxBackoff,
		CheckRetry:   k.checkRetry,
		Backoff:      k.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, i int) {
			k.beforeAttempt(i)
		},
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, k.transportError(ctx, err)
	}
	defer resp.Body.Close()
	if idempotent(method) {
		return c.handleResponse(resp, out, false)
	}
	return k.postAnswer(resp, out)
}

// postAnswer turns the answer to a non-idempotent request (POST) into its result.
// Only a refusal (an error answer that names what was wrong, a 429, ...) and a 2xx
// with a readable body say what happened. A redirect and a 5xx do not
// (the request may have been acted on before a gateway answered): they are an
// *OutcomeUnknownError. A 2xx whose body cannot be used is an
// *UnreadableCreatedError, never a plain decoding error: the server acted.
func (k *call) postAnswer(resp *http.Response, out any) (*response, error) {
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		res := &response{
			StatusCode: resp.StatusCode,
			Header:     resp.Header,
			RequestID:  k.c.redact(sanitizeRequestID(resp.Header.Get("X-Request-ID"))),
		}
		return res, &OutcomeUnknownError{Method: k.method, Path: k.path, Attempts: k.attempt,
			StatusCode: resp.StatusCode, Err: k.redirectOfPOST(resp)}
	}
	res, err := k.c.handleResponse(resp, out, true)
	var (
		respErr *ResponseError
		apiErr  *APIError
	)
	switch {
	case errors.As(err, &respErr): // only a 2xx answer gives a *ResponseError
		return res, &UnreadableCreatedError{Method: k.method, Path: k.path,
			StatusCode: res.StatusCode, RequestID: res.RequestID, Err: respErr}
	case errors.As(err, &apiErr) && inconclusiveStatus(apiErr.StatusCode):
		return res, &OutcomeUnknownError{Method: k.method, Path: k.path, Attempts: k.attempt,
			StatusCode: apiErr.StatusCode, Err: apiErr}
	}
	return res, err
}

// inconclusiveStatus reports the error statuses that do not tell whether the API
// acted on a POST: every 5xx. A gateway sends 502, 503 or 504 after forwarding the
// request, and a 500 is a failure the API did not foresee, possibly after it wrote
// the replica (the error catalogue has no 5xx code, so no 500 names a refusal).
func inconclusiveStatus(code int) bool {
	return code >= 500 && code <= 599
}

// redirectOfPOST describes the redirect answer to a POST, which is never followed.
// Only the origin of the Location is kept: its path or query could hold anything.
func (k *call) redirectOfPOST(resp *http.Response) *RedirectError {
	e := &RedirectError{
		To:     "(no Location)",
		Reason: fmt.Sprintf("a redirect of a %s is never followed: the server received the request and may have acted on it", k.method),
	}
	if resp.Request != nil && resp.Request.URL != nil {
		e.From = origin(resp.Request.URL.Scheme, resp.Request.URL.Host)
	}
	if loc, err := resp.Location(); err == nil {
		e.To = origin(loc.Scheme, loc.Host)
	} else if resp.Header.Get("Location") != "" {
		e.To = "(unparsable Location)"
	}
	e.From, e.To = k.c.redact(e.From), k.c.redact(e.To)
	return e
}

// transportError turns the error of the last attempt into the error the user sees.
func (k *call) transportError(ctx context.Context, err error) error {
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return redirect
	}
	if !idempotent(k.method) && k.mayHaveSent {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return &OutcomeUnknownError{Method: k.method, Path: k.path, Attempts: k.attempt, Err: stripURLError(err)}
	}
	if k.attempt > 1 {
		return fmt.Errorf("phala: %s %s: giving up after %d attempts: %w", k.method, k.path, k.attempt, stripURLError(err))
	}
	return fmt.Errorf("phala: %s %s: %w", k.method, k.path, stripURLError(err))
}

// stripURLError removes the *url.Error layer, whose text repeats method and URL.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// handleResponse reads an answer: a non-2xx one becomes an *APIError, a 2xx one is
// decoded into out. With requireObject (the answer to a POST), a 2xx answer must
// carry a JSON object when out is non-nil: a 204 or a bare null says nothing
// about what was created.
func (c *Client) handleResponse(resp *http.Response, out any, requireObject bool) (*response, error) {
	res := &response{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		RequestID:  c.redact(sanitizeRequestID(resp.Header.Get("X-Request-ID"))),
	}
	contentType := resp.Header.Get("Content-Type")
	limit := c.cfg.maxResponseBytes
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	tooLarge := int64(len(data)) > limit

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var apiErr *APIError
		switch {
		case tooLarge:
			apiErr = &APIError{
				StatusCode: resp.StatusCode,
				Message:    fmt.Sprintf("error body larger than %d bytes, not read", limit),
				cause:      ErrResponseTooLarge,
			}
		case readErr != nil:
			apiErr = &APIError{
				StatusCode: resp.StatusCode,
				Message:    "reading error body: " + readErr.Error(),
				cause:      fmt.Errorf("%w: %w", ErrUnexpectedBody, readErr),
			}
		default:
			apiErr = parseErrorEnvelope(resp.StatusCode, contentType, data)
		}
		apiErr.RequestID = res.RequestID
		if ra, ok := parseRetryAfter(resp.Header, time.Now()); ok {
			apiErr.RetryAfter = ra
		}
		c.redactAPIError(apiErr)
		return res, apiErr
	}

	respErr := func(err error, excerptOf []byte) *ResponseError {
		return &ResponseError{
			StatusCode:  resp.StatusCode,
			ContentType: contentType,
			RequestID:   res.RequestID,
			Excerpt:     c.redact(excerpt(contentType, excerptOf)),
			Err:         err,
		}
	}
	switch {
	case tooLarge:
		return res, respErr(fmt.Errorf("%w (limit %d bytes)", ErrResponseTooLarge, limit), nil)
	case readErr != nil:
		return res, respErr(fmt.Errorf("%w: reading body: %w", ErrUnexpectedBody, readErr), nil)
	case out == nil:
		return res, nil
	case resp.StatusCode == http.StatusNoContent && !requireObject:
		return res, nil
	case len(bytes.TrimSpace(data)) == 0:
		return res, respErr(fmt.Errorf("%w: empty body", ErrUnexpectedBody), nil)
	case !isJSONContentType(contentType):
		return res, respErr(fmt.Errorf("%w: content type is not JSON", ErrUnexpectedBody), data)
	case requireObject && bytes.TrimSpace(data)[0] != '{':
		return res, respErr(fmt.Errorf("%w: not a JSON object", ErrUnexpectedBody), data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return res, respErr(fmt.Errorf("%w: %w", ErrUnexpectedBody, err), data)
	}
	return res, nil
}

// isJSONContentType accepts application/json, any +json type, and an absent header.
func isJSONContentType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func sanitizeRequestID(id string) string {
	return oneLine(id, 128)
}

// redact removes the API key from a string that leaves the library.
func (c *Client) redact(s string) string {
	if c.cfg.apiKey == "" || s == "" {
		return s
	}
	return strings.ReplaceAll(s, string(c.cfg.apiKey), redacted)
}

// redactAPIError removes the API key from every text of an error answer, the
// details' raw JSON values and the links included, since a server may echo the
// key anywhere.
func (c *Client) redactAPIError(e *APIError) {
	e.Message = c.redact(e.Message)
	e.RequestID = c.redact(e.RequestID)
	for i := range e.Details {
		e.Details[i].Field = c.redact(e.Details[i].Field)
		e.Details[i].Message = c.redact(e.Details[i].Message)
		if c.cfg.apiKey != "" {
			e.Details[i].Value = hideInJSON(e.Details[i].Value, string(c.cfg.apiKey))
		}
	}
	for i := range e.Suggestions {
		e.Suggestions[i] = c.redact(e.Suggestions[i])
	}
	for i := range e.Links {
		e.Links[i].Label = c.redact(e.Links[i].Label)
		e.Links[i].URL = c.redact(e.Links[i].URL)
	}
}

// logAttempt writes one debug line per attempt. It logs neither the key nor bodies.
func (k *call) logAttempt(ctx context.Context, resp *http.Response, err error) {
	l := k.c.cfg.logger
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", k.method),
		slog.String("path", k.path),
		slog.Int("attempt", k.attempt),
		slog.Duration("duration", time.Since(k.start)),
	}
	if resp != nil {
		attrs = append(attrs,
			slog.Int("status", resp.StatusCode),
			slog.String("request_id", k.c.redact(sanitizeRequestID(resp.Header.Get("X-Request-ID")))))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", k.c.redact(stripURLError(err).Error())))
	}
	l.LogAttrs(ctx, slog.LevelDebug, "phala: http attempt", attrs...)
}
