package phala

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/phalaforge/phala-go/envcrypt"
)

// Errors of EncryptEnv.
var (
	// ErrNoEnvEncryptionKey means the CVM exposes no env encryption public key
	// (no KMS, or a Cloud KMS CVM without encrypted_env_pubkey).
	ErrNoEnvEncryptionKey = errors.New("phala: the CVM has no env encryption public key")
	// ErrNoKMSTrustRoot is matched by [*NoKMSTrustRootError].
	ErrNoKMSTrustRoot = errors.New("phala: no trusted KMS root key to verify the env encryption key")
	// ErrKMSContractMismatch means the CVM's kms_info names a DstackKms contract
	// other than the one pinned with WithKMSContract for its chain. Nothing was
	// encrypted.
	ErrKMSContractMismatch = errors.New("phala: the API names a DstackKms contract other than the pinned one")
)

// NoKMSTrustRootError reports an on-chain KMS env encryption key that cannot be
// verified because no trusted root key is available: none was pinned with
// WithTrustedKMSRootKeys and no backend is configured for the KMS's chain
// (WithKMSChainBackend, WithKMSChainRPC, WithKMSChains). Nothing was encrypted. It
// matches [ErrNoKMSTrustRoot]. WithoutKMSSignatureVerification accepts such keys
// unverified instead.
type NoKMSTrustRootError struct {
	AppID       string
	ChainID     uint64 // kms_info.chain_id
	KMSContract string // kms_info.dstack_kms_address, as sent
}

// Error says what to configure.
func (e *NoKMSTrustRootError) Error() string {
	return fmt.Sprintf("phala: cannot verify the env encryption key of app %s: no trusted KMS root key "+
		"(configure chain %d with WithKMSChainBackend, WithKMSChainRPC or WithKMSChains to read it from the DstackKms contract %s, "+
		"or pin it with WithTrustedKMSRootKeys); nothing was encrypted",
		e.AppID, e.ChainID, oneLine(e.KMSContract, 64))
}

// Is reports whether target is ErrNoKMSTrustRoot.
func (e *NoKMSTrustRootError) Is(target error) bool { return target == ErrNoKMSTrustRoot }

// EncryptEnv encrypts env for the CVMs of source's app and returns the hex blob to
// send as encrypted_env (ReplicateRequest.EncryptedEnv). source is a vm_uuid, an app
// id or a CVM name, as for Replicate. The plaintext never leaves the process.
//
// The variables are first checked against everything that would make a CVM refuse
// them or drop one silently (see envcrypt.Validate), including the compose file's
// allowed_envs when the CVM object exposes it ([CVM.AllowedEnvs]).
//
// The recipient key is obtained the way Phala Cloud does:
//
//   - On-chain KMS (kms_info.chain_id set): GET /kms/{kms_type}/pubkey/{app_id}. The
//     key's signature is verified (envcrypt.VerifyPublicKey: legacy or timestamped
//     scheme, 300 s / 60 s freshness) against the trusted KMS root keys: those
//     pinned with WithTrustedKMSRootKeys, plus the k256 key of the DstackKms contract
//     (kms_info.dstack_kms_address, or the one pinned with WithKMSContract, which
//     the API's must then match) read on the app's chain when a backend for it
//     is configured. A k256_pubkey reported by the API is never trusted: a
//     compromised backend would report its own. A bad signature is an error and
//     nothing is encrypted. With no trusted root available the call fails with
//     [*NoKMSTrustRootError], unless WithoutKMSSignatureVerification was given.
//   - Cloud KMS: kms_info.encrypted_env_pubkey, else the top-level
//     encrypted_env_pubkey. No signature exists for these keys: the key is as
//     trustworthy as the API connection (TLS to the base URL) and the API itself.
//
// Requests: GET /cvms/{id} (plus GET /apps/{app}/cvms when an app id names several
// CVMs); for an on-chain KMS also GET /kms/{kms_type}/pubkey/{app_id} and, with a
// chain backend, one eth_call of kmsInfo().
func (c *Client) EncryptEnv(ctx context.Context, source string, env []envcrypt.EnvVar) (string, error) {
	src, err := parseSource(source)
	if err != nil {
		return "", err
	}
	if err := envcrypt.Validate(env); err != nil {
		return "", err
	}
	cvm, err := c.resolveSource(ctx, src, "")
	if err != nil {
		return "", err
	}
	return c.encryptEnvFor(ctx, cvm, env)
}

// encryptEnvFor encrypts env to the env key of cvm's app, checking allowed_envs
// first when the CVM exposes them.
func (c *Client) encryptEnvFor(ctx context.Context, cvm *CVM, env []envcrypt.EnvVar) (string, error) {
	var opts []envcrypt.Option
	if allowed, ok := cvm.AllowedEnvs(); ok {
		opts = append(opts, envcrypt.WithAllowedEnvs(allowed))
	}
	if err := envcrypt.Validate(env, opts...); err != nil {
		return "", err
	}
	key, err := c.envKey(ctx, cvm)
	if err != nil {
		return "", err
	}
	blob, err := envcrypt.Encrypt(key, env, opts...)
	if err != nil {
		return "", fmt.Errorf("phala: encrypting env for app %s: %w", oneLine(cvm.AppID, 64), err)
	}
	return blob, nil
}

// envKey returns the X25519 env encryption key of cvm's app, verified when it comes
// from an on-chain KMS.
func (c *Client) envKey(ctx context.Context, cvm *CVM) (string, error) {
	if !cvm.OnchainKMS() {
		key := ""
		if cvm.KMSInfo != nil {
			key = strings.TrimSpace(cvm.KMSInfo.EncryptedEnvPubkey)
		}
		if key == "" {
			key = strings.TrimSpace(cvm.EncryptedEnvPubkey)
		}
		if key == "" {
			return "", fmt.Errorf("%w (CVM %s, kms_type %q): the CVM may not support encrypted environment variables",
				ErrNoEnvEncryptionKey, oneLine(cvm.VMUUID, 64), oneLine(string(cvm.KMSType), 32))
		}
		return key, nil
	}

	kmsType := strings.TrimSpace(string(cvm.KMSType))
	if kmsType == "" {
		return "", fmt.Errorf("%w: the CVM uses an on-chain KMS (chain %d) but reports no kms_type to ask for the key",
			ErrNoEnvEncryptionKey, cvm.KMSInfo.ChainID)
	}
	if err := checkName("kms_type", kmsType); err != nil {
		return "", err
	}
	app, err := parseAppID("app_id", cvm.AppID)
	if err != nil {
		return "", fmt.Errorf("phala: the CVM uses an on-chain KMS: %w", err)
	}
	var resp envcrypt.PublicKeyResponse
	if _, err := c.do(ctx, request{method: http.MethodGet, path: pathf("/kms/%s/pubkey/%s", kmsType, app)}, &resp); err != nil {
		return "", fmt.Errorf("phala: getting the env encryption key of app %s: %w", app, err)
	}

	trusted := append([][]byte(nil), c.cfg.wf.trustedRoots...)
	root, ok, err := c.kmsRootFromChain(ctx, cvm.KMSInfo)
	if err != nil {
		return "", err
	}
	if ok {
		trusted = append(trusted, root)
	}
	if len(trusted) == 0 {
		if !c.cfg.wf.skipKMSVerify {
			return "", &NoKMSTrustRootError{AppID: app, ChainID: cvm.KMSInfo.ChainID, KMSContract: cvm.KMSInfo.DstackKMSAddress}
		}
		c.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "phala: using an unverified env encryption key (WithoutKMSSignatureVerification)",
			slog.String("app_id", app), slog.Uint64("chain_id", cvm.KMSInfo.ChainID))
		return resp.PublicKey, nil
	}
	if _, err := envcrypt.VerifyPublicKey(resp, app, trusted, c.now()); err != nil {
		return "", fmt.Errorf("phala: the env encryption key of app %s is not signed by a trusted KMS root key, nothing was encrypted: %w", app, err)
	}
	return resp.PublicKey, nil
}
