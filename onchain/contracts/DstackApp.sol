// SPDX-License-Identifier: Apache-2.0
//
// DstackApp test double: the external interface, events and owner checks of
// dstack's DstackApp (kms/auth-eth/contracts/DstackApp.sol) without the proxy
// and upgrade machinery, so go-ethereum's simulated backend can run the real
// selectors, events and reverts. Written for this repository; not the
// upstream source.
//
// One contract covers both deployed generations:
//   legacy = false: "v2" (version() == 2, requireTcbUpToDate, two-step ownership)
//   legacy = true:  "v1" (what most live proxies run): version(),
//                   requireTcbUpToDate(), setRequireTcbUpToDate(), pendingOwner()
//                   and acceptOwnership() revert with empty data, as a missing
//                   function does on a contract without fallback, and
//                   transferOwnership() is immediate.
pragma solidity ^0.8.24;

contract DstackApp {
    struct AppBootInfo {
        address appId;
        bytes32 composeHash;
        address instanceId;
        bytes32 deviceId;
        bytes32 mrAggregated;
        bytes32 mrSystem;
        bytes32 osImageHash;
        string tcbStatus;
        string[] advisoryIds;
    }

    // OpenZeppelin 5 errors with their upstream selectors.
    error OwnableUnauthorizedAccount(address account);
    error OwnableInvalidOwner(address owner);
    error InvalidInitialization();
    error UUPSUnauthorizedCallContext();

    event ComposeHashAdded(bytes32 composeHash);
    event ComposeHashRemoved(bytes32 composeHash);
    event DeviceAdded(bytes32 deviceId);
    event DeviceRemoved(bytes32 deviceId);
    event UpgradesDisabled();
    event AllowAnyDeviceSet(bool allowAny);
    event RequireTcbUpToDateSet(bool requireUpToDate);
    event PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event Initialized(uint64 version);
    event Upgraded(address indexed implementation); // declared for ABI parity; nothing to upgrade

    bytes32 private constant POLICY_COMPOSE_HASH = keccak256("compose-hash");
    bytes32 private constant POLICY_DEVICE = keccak256("device");
    bytes32 private constant POLICY_ALLOW_ANY_DEVICE = keccak256("allow-any-device");
    bytes32 private constant POLICY_REQUIRE_TCB = keccak256("require-tcb-up-to-date");
    bytes32 private constant POLICY_UPGRADES_DISABLED = keccak256("upgrades-disabled");
    bytes32 private constant ERC1967_IMPLEMENTATION_SLOT =
        0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    mapping(bytes32 => bool) public allowedComposeHashes;
    bool private _upgradesDisabled;
    bool public allowAnyDevice;
    mapping(bytes32 => bool) public allowedDeviceIds;
    bool private _requireTcbUpToDate;

    address private _owner;
    address private _pendingOwner;
    bool private immutable _legacy;

    string public constant UPGRADE_INTERFACE_VERSION = "5.0.0";

    modifier onlyOwner() {
        if (msg.sender != _owner) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    // v2Only makes a function behave as if it did not exist on a v1 contract.
    modifier v2Only() {
        if (_legacy) {
            assembly {
                revert(0, 0)
            }
        }
        _;
    }

    constructor(
        address initialOwner,
        bool legacy,
        bool requireTcbUpToDate_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) {
        if (initialOwner == address(0)) revert OwnableInvalidOwner(address(0));
        _legacy = legacy;
        allowAnyDevice = allowAnyDevice_;
        _requireTcbUpToDate = requireTcbUpToDate_ && !legacy;
        if (initialDeviceId != bytes32(0)) {
            allowedDeviceIds[initialDeviceId] = true;
            emit DeviceAdded(initialDeviceId);
        }
        if (initialComposeHash != bytes32(0)) {
            allowedComposeHashes[initialComposeHash] = true;
            emit ComposeHashAdded(initialComposeHash);
        }
        _transferOwnership(initialOwner);
        emit Initialized(1);
    }

    // The proxy initializers: this contract is initialised by its constructor,
    // so both revert like an already-initialised proxy.
    function initialize(address, bool, bool, bytes32, bytes32) external pure {
        revert InvalidInitialization();
    }

    function initialize(address, bool, bool, bool, bytes32, bytes32) external pure {
        revert InvalidInitialization();
    }

    function version() external view v2Only returns (uint256) {
        return 2;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x1e079198 // IAppAuth
            || interfaceId == 0x8fd37527 // IAppAuthBasicManagement
            || interfaceId == 0x01ffc9a7; // IERC165
    }

    function requireTcbUpToDate() external view v2Only returns (bool) {
        return _requireTcbUpToDate;
    }

    function addComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = true;
        emit ComposeHashAdded(composeHash);
        _policy(POLICY_COMPOSE_HASH, composeHash, true);
    }

    function removeComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = false;
        emit ComposeHashRemoved(composeHash);
        _policy(POLICY_COMPOSE_HASH, composeHash, false);
    }

    function addDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = true;
        emit DeviceAdded(deviceId);
        _policy(POLICY_DEVICE, deviceId, true);
    }

    function removeDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = false;
        emit DeviceRemoved(deviceId);
        _policy(POLICY_DEVICE, deviceId, false);
    }

    function setAllowAnyDevice(bool _allowAnyDevice) external onlyOwner {
        allowAnyDevice = _allowAnyDevice;
        emit AllowAnyDeviceSet(_allowAnyDevice);
        _policy(POLICY_ALLOW_ANY_DEVICE, bytes32(0), _allowAnyDevice);
    }

    function setRequireTcbUpToDate(bool _requireUpToDate) external v2Only onlyOwner {
        _requireTcbUpToDate = _requireUpToDate;
        emit RequireTcbUpToDateSet(_requireUpToDate);
        _policy(POLICY_REQUIRE_TCB, bytes32(0), _requireUpToDate);
    }

    function disableUpgrades() external onlyOwner {
        _upgradesDisabled = true;
        emit UpgradesDisabled();
        _policy(POLICY_UPGRADES_DISABLED, bytes32(0), true);
    }

    function isAppAllowed(AppBootInfo calldata bootInfo) external view returns (bool isAllowed, string memory reason) {
        if (_requireTcbUpToDate && keccak256(bytes(bootInfo.tcbStatus)) != keccak256("UpToDate")) {
            return (false, "TCB status is not up to date");
        }
        if (!allowedComposeHashes[bootInfo.composeHash]) {
            return (false, "Compose hash not allowed");
        }
        if (!allowAnyDevice && !allowedDeviceIds[bootInfo.deviceId]) {
            return (false, "Device not allowed");
        }
        return (true, "");
    }

    function owner() external view returns (address) {
        return _owner;
    }

    function pendingOwner() external view v2Only returns (address) {
        return _pendingOwner;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (_legacy) {
            if (newOwner == address(0)) revert OwnableInvalidOwner(address(0));
            _transferOwnership(newOwner);
            return;
        }
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(_owner, newOwner);
    }

    function acceptOwnership() external v2Only {
        if (msg.sender != _pendingOwner) revert OwnableUnauthorizedAccount(msg.sender);
        _transferOwnership(msg.sender);
    }

    function renounceOwnership() external onlyOwner {
        _transferOwnership(address(0));
    }

    function proxiableUUID() external pure returns (bytes32) {
        return ERC1967_IMPLEMENTATION_SLOT;
    }

    function upgradeToAndCall(address, bytes calldata) external payable onlyOwner {
        require(!_upgradesDisabled, "Upgrades are permanently disabled");
        // Not a proxy: there is nothing to upgrade.
        revert UUPSUnauthorizedCallContext();
    }

    function _transferOwnership(address newOwner) private {
        address old = _owner;
        _owner = newOwner;
        delete _pendingOwner;
        emit OwnershipTransferred(old, newOwner);
    }

    function _policy(bytes32 policy, bytes32 value, bool enabled) private {
        if (!_legacy) emit PolicyChanged(msg.sender, policy, value, enabled);
    }
}
