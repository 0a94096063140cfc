package main

const helpText = `phala-replicate creates replicas of a Phala Cloud CVM. It takes the arguments
of the official 'phala cvms replicate' command, so scripts can switch to it.

Usage:
  phala-replicate <cvm-id> [flags]                 replicate (sign on-chain if a key is given)
  phala-replicate <cvm-id> --prepare-only [flags]  prepare only; print the commit token
  phala-replicate [<cvm-id>] --commit [flags]      commit a prepared replica
  phala-replicate verify <cvm-uuid> [flags]        verify a CVM's attestation
  phala-replicate plan -f set.json [flags]         show what apply would change (read-only)
  phala-replicate apply -f set.json [flags]        converge to the replica set (see "Replica sets")
  phala-replicate apply --commit --prepared-file F --transaction-hash HASH
                                                   commit a replica set approved by a multisig
  phala-replicate demo                             run every workflow against an emulator (a build
                                                   with -tags demo only: go run -tags demo ./cmd/phala-replicate demo)
  phala-replicate demo <cvm-id> [flags]            with PHALA_CLOUD_API_KEY set: replicate on Phala Cloud and wait
  phala-replicate version

<cvm-id> is the source CVM: its UUID (dashes optional), its app ID (app_<hex>,
0x<hex> or <40 hex>) or its name. Flags may come before or after it; use
'--' before a <cvm-id> that starts with '-' or is "demo", "help",
"version", "verify", "plan" or "apply".

Replicate:
  --node-id ID|NAME        target node, by numeric ID or by name (alias --teepod-id);
                           omitted: Phala Cloud picks a node
  --compose-hash HASH      the configuration to replicate when the app runs several
  -e, --env-file FILE      override the environment: the .env file is encrypted on
                           this machine to the app's key; the plaintext never leaves it
  --count N                create N replicas (at most 100); failures are reported
                           one by one, the others are kept
  --wait                   wait until each replica is running (progress on stderr)
  --verify                 with --wait: verify each running replica's attestation (TDX
                           quote to Intel's root, event log, app id and compose hash)

Verify (phala-replicate verify <cvm-uuid>, and --verify):
  --app-id ID              expected app id (default the CVM's, as the API reports it)
  --compose-hash HASH      expected compose hash (default the CVM's): pass the source's
                           or the one approved on chain to not rely on the API's word
  --collateral FILE        Intel collateral (dcap-qvl JSON) to judge the TCB status;
                           without it or --pccs the TCB status is Unknown
  --pccs URL               fetch the collateral from a PCCS
  --at TIME                verify as of an RFC 3339 time (evidence with expired certs)
  --attestation-roots FILE trust these PEM roots instead of Intel's (test chains)

On-chain KMS (automatic registration):
  --private-key KEY        key of the DstackApp owner, 64 hex digits with or without
                           0x (default $PRIVATE_KEY); registers the compose hash and
                           device, then commits
  --rpc-url URL            JSON-RPC endpoint of the app's chain (default $ETH_RPC_URL,
                           else the public endpoint of Ethereum or Base, or
                           http://127.0.0.1:8545 for a local chain, id 31337)
  --poll-interval D        the longest wait between receipt polls, and the first
                           wait before re-reading the replica's status (default:
                           receipts from 25ms up to the chain's block time; the
                           status after 500ms, backing off to 5s)

Manual approval (multisig):
  --prepare-only           prepare the replica without creating it: print the compose
                           hash, device ID and commit token for the owner to approve
  --safe-file FILE         also write the missing calls as a Safe Transaction Builder
                           batch (also after a plain replicate that needs approval)
  --prepared-file FILE     with --prepare-only: save the prepared replica (token, hashes,
                           expiry); with --commit: read the token, compose hash and source
  --commit                 commit a prepared replica
  --token TOKEN            commit token from the prepare step
  --compose-hash HASH      compose hash from the prepare step
  --transaction-hash HASH  hash of the approving transaction (default "already-registered":
                           the server checks the contract state instead)

Env encryption key (Onchain KMS):
  The key that -e encrypts to is signed by the KMS root key; it is used only if the
  signature recovers a trusted root key: one given with --kms-root, or the one stored
  in the app's DstackKms contract, read over --rpc-url (or the public endpoint of
  Ethereum or Base). Without a trusted root, -e fails before anything is encrypted.
  --kms-root KEY           trusted KMS root public key (hex, 33 or 65 bytes); repeatable
  --kms-contract ADDRESS   the DstackKms contract to read the root key from; refuse a
                           CVM whose KMS info names another one (so a compromised API
                           cannot point at a contract holding its own key)
  --insecure-skip-kms-verify
                           use an unverifiable key anyway (whoever controls the API
                           could read the env)

Replica sets (plan, apply):
  A set file (JSON or YAML) declares how many replicas of an app run where:
    {"source": "app_…", "compose_hash": "…",
     "placements": [{"region": "us-west", "count": 3}, {"node": "prod6", "count": 2},
                    {"anywhere": true, "count": 1}],
     "env": {"LOG_LEVEL": "info"}, "protect": ["<vm_uuid>"]}
  plan prints the creates, the removals (failed and stopped first, then the newest;
  never a protected one) and the on-chain work; it writes nothing. apply shows the
  plan, creates concurrently, waits for the new replicas, then removes.
  -f, --file FILE          the set (required, except with --commit)
  -e, --env-file FILE      env of the replicas it creates, instead of the file's "env"
  --auto-approve           remove without asking; without it, apply asks on a terminal
                           and refuses (exit code 6) when stdin is not one
  --private-key KEY        the DstackApp owner: every missing addDevice and the
                           addComposeHash of the whole set are sent together, with one
                           confirmation wait
  --safe-file FILE         without a key: ONE Safe Transaction Builder batch with every
  --prepared-file FILE     missing call, and the prepared set (commit tokens, mode 0600)
  --prune-devices          opt-in: also take the devices of nodes left with no instance of
                           the app off the DstackApp allow-list (key: one send, one wait;
                           no key: needs --safe-file, which gets the removeDevice batch);
                           asks for confirmation like a removal
  --commit                 with --prepared-file and --transaction-hash (default
                           "already-registered"): commit every prepared replica; a rerun
                           resumes where an interrupted commit stopped
  --wait                   wait until every new replica runs
  --verify                 with --wait: verify each new replica's attestation against
                           the set's app id and compose hash before removing anything;
                           takes --collateral, --pccs, --at, --attestation-roots
  --concurrency N          creates and removals in flight (default 4)
  --rpc-url, --kms-root, --kms-contract, --poll-interval, --api-key: as above.
  With --json, every outcome (failures included) is one JSON document on stdout,
  {"success":…,"command":…,"status":…,"plan":…,…,"error":{…}}; the plan text and
  progress go to stderr.

Output:
  -j, --json               print one JSON document on stdout and no progress, failures
                           included: a failure adds "success":false and "error":{...} to
                           the document (the exit code tells success from failure)
  --api-key KEY            API key (default $PHALA_CLOUD_API_KEY; alias --api-token)

Environment:
  PHALA_CLOUD_API_KEY      API key
  PHALA_CLOUD_API_PREFIX   API base URL (default https://cloud-api.phala.com/api/v1)
  PRIVATE_KEY              DstackApp owner key, as --private-key
  ETH_RPC_URL              JSON-RPC endpoint, as --rpc-url
  CLOUD_URL                dashboard base URL for links (default https://cloud.phala.com)

Exit codes:
  0  success
  1  any other failure (a file that cannot be read, a replica that failed to boot)
  2  usage: bad flags or arguments, missing API key, a replica set refused
  3  the Phala Cloud API refused or failed the request (see the error code), or
     answered something that cannot be used or trusted (an answer about another
     CVM or app, a success naming no new replica: then do not run it again)
  4  on-chain: registration is required (no key given), or a transaction, the RPC
     endpoint, the owner check or the balance check failed
  5  an attestation check failed (verify, --verify)
  6  apply would remove instances and was not confirmed (no terminal and no
     --auto-approve, or the answer was not "yes"); nothing was changed

The API key and the private key are never printed.
`
