"""RFC 9162 §2.1 Merkle tree hashing and proof verification: pure functions, no database.

Auditors and other nodes call `leaf_hash`, `node_hash`, `root_from_leaves`,
`verify_inclusion` and `verify_consistency`; their names and signatures are a public contract.
The rest (proof planning, the append frontier) is what the ledger store builds proofs with.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# Trees above 2^64 leaves cannot exist; bounding sizes keeps proof lengths bounded too.
MAX_SIZE = 1 << 64


class ProofError(ValueError):
    """A proof or one of its inputs is invalid; nothing it claims may be believed."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaves(leaf_hashes: list[bytes]) -> bytes:
    """The Merkle tree hash (MTH) of the given leaf hashes; SHA-256("") for none."""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes")
    return bytes(value)


def _check_size(value: object, what: str) -> int:
    # bool is an int subclass; a True "size" is a caller bug, not a tree of one leaf.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_SIZE:
        raise ProofError(f"{what} must be an integer in [0, 2^64)")
    return value


def _check_proof(proof: object) -> list[bytes]:
    if not isinstance(proof, list | tuple):
        raise ProofError("proof must be a list of hashes")
    if len(proof) > 2 * 64:
        raise ProofError("proof is too long")
    for p in proof:
        if type(p) is not bytes or len(p) != HASH_SIZE:
            if isinstance(p, bytearray) and len(p) == HASH_SIZE:
                continue
            raise ProofError(f"each proof hash must be {HASH_SIZE} bytes")
    return [bytes(p) for p in proof]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    """Check an RFC 9162 §2.1.3.2 inclusion proof; raise ProofError unless it holds."""
    leaf = _check_hash(leaf_hash, "leaf hash")
    root_ = _check_hash(root, "root")
    index = _check_size(index, "index")
    size = _check_size(size, "size")
    path = _check_proof(proof)
    if index >= size:
        raise ProofError("index is not below the tree size")
    fn, sn, r = index, size - 1, leaf
    sha256 = hashlib.sha256  # local: this loop runs tens of thousands of times a second
    for p in path:
        if sn == 0:
            raise ProofError("proof has too many hashes")
        if fn & 1 or fn == sn:
            r = sha256(_NODE_PREFIX + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(_NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof has too few hashes")
    if not hmac.compare_digest(r, root_):
        raise ProofError("proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    """Check an RFC 9162 §2.1.4.2 consistency proof; raise ProofError unless it holds."""
    old_size = _check_size(old_size, "old size")
    new_size = _check_size(new_size, "new size")
    first = _check_hash(old_root, "old root")
    second = _check_hash(new_root, "new root")
    path = _check_proof(proof)
    if old_size > new_size:
        raise ProofError("old size is larger than new size")
    if old_size == new_size:
        if path:
            raise ProofError("proof between equal sizes must be empty")
        if not hmac.compare_digest(first, second):
            raise ProofError("roots of equal sizes differ")
        return
    if old_size == 0:
        # Every tree extends the empty tree, whose root is fixed: say so instead of trusting it.
        if path:
            raise ProofError("proof from the empty tree must be empty")
        if not hmac.compare_digest(first, EMPTY_ROOT):
            raise ProofError("old root is not the empty tree's root")
        return
    if not path:
        raise ProofError("proof is empty")
    if old_size & (old_size - 1) == 0:
        path = [first, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof has too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof has too few hashes")
    if not hmac.compare_digest(fr, first):
        raise ProofError("proof does not lead to the old root")
    if not hmac.compare_digest(sr, second):
        raise ProofError("proof does not lead to the new root")


# --- building proofs -------------------------------------------------------------------------
#
# A proof is a list of subtree hashes MTH(D[start:end]). Every such range in an RFC tree is a
# run of perfect, aligned subtrees of decreasing size, so a store that can give the hash of any
# perfect subtree (level, index) = leaves [index * 2^level, (index + 1) * 2^level) can build any
# proof from O(log n) of them.


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form the inclusion proof (RFC 9162 PATH), leaf side first."""
    if not 0 <= index < size:
        raise ValueError("index must be below size")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form the consistency proof (RFC 9162 SUBPROOF)."""
    if not 0 <= old_size <= new_size:
        raise ValueError("sizes must satisfy 0 <= old <= new")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    m, lo, hi, whole = old_size, 0, new_size, True
    while True:
        if m == hi - lo:
            if not whole:
                ranges.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            m -= k
            lo += k
            whole = False
    ranges.reverse()
    return ranges


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The aligned perfect subtrees (level, index) that make up leaves [start, end), in order."""
    parts: list[tuple[int, int]] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else 63
        while start + (1 << level) > end:
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the perfect-subtree hashes of a range, right to left, into the range's hash."""
    if not hashes:
        return EMPTY_ROOT
    r = hashes[-1]
    for h in reversed(hashes[:-1]):
        r = node_hash(h, r)
    return r


def build_proof(
    ranges: Iterable[tuple[int, int]],
    perfect: Callable[[list[tuple[int, int]]], dict[tuple[int, int], bytes]],
) -> list[bytes]:
    """Hash each range from perfect-subtree hashes fetched in one call of `perfect`."""
    plans = [perfect_subtrees(a, b) for a, b in ranges]
    wanted = sorted({node for plan in plans for node in plan})
    known = perfect(wanted)
    return [fold([known[node] for node in plan]) for plan in plans]


def perfect_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree given its 2^k leaf hashes."""
    sha256 = hashlib.sha256
    level = list(leaf_hashes)
    while len(level) > 1:
        it = iter(level)
        level = [sha256(_NODE_PREFIX + a + b).digest() for a, b in zip(it, it, strict=True)]
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """An inclusion proof computed from all leaf hashes in memory (tests, small trees)."""
    return build_proof(inclusion_ranges(index, size), _memory(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """A consistency proof computed from all leaf hashes in memory (tests, small trees)."""
    return build_proof(consistency_ranges(old_size, new_size), _memory(leaf_hashes))


def _memory(
    leaf_hashes: Sequence[bytes],
) -> Callable[[list[tuple[int, int]]], dict[tuple[int, int], bytes]]:
    def perfect(nodes: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return {
            (lvl, i): perfect_from_leaves(leaf_hashes[i << lvl : (i + 1) << lvl])
            for lvl, i in nodes
        }

    return perfect


class Frontier:
    """The right border of a growing tree: one perfect-subtree hash per set bit of the size.

    Appending a leaf merges equal-sized subtrees like a binary counter, so the root of any
    size is known without reading old leaves; completed subtrees are reported for storage.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("frontier does not match the tree size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the perfect subtrees (level, index, hash) it completed."""
        completed: list[tuple[int, int, bytes]] = []
        cur, level, n = leaf, 0, self.size
        while n & 1:
            cur = node_hash(self.hashes.pop(), cur)
            level += 1
            n >>= 1
            completed.append((level, ((self.size + 1) >> level) - 1, cur))
        self.hashes.append(cur)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The Merkle tree hash at the current size."""
        return fold(self.hashes)

    def to_bytes(self) -> bytes:
        """The border hashes concatenated (for storage beside the size)."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> Frontier:
        """Rebuild a frontier stored with `to_bytes`."""
        hashes = [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
        return cls(size, hashes)
