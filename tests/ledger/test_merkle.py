"""RFC 6962/9162 vectors, tampered proofs, and comparison with pymerkle on random trees."""

from __future__ import annotations

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongban.ledger import merkle
from tongban.ledger.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 reference tree, as in transparency-dev/merkle proof/verify_test.go and the
# certificate-transparency reference test data.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (zero-based index, size, proof)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHES = [leaf_hash(x) for x in LEAVES]


def _root(n: int) -> bytes:
    return bytes.fromhex(ROOTS[n])


def _h(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(p) for p in proof]


def test_hash_primitives() -> None:
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert node_hash(HASHES[0], HASHES[1]) == _root(2)
    assert _root(0) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_reference_roots(size: int) -> None:
    assert root_from_leaves(HASHES[:size]) == _root(size)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    assert inclusion_proof(HASHES, index, size) == _h(proof)
    verify_inclusion(HASHES[index], index, size, _h(proof), _root(size))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_reference_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    assert consistency_proof(HASHES, old, new) == _h(proof)
    verify_consistency(old, new, _root(old), _root(new), _h(proof))


def test_every_proof_of_the_reference_tree_verifies() -> None:
    for size in range(1, 9):
        for index in range(size):
            p = inclusion_proof(HASHES, index, size)
            verify_inclusion(HASHES[index], index, size, p, _root(size))
        for old in range(size + 1):
            p = consistency_proof(HASHES, old, size)
            verify_consistency(old, size, _root(old), _root(size), p)


def _flips(proof: list[bytes]) -> list[list[bytes]]:
    out = []
    for i, h in enumerate(proof):
        for bit in range(len(h) * 8):
            bad = bytearray(h)
            bad[bit // 8] ^= 1 << (bit % 8)
            out.append([*proof[:i], bytes(bad), *proof[i + 1 :]])
    return out


def _flip_all(h: bytes) -> list[bytes]:
    return [x[0] for x in _flips([h])]


def _refused(fn: object, *args: object) -> None:
    with pytest.raises(ProofError):
        fn(*args)  # type: ignore[operator]


def test_tampered_inclusion_proofs_are_refused() -> None:
    for size in range(1, 9):
        root = _root(size)
        for index in range(size):
            proof = inclusion_proof(HASHES, index, size)
            leaf = HASHES[index]
            for bad in _flips(proof):
                _refused(verify_inclusion, leaf, index, size, bad, root)
            for bad_leaf in _flip_all(leaf):
                _refused(verify_inclusion, bad_leaf, index, size, proof, root)
            for bad_root in _flip_all(root):
                _refused(verify_inclusion, leaf, index, size, proof, bad_root)
            if proof:
                _refused(verify_inclusion, leaf, index, size, proof[:-1], root)
                _refused(verify_inclusion, leaf, index, size, proof[1:], root)
            for extra in (root, leaf, EMPTY_ROOT):
                _refused(verify_inclusion, leaf, index, size, [*proof, extra], root)
                _refused(verify_inclusion, leaf, index, size, [extra, *proof], root)
            _refused(verify_inclusion, leaf, index, size, [*proof, b""], root)
            for wrong_index in {index - 1, index + 1, index ^ 2} - {index}:
                if wrong_index >= 0:
                    _refused(verify_inclusion, leaf, wrong_index, size, proof, root)
            # The size only shapes the path: where sizes share it (e.g. index 0 of 3 and 4)
            # the same proof is legitimately valid, so only shapes that differ are probed.
            for wrong_size in {size * 2, size // 2} - {size}:
                if index < wrong_size and _shape(index, wrong_size) == _shape(index, size):
                    continue
                _refused(verify_inclusion, leaf, index, wrong_size, proof, root)


def _shape(index: int, size: int) -> list[bool]:
    """Whether each proof hash goes on the left, as RFC 9162's verifier decides it."""
    fn, sn, out = index, size - 1, []
    while sn:
        left = bool(fn & 1 or fn == sn)
        out.append(left)
        if left and not fn & 1:
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
    return out


def test_tampered_consistency_proofs_are_refused() -> None:
    for new in range(1, 9):
        for old in range(1, new):
            proof = consistency_proof(HASHES, old, new)
            r1, r2 = _root(old), _root(new)
            for bad in _flips(proof):
                _refused(verify_consistency, old, new, r1, r2, bad)
            for bad_root in _flip_all(r1):
                _refused(verify_consistency, old, new, bad_root, r2, proof)
            for bad_root in _flip_all(r2):
                _refused(verify_consistency, old, new, r1, bad_root, proof)
            _refused(verify_consistency, old, new, r1, r2, proof[:-1])
            _refused(verify_consistency, old, new, r1, r2, [])
            for extra in (r1, r2, proof[0], EMPTY_ROOT):
                _refused(verify_consistency, old, new, r1, r2, [*proof, extra])
                _refused(verify_consistency, old, new, r1, r2, [extra, *proof])
            _refused(verify_consistency, old, new, r2, r1, proof)
            _refused(verify_consistency, new, old, r1, r2, proof)
            for wrong_old in {old - 1, old + 1, old ^ 2} - {old}:
                if 0 < wrong_old < new and consistency_proof(HASHES, wrong_old, new) != proof:
                    _refused(verify_consistency, wrong_old, new, r1, r2, proof)


def test_invalid_inputs_raise_proof_error() -> None:
    r, h = _root(1), HASHES[0]
    _refused(verify_inclusion, h, 0, 0, [], r)
    _refused(verify_inclusion, h, 1, 1, [], r)
    _refused(verify_inclusion, h, -1, 1, [], r)
    _refused(verify_inclusion, h, 0, -1, [], r)
    _refused(verify_inclusion, h, True, 2, [], r)
    _refused(verify_inclusion, h, 0, 1 << 64, [], r)
    _refused(verify_inclusion, h[:31], 0, 1, [], r)
    _refused(verify_inclusion, h, 0, 1, [], r + b"\x00")
    _refused(verify_inclusion, h, 0, 1, "not a list", r)
    _refused(verify_inclusion, h, 0, 1, [h] * 200, r)
    _refused(verify_inclusion, "text", 0, 1, [], r)
    _refused(verify_consistency, 0, 0, EMPTY_ROOT, r, [])
    _refused(verify_consistency, 0, 1, r, r, [])  # old root must be the empty tree's
    _refused(verify_consistency, 0, 1, EMPTY_ROOT, r, [EMPTY_ROOT])
    _refused(verify_consistency, 1, 1, r, r, [r])
    _refused(verify_consistency, 1, 1, r, EMPTY_ROOT, [])
    _refused(verify_consistency, 2, 1, r, r, [])
    _refused(verify_consistency, 1, 2, r, _root(2), [])
    _refused(verify_consistency, 1, 2, r, _root(2), [None])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, _root(5), [])
    verify_consistency(3, 3, _root(3), _root(3), [])
    assert isinstance(ProofError("x"), ValueError)


def test_frontier_reports_completed_subtrees() -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(1100)]
    f = merkle.Frontier()
    seen = {}
    for h in leaves:
        for level, index, node in f.append(h):
            seen[(level, index)] = node
    assert f.root() == root_from_leaves(leaves)
    for (level, index), node in seen.items():
        span = leaves[index << level : (index + 1) << level]
        assert merkle.perfect_from_leaves(span) == node
    assert (10, 0) in seen and (8, 3) in seen and (8, 4) not in seen
    g = merkle.Frontier.from_bytes(f.size, f.to_bytes())
    assert g.root() == f.root()


def _pymerkle_tree(data: list[bytes]) -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for d in data:
        tree.append_entry(d)
    return tree


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=140), st.data())
def test_agrees_with_pymerkle(data: list[bytes], draw: st.DataObject) -> None:
    tree = _pymerkle_tree(data)
    hashes = [leaf_hash(d) for d in data]
    n = len(data)
    for size in {1, n, draw.draw(st.integers(1, n))}:
        assert root_from_leaves(hashes[:size]) == tree.get_root(size)
    size = draw.draw(st.integers(1, n))
    index = draw.draw(st.integers(0, size - 1))
    ours = inclusion_proof(hashes, index, size)
    theirs = tree.prove_inclusion(index + 1, size)
    # pymerkle's path is the leaf hash followed by the RFC 6962 audit path.
    assert theirs.path[1:] == ours
    verify_inclusion(hashes[index], index, size, ours, tree.get_root(size))
    pymerkle.verify_inclusion(hashes[index], tree.get_root(size), theirs)
    old = draw.draw(st.integers(1, size))
    ours_c = consistency_proof(hashes, old, size)
    verify_consistency(old, size, tree.get_root(old), tree.get_root(size), ours_c)
    theirs_c = tree.prove_consistency(old, size)
    pymerkle.verify_consistency(tree.get_root(old), tree.get_root(size), theirs_c)
    if ours_c:
        bad = [bytes(32), *ours_c[1:]]
        with pytest.raises(ProofError):
            verify_consistency(old, size, tree.get_root(old), tree.get_root(size), bad)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json, st.floats(allow_nan=False, allow_infinity=False))
def test_fast_canonical_json_equals_rfc8785(doc: object, number: float) -> None:
    import rfc8785

    from tongban.ledger.integrator import canonical_json

    safe = json_safe(doc)
    assert canonical_json(doc) == rfc8785.dumps(safe)
    with_float = {"n": number, "doc": doc}
    assert canonical_json(with_float) == rfc8785.dumps({"n": number, "doc": safe})


def json_safe(value: object) -> object:
    """Integers beyond 2^53 become strings, as the ledger does before encoding."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) <= 2**53 - 1 else str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value
