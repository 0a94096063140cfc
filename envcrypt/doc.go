// Package envcrypt encrypts environment variables for a dstack CVM, decrypts them the
// way the CVM does, parses dotenv files and verifies the KMS signature on the
// encryption public key.
//
// # Format
//
// [Encrypt] produces exactly what dstack-util expects in a CVM's encrypted_env: the
// compact JSON document {"env":[{"key":"NAME","value":"..."}]} sealed with AES-256-GCM
// under the raw X25519 shared secret between a fresh ephemeral key and the recipient's
// public key, laid out as ephemeral public key (32 bytes) ‖ IV (12 bytes) ‖ ciphertext
// and tag, and hex encoded in lowercase without a 0x prefix.
//
// # What a CVM would silently drop or refuse
//
// A CVM skips, without a word, every variable whose name is not listed in its compose
// file's allowed_envs, keeps only the last of duplicate names, and refuses to boot when a
// name is malformed or a size limit is exceeded. [Encrypt] and [Validate] turn each of
// those situations into an error before anything is sent: see [ErrInvalidName],
// [ErrDuplicateName], [*LimitError] and [*NotAllowedError]. [DecryptEnv] applies
// dstack-util's own rules and reports what the application inside the CVM would see.
//
// # Trusting the key
//
// The recipient public key comes from a service that could be compromised. For an
// on-chain KMS, [VerifyPublicKey] checks the KMS root key's signature over the public key
// against trusted root keys the caller obtained elsewhere (the DstackKms contract, or a
// pinned key); encrypt only to a key that verified.
//
// # Secrets
//
// Errors and the String and LogValue methods of the types in this package never contain
// a variable's value. Buffers this package owns that hold plaintext are cleared after
// use; copies made by the Go runtime, by encoding/json while [DecryptEnv] parses, or
// by the caller are out of its reach.
package envcrypt
