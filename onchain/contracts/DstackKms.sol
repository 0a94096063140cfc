// SPDX-License-Identifier: Apache-2.0
//
// DstackKms test double: only the KMS info getter/setter of dstack's DstackKms
// (kms/auth-eth/contracts/DstackKms.sol), with the upstream signatures, event
// and owner revert. Written for this repository; not the upstream source.
pragma solidity ^0.8.24;

contract DstackKms {
    struct KmsInfo {
        bytes k256Pubkey;
        bytes caPubkey;
        bytes quote;
        bytes eventlog;
    }

    error OwnableUnauthorizedAccount(address account);
    error OwnableInvalidOwner(address owner);

    event KmsInfoSet(bytes k256Pubkey);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // The public struct getter returns the four members.
    KmsInfo public kmsInfo;

    address private _owner;

    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert OwnableInvalidOwner(address(0));
        _owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    function owner() external view returns (address) {
        return _owner;
    }

    function setKmsInfo(KmsInfo memory info) external {
        if (msg.sender != _owner) revert OwnableUnauthorizedAccount(msg.sender);
        kmsInfo = info;
        emit KmsInfoSet(info.k256Pubkey);
    }
}
